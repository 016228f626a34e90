"""The painted timeline of the Calendar view: one row per GPU, grouped by model and server.

Bookings are boxes coloured by member (a pending request dashed), cancelled and released ones are
ghosts (a dotted outline, no fill, struck-through text: the GPU is free) that a toggle hides,
maintenance is hatched, a red line marks now. Dragging
across GPU rows and time selects GPUs and a window (snapped to 30 minutes) and emits
``selected``; the page opens the booking dialog from it. How each part is drawn, and its
words, are in ``calendar_paint``; the time axis above the rows is ``calendar_header``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QScrollArea, QToolTip, QWidget

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingView
from labgpu.core.inventory.servers import Gpu
from labgpu.gui.booking.calendar_data import (
    SNAP,
    CalendarData,
    TimeAxis,
    member_color,
    ordered_gpus,
    snap_down,
)
from labgpu.gui.booking.calendar_header import CalendarHeader
from labgpu.gui.booking.calendar_paint import (
    GRID,
    GRID_STRONG,
    GROUP_H,
    HEADER_H,
    LABEL_W,
    NOW_RED,
    ROW_H,
    SELECTION,
    booking_caption,
    booking_tooltip,
    grid_lines,
    grid_step,
    is_ghost,
    paint_booking_box,
    paint_ghost,
    paint_maintenance,
)


@dataclass(frozen=True, slots=True)
class Row:
    """A group header (``gpu`` None) or one GPU, at ``top`` pixels."""

    top: int
    height: int
    title: str
    gpu: Gpu | None = None


def build_rows(gpus: list[Gpu]) -> list[Row]:
    """Header rows (``model · server``) followed by that server's GPUs."""
    rows: list[Row] = []
    top = 0
    previous: tuple[str, str] | None = None
    for gpu in ordered_gpus(gpus):
        key = (gpu.model, gpu.server_name)
        if key != previous:
            rows.append(Row(top, GROUP_H, f"{gpu.server_name}  ·  {gpu.model}"))
            top += GROUP_H
            previous = key
        rows.append(Row(top, ROW_H, f"{gpu.server_name}:{gpu.index}", gpu))
        top += ROW_H
    return rows


