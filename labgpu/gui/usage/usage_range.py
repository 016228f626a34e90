"""The Usage page's range bar: 24 h / 7 days / 30 days / 1 year / Custom, and a busy sign."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from labgpu.gui.usage.usage_data import RANGES, range_bounds
from labgpu.gui.widgets.busy import busy_bar


class RangeBar(QWidget):
    """Which range the page shows; ``changed`` when the person picks another."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range_name = "7d"
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        labels = {
            "24h": self.tr("24 h"),
            "7d": self.tr("7 days"),
            "30d": self.tr("30 days"),
            "1y": self.tr("1 year"),
            "custom": self.tr("Custom"),
        }
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for name, label in labels.items():
            button = QPushButton(label)
            button.setCheckable(True)
            button.clicked.connect(lambda _c=False, n=name: self.set_range(n))
            self.group.addButton(button)
            row.addWidget(button)
            self.buttons[name] = button
        self.buttons[self.range_name].setChecked(True)
        row.addWidget(self._make_dates())
        row.addStretch(1)
        self.busy_label = QLabel(self.tr("Reading usage…"))
        self.busy = busy_bar()  # no percentage: it moves while a read runs
        self.busy.setMaximumWidth(120)
        row.addWidget(self.busy_label)
        row.addWidget(self.busy)
        self.show_busy(False)

    def _make_dates(self) -> QWidget:
        today = QDate.currentDate()
        self.from_edit = QDateEdit(today.addDays(-30))
        self.to_edit = QDateEdit(today)
        # Shown for Custom only (the page's summary names the dates of the others): one row
        # of controls then fits a narrow window.
        self.dates = QWidget()
        row = QHBoxLayout(self.dates)
        row.setContentsMargins(0, 0, 0, 0)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._custom_changed)
        row.addWidget(self.from_edit)
        row.addWidget(QLabel("–"))
        row.addWidget(self.to_edit)
        self.dates.setVisible(False)
        return self.dates

    def set_range(self, name: str) -> None:
        """Show a fixed range (``24h``, ``7d``, ``30d``, ``1y``) or the ``custom`` dates."""
        self.range_name = name
        self.buttons[name].setChecked(True)
        self.dates.setVisible(name == "custom")
        self.changed.emit()

    def set_custom(self, first: QDate, last: QDate) -> None:
        """Show the local days ``first`` to ``last``, both included."""
        for edit, value in ((self.from_edit, first), (self.to_edit, last)):
            edit.blockSignals(True)
            edit.setDate(value)
            edit.blockSignals(False)
        self.set_range("custom")

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The range chosen, ``[start, end)`` as aware datetimes; fixed ones end at ``now``
        (and the date fields follow them)."""
        if self.range_name in RANGES:
            start, end = range_bounds(self.range_name, now)
            self._show_dates(start, end)
            return start, end
        first, last = self.from_edit.date(), self.to_edit.date()
        start = datetime(first.year(), first.month(), first.day()).astimezone()
        end = datetime(last.year(), last.month(), last.day()).astimezone() + timedelta(days=1)
        return start, end

    def show_busy(self, busy: bool) -> None:
        """Show (or hide) that a read is running."""
        self.busy.setVisible(busy)
        self.busy_label.setVisible(busy)

    def _show_dates(self, start: datetime, end: datetime) -> None:
        last = (end - timedelta(seconds=1)).astimezone()
        for edit, day in ((self.from_edit, start.astimezone()), (self.to_edit, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)

    def _custom_changed(self) -> None:
        if self.range_name == "custom":
            self.changed.emit()
