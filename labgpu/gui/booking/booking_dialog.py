"""The booking dialog: GPUs, window and note, checked against the rules while it is filled in.

Every change (debounced) runs ``check_booking`` on a worker; a refusal (conflict, rule) shows
inline in red with its reason and Save stays disabled, so nothing is saved that would be refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.inventory.servers import Gpu
from labgpu.gui.booking.calendar_data import ordered_gpus
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.usage.projects_combo import ProjectCombo
from labgpu.services import Labgpu

CHECK_DELAY_MS = 250
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"


def to_qdatetime(moment: datetime) -> QDateTime:
    """An aware datetime as a local QDateTime."""
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def from_qdatetime(value: QDateTime) -> datetime:
    """A QDateTime (local) as an aware datetime in the local zone."""
    return datetime.fromtimestamp(value.toSecsSinceEpoch()).astimezone()


def datetime_edit(moment: datetime) -> QDateTimeEdit:
    """A date-time field in local time, minute precision, with a calendar popup."""
    edit = QDateTimeEdit(to_qdatetime(moment))
    edit.setDisplayFormat(DATETIME_FORMAT)
    edit.setCalendarPopup(True)
    return edit


class BookingDialog(QDialog):
    """Book a set of GPUs over a window; emits ``booked(group_id)`` once saved."""

    booked = Signal(str)

    def __init__(
        self,
        labgpu: Labgpu,
        gpus: Sequence[Gpu],
        gpu_ids: Sequence[int],
        start: datetime,
        end: datetime,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.setWindowTitle(self.tr("Book GPUs"))
        self.gpu_list = QListWidget()
        for gpu in ordered_gpus(list(gpus)):
            item = QListWidgetItem(f"{gpu.server_name}:{gpu.index}  ·  {gpu.model}", self.gpu_list)
            item.setData(Qt.ItemDataRole.UserRole, gpu.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = gpu.id in gpu_ids
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.start_edit = datetime_edit(start)
        self.end_edit = datetime_edit(end)
        self.note = QLineEdit()
        self.note.setPlaceholderText(self.tr("What for (shown on the calendar)"))
        self.project_box = ProjectCombo(labgpu)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        self._generation = 0
        self._saving = False
        self._checking = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check)
        self._lay_out()
        self._connect()
        self.resize(520, 480)
        self.check()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow(self.tr("GPUs:"), self.gpu_list)
        form.addRow(self.tr("From:"), self.start_edit)
        form.addRow(self.tr("Until:"), self.end_edit)
        form.addRow(self.tr("Note:"), self.note)
        form.addRow(self.tr("Project:"), self.project_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self.gpu_list.itemChanged.connect(self._changed)
        self.start_edit.dateTimeChanged.connect(self._changed)
        self.end_edit.dateTimeChanged.connect(self._changed)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    # -- values ----------------------------------------------------------------------------

    def selected_gpu_ids(self) -> list[int]:
        """The checked GPUs."""
        ids = []
        for row in range(self.gpu_list.count()):
            item = self.gpu_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                ids.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return ids

    def chosen_window(self) -> tuple[datetime, datetime]:
        """The chosen start and end (aware, local zone)."""
        return from_qdatetime(self.start_edit.dateTime()), from_qdatetime(self.end_edit.dateTime())

    def is_checking(self) -> bool:
        """True while a check or a save is running or waiting to run."""
        return self._checking or self._saving or self._timer.isActive()

    # -- checking --------------------------------------------------------------------------

    def _changed(self) -> None:
        self.save_button.setEnabled(False)
        self._generation += 1
        self._timer.start()

    def check(self) -> None:
        """Dry-run the booking on a worker; the answer shows inline."""
        self._generation += 1
        generation = self._generation
        gpu_ids = self.selected_gpu_ids()
        if not gpu_ids:
            self._show(self.tr("Choose at least one GPU."), ok=False)
            return
        start, end = self.chosen_window()
        self._checking = True
        self.verdict.setText(self.tr("Checking…"))
        self.verdict.setObjectName("hint")
        self._restyle()
        run_task(
            lambda: self.labgpu.bookings.check(gpu_ids, start, end),
            lambda _r, error: self._checked(generation, error),
            context=self,
        )

    def _checked(self, generation: int, error: BaseException | None) -> None:
        if generation != self._generation:
            return  # the fields changed meanwhile; a newer check is on its way
        self._checking = False
        if error is None:
            self._show(self.tr("Free: these GPUs can be booked for this time."), ok=True)
            return
        message = handle_error(self, error)
        self._show(message or self.tr("The check failed; see the error report."), ok=False)

    def _show(self, message: str, ok: bool) -> None:
        self._checking = False
        self.verdict.setText(message)
        self.verdict.setObjectName("inlineOk" if ok else "inlineError")
        self._restyle()
        self.save_button.setEnabled(ok and not self._saving)

    def _restyle(self) -> None:
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)

    def refusal(self) -> str:
        """The refusal shown now, or an empty string."""
        return self.verdict.text() if self.verdict.objectName() == "inlineError" else ""

    # -- saving ----------------------------------------------------------------------------

    def save(self) -> None:
        """Book on a worker; close on success, show the refusal inline otherwise."""
        if not self.save_button.isEnabled():
            return
        gpu_ids = self.selected_gpu_ids()
        start, end = self.chosen_window()
        note = self.note.text().strip()
        project = self.project_box.project()
        self._saving = True
        self.save_button.setEnabled(False)
        run_task(
            lambda: self.labgpu.bookings.book(gpu_ids, start, end, note, project),
            self._saved,
            context=self,
        )

    def _saved(self, group: BookingGroupView | None, error: BaseException | None) -> None:
        self._saving = False
        if error is not None:
            message = handle_error(self, error)
            self._show(message or self.tr("Booking failed; see the error report."), ok=False)
            return
        self.booked.emit("" if group is None else group.group_id)
        self.accept()