class CalendarCanvas(QWidget):
    """Paints rows, bookings, maintenance and the now-line; turns drags into selections."""

    #: (GPU ids, start, end) chosen by dragging, snapped to 30 minutes.
    selected = Signal(list, datetime, datetime)
    #: A booking was double-clicked (BookingView).
    opened = Signal(object)
    #: A booking was right-clicked (BookingView, global position for a menu).
    menu_requested = Signal(object, QPoint)
    #: Delete was pressed with a booking chosen (BookingView).
    delete_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: CalendarData | None = None
        self.rows: list[Row] = []
        self.start = datetime.now(UTC)
        self.end = self.start + timedelta(days=7)
        self.now = datetime.now(UTC)
        self.user = ""
        self.show_ghosts = True  # cancelled and released bookings, drawn as ghosts
        self.current_group = ""  # the booking clicked last (Delete acts on it)
        self._drag: tuple[QPointF, QPointF] | None = None
        self._by_gpu: dict[int, list[BookingView]] = {}  # bookings per GPU, by start
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Delete acts on the chosen booking
        self.setMinimumWidth(LABEL_W + 120)

    # -- feeding ---------------------------------------------------------------------------

    def set_range(self, start: datetime, end: datetime) -> None:
        """Show ``[start, end)``."""
        self.start, self.end = start, end
        self.update()

    def set_data(self, data: CalendarData) -> None:
        """Show newly read bookings (the rows follow the GPUs)."""
        self.data = data
        self.rows = build_rows(list(data.gpus))
        self._by_gpu = {}
        for booking in sorted(data.bookings, key=lambda b: b.window.start):
            self._by_gpu.setdefault(booking.gpu_id, []).append(booking)
        self.setMinimumHeight(self.rows[-1].top + self.rows[-1].height + 1 if self.rows else 0)
        self.updateGeometry()
        self.update()

    def set_show_ghosts(self, show: bool) -> None:
        """Draw cancelled and released bookings as ghosts (True) or leave them out."""
        self.show_ghosts = show
        self.update()

    def shown_bookings(self, gpu_id: int) -> list[BookingView]:
        """A GPU's bookings as painted, bottom first: ghosts (if shown) under live ones."""
        bookings = self._by_gpu.get(gpu_id, [])
        ghosts = [b for b in bookings if is_ghost(b)] if self.show_ghosts else []
        return ghosts + [b for b in bookings if not is_ghost(b)]

    def set_now(self, now: datetime) -> None:
        """Move the now-line."""
        self.now = now
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, self.minimumHeight())

    @property
    def axis(self) -> TimeAxis:
        """The time axis at the current width."""
        return TimeAxis(self.start, self.end, LABEL_W, self.width() - LABEL_W)

    # -- geometry for tests and the header -------------------------------------------------

    def row_of(self, gpu_id: int) -> Row:
        """The row of a GPU (KeyError if it is not shown)."""
        for row in self.rows:
            if row.gpu is not None and row.gpu.id == gpu_id:
                return row
        raise KeyError(gpu_id)

    def point_for(self, gpu_id: int, moment: datetime) -> QPoint:
        """The widget point in the middle of a GPU's row at ``moment``."""
        row = self.row_of(gpu_id)
        return QPoint(round(self.axis.x_for(moment)), row.top + row.height // 2)

    def _gpu_row_at(self, y: float) -> Row | None:
        for row in self.rows:
            if row.top <= y < row.top + row.height:
                return row if row.gpu is not None else None
        return None

    def booking_at(self, point: QPointF) -> BookingView | None:
        """The booking drawn under ``point``, if any."""
        row = self._gpu_row_at(point.y())
        if row is None or row.gpu is None or self.data is None or point.x() < LABEL_W:
            return None
        moment = self.axis.time_at(point.x())
        for booking in reversed(self.shown_bookings(row.gpu.id or -1)):  # the top one first
            if booking.window.contains(moment):
                return booking
        return None

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("white"))
        axis = self.axis
        self._paint_grid(painter, axis)
        for row in self.rows:
            self._paint_row(painter, row, axis)
        self._paint_selection(painter, axis)
        x = axis.x_for(self.now)
        if LABEL_W <= x <= self.width():
            painter.setPen(QPen(NOW_RED, 2))
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.end()

    def _paint_grid(self, painter: QPainter, axis: TimeAxis) -> None:
        step = grid_step(self.end - self.start)
        for moment, strong in grid_lines(self.start, self.end, step):
            painter.setPen(QPen(GRID_STRONG if strong else GRID, 1))
            x = axis.x_for(moment)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _paint_row(self, painter: QPainter, row: Row, axis: TimeAxis) -> None:
        label = QRectF(6, row.top, LABEL_W - 10, row.height)
        if row.gpu is None:
            painter.fillRect(QRectF(0, row.top, self.width(), row.height), QColor("#eef1f3"))
            font = painter.font()
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor("#2b3035"))
            painter.drawText(
                label.adjusted(0, 0, self.width(), 0), Qt.AlignmentFlag.AlignVCenter, row.title
            )
            font.setBold(False)
            painter.setFont(font)
            return
        gpu = row.gpu
        painter.setPen(QColor("#2b3035") if gpu.bookable else QColor("#9aa1a7"))
        painter.drawText(label, Qt.AlignmentFlag.AlignVCenter, row.title)
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(0, row.top + row.height - 1, self.width(), row.top + row.height - 1)
        if not gpu.bookable:
            painter.fillRect(
                QRectF(LABEL_W, row.top, axis.width, row.height - 1), QColor(240, 240, 240)
            )
        if self.data is None:
            return
        for maintenance in self.data.maintenance_of(gpu.id or -1):
            rect = self._span(axis, row, maintenance.window.start, maintenance.window.end)
            paint_maintenance(painter, rect)
            painter.setPen(QColor("#4a5056"))
            painter.drawText(
                rect.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, maintenance.reason
            )
        for booking in self.shown_bookings(gpu.id or -1):
            self._paint_booking(painter, axis, row, booking)

    def _span(self, axis: TimeAxis, row: Row, start: datetime, end: datetime) -> QRectF:
        left = max(axis.x_for(start), LABEL_W)
        right = min(axis.x_for(end), self.width())
        return QRectF(left, row.top + 2, max(right - left, 1), row.height - 5)

    def _paint_booking(
        self, painter: QPainter, axis: TimeAxis, row: Row, booking: BookingView
    ) -> None:
        rect = self._span(axis, row, booking.window.start, booking.window.end)
        if rect.right() < LABEL_W or rect.left() > self.width():
            return
        if is_ghost(booking):
            paint_ghost(painter, rect, booking_caption(booking))
            return
        pending = booking.status is BookingStatus.PENDING
        faded = pending or booking.status is BookingStatus.FINISHED
        paint_booking_box(painter, rect, member_color(booking.user), pending, faded)
        if booking.id is not None and booking.group_id == self.current_group:
            painter.setPen(QPen(QColor("#1f4f8f"), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 3, 3)
        idle = self.data is not None and booking.group_id in self.data.idle_groups
        key = (booking.group_id, booking.gpu_id)
        other = "" if self.data is None else self.data.intruded.get(key, "")
        if idle or other:
            painter.setPen(QPen(QColor("#c0392b" if other else "#e08a00"), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)
        painter.setPen(QColor("#1f2326"))
        painter.drawText(
            rect.adjusted(4, 0, -2, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine,
            booking_caption(booking, idle, other or ""),
        )

    def _paint_selection(self, painter: QPainter, axis: TimeAxis) -> None:
        chosen = self._selection()
        if chosen is None:
            return
        gpu_ids, start, end = chosen
        painter.setPen(QPen(QColor("#2f6f4f"), 1))
        painter.setBrush(SELECTION)
        for gpu_id in gpu_ids:
            painter.drawRect(self._span(axis, self.row_of(gpu_id), start, end))

    # -- dragging --------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = event.position()
        on_gpu = point.x() >= LABEL_W and self._gpu_row_at(point.y()) is not None
        if event.button() == Qt.MouseButton.LeftButton and on_gpu:
            self._drag = (point, point)
            self.update()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = (self._drag[0], event.position())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is None:
            return
        self._drag = (self._drag[0], event.position())
        chosen = self._selection()
        moved = (self._drag[1] - self._drag[0]).manhattanLength()
        self._drag = None
        self.update()
        if chosen is not None and moved >= 4:
            self.selected.emit(*chosen)
        elif moved < 4:  # a click chooses the booking under it (or none)
            self.choose(self.booking_at(event.position()))

    def choose(self, booking: BookingView | None) -> None:
        """Make ``booking`` the chosen one (outlined; Delete acts on it)."""
        self.current_group = booking.group_id if booking is not None else ""
        self.update()

    def current_booking(self) -> BookingView | None:
        """One booking (GPU) of the chosen group, if it is still shown."""
        if not self.current_group or self.data is None:
            return None
        return next((b for b in self.data.bookings if b.group_id == self.current_group), None)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        booking = self.booking_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and booking is not None:
            self._drag = None
            self.choose(booking)
            self.opened.emit(booking)
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        booking = self.booking_at(QPointF(event.pos()))
        if booking is None:
            super().contextMenuEvent(event)
            return
        self.choose(booking)
        self.menu_requested.emit(booking, event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        booking = self.current_booking()
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and booking is not None:
            self.delete_requested.emit(booking)
            return
        super().keyPressEvent(event)

    def _selection(self) -> tuple[list[int], datetime, datetime] | None:
        if self._drag is None:
            return None
        first, last = self._drag
        top, bottom = sorted((first.y(), last.y()))
        gpu_ids = [
            row.gpu.id
            for row in self.rows
            if row.gpu is not None
            and row.gpu.id is not None
            and row.top + row.height > top
            and row.top <= bottom
        ]
        if not gpu_ids:
            return None
        a, b = sorted((self.axis.time_at(first.x()), self.axis.time_at(last.x())))
        # The nearest grid line, not outwards: a pixel is minutes wide, so a drag that ends on
        # 16:00 lands a little after it, and rounding up made 13:00→16:00 into 16:30.
        start, end = snap_nearest(a), snap_nearest(b)
        if end <= start:
            end = start + SNAP
        return gpu_ids, start, end

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            booking = self.booking_at(QPointF(event.pos()))
            if booking is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), booking_tooltip(booking), self)
            return True
        return super().event(event)


def snap_nearest(moment: datetime) -> datetime:
    """``moment`` rounded to the nearest line of the 30-minute grid (a half rounds up)."""
    down = snap_down(moment)
    return down + SNAP if moment - down >= SNAP / 2 else down


class CalendarArea(QScrollArea):
    """Scrolls the canvas vertically; the header stays on top, as wide as the viewport."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = CalendarCanvas()
        self.header = CalendarHeader(self.canvas, self)
        self.setWidget(self.canvas)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportMargins(0, HEADER_H, 0, 0)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        viewport = self.viewport().geometry()
        self.header.setGeometry(viewport.x(), viewport.y() - HEADER_H, viewport.width(), HEADER_H)

    def refresh(self) -> None:
        """Repaint header and canvas."""
        self.header.update()
        self.canvas.update()
