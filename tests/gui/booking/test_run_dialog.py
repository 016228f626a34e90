"""*Run on this booking…* and *Jobs on my bookings* (issue 15, point 2) against a real sshd GPU
server where the member's own account runs the job: the dialog starts a real job, the list
follows it to its end (the booking given back, the window told), its log and results come home;
a refusal keeps what was typed; a job is cancelled only after a yes; the Rules page keeps the
end-of-booking rule; the demo says its servers are simulated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView, BookingRules
from labgpu.core.booking.run import RunRequest
from labgpu.core.inventory.servers import GpuReading
from labgpu.core.offload.jobs import FINAL_STATES, JobState
from labgpu.demo.setup import demo_lab
from labgpu.gui.booking.booking_actions import RUN, allowed_actions
from labgpu.gui.booking.booking_jobs import JobsPanel, LogDialog
from labgpu.gui.booking.my_bookings import group_views
from labgpu.gui.booking.run_dialog import RunDialog
from labgpu.gui.shell.main_window import MY_BOOKINGS, RULES, MainWindow
from labgpu.services import Labgpu
from labgpu.services.booking.service import BookingService
from tests.helpers.run_host import booked_server, member_ssh
from tests.helpers.sshd import Fleet, SshdHost

pytestmark = pytest.mark.gui

SERVER = "gpu-r"


@pytest.fixture(scope="module")
def run_host(gpu_hosts: Fleet) -> Iterator[SshdHost]:
    """An sshd of this module's own; its ``labuser`` runs the jobs."""
    with booked_server(gpu_hosts) as host:
        yield host


@pytest.fixture
def run_lab(lab: Labgpu, gpu_hosts: Fleet, run_host: SshdHost) -> Iterator[Labgpu]:
    """The test's lab with ``gpu-r`` registered; the member logs in as ``labuser`` by their own
    ``~/.ssh/config``; A40s need no approval. Jobs left running are cancelled afterwards."""
    assert run_host.standin is not None
    readings = [
        GpuReading(g.index, g.uuid, g.name, 46068, 0, 0.0, 30, 50) for g in run_host.standin.gpus
    ]
    lab.store.inventory.register_server(SERVER, run_host.target, readings, "admin")
    member_ssh(Path.home(), gpu_hosts, run_host)
    set_rules(lab, approval_models=(), max_gpus_at_once=4)
    yield lab
    for job in lab.runs.jobs():
        if job.state not in FINAL_STATES:
            lab.runs.cancel(job.id)


def set_rules(lab: Labgpu, **changes: object) -> None:
    lab.store.bookings.set_rules(replace(lab.store.bookings.get_rules(), **changes), "admin")


def gpu_ids(lab: Labgpu) -> list[int]:
    return sorted(g.id for g in lab.inventory.list_gpus() if g.server_name == SERVER and g.id)


def book(lab: Labgpu, first: int = 0, count: int = 2, user: str = "") -> BookingGroupView:
    """A booking of ``count`` GPUs from the ``first`` from a second from now for two hours
    (``user``'s if given)."""
    now = datetime.now(UTC)
    service = BookingService(lab.store, user) if user else lab.bookings
    ids = gpu_ids(lab)[first : first + count]
    made = service.book(ids, now + timedelta(seconds=1), now + timedelta(hours=2))
    return lab.bookings.group(made.group_id)


def fill(dialog: RunDialog, command: str, folder: Path | None = None, results: str = "") -> None:
    dialog.command.setText(command)
    if folder is not None:
        dialog.folder.setText(str(folder))
    dialog.results.setText(results)


