"""Painting of the Live view: bars for utilisation and memory, coloured server headers."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from labgpu.gui.inventory.live_model import FractionRole, StateRole

TRACK = QColor("#e3e7ea")
LOW, MID, HIGH = QColor("#5aa469"), QColor("#e0a030"), QColor("#d0553c")
STALE = QColor("#b8bec3")


def bar_color(fraction: float) -> QColor:
    """Green while there is room, amber past half, red when nearly full."""
    if fraction >= 0.85:
        return HIGH
    return MID if fraction >= 0.5 else LOW


class BarDelegate(QStyledItemDelegate):
    """Draws a horizontal bar filled to the index's ``FractionRole``, with its text on top."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        fraction = index.data(FractionRole)
        if fraction is None:
            super().paint(painter, option, index)
            return
        stale = index.data(StateRole) not in ("free", "busy")
        style = option.widget.style() if option.widget else None
        if style is not None:  # selection / hover background first
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(4, 4, -4, -4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(TRACK)
        painter.drawRoundedRect(rect, 3, 3)
        filled = QRectF(rect)
        filled.setWidth(rect.width() * float(fraction))
        painter.setBrush(STALE if stale else bar_color(float(fraction)))
        painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(index.data()))
        painter.restore()
