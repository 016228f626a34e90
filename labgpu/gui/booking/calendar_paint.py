"""How the Calendar's timeline draws its parts, its sizes, and the words on them.

A booking box in a member's colour, a ghost (cancelled or released: the GPU is free), a hatched
maintenance window, the grid lines of a day or a week, and a booking's caption, tooltip and
status in words. ``calendar_canvas`` paints with them; the Calendar page's legend uses the boxes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QCoreApplication, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingView
from labgpu.gui.widgets.dates import DAY_TIME, local_text

# Sizes of the timeline, in pixels: the GPU names' column, a GPU's row, a group's header row,
# the time axis above the rows.
LABEL_W = 150
ROW_H = 24
GROUP_H = 22
HEADER_H = 40
NOW_RED = QColor("#d0342c")
GRID = QColor("#e3e6e9")
GRID_STRONG = QColor("#b9c0c6")
SELECTION = QColor(47, 111, 79, 70)
MAINTENANCE = QColor("#9aa1a7")
GHOST = QColor("#6f777e")
#: Bookings that no longer hold their GPUs: drawn as ghosts, or hidden.
GHOSTS = (BookingStatus.CANCELLED, BookingStatus.RELEASED)


def is_ghost(booking: BookingView) -> bool:
    """True for a cancelled or released booking (its GPUs are free)."""
    return booking.status in GHOSTS


def paint_ghost(painter: QPainter, rect: QRectF, caption: str) -> None:
    """A booking that no longer holds its GPUs: dotted grey outline, no fill, struck-out text."""
    painter.setPen(QPen(GHOST, 1, Qt.PenStyle.DotLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(rect, 3, 3)
    if not caption:
        return
    font = painter.font()
    font.setStrikeOut(True)
    painter.setFont(font)
    painter.setPen(GHOST)
    painter.drawText(
        rect.adjusted(4, 0, -2, 0),
        Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine,
        caption,
    )
    font.setStrikeOut(False)
    painter.setFont(font)


def paint_booking_box(
    painter: QPainter, rect: QRectF, color: QColor, pending: bool, faded: bool
) -> None:
    """A booking in a member's colour: solid, dashed if pending, faded if pending or past."""
    fill = QColor(color)
    if faded:
        fill.setAlpha(110)
    painter.setPen(
        QPen(color.darker(170), 1, Qt.PenStyle.DashLine if pending else Qt.PenStyle.SolidLine)
    )
    painter.setBrush(fill)
    painter.drawRoundedRect(rect, 3, 3)


def paint_maintenance(painter: QPainter, rect: QRectF) -> None:
    """A maintenance window: grey, hatched."""
    painter.fillRect(rect, QColor("#e4e6e8"))
    painter.fillRect(rect, QBrush(MAINTENANCE, Qt.BrushStyle.BDiagPattern))


def booking_caption(booking: BookingView, idle: bool = False, other: str = "") -> str:
    """``kim · training ViT`` (+ a pending / idle mark, and ``⚠ lee runs here`` when someone
    else uses the GPU now)."""
    parts = [booking.user]
    if booking.note:
        parts.append(booking.note)
    caption = "  ·  ".join(parts)
    if booking.status is BookingStatus.PENDING:
        caption = QCoreApplication.translate("calendar", "{caption} (pending)").format(
            caption=caption
        )
    elif booking.status in GHOSTS:
        caption = QCoreApplication.translate("calendar", "{caption} ({status})").format(
            caption=caption, status=status_label(booking.status)
        )
    if idle:
        caption = QCoreApplication.translate("calendar", "{caption} (idle)").format(caption=caption)
    if other:
        caption = QCoreApplication.translate("calendar", "{caption}  ⚠ {other} runs here").format(
            caption=caption, other=other
        )
    return caption


def booking_tooltip(booking: BookingView) -> str:
    """Who, which GPU, when (local time), status and note."""
    start = booking.window.start.astimezone()
    end = booking.window.end.astimezone()
    return (
        QCoreApplication.translate("calendar", "{user} on {gpu}\n{start} – {end}\n{status}\n{note}")
        .format(
            user=booking.user,
            gpu=booking.gpu_label,
            start=local_text(start, DAY_TIME),
            end=local_text(end, DAY_TIME),
            status=status_label(booking.status),
            note=booking.note,
        )
        .strip()
    )


def status_label(status: BookingStatus) -> str:
    """A booking status in words."""
    labels = {
        BookingStatus.PENDING: QCoreApplication.translate("calendar", "pending approval"),
        BookingStatus.BOOKED: QCoreApplication.translate("calendar", "booked"),
        BookingStatus.ACTIVE: QCoreApplication.translate("calendar", "active"),
        BookingStatus.FINISHED: QCoreApplication.translate("calendar", "finished"),
        BookingStatus.CANCELLED: QCoreApplication.translate("calendar", "cancelled"),
        BookingStatus.RELEASED: QCoreApplication.translate("calendar", "released"),
    }
    return labels[status]


def grid_step(span: timedelta) -> timedelta:
    """Hourly lines for a day, six-hourly for a week."""
    return timedelta(hours=1) if span <= timedelta(days=1, hours=1) else timedelta(hours=6)


def grid_lines(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, bool]]:
    """Grid moments in ``[start, end]`` on local clock multiples of ``step``; midnight strong."""
    lines = []
    local = start.astimezone().replace(minute=0, second=0, microsecond=0)
    hours = int(step.total_seconds() // 3600)
    moment = local
    while moment <= end:
        local_moment = moment.astimezone()
        if local_moment.hour % hours == 0 and moment >= start:
            lines.append((moment, local_moment.hour == 0))
        moment += timedelta(hours=1)
    return lines
