"""*Submit job…* compares where the work starts first (issue 15, point 3): the lab's free GPUs
now (a real sshd server, where the member's own account runs the job) against a cluster that
cannot be asked; the lab option books the GPUs and starts the job on the booking; a cluster
option hands the request to *Submit job to a cluster*, filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.offload.jobs import Cluster
from labgpu.gui.offload.where_dialog import WhereToRunDialog
from labgpu.gui.shell.main_window import MainWindow
from labgpu.services import Labgpu
from labgpu.services.offload.placement import Placement
from tests.gui.booking.test_run_dialog import run_host, run_lab
from tests.gui.conftest import settle_workers
from tests.helpers.sshd_support import free_port

__all__ = ["run_host", "run_lab"]  # fixtures

pytestmark = pytest.mark.gui


def open_dialog(qtbot: QtBot, lab: Labgpu, window: MainWindow) -> WhereToRunDialog:
    dialog = window.offload_page.open_where()
    qtbot.waitUntil(lambda: dialog.model_box.count() == 2, timeout=10_000)  # any, NVIDIA A40
    dialog.command_edit.setText("echo placed; sleep 20")
    dialog.model_box.setCurrentIndex(1)
    dialog.hours_spin.setValue(1)
    return dialog


def compare(qtbot: QtBot, dialog: WhereToRunDialog) -> list[tuple[str, str, str]]:
    dialog.compare_button.click()
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() > 0, timeout=30_000)
    qtbot.waitUntil(dialog.compare_button.isEnabled, timeout=30_000)
    rows = []
    for i in range(dialog.table.topLevelItemCount()):
        item = dialog.table.topLevelItem(i)
        assert item is not None
        rows.append((item.text(0), item.text(1), item.text(2)))
    return rows


def test_the_lab_now_comes_first_and_is_booked_and_run_when_picked(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow
) -> None:
    far = Cluster("far", "127.0.0.1", "labuser", port=free_port())  # a key login nobody answers
    run_lab.offload.add_cluster(far)
    dialog = open_dialog(qtbot, run_lab, window)
    rows = compare(qtbot, dialog)
    assert rows[0][:2] == ("lab", "now")
    assert rows[0][2].startswith("free now: gpu-r:")
    assert rows[1][:2] == ("far", "–")  # no estimate: its error says why
    assert rows[1][2]
    dialog.grab().save("/tmp/issue15_where.png")
    ran: list[object] = []
    dialog.ran_in_lab.connect(ran.append)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: ran != [], timeout=30_000)
    [job] = run_lab.runs.jobs()
    assert job.server == "gpu-r"
    assert job.command == "echo placed; sleep 20"
    group = run_lab.bookings.group(job.group_id)
    assert group.user == run_lab.user
    assert group.status in (BookingStatus.BOOKED, BookingStatus.ACTIVE)


def test_a_cluster_option_opens_the_cluster_dialog_filled_in(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow, tmp_path: Path
) -> None:
    run_lab.offload.add_cluster(Cluster("far", "127.0.0.1", "labuser", port=free_port()))
    dialog = open_dialog(qtbot, run_lab, window)
    dialog.folder_edit.setText(str(tmp_path))
    compare(qtbot, dialog)
    dialog.table.setCurrentItem(dialog.table.topLevelItem(1))
    handed: list[tuple[str, Placement]] = []
    dialog.to_cluster.connect(lambda name, placement: handed.append((name, placement)))
    assert dialog.run_button.isEnabled()
    dialog.run_button.click()
    assert handed[0][0] == "far"
    assert handed[0][1].command == "echo placed; sleep 20"
    assert run_lab.runs.jobs() == []  # nothing booked or run in the lab


def test_one_list_holds_jobs_on_bookings_beside_cluster_jobs(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow
) -> None:
    from labgpu.core.booking.run import RunRequest
    from labgpu.gui.shell.main_window import OFFLOAD
    from tests.gui.booking.test_run_dialog import book

    group = book(run_lab, count=1)
    job = run_lab.runs.start(RunRequest(group.group_id, "echo from-the-list; sleep 30"))
    window.show_page(OFFLOAD)
    page = window.offload_page
    page.reload()
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 1, timeout=10_000)
    item = page.tree.topLevelItem(0)
    assert item is not None
    assert item.text(0) == job.name
    assert item.text(1) == "gpu-r (booking)"
    page.tree.setCurrentItem(item)
    assert page.selected_lab() is not None
    assert page.selected() is None
    assert not page.resubmit_button.isEnabled()  # a cluster's action
    assert "echo from-the-list" in page.script_view.toPlainText()

    def started() -> bool:
        run_lab.runs.refresh()
        return run_lab.runs.job(job.id).started_at is not None

    qtbot.waitUntil(started, timeout=30_000)
    page.log_button.click()
    qtbot.waitUntil(lambda: "from-the-list" in page.log_view.toPlainText(), timeout=30_000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: run_lab.runs.job(job.id).state.value == "cancelled", timeout=30_000)
    page.reload()
    qtbot.waitUntil(
        lambda: "cancelled" in (page.tree.topLevelItem(0) or item).text(2), timeout=10_000
    )


def test_a_lab_row_the_lab_cannot_serve_runs_nothing(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow
) -> None:
    dialog = open_dialog(qtbot, run_lab, window)
    dialog.gpus_spin.setValue(8)  # more than a member may hold at once
    rows = compare(qtbot, dialog)
    assert rows[0][:2] == ("lab", "–")
    assert "at once" in rows[0][2]
    dialog.table.setCurrentItem(dialog.table.topLevelItem(0))
    assert not dialog.run_button.isEnabled()  # no slot: nothing to book, no cluster to open


def test_the_demo_books_nothing_for_a_job_that_cannot_start(demo_folder: Path) -> None:
    from datetime import UTC, datetime

    from labgpu.core.booking.run import RunRequest
    from labgpu.core.errors import LabgpuError, RefusedError
    from labgpu.demo.setup import demo_lab
    from labgpu.services.offload.placement import compare, run_in_lab

    lab = demo_lab()
    lab.open()
    try:
        placement = Placement("python train.py", "", 1, 1.0, "A4000")
        now = datetime.now(UTC)
        lab_option = next(o for o in compare(lab, placement, now) if o.is_lab)
        before = len(lab.bookings.between(now, None, mine=True))
        with pytest.raises(LabgpuError, match="simulated"):
            run_in_lab(lab, placement, lab_option)
        assert len(lab.bookings.between(now, None, mine=True)) == before
        # The refusals come before the demo's message, as in a real lab.
        theirs = next(
            b for b in lab.bookings.between(now, None) if b.user != lab.user and b.booking.is_live
        )
        with pytest.raises(RefusedError, match="not yours"):
            lab.runs.start(RunRequest(theirs.group_id, "python train.py"))
    finally:
        lab.close()


def test_a_manager_may_list_every_members_jobs(
    qtbot: QtBot, run_lab: Labgpu, window: MainWindow
) -> None:
    from datetime import UTC, datetime, timedelta

    from labgpu.core.booking.run import LabJob
    from labgpu.core.offload.jobs import JobState, OffloadJob
    from labgpu.gui.shell.main_window import OFFLOAD

    now = datetime.now(UTC)
    run_lab.store.lab_jobs.add(
        LabJob(0, "run-kim-1", "g-kim", "gpu-r", "kim", JobState.COMPLETED, "python a.py", "",
               "", ".labgpu/jobs/run-kim-1", now - timedelta(hours=1), now, now)
    )  # fmt: skip
    run_lab.store.offload.add_job(
        OffloadJob(0, "labgpu-kim-1", "neuron", "kim", JobState.COMPLETED, 1, "", 1.0,
                   "python b.py", "/l", "r", "j", "#!", now - timedelta(hours=2))
    )  # fmt: skip
    window.show_page(OFFLOAD)
    page = window.offload_page
    qtbot.waitUntil(lambda: window.identity is not None, timeout=10_000)
    assert page.all_check.isVisibleTo(page)  # single seat: the local user manages
    page.reload()
    settle_workers()
    assert (page.jobs, page.lab_jobs) == ([], [])  # kim's are not the member's own
    page.all_check.setChecked(True)
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 2, timeout=10_000)
    names = [page.tree.topLevelItem(i).text(0) for i in range(2)]  # type: ignore[union-attr]
    assert names == ["run-kim-1", "labgpu-kim-1"]
