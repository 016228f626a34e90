"""The Offload page: submit through the dialog to the real Slurm and see the job complete."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from labgpu.core.offload.jobs import JobState
from labgpu.gui.booking.find_slot_dialog import FindSlotDialog
from labgpu.gui.offload.offload_login import GuiPrompter, OtpDialog
from labgpu.gui.shell.main_window import OFFLOAD, MainWindow
from tests.helpers.offload import slurm_cluster_settings
from tests.helpers.slurm import SlurmCluster

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_submit_through_the_dialog_and_see_it_complete(
    qtbot: QtBot, window: MainWindow, slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    lab = window.labgpu
    cluster = lab.offload.add_cluster(slurm_cluster_settings(slurm_cluster))
    lab.pool.trust_host_key(cluster.target, slurm_cluster.login.fingerprint)
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.txt").write_text("42\n")
    window.show_page(OFFLOAD)
    page = window.offload_page
    dialog = page.open_submit()
    qtbot.waitUntil(lambda: dialog.cluster_box.count() == 1, timeout=10_000)
    dialog.set_folder(project)
    dialog.command_edit.setText("cat data.txt")
    dialog.type_edit.setText("a100")
    dialog.hours_spin.setValue(0.5)
    dialog.prepare_button.click()
    qtbot.waitUntil(dialog.submit_button.isEnabled, timeout=30_000)
    script = dialog.script_edit.toPlainText()
    assert "#SBATCH --gres=gpu:a100:1" in script
    edited = script.replace("# --- end of your command ---", "echo edited-in-dialog\n# --- end")
    dialog.script_edit.setPlainText(edited)
    with qtbot.waitSignal(dialog.submitted, timeout=30_000):
        dialog.submit_button.click()
    assert dialog.progress.value() == dialog.progress.maximum()
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 1, timeout=10_000)

    def completed() -> bool:
        if not page._polling:
            page.poll()
        return bool(page.jobs) and page.jobs[0].state is JobState.COMPLETED

    with qtbot.waitSignal(page.notify, timeout=60_000) as notice:
        qtbot.waitUntil(completed, timeout=60_000)
    assert "completed" in str(notice.args)
    qtbot.waitUntil(lambda: not page._polling, timeout=10_000)
    job = page.jobs[0]
    stdout = (project / "labgpu-results" / job.name / "labgpu-stdout.txt").read_text()
    assert stdout == "42\nedited-in-dialog\n"
    page.tree.setCurrentItem(page.tree.topLevelItem(0))
    assert "completed" in page.tree.topLevelItem(0).text(2)
    assert "labgpu-stdout.txt" in page.outputs_view.toPlainText()
    page.show_log()
    qtbot.waitUntil(lambda: "edited-in-dialog" in page.log_view.toPlainText(), timeout=10_000)
    page.stop()


def test_otp_dialog_hides_answers_and_offers_to_keep_only_the_password(qtbot: QtBot) -> None:
    dialog = OtpDialog("neuron", "", [("Password(OTP): ", False), ("Password: ", False)])
    qtbot.addWidget(dialog)
    assert [f.echoMode() for f in dialog.fields] == [QLineEdit.EchoMode.Password] * 2
    assert not dialog.keep.isHidden()
    only_otp = OtpDialog("neuron", "", [("Password(OTP): ", False)])
    qtbot.addWidget(only_otp)
    assert only_otp.keep.isHidden()


def test_prompter_asks_on_the_gui_thread_from_a_worker(qtbot: QtBot, window: MainWindow) -> None:
    prompter = GuiPrompter(window)
    threads: list[bool] = []

    def ask(cluster: str, _i: str, prompts: Sequence[tuple[str, bool]]) -> tuple[list[str], str]:
        threads.append(threading.current_thread() is threading.main_thread())
        return ["123456", "pw"], "pw"

    prompter.ask = ask
    answers: list[list[str]] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            prompter.for_cluster("neuron")("", [("Password(OTP): ", False), ("Password: ", False)])
        )
    )
    worker.start()
    qtbot.waitUntil(lambda: bool(answers), timeout=5_000)
    worker.join(5)
    assert answers == [["123456", "pw"]]
    assert threads == [True]
    assert prompter.take_pending("neuron") == "pw"
    assert prompter.take_pending("neuron") is None


def test_find_a_slot_offers_a_cluster_with_its_estimate(
    qtbot: QtBot, window: MainWindow, slurm_cluster: SlurmCluster
) -> None:
    lab = window.labgpu
    cluster = lab.offload.add_cluster(slurm_cluster_settings(slurm_cluster))
    lab.pool.trust_host_key(cluster.target, slurm_cluster.login.fingerprint)
    finder = FindSlotDialog(lab, [], window)
    qtbot.addWidget(finder)
    finder.count.setValue(2)
    finder.hours.setValue(3)
    finder.show_options([])  # the lab has nothing for this request
    assert not finder.cluster_button.isHidden()
    submit = finder.run_on_cluster()
    qtbot.waitUntil(lambda: "estimates the start" in submit.message.text(), timeout=30_000)
    assert (submit.gpus_spin.value(), submit.hours_spin.value()) == (2, 3.0)
    assert submit.cluster_box.currentData() == "neuron"
    submit.close()


def test_clusters_dialog_registers_and_logs_in_after_confirming_the_host_key(
    qtbot: QtBot, window: MainWindow, slurm_cluster: SlurmCluster
) -> None:
    dialog = window.offload_page.open_clusters()
    settings = slurm_cluster_settings(slurm_cluster, name="hpc")
    dialog.fill(settings)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10_000)
    asked: list[str] = []
    dialog.confirm = lambda _title, question: asked.append(question) or True
    dialog.log_in()
    qtbot.waitUntil(lambda: "Logged in" in dialog.message.text() or "—" in dialog.message.text(),
                    timeout=20_000)  # fmt: skip
    assert dialog.message.text() == "Logged in to hpc."
    assert slurm_cluster.login.fingerprint in asked[0]
    assert window.labgpu.offload.is_logged_in("hpc")
    assert window.labgpu.offload.cluster("hpc").directives == ("--comment=pytorch",)
    dialog.close()
