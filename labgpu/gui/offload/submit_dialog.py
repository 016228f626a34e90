"""*Submit job*: folder, command, GPUs, hours → an editable job script → staged and submitted.

Both steps run on workers; staging progress comes back through a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.offload.jobs import Cluster, JobRequest, OffloadJob
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.usage.projects_combo import ProjectCombo
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu
from labgpu.services.offload.service import Draft, OffloadService

T = TypeVar("T")


class LoggedIn(Protocol):
    """Runs ``fn`` after logging in to ``cluster`` (the page's helper: keyring, prompter) and
    returns what ``fn`` returned."""

    def __call__(self, cluster: str, fn: Callable[[], T], /) -> T: ...


def run_logged_in(service: OffloadService, cluster: str, fn: Callable[[], T]) -> T:
    """(On a worker.) Log in to ``cluster`` if this session is not yet, then run ``fn``."""
    service.login(cluster)
    return fn()


class SubmitJobDialog(QDialog):
    """Prepare, review (edit) and send a job to a cluster."""

    submitted = Signal(object)  # the OffloadJob
    _progress = Signal(int, int)

    def __init__(
        self,
        service: OffloadService,
        clusters: list[Cluster],
        logged_in: LoggedIn,
        parent: QWidget | None = None,
        projects: Labgpu | None = None,
    ) -> None:
        """``projects``: the lab whose projects the Project box offers (None: no project)."""
        super().__init__(parent)
        self.service = service
        self.logged_in = logged_in
        self.draft: Draft | None = None
        self.setWindowTitle(self.tr("Submit job to a cluster"))
        self.cluster_box = QComboBox()
        for cluster in clusters:
            self.cluster_box.addItem(f"{cluster.name} ({cluster.scheduler})", cluster.name)
        self.folder_edit = QLineEdit()
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.command_edit = QLineEdit()
        self.command_edit.setPlaceholderText(self.tr("e.g. python train.py --epochs 10"))
        self.gpus_spin = QSpinBox()
        self.gpus_spin.setRange(0, 64)
        self.gpus_spin.setValue(1)
        self.type_edit = QLineEdit()
        self.type_edit.setPlaceholderText(self.tr("any (e.g. a100)"))
        self.hours_spin = QDoubleSpinBox()
        self.hours_spin.setRange(0.1, 720)
        self.hours_spin.setValue(4)
        self.results_edit = QLineEdit()
        self.results_edit.setPlaceholderText(self.tr("paths to bring back, e.g. outputs, logs"))
        self.project_box = ProjectCombo(projects)
        self.script_edit = QPlainTextEdit()
        self.script_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.script_edit.setPlaceholderText(
            self.tr("Press “Prepare script” to see the job script; you may edit it.")
        )
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = InlineMessage()
        self.prepare_button = QPushButton(self.tr("Prepare script"))
        self.submit_button = QPushButton(self.tr("Submit"))
        self.submit_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"))
        self._lay_out()
        self.browse_button.clicked.connect(self._browse)
        self.prepare_button.clicked.connect(self.prepare)
        self.submit_button.clicked.connect(self.submit)
        self.close_button.clicked.connect(self.reject)
        self._progress.connect(self._show_progress)
        for edit in (self.folder_edit, self.command_edit, self.type_edit, self.results_edit):
            edit.textChanged.connect(self._stale)
        self.gpus_spin.valueChanged.connect(self._stale)
        self.hours_spin.valueChanged.connect(self._stale)
        self.cluster_box.currentIndexChanged.connect(self._stale)

    def _lay_out(self) -> None:
        folder = QHBoxLayout()
        folder.addWidget(self.folder_edit, 1)
        folder.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(self.tr("Cluster:"), self.cluster_box)
        form.addRow(self.tr("Folder:"), folder)
        form.addRow(self.tr("Command:"), self.command_edit)
        form.addRow(self.tr("GPUs:"), self.gpus_spin)
        form.addRow(self.tr("GPU type:"), self.type_edit)
        form.addRow(self.tr("Hours:"), self.hours_spin)
        form.addRow(self.tr("Results:"), self.results_edit)
        form.addRow(self.tr("Project:"), self.project_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prepare_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(self.tr("Job script:")))
        layout.addWidget(self.script_edit, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(720, 640)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Folder to send"))
        if chosen:
            self.folder_edit.setText(chosen)

    def _stale(self) -> None:
        self.draft = None
        self.submit_button.setEnabled(False)

    def request(self) -> JobRequest:
        """The request the form describes."""
        results = tuple(p.strip() for p in self.results_edit.text().split(",") if p.strip())
        return JobRequest(
            cluster=str(self.cluster_box.currentData() or ""),
            local_dir=self.folder_edit.text().strip(),
            command=self.command_edit.text().strip(),
            gpus=self.gpus_spin.value(),
            hours=self.hours_spin.value(),
            gpu_type=self.type_edit.text().strip(),
            results=results,
        )

    def prepare(self) -> None:
        """Write the job script (on a worker: it logs in to learn the remote folders)."""
        request = self.request()
        self._busy(True, self.tr("Preparing the job script…"))
        run_task(
            lambda: self.logged_in(request.cluster, lambda: self.service.prepare(request)),
            self._prepared,
            context=self,
        )

    def _prepared(self, draft: Draft | None, error: BaseException | None) -> None:
        self._busy(False, "")
        if error is not None:
            self.show_message(handle_error(self, error) or "", error=True)
            return
        assert draft is not None  # None only when the task failed
        self.draft = draft
        self.script_edit.setPlainText(draft.script)
        self.submit_button.setEnabled(True)
        self.show_message(self.tr("Check the script, edit it if needed, then submit."))

    def submit(self) -> None:
        """Stage the folder and submit the (edited) script, on a worker."""
        draft = self.draft
        if draft is None:
            return
        script, project = self.script_edit.toPlainText(), self.project_box.project()
        self._busy(True, self.tr("Sending the folder…"))
        self.progress.setVisible(True)
        self.progress.setValue(0)

        def work() -> OffloadJob:
            return self.logged_in(
                draft.request.cluster,
                lambda: self.service.submit(draft, script, self._progress.emit, project),
            )

        run_task(work, self._submitted, context=self)

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000 if total <= 0 else int(1000 * done / total))

    def _submitted(self, job: OffloadJob | None, error: BaseException | None) -> None:
        self._busy(False, "")
        if error is not None:
            self.show_message(handle_error(self, error) or "", error=True)
            return
        assert job is not None  # None only when the task failed
        self.show_message(
            self.tr("Submitted {name} as job {id}.").format(name=job.name, id=job.remote_id)
        )
        self.submitted.emit(job)
        self.accept()

    def _busy(self, busy: bool, message: str) -> None:
        for widget in (self.prepare_button, self.submit_button):
            widget.setEnabled(not busy and (widget is self.prepare_button or bool(self.draft)))
        if message:
            self.show_message(message)

    def show_message(self, message: str, error: bool = False) -> None:
        """One line under the script."""
        self.message.show_message(message, error)

    def set_resources(self, gpus: int, hours: float) -> None:
        """Pre-fill GPUs and hours (*Run on a cluster instead* from Find a slot)."""
        self.gpus_spin.setValue(gpus)
        self.hours_spin.setValue(hours)

    def set_folder(self, folder: Path) -> None:
        """Pre-fill the folder (tests, *Run on a cluster instead*)."""
        self.folder_edit.setText(str(folder))
