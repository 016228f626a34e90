"""The Usage page's Projects tab (issue 16, point 4): per project, the figures of ``labgpu
usage --by project`` for the range shown, read on a worker; its CSV is the same table."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.usage.figures import Table
from labgpu.core.usage.projects import NO_PROJECT
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class ProjectsTable(QWidget):
    """One row per project (then work that named none) for the page's range."""

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        #: The figures shown (what *Save data as CSV* writes on this tab).
        self.table = Table(())
        self._generation = 0
        self.grid = QTableWidget(0, 8)
        self.grid.setHorizontalHeaderLabels(
            [
                self.tr("Project"),
                self.tr("Title"),
                self.tr("Booked GPU-h"),
                self.tr("Used GPU-h"),
                self.tr("Slot requests"),
                self.tr("Median wait (h)"),
                self.tr("Offloaded GPU-h"),
                self.tr("Unserved GPU-h"),
            ]
        )
        self.grid.verticalHeader().hide()
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.grid.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.note = QLabel(
            self.tr(
                "Booked: GPU-hours of bookings for the project. Used: its members' process "
                "GPU-hours on GPUs they had booked for it. Median wait: of its slot searches "
                "the lab answered. Unserved: GPU-hours it asked for and the lab lacked (neither "
                "booked later nor followed by an offloaded job). (none): work that named no "
                "project."
            )
        )
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.note)
        self.message = InlineMessage(problems_only=True, hide_empty=True)
        layout.addWidget(self.message)

    def load(self, start: datetime, end: datetime) -> None:
        """Read the range's figures on a worker (a newer load makes this one's answer stale)."""
        self._generation += 1
        generation = self._generation
        run_task(
            lambda: self.labgpu.usage.table("project", start, end),
            lambda table, error: self._loaded(generation, table, error),
            context=self,
        )

    def _loaded(self, generation: int, table: Table | None, error: BaseException | None) -> None:
        if generation != self._generation:
            return
        if error is not None:
            self.message.show_message(handle_error(self, error) or "")
            return
        self.message.clear()
        if table is not None:
            self.set_table(table)

    def set_table(self, table: Table) -> None:
        """Show ``table`` (the columns of ``core/usage/projects.PROJECT_COLUMNS``)."""
        self.table = table
        self.grid.setRowCount(len(table.rows))
        for row, values in enumerate(table.rows):
            for column, value in enumerate(values):
                text = self._cell(value)
                if column == 0 and value == NO_PROJECT:
                    text = self.tr("(none)")
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(RIGHT)
                self.grid.setItem(row, column, item)
        self.grid.resizeColumnsToContents()
        self.grid.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    @staticmethod
    def _cell(value: object) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:,.2f}"
        return str(value)
