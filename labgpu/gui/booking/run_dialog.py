"""*Run on this booking…*: a command (and optionally a folder staged first) started detached on
the booked server over the member's own SSH login, as ``labgpu run ID -- COMMAND`` does.

The dialog shows the booking, asks for the command, the folder, the result paths and how long
before the end the job's log gets a warning, and says what the lab's rule does at the end. The
start (staging included) runs on a worker under a busy bar; a refusal shows in the dialog with
every field kept, so the member can correct it and press Start again.
"""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingGroupView, BookingRules
from labgpu.core.booking.run import AT_END_STOP, LabJob, RunRequest
from labgpu.gui.booking.calendar_data import compact_labels
from labgpu.gui.booking.my_bookings import window_text
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.notifier import reminder_lead_min
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.busy import busy_bar
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

#: The longest warning before the end the dialog offers (minutes).
MAX_WARN_MIN = 24 * 60


def booking_servers(group: BookingGroupView) -> list[str]:
    """The servers a booking's GPUs are on, in name order."""
    return sorted({g.server for g in group.gpus})


def split_paths(text: str) -> tuple[str, ...]:
    """``checkpoints, logs/metrics.csv`` → the paths, blanks dropped."""
    return tuple(filter(None, (p.strip() for p in text.split(","))))


class RunDialog(QDialog):
    """Start a job on one booking; ``started`` carries the job once it runs (or waits)."""

    started = Signal(object)  # LabJob

    def __init__(
        self, labgpu: Labgpu, group: BookingGroupView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.group = group
        self.job: LabJob | None = None
        self.setWindowTitle(self.tr("Run on this booking"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(620)
        self.server = QComboBox()
        self.server.addItems(booking_servers(group))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(self.tr("optional: staged to the server first"))
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.command = QLineEdit()
        self.command.setPlaceholderText("python train.py --epochs 10")
        self.results = QLineEdit()
        self.results.setPlaceholderText(self.tr("optional, comma-separated: checkpoints, out.csv"))
        self.warn_before = QSpinBox()
        self.warn_before.setRange(0, MAX_WARN_MIN)
        self.warn_before.setSuffix(self.tr(" min"))
        self.warn_before.setValue(reminder_lead_min(open_settings()))
        self.at_end = QLabel(self.tr("Reading the lab's rule…"))
        self.at_end.setObjectName("hint")
        self.at_end.setWordWrap(True)
        self.busy = busy_bar()
        self.busy.hide()
        self.message = InlineMessage(self, problems_only=True, hide_empty=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton(
            self.tr("Start"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.start_button.setDefault(True)
        self._lay_out()
        self.browse_button.clicked.connect(self.browse)
        self.folder.textChanged.connect(lambda _t: self._update())
        self.command.textChanged.connect(lambda _t: self._update())
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self._running = False
        self._update()
        run_task(self.labgpu.bookings.rules, self._rules_read, context=self)

    def _lay_out(self) -> None:
        group = self.group
        heading = QLabel(
            self.tr("Booking of {user}: {gpus}, {when}").format(
                user=group.user,
                gpus=compact_labels(group.gpu_labels),
                when=window_text(group.window),
            )
        )
        heading.setWordWrap(True)
        heading.setObjectName("sectionTitle")
        folder = QHBoxLayout()
        folder.addWidget(self.folder, 1)
        folder.addWidget(self.browse_button)
        form = QFormLayout()
        if self.server.count() > 1:  # a booking over several servers: which one runs the job
            form.addRow(self.tr("Server:"), self.server)
        form.addRow(self.tr("Folder:"), folder)
        form.addRow(self.tr("Command:"), self.command)
        form.addRow(self.tr("Results to bring back:"), self.results)
        form.addRow(self.tr("Warn before the end:"), self.warn_before)
        form.addRow(self.tr("At the booking's end:"), self.at_end)
        hint = QLabel(
            self.tr(
                "The job runs on the server under your own login and goes on when this app "
                "closes; a booking that starts later makes it wait there until the start."
            )
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _rules_read(self, rules: BookingRules | None, error: BaseException | None) -> None:
        if error is not None or rules is None:
            self.at_end.setText(self.tr("The lab's rule could not be read."))
            if error is not None:
                handle_error(self, error)
            return
        self.at_end.setText(self.at_end_text(rules))

    def at_end_text(self, rules: BookingRules) -> str:
        """What the lab's rule does when the booking ends and the job still runs."""
        if rules.at_booking_end == AT_END_STOP:
            return self.tr(
                "the job is stopped (SIGTERM, then SIGKILL after {grace} s) — the lab's rule"
            ).format(grace=rules.stop_grace_s)
        return self.tr("a warning in the job's log; the job goes on — the lab's rule")

    def _update(self) -> None:
        idle = not self._running
        has_folder = bool(self.folder.text().strip())
        for field in (self.server, self.folder, self.browse_button, self.command, self.warn_before):
            field.setEnabled(idle)
        self.results.setEnabled(idle and has_folder)
        self.start_button.setEnabled(idle and bool(self.command.text().strip()))

    # -- acting ----------------------------------------------------------------------------

    def browse(self) -> None:
        """Choose the local folder to stage."""
        path = QFileDialog.getExistingDirectory(
            self, self.tr("Folder to run in"), self.folder.text().strip()
        )
        if path:
            self.folder.setText(path)

    def request(self) -> RunRequest:
        """The request as filled in."""
        folder = self.folder.text().strip()
        return RunRequest(
            booking=self.group.group_id,
            command=self.command.text().strip(),
            local_dir=folder,
            results=split_paths(self.results.text()) if folder else (),
            warn_before=timedelta(minutes=self.warn_before.value()),
            server=self.server.currentText() if self.server.count() > 1 else "",
        )

    def start(self) -> None:
        """Stage and start on a worker; the dialog stays open until it ran or was refused."""
        if self._running:
            return
        request = self.request()
        if not request.command:
            self.message.show_message(self.tr("Give the command to run."))
            return
        self.message.clear()
        self._running = True
        self.busy.show()
        self._update()
        run_task(lambda: self.labgpu.runs.start(request), self._started, context=self)

    def is_running(self) -> bool:
        """True while the start (staging included) is in flight."""
        return self._running

    def _started(self, job: LabJob | None, error: BaseException | None) -> None:
        self._running = False
        self.busy.hide()
        self._update()
        if error is not None or job is None:
            self.message.show_message((handle_error(self, error) or "") if error else "")
            return
        self.job = job
        self.started.emit(job)
        self.accept()
