"""My bookings: the current user's bookings, with use, run, cancel, end early, extend and .ics
export; below them, the jobs run on them (``booking_jobs.JobsPanel``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import BookingGroupView, BookingView
from labgpu.core.booking.run import LabJob
from labgpu.core.offload.jobs import JobState
from labgpu.gui.booking.booking_changes import is_others, others_question
from labgpu.gui.booking.booking_dialog import datetime_edit, from_qdatetime
from labgpu.gui.booking.calendar_data import compact_labels
from labgpu.gui.booking.calendar_paint import status_label
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.notifier import reminder_lead_min
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.action_page import ActionPage
from labgpu.gui.widgets.dates import DAY_TIME, local_text
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

#: Finished bookings shown this far back.
HISTORY = timedelta(days=14)
OPEN = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ACTIVE)
#: Work runs on an approved booking that is not over.
RUNNABLE = (BookingStatus.BOOKED, BookingStatus.ACTIVE)


def group_views(bookings: Iterable[BookingView]) -> list[BookingGroupView]:
    """Per-GPU bookings gathered into groups, by start."""
    groups: dict[str, list[BookingView]] = {}
    for booking in bookings:
        groups.setdefault(booking.group_id, []).append(booking)
    views = [
        BookingGroupView(
            group_id=gid,
            user=items[0].user,
            window=items[0].window,
            status=items[0].status,
            note=items[0].note,
            gpus=tuple(items),
        )
        for gid, items in groups.items()
    ]
    return sorted(views, key=lambda g: g.window.start)


def window_text(window: Window) -> str:
    """``Tue 12-02 10:00 – Wed 12-03 18:00`` in local time."""
    start, end = window.start.astimezone(), window.end.astimezone()
    same_day = start.date() == end.date()
    return (
        f"{local_text(start, DAY_TIME)} – {end:%H:%M}"
        if same_day
        else f"{local_text(start, DAY_TIME)} – {local_text(end, DAY_TIME)}"
    )


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    """Ask ``question``; True if the person said yes (the pages' default ``confirm``)."""
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


def ask_new_end(parent: QWidget, group: BookingGroupView) -> datetime | None:
    """Ask for a booking's new end (``ExtendDialog``); None if the person cancelled."""
    dialog = ExtendDialog(group, parent)
    return dialog.new_end() if dialog.exec() == QDialog.DialogCode.Accepted else None


class ExtendDialog(QDialog):
    """Asks for a booking's new end."""

    def __init__(self, group: BookingGroupView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Extend booking"))
        self.end_edit = datetime_edit(group.window.end + timedelta(hours=2))
        form = QFormLayout(self)
        form.addRow(self.tr("Booking:"), QLabel(window_text(group.window)))
        form.addRow(self.tr("New end:"), self.end_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def new_end(self) -> datetime:
        """The chosen end (aware)."""
        return from_qdatetime(self.end_edit.dateTime())


class MyBookingsPage(ActionPage):
    """The current user's bookings; actions run on workers and refresh the list."""

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.groups: list[BookingGroupView] = []
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setHeaderLabels(
            [self.tr("When"), self.tr("GPUs"), self.tr("Status"), self.tr("Note")]
        )
        self.tree.header().resizeSection(0, 260)
        self.tree.header().resizeSection(1, 220)
        self.tree.header().resizeSection(2, 130)
        self.use_button = QPushButton(self.tr("Use…"))
        self.run_button = QPushButton(self.tr("Run on this booking…"))
        self.cancel_button = QPushButton(self.tr("Cancel booking…"))
        self.end_button = QPushButton(self.tr("End now…"))
        self.extend_button = QPushButton(self.tr("Extend…"))
        self.export_button = QPushButton(self.tr("Export .ics…"))
        self.message = InlineMessage()
        from labgpu.gui.booking.booking_jobs import JobsPanel  # it uses this module's texts

        #: The jobs run on my bookings, under the list.
        self.jobs = JobsPanel(labgpu)
        self.jobs.released.connect(self.changed)
        self.jobs.changed.connect(self.reload)
        #: Asks the person; tests replace it. (title, text) -> yes?
        self.confirm: Callable[[str, str], bool] = partial(ask_yes_no, self)
        #: Asks for a new end; tests replace it. group -> end or None
        self.ask_end: Callable[[BookingGroupView], datetime | None] = partial(ask_new_end, self)
        self._lay_out()
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.use_button.clicked.connect(self.use_selected)
        self.run_button.clicked.connect(self.run_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.end_button.clicked.connect(self.end_selected)
        self.extend_button.clicked.connect(self.extend_selected)
        self.export_button.clicked.connect(self.export_ics)
        self._update_buttons()

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        for button in (
            self.use_button,
            self.run_button,
            self.cancel_button,
            self.end_button,
            self.extend_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(self.tr("My bookings (the last two weeks and everything ahead)"))
        title.setObjectName("hint")
        top = QHBoxLayout()  # the export is of the whole list: above it, not with its row's
        top.addWidget(title, 1)
        top.addWidget(self.export_button)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.tree, 1)
        upper_layout.addWidget(self.message)
        upper_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.jobs)
        split.setSizes([380, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)

    # -- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read my bookings on a worker."""
        since = datetime.now(UTC) - HISTORY
        run_task(
            lambda: self.labgpu.bookings.between(since, None, mine=True), self._loaded, context=self
        )

    def _loaded(self, bookings: list[BookingView] | None, error: BaseException | None) -> None:
        if not self.loaded(error) or bookings is None:
            return
        self.set_groups(group_views(bookings))

    def set_groups(self, groups: list[BookingGroupView]) -> None:
        """Show groups, keeping the selection."""
        current = self.selected()
        self.groups = groups
        self.tree.clear()
        for group in groups:
            item = QTreeWidgetItem(
                [
                    window_text(group.window),
                    compact_labels(group.gpu_labels),
                    status_label(group.status),
                    group.note,
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, group.group_id)
            if group.status not in OPEN:
                for column in range(4):
                    item.setForeground(column, Qt.GlobalColor.gray)
            self.tree.addTopLevelItem(item)
            if current is not None and group.group_id == current.group_id:
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> BookingGroupView | None:
        """The selected booking group."""
        item = self.tree.currentItem()
        if item is None:
            return None
        gid = item.data(0, Qt.ItemDataRole.UserRole)
        return next((g for g in self.groups if g.group_id == gid), None)

    def select(self, group_id: str) -> None:
        """Select a group by id."""
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == group_id:
                self.tree.setCurrentItem(item)

    def _update_buttons(self) -> None:
        group = self.selected()
        status = group.status if group is not None else None
        idle = not self._busy
        self.cancel_button.setEnabled(
            idle and status in (BookingStatus.PENDING, BookingStatus.BOOKED)
        )
        self.end_button.setEnabled(idle and status is BookingStatus.ACTIVE)
        self.extend_button.setEnabled(idle and status in OPEN)
        self.use_button.setEnabled(status in OPEN)
        self.run_button.setEnabled(status in RUNNABLE)

    # -- actions ---------------------------------------------------------------------------

    def use_selected(self) -> QDialog | None:
        """*Use…*: the ssh line and environment of the selected booking; returns the dialog."""
        from labgpu.gui.booking.use_dialog import UseDialog  # it uses this module's texts

        group = self.selected()
        if group is None:
            return None
        dialog = UseDialog(self.labgpu, group.group_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def run_selected(self) -> QDialog | None:
        """*Run on this booking…*: start a job on the selected booking; returns the dialog."""
        from labgpu.gui.booking.run_dialog import RunDialog  # it uses this module's texts

        group = self.selected()
        if group is None:
            return None
        dialog = RunDialog(self.labgpu, group, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.started.connect(self.job_started)
        dialog.open()
        return dialog

    def job_started(self, job: LabJob) -> None:
        """A job was started from here: say so and show it in the jobs list."""
        if job.state is JobState.QUEUED:
            text = self.tr("Job {id} waits on {server} for the booking's start.")
        else:
            text = self.tr("Job {id} runs on {server}.")
        self.show_message(text.format(id=job.id, server=job.server))
        self.jobs.set_jobs([job, *(j for j in self.jobs.jobs if j.id != job.id)])
        self.jobs.select(job.id)
        self.jobs.reload()

    def cancel_selected(self) -> None:
        """Cancel the selected booking after confirmation."""
        group = self.selected()
        if group is None:
            return
        title = self.tr("Cancel booking")
        question = self.tr("Cancel your booking of {gpus} ({when})?").format(
            gpus=", ".join(group.gpu_labels), when=window_text(group.window)
        )
        if is_others(group, self.labgpu.user):  # single seat: anyone's; name the holder
            title, question = others_question("cancel", group, window_text(group.window))
        if self.confirm(title, question):
            self._run(
                lambda: self.labgpu.bookings.cancel(group.group_id), self.tr("Booking cancelled.")
            )

    def end_selected(self) -> None:
        """Release the selected active booking now, after confirmation."""
        group = self.selected()
        if group is None:
            return
        title = self.tr("End booking")
        question = self.tr("End your booking of {gpus} now and free the GPUs?").format(
            gpus=", ".join(group.gpu_labels)
        )
        if is_others(group, self.labgpu.user):
            title, question = others_question("end", group, window_text(group.window))
        if self.confirm(title, question):
            self._run(
                lambda: self.labgpu.bookings.end_early(group.group_id), self.tr("Booking ended.")
            )

    def extend_selected(self) -> None:
        """Ask for a new end and extend the selected booking."""
        group = self.selected()
        if group is None:
            return
        if is_others(group, self.labgpu.user):  # name the holder first (single seat)
            title, question = others_question("extend", group, window_text(group.window))
            if not self.confirm(title, question):
                return
        end = self.ask_end(group)
        if end is not None:
            self._run(
                lambda: self.labgpu.bookings.extend(group.group_id, end),
                self.tr("Booking extended."),
            )

    def export_ics(self) -> None:
        """Save my bookings as an .ics file."""
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export my bookings"), "labgpu-bookings.ics", self.tr("Calendar (*.ics)")
        )
        if path:
            lead = timedelta(minutes=reminder_lead_min(open_settings()))  # the alarms' lead
            run_task(
                lambda: self.labgpu.bookings.export_ics(Path(path), mine=True, reminder_lead=lead),
                lambda count, error: self._exported(path, count, error),
                context=self,
            )

    def _exported(self, path: str, count: int | None, error: BaseException | None) -> None:
        if error is not None:
            self.show_message(handle_error(self, error) or "", error=True)
        else:
            self.show_message(
                self.tr("Wrote {count} bookings to {path}.").format(count=count, path=path)
            )
