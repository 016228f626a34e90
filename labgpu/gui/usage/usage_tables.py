"""The Usage page's *Unmet demand* tab: requests the lab had no GPUs for when wanted (the unmet
demand), requests one of the lab's rules refused (not missing GPUs), work sent to clusters, and
each member's counts with their pending and rejected approvals."""

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

from labgpu.core.usage.figures import MemberUsage, SlotRequest, hours_label
from labgpu.gui.usage.usage_charts import local_time
from labgpu.gui.widgets.text import rule_label
from labgpu.services.usage.service import Summary


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


def _titled(title: str, table: QTableWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(title))
    layout.addWidget(table)
    return box


class DemandPanel(QWidget):
    """Unmet demand (no capacity), requests refused by a rule, offloaded work, and counts per
    member: three different things a PI must not add up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = QLabel()
        self.count.setObjectName("heading")
        self.count.setWordWrap(True)
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
        self.refused = _table(
            [
                self.tr("Member"),
                self.tr("GPUs"),
                self.tr("Hours"),
                self.tr("Asked"),
                self.tr("Rule"),
            ]
        )
        self.requests = _table(
            [
                self.tr("Member"),
                self.tr("Unmet"),
                self.tr("Refused"),
                self.tr("Pending"),
                self.tr("Rejected"),
            ]
        )
        for column in (1, 2, 3, 4):  # the counts share the width, not the last column alone
            self.requests.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch
            )
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(_titled(self.tr("No free GPUs when wanted (unmet demand)"), self.unmet))
        left.addWidget(_titled(self.tr("Refused by a lab rule (not missing GPUs)"), self.refused))
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(_titled(self.tr("Requests per member"), self.requests))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(splitter, 1)

    def set_data(
        self, requests: list[SlotRequest], members: list[MemberUsage], summary: Summary
    ) -> None:
        """Show the range's ``requests`` (unmet and refused) and the members' counts."""
        unmet = [r for r in requests if r.no_capacity]
        refused = [r for r in requests if not r.no_capacity]
        history = summary.history_from
        if unmet:
            first = self.tr("Requests with no free GPUs when wanted: {count} ({hours} GPU-hours).")
            first = first.format(count=len(unmet), hours=hours_label(summary.unmet_gpu_h))
        elif history is None or history >= summary.until:
            first = self.tr("Nothing is known of this range: no usage history is kept for it.")
        else:
            first = self.tr("No request in this range went without free GPUs when wanted.")
        parts = [first]
        if refused:
            parts.append(self.tr("Refused by a lab rule: {count}.").format(count=len(refused)))
        if summary.offloaded_jobs:
            parts.append(
                self.tr("Jobs sent to clusters: {jobs} ({hours} GPU-hours).").format(
                    jobs=summary.offloaded_jobs, hours=hours_label(summary.offloaded_h)
                )
            )
        self.count.setText(" ".join(parts))
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
        refusals = [
            [
                r.user_name,
                f"{r.model} × {r.count}",
                f"{r.hours:g}",
                local_time(r.asked_at.timestamp()),
                rule_label(r.refused_rule or ""),
            ]
            for r in refused
        ]
        _fill(self.refused, refusals, {2})
        asked = [m for m in members if m.unmet or m.refused or m.pending or m.rejected]
        counts = [
            [m.user_name, str(m.unmet), str(m.refused), str(m.pending), str(m.rejected)]
            for m in asked
        ]
        _fill(self.requests, counts, {1, 2, 3, 4})


def _duration(seconds: float) -> str:
    """``5400`` -> ``1 h 30 min``; days past 48 hours."""
    minutes = round(seconds / 60)
    if minutes >= 48 * 60:
        return f"{minutes / 1440:.1f} d"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