def test_run_from_my_bookings_starts_a_real_job_that_is_followed_to_its_end(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow, tmp_path: Path
) -> None:
    group = book(run_lab)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "data.txt").write_text("forty-two\n")
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    page.jobs.timer.setInterval(300)  # follow quickly here; the app asks every 30 s
    qtbot.waitUntil(lambda: len(page.groups) == 1, timeout=10_000)
    page.select(group.group_id)
    assert page.run_button.isEnabled()
    dialog = page.run_selected()
    assert isinstance(dialog, RunDialog)
    assert dialog.windowModality() is Qt.WindowModality.WindowModal
    qtbot.waitUntil(lambda: "the job goes on" in dialog.at_end.text(), timeout=10_000)
    assert not dialog.start_button.isEnabled()  # no command yet
    assert not dialog.results.isEnabled()  # results need a folder
    command = 'echo "gpus=$CUDA_VISIBLE_DEVICES"; cat data.txt; echo done > out.txt'
    fill(dialog, command, folder, "out.txt")
    notices: list[str] = []
    page.jobs.notify.connect(lambda text, _key: notices.append(text))
    assert dialog.results.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(j.command == command for j in page.jobs.jobs), timeout=30_000)
    job = page.jobs.jobs[0]
    assert job.server == SERVER
    assert page.jobs.tree.topLevelItem(0).text(1) == SERVER
    assert page.jobs.tree.topLevelItem(0).text(5) == command
    # the job ends on its own: the list says so, the booking is given back, the window is told
    qtbot.waitUntil(lambda: notices != [], timeout=60_000)
    assert notices == [f"Job {job.id} on {SERVER} ended (completed); booking given back"]
    qtbot.waitUntil(
        lambda: page.jobs.tree.topLevelItem(0).text(3) == "completed, booking given back",
        timeout=10_000,
    )
    assert window.statusBar().currentMessage() == notices[0]
    assert run_lab.bookings.group(group.group_id).status is BookingStatus.RELEASED
    # its log, and its results fetched where the member chose
    page.jobs.select(job.id)
    log = page.jobs.show_log()
    assert isinstance(log, LogDialog)
    uuids = ",".join(g.uuid for g in run_lab.inventory.list_gpus() if g.id in gpu_ids(run_lab)[:2])
    qtbot.waitUntil(lambda: "forty-two" in log.text.toPlainText(), timeout=10_000)
    assert f"gpus={uuids}" in log.text.toPlainText()
    log.close()
    chosen: list[Path] = []

    def choose(_title: str, default: Path) -> Path:
        chosen.append(default)
        return tmp_path / "home-results"

    page.jobs.choose_folder = choose
    qtbot.mouseClick(page.jobs.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Fetched the results" in page.jobs.message.text(), timeout=30_000)
    assert chosen == [folder / "labgpu-results" / job.name]
    assert (tmp_path / "home-results" / "out.txt").read_text() == "done\n"


def test_a_refused_start_shows_why_in_the_dialog_and_keeps_the_fields(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow, tmp_path: Path
) -> None:
    others = book(run_lab, count=1, user="alice")  # GPU 0
    dialog = RunDialog(run_lab, others, window)
    qtbot.addWidget(dialog)
    fill(dialog, "python train.py", tmp_path, "ckpt")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=10_000)
    assert "is alice's, not yours" in dialog.message.text()
    assert (dialog.command.text(), dialog.folder.text(), dialog.results.text()) == (
        "python train.py",
        str(tmp_path),
        "ckpt",
    )
    assert dialog.start_button.isEnabled()  # correct and try again
    # a booking that waits for approval runs nothing yet
    set_rules(run_lab, approval_models=("A40",))
    pending = book(run_lab, first=1, count=1)
    assert pending.status is BookingStatus.PENDING
    assert RUN not in allowed_actions(pending, run_lab.user)
    waiting = RunDialog(run_lab, pending, window)
    qtbot.addWidget(waiting)
    fill(waiting, "python train.py")
    qtbot.mouseClick(waiting.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: waiting.message.text() != "", timeout=10_000)
    assert "waits for approval" in waiting.message.text()
    assert waiting.command.text() == "python train.py"
    assert run_lab.runs.jobs() == []


def test_a_job_is_cancelled_only_after_a_yes(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow
) -> None:
    group = book(run_lab)
    job = run_lab.runs.start(RunRequest(group.group_id, "sleep 300"))
    window.show_page(MY_BOOKINGS)
    jobs = window.my_bookings_page.jobs
    qtbot.waitUntil(lambda: [j.id for j in jobs.jobs] == [job.id], timeout=10_000)
    jobs.select(job.id)
    asked: list[str] = []
    jobs.confirm = lambda _title, question: asked.append(question) is not None and False
    qtbot.mouseClick(jobs.cancel_button, Qt.MouseButton.LeftButton)
    assert asked == [f"Stop job {job.id} on {SERVER} (sleep 300)? Its booking stays yours."]
    assert run_lab.runs.job(job.id).state not in FINAL_STATES
    jobs.confirm = lambda _title, _question: True
    qtbot.mouseClick(jobs.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: jobs.message.text() == f"Job {job.id} cancelled.", timeout=30_000)
    qtbot.waitUntil(lambda: jobs.tree.topLevelItem(0).text(3) == "cancelled", timeout=10_000)
    assert run_lab.runs.job(job.id).state is JobState.CANCELLED
    still = run_lab.bookings.group(group.group_id).status
    assert still in (BookingStatus.BOOKED, BookingStatus.ACTIVE)  # the booking stays yours


def test_the_rules_page_keeps_what_happens_at_a_booking_end(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    window.show_page(RULES)
    page = window.rules_page
    qtbot.waitUntil(lambda: page.gpu_list.count() == 12, timeout=10_000)
    assert page.at_end.currentData() == "warn"
    assert not page.stop_grace.isEnabled()
    page.at_end.setCurrentIndex(page.at_end.findData("stop"))
    assert page.stop_grace.isEnabled()
    page.stop_grace.setValue(15)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sample_lab.rules.current().at_booking_end == "stop", timeout=10_000)
    assert sample_lab.rules.current().stop_grace_s == 15
    page.show_rules(BookingRules())  # then read back from the lab
    page.reload()
    qtbot.waitUntil(lambda: page.at_end.currentData() == "stop", timeout=10_000)
    assert page.stop_grace.value() == 15


def test_the_demo_says_its_servers_are_simulated(qtbot: QtBot, demo_folder: Path) -> None:
    lab = demo_lab()
    lab.open()
    panel = JobsPanel(lab)
    qtbot.addWidget(panel)
    try:
        mine = lab.bookings.between(datetime.now(UTC), None, mine=True)
        group = next(
            g for g in group_views(mine) if g.status in (BookingStatus.BOOKED, BookingStatus.ACTIVE)
        )
        dialog = RunDialog(lab, group)
        qtbot.addWidget(dialog)
        fill(dialog, "python train.py")
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=10_000)
        assert "the demo lab's servers are simulated" in dialog.message.text()
        assert dialog.command.text() == "python train.py"
        panel.show()
        qtbot.waitUntil(lambda: panel.simulated != "", timeout=10_000)
        assert panel.stack.currentWidget() is panel.placeholder
        assert "servers are simulated" in panel.placeholder.text()
    finally:
        qtbot.waitUntil(lambda: not panel.read.running(), timeout=10_000)
        lab.close()
