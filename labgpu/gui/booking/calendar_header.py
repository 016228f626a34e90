"""The time axis above the Calendar's rows: days and six-hour marks for a week, hours for a
day, and the now mark."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from labgpu.gui.booking.calendar_data import TimeAxis
from labgpu.gui.booking.calendar_paint import GRID_STRONG, HEADER_H, LABEL_W, NOW_RED, grid_lines
from labgpu.gui.widgets.dates import local_text

if TYPE_CHECKING:
    from labgpu.gui.booking.calendar_canvas import CalendarCanvas

#: Hours between two labels of the day view's header, the first that fits is used.
LABEL_STEPS = (1, 2, 3, 4, 6, 12)


def label_step(hour_width: float, label_width: float) -> int:
    """Hours between hour labels so that labels ``label_width`` wide do not run together."""
    for hours in LABEL_STEPS:
        if hours * hour_width >= label_width:
            return hours
    return LABEL_STEPS[-1]


class CalendarHeader(QWidget):
    """The time axis above the rows: days (week) or hours (day), with the now mark."""

    def __init__(self, canvas: CalendarCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setFixedHeight(HEADER_H)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f7f8f9"))
        canvas = self.canvas
        axis = TimeAxis(canvas.start, canvas.end, LABEL_W, self.width() - LABEL_W)
        span = canvas.end - canvas.start
        painter.setPen(QColor("#2b3035"))
        if span > timedelta(days=1, hours=1):
            self._paint_days(painter, axis)
        else:
            self._paint_hours(painter, axis)
        x = axis.x_for(canvas.now)
        if LABEL_W <= x <= self.width():
            painter.setPen(QPen(NOW_RED, 2))
            painter.drawLine(QPointF(x, HEADER_H / 2), QPointF(x, HEADER_H))
        painter.setPen(GRID_STRONG)
        painter.drawLine(0, HEADER_H - 1, self.width(), HEADER_H - 1)
        painter.end()

    def _paint_days(self, painter: QPainter, axis: TimeAxis) -> None:
        today = datetime.now().astimezone().date()
        for moment, strong in grid_lines(axis.start, axis.end, timedelta(hours=6)):
            x = axis.x_for(moment)
            local = moment.astimezone()
            if strong and moment < axis.end:
                width = axis.x_for(moment + timedelta(days=1)) - x
                font = painter.font()
                font.setBold(local.date() == today)
                painter.setFont(font)
                painter.drawText(
                    QRectF(x + 4, 2, width - 6, HEADER_H / 2),
                    Qt.AlignmentFlag.AlignVCenter,
                    local_text(local, "ddd MM-dd"),
                )
                font.setBold(False)
                painter.setFont(font)
            painter.setPen(QColor("#6b7278"))
            painter.drawText(
                QRectF(x + 3, HEADER_H / 2, 40, HEADER_H / 2 - 2),
                Qt.AlignmentFlag.AlignVCenter,
                f"{local.hour:02d}",
            )
            painter.setPen(QColor("#2b3035"))

    def _paint_hours(self, painter: QPainter, axis: TimeAxis) -> None:
        painter.drawText(
            QRectF(8, 2, LABEL_W, HEADER_H / 2),
            Qt.AlignmentFlag.AlignVCenter,
            local_text(axis.start.astimezone(), "ddd yyyy-MM-dd"),
        )
        painter.setPen(QColor("#6b7278"))
        for rect, label in self.hour_labels(axis):
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, label)

    def hour_labels(self, axis: TimeAxis | None = None) -> list[tuple[QRectF, str]]:
        """The day view's hour labels and where they go: every hour, or every few hours when
        the window is too narrow for all of them (they must not run into each other)."""
        if axis is None:
            canvas = self.canvas
            axis = TimeAxis(canvas.start, canvas.end, LABEL_W, self.width() - LABEL_W)
        metrics = self.fontMetrics()
        gap = metrics.horizontalAdvance("0")
        label_w = metrics.horizontalAdvance("00:00") + gap + 3
        hour_w = axis.width / max((axis.end - axis.start).total_seconds() / 3600, 1)
        hours = label_step(hour_w, label_w)
        labels = []
        for moment, _strong in grid_lines(axis.start, axis.end, timedelta(hours=1)):
            local = moment.astimezone()
            x = axis.x_for(moment)
            if local.hour % hours or x + label_w > LABEL_W + axis.width + gap:
                continue
            labels.append(
                (
                    QRectF(x + 3, HEADER_H / 2, label_w - gap - 3, HEADER_H / 2 - 2),
                    local.strftime("%H:%M"),
                )
            )
        return labels
