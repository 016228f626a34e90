"""The Usage page's *Unmet demand* tab: requests the lab could not serve in time, and each
member's pending and rejected approvals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.usage import MemberUsage, UnmetRequest
from labgpu.gui.usage_charts import local_time


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], numeric: set[int]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(value)
            if c in numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class DemandPanel(QWidget):
    """How many requests went unmet, which, and approvals per member."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = QLabel()
        self.count.setObjectName("heading")
        self.unmet = _table(
            [
                self.tr("Member"),
                self.tr("GPUs"),
                self.tr("Hours"),
                self.tr("Wanted from"),
                self.tr("Earliest free"),
                self.tr("Waited"),
            ]
        )
        self.requests = _table(
            [self.tr("Member"), self.tr("Unmet"), self.tr("Pending"), self.tr("Rejected")]
        )
        for column in (1, 2, 3):  # the counts share the width, not the last column alone
            self.requests.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch
            )
        requests_box = QWidget()
        box = QVBoxLayout(requests_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(QLabel(self.tr("Requests per member")))
        box.addWidget(self.requests)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.unmet)
        splitter.addWidget(requests_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(splitter, 1)

    def set_data(self, unmet: list[UnmetRequest], members: list[MemberUsage]) -> None:
        """Show ``unmet`` requests and the members' request counts."""
        self.count.setText(
            self.tr("{count} requests could not start when wanted.").format(count=len(unmet))
            if unmet
            else self.tr("Every request in this range got GPUs when it was wanted.")
        )
        rows = [
            [
                r.user_name,
                f"{r.model} × {r.count}",
                f"{r.hours:g}",
                local_time(r.wanted_at.timestamp()),
                self.tr("none within the horizon")
                if r.earliest_at is None
                else local_time(r.earliest_at.timestamp()),
                "–" if r.wait is None else _duration(r.wait.total_seconds()),
            ]
            for r in unmet
        ]
        _fill(self.unmet, rows, {2})
        asked = [m for m in members if m.unmet or m.pending or m.rejected]
        counts = [[m.user_name, str(m.unmet), str(m.pending), str(m.rejected)] for m in asked]
        _fill(self.requests, counts, {1, 2, 3})


def _duration(seconds: float) -> str:
    """``5400`` -> ``1 h 30 min``; days past 48 hours."""
    minutes = round(seconds / 60)
    if minutes >= 48 * 60:
        return f"{minutes / 1440:.1f} d"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
