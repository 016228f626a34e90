"""The Calendar page: a toolbar (day/week, previous/today/next, find a slot) over the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from PySide6.QtCore import QPoint, QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingGroupView, BookingView
from labgpu.gui.booking.booking_actions import (
    CANCEL,
    END,
    EXTEND,
    RUN,
    USE,
    BookingInfoDialog,
    action_label,
    allowed_actions,
)
from labgpu.gui.booking.booking_dialog import BookingDialog
from labgpu.gui.booking.calendar_canvas import CalendarArea
from labgpu.gui.booking.calendar_data import (
    CalendarData,
    load_calendar,
    local_midnight,
    week_start_local,
)
from labgpu.gui.booking.calendar_paint import (
    paint_booking_box,
    paint_ghost,
    paint_maintenance,
    status_label,
)
from labgpu.gui.booking.find_slot_dialog import FindSlotDialog
from labgpu.gui.booking.my_bookings import ask_new_end, ask_yes_no, group_views, window_text
from labgpu.gui.booking.run_dialog import RunDialog
from labgpu.gui.booking.use_dialog import UseDialog
from labgpu.gui.shell.errors import handle_error, report_load
from labgpu.gui.shell.notifier import reminder_lead_min
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.busy import SingleRead
from labgpu.gui.widgets.dates import local_text
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

DAY, WEEK = "day", "week"
NOW_TICK_MS = 60_000
#: Window setting: draw cancelled and released bookings (as ghosts) or hide them.
SHOW_GHOSTS_KEY = "calendar/show_cancelled"
SWATCH_W, SWATCH_H = 34, 14


def legend_swatch(kind: str) -> QPixmap:
    """A small sample of how the calendar draws ``kind``: live, pending, ghost, maintenance."""
    pixmap = QPixmap(SWATCH_W, SWATCH_H)
    pixmap.fill(QColor("white"))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(1, 1, SWATCH_W - 2, SWATCH_H - 2)
    color = QColor.fromHsl(140, 150, 185)
    if kind == "live":
        paint_booking_box(painter, rect, color, pending=False, faded=False)
    elif kind == "pending":
        paint_booking_box(painter, rect, color, pending=True, faded=True)
    elif kind == "ghost":
        paint_ghost(painter, rect, "")
    else:
        paint_maintenance(painter, rect)
    painter.end()
    return pixmap


class CalendarPage(QWidget):
    """The lab's bookings over a day or a week; drag to book."""

    #: A booking was made here (the window refreshes other pages).
    changed = Signal()
    #: A line for the status bar after an export or a change made here.
    exported = Signal(str)

    def __init__(
        self, labgpu: Labgpu, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.settings = settings
        #: Asks the person; tests replace it. (title, text) -> yes?
        self.confirm: Callable[[str, str], bool] = partial(ask_yes_no, self)
        #: Asks for a new end; tests replace it. group -> end or None
        self.ask_end: Callable[[BookingGroupView], datetime | None] = partial(ask_new_end, self)
        self.zoom = WEEK
        self.anchor = datetime.now(UTC)
        self.data: CalendarData | None = None
        self.area = CalendarArea()
        self.canvas = self.area.canvas
        self.canvas.user = labgpu.user
        self.title = QLabel()
        self.title.setObjectName("calendarTitle")
        self.message = InlineMessage(problems_only=True, hide_empty=True)
        self._read = SingleRead()
        self._started = False  # no reads before the lab is open (``start``)
        self._make_toolbar()
        self._lay_out()
        self.canvas.selected.connect(self.open_booking_dialog)
        self.canvas.opened.connect(self.open_booking)
        self.canvas.menu_requested.connect(self.show_booking_menu)
        self.canvas.delete_requested.connect(self.delete_booking)
        self.tick = QTimer(self)
        self.tick.setInterval(NOW_TICK_MS)
        self.tick.timeout.connect(self._tick)
        self._apply_range()

    def _make_toolbar(self) -> None:
        self.day_button = QToolButton()
        self.day_button.setText(self.tr("Day"))
        self.week_button = QToolButton()
        self.week_button.setText(self.tr("Week"))
        zoom = QButtonGroup(self)
        for button in (self.day_button, self.week_button):
            button.setCheckable(True)
            zoom.addButton(button)
        self.week_button.setChecked(True)
        self.day_button.clicked.connect(lambda: self.set_zoom(DAY))
        self.week_button.clicked.connect(lambda: self.set_zoom(WEEK))
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setToolTip(self.tr("Earlier"))
        self.today_button = QToolButton()
        self.today_button.setText(self.tr("Today"))
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setToolTip(self.tr("Later"))
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.today_button.clicked.connect(self.go_today)
        self.find_button = QToolButton()
        self.find_button.setText(self.tr("Find a slot…"))
        self.find_button.clicked.connect(self.open_find_slot)
        self.export_button = QToolButton()
        self.export_button.setText(self.tr("Export .ics…"))
        self.export_button.setToolTip(self.tr("Save the whole lab's bookings as a calendar file"))
        self.export_button.clicked.connect(self.ask_export)
        self.ghosts_button = QToolButton()
        self.ghosts_button.setText(self.tr("Show cancelled"))
        self.ghosts_button.setToolTip(
            self.tr("Show cancelled and released bookings as outlines (their GPUs are free)")
        )
        self.ghosts_button.setCheckable(True)
        shown = True
        if self.settings is not None:
            shown = str(self.settings.value(SHOW_GHOSTS_KEY, "true")).lower() == "true"
        self.ghosts_button.setChecked(shown)
        self.canvas.set_show_ghosts(shown)
        self.ghosts_button.toggled.connect(self.set_show_ghosts)
        self.legend = self._make_legend()

    def _make_legend(self) -> QWidget:
        legend = QWidget()
        legend.setObjectName("calendarLegend")
        row = QHBoxLayout(legend)
        row.setContentsMargins(4, 0, 4, 0)
        for kind, text in (
            ("live", self.tr("Booked (colour: member)")),
            ("pending", self.tr("Pending approval")),
            ("ghost", self.tr("Cancelled or released: free")),
            ("maintenance", self.tr("Maintenance")),
        ):
            swatch = QLabel()
            swatch.setPixmap(legend_swatch(kind))
            label = QLabel(text)
            label.setObjectName("hint")
            label.setToolTip(text)
            # a narrow window clips the legend's words, not the window's minimum width
            label.setMinimumWidth(24)
            row.addWidget(swatch)
            row.addWidget(label)
            row.addSpacing(10)
        row.addStretch(1)
        row.addWidget(self.ghosts_button)
        legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        return legend

    def set_show_ghosts(self, show: bool) -> None:
        """Draw cancelled and released bookings as ghosts or hide them; remembered."""
        if self.ghosts_button.isChecked() != show:
            self.ghosts_button.setChecked(show)  # calls back here
            return
        self.canvas.set_show_ghosts(show)
        if self.settings is not None:
            self.settings.setValue(SHOW_GHOSTS_KEY, "true" if show else "false")

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        for widget in (self.day_button, self.week_button):
            bar.addWidget(widget)
        bar.addSpacing(6)
        for widget in (self.prev_button, self.today_button, self.next_button):
            bar.addWidget(widget)
        bar.addSpacing(12)
        bar.addWidget(self.title, 1)
        hint = QLabel(self.tr("Drag across GPUs and time to book."))
        hint.setObjectName("hint")
        for label in (hint, self.title):  # a narrow window elides them, not the buttons
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(hint, 1)
        bar.addWidget(self.find_button)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.area, 1)
        layout.addWidget(self.legend)

    # -- range -----------------------------------------------------------------------------

    def range(self) -> tuple[datetime, datetime]:
        """The shown span: the anchor's local day, or its week from Monday."""
        if self.zoom == DAY:
            start = local_midnight(self.anchor)
            return start, local_midnight(start + timedelta(hours=36))
        start = week_start_local(self.anchor)
        return start, local_midnight(start + timedelta(days=7, hours=12))

    def set_zoom(self, zoom: str) -> None:
        """Show a day or a week around the current anchor."""
        self.zoom = zoom
        (self.day_button if zoom == DAY else self.week_button).setChecked(True)
        self._apply_range()

    def step(self, direction: int) -> None:
        """Move one day or week earlier (-1) or later (+1)."""
        self.anchor += timedelta(days=direction * (1 if self.zoom == DAY else 7))
        self._apply_range()

    def go_today(self) -> None:
        """Show the day or week holding now."""
        self.anchor = datetime.now(UTC)
        self._apply_range()

    def show_moment(self, moment: datetime, zoom: str | None = None) -> None:
        """Show the day or week holding ``moment``."""
        self.anchor = moment
        if zoom is not None:
            self.zoom = zoom
            (self.day_button if zoom == DAY else self.week_button).setChecked(True)
        self._apply_range()

    def _apply_range(self) -> None:
        start, end = self.range()
        self.canvas.set_range(start, end)
        self.canvas.set_now(datetime.now(UTC))
        local_start, local_end = start.astimezone(), (end - timedelta(seconds=1)).astimezone()
        if self.zoom == DAY:
            self.title.setText(local_text(local_start, "yyyy-MM-dd (ddd)"))
        else:
            self.title.setText(f"{local_start:%Y-%m-%d} – {local_end:%m-%d}")
        self.area.refresh()
        self.reload()

    # -- loading ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load now and keep the now-line moving."""
        self._started = True
        self.reload()
        self.tick.start()

    def _tick(self) -> None:
        self.canvas.set_now(datetime.now(UTC))
        self.area.header.update()
        self.reload()

    def reload(self) -> None:
        """Read the shown span on a worker (one read at a time; a later wish is remembered);
        nothing before ``start`` (the lab is being opened)."""
        if not self._started or not self._read.begin():
            return
        start, end = self.range()
        run_task(lambda: load_calendar(self.labgpu, start, end), self._loaded, context=self)

    def _loaded(self, data: CalendarData | None, error: BaseException | None) -> None:
        if self._read.end():
            self.reload()
        if not report_load(self, self.message, self.show_message, error):
            return
        if data is not None and (data.start, data.end) == self.range():
            self.data = data
            self.canvas.set_data(data)
            self.area.refresh()

    def is_loading(self) -> bool:
        """True while a read is in flight."""
        return self._read.running()

    def show_message(self, message: str) -> None:
        """Show (or with an empty text hide) a one-line message above the calendar."""
        self.message.show_message(message)

    # -- dialogs ---------------------------------------------------------------------------

    def open_booking_dialog(
        self, gpu_ids: list[int], start: datetime, end: datetime
    ) -> BookingDialog:
        """The booking dialog prefilled with a dragged selection (window-modal); returns it."""
        gpus = list(self.data.gpus) if self.data is not None else []
        dialog = BookingDialog(self.labgpu, gpus, gpu_ids, start, end, self)
        self._open(dialog)
        return dialog

    def open_find_slot(self) -> FindSlotDialog:
        """The Find-a-slot dialog (window-modal); returns it."""
        gpus = list(self.data.gpus) if self.data is not None else []
        dialog = FindSlotDialog(self.labgpu, gpus, self)
        self._open(dialog)
        return dialog

    def ask_export(self) -> None:
        """Ask for a file name, then export the lab's bookings."""
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export the lab calendar"), "labgpu-lab.ics", self.tr("Calendar (*.ics)")
        )
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> None:
        """Write the lab's bookings from this week on to ``path`` (.ics) on a worker, with
        alarms at the reminder lead time of the settings."""
        lead = timedelta(minutes=reminder_lead_min(open_settings()))
        run_task(
            lambda: self.labgpu.bookings.export_ics(path, mine=False, reminder_lead=lead),
            lambda count, error: self._exported(path, count, error),
            context=self,
        )

    def _exported(self, path: Path, count: int | None, error: BaseException | None) -> None:
        if error is not None:
            self.show_message(handle_error(self, error) or "")
        else:
            self.exported.emit(
                self.tr("Wrote {count} bookings to {path}.").format(count=count, path=path)
            )

    # -- a booking's actions -----------------------------------------------------------------

    def group_of(self, booking: BookingView) -> BookingGroupView:
        """The whole group (every GPU shown) of a booking drawn here."""
        shown = self.data.bookings if self.data is not None else (booking,)
        return group_views([b for b in shown if b.group_id == booking.group_id])[0]

    def open_booking(self, booking: BookingView) -> BookingInfoDialog:
        """A booking's details with what its holder may do (window-modal); returns the dialog."""
        group = self.group_of(booking)
        dialog = BookingInfoDialog(group, allowed_actions(group, self.labgpu.user), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.act(dialog.chosen, group))
        dialog.open()
        return dialog

    def booking_menu(self, booking: BookingView) -> QMenu:
        """The right-click menu of a booking: open it, and the actions allowed."""
        group = self.group_of(booking)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.tr("Open…"), lambda: self.open_booking(booking))
        allowed = allowed_actions(group, self.labgpu.user)
        if allowed:
            menu.addSeparator()
        for action in allowed:
            menu.addAction(action_label(action), partial(self.act, action, group))
        return menu

    def show_booking_menu(self, booking: BookingView, where: QPoint) -> QMenu:
        """Pop the booking's menu up at ``where`` (global); returns it."""
        menu = self.booking_menu(booking)
        menu.popup(where)
        return menu

    def delete_booking(self, booking: BookingView) -> None:
        """Delete on a booking: cancel (or end, if it runs) your own, after asking."""
        group = self.group_of(booking)
        allowed = allowed_actions(group, self.labgpu.user)
        for action in (CANCEL, END):
            if action in allowed:
                self.act(action, group)
                return
        if group.user != self.labgpu.user:
            self.show_message(
                self.tr("This is {user}'s booking; ask them to change it.").format(user=group.user)
            )
        else:
            self.show_message(
                self.tr("This booking is {status}; nothing to cancel.").format(
                    status=status_label(group.status)
                )
            )

    def act(self, action: str, group: BookingGroupView) -> None:
        """Extend, end or cancel a group (asking first), on a worker; then reload."""
        gpus = ", ".join(group.gpu_labels)
        work: Callable[[], object]
        if action == CANCEL:
            question = self.tr("Cancel your booking of {gpus} ({when})?").format(
                gpus=gpus, when=window_text(group.window)
            )
            if not self.confirm(self.tr("Cancel booking"), question):
                return
            work, done = (
                (lambda: self.labgpu.bookings.cancel(group.group_id)),
                self.tr("Booking cancelled."),
            )
        elif action == END:
            question = self.tr("End your booking of {gpus} now and free the GPUs?").format(
                gpus=gpus
            )
            if not self.confirm(self.tr("End booking"), question):
                return
            work, done = (
                (lambda: self.labgpu.bookings.end_early(group.group_id)),
                self.tr("Booking ended."),
            )
        elif action == USE:
            self.open_use(group.group_id)
            return
        elif action == RUN:
            self.open_run(group)
            return
        elif action == EXTEND:
            end = self.ask_end(group)
            if end is None:
                return
            work = lambda: self.labgpu.bookings.extend(group.group_id, end)  # noqa: E731
            done = self.tr("Booking extended.")
        else:
            return
        run_task(work, lambda _r, error: self._acted(done, error), context=self)

    def open_use(self, group_id: str) -> UseDialog:
        """*Use…*: the ssh line and environment of a booking (window-modal); returns the dialog."""
        dialog = UseDialog(self.labgpu, group_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_run(self, group: BookingGroupView) -> RunDialog:
        """*Run on this booking…* (window-modal); the job is listed on My bookings."""
        dialog = RunDialog(self.labgpu, group, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.started.connect(
            lambda job: self.exported.emit(
                self.tr("Job {id} started on {server}; see My bookings.").format(
                    id=job.id, server=job.server
                )
            )
        )
        dialog.open()
        return dialog

    def _acted(self, done: str, error: BaseException | None) -> None:
        if error is not None:
            self.show_message(handle_error(self, error) or "")
            return
        self.show_message("")
        self.exported.emit(done)
        self.reload()
        self.changed.emit()

    def _open(self, dialog: BookingDialog | FindSlotDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.booked.connect(self._booked)
        dialog.open()

    def _booked(self, _group_id: str) -> None:
        self.show_message("")
        self.reload()
        self.changed.emit()
