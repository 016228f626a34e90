"""The Live view: every server and its GPUs, filterable by model and by *free only*."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from labgpu.gui.delegates import BarDelegate
from labgpu.gui.live_model import Column, LiveModel
from labgpu.gui.snapshot import Snapshot
from labgpu.gui.welcome import WelcomeWidget

COLUMN_WIDTHS = {
    Column.GPU: 64,
    Column.MODEL: 150,
    Column.UTIL: 110,
    Column.MEMORY: 150,
    Column.TEMP: 64,
    Column.POWER: 64,
    Column.STATE: 90,
    Column.BOOKED: 120,
    Column.OWNERS: 110,
}


class LiveView(QWidget):
    """Filter bar above a tree of servers and their GPUs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LiveModel(self)
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(16)
        self.free_only = QCheckBox(self.tr("Free only"))
        self.summary = QLabel()
        self.tree = QTreeView()
        self._collapsed: set[str] = set()
        self._set_up_tree()
        self._lay_out()
        self._fill_models([])
        self.model_combo.currentIndexChanged.connect(self._apply_filter)
        self.free_only.toggled.connect(self._apply_filter)
        self.model.modelReset.connect(self._after_reset)

    def _set_up_tree(self) -> None:
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # keeps 50+ GPUs cheap to lay out
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setSelectionBehavior(QTreeView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        bars = BarDelegate(self.tree)
        self.tree.setItemDelegateForColumn(Column.UTIL, bars)
        self.tree.setItemDelegateForColumn(Column.MEMORY, bars)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.collapsed.connect(lambda i: self._collapsed.add(self._server_name(i)))
        self.tree.expanded.connect(lambda i: self._collapsed.discard(self._server_name(i)))

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Model:")))
        bar.addWidget(self.model_combo)
        bar.addSpacing(12)
        bar.addWidget(self.free_only)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.tree)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new snapshot, keeping the filters."""
        self._fill_models(snapshot.models)
        self.model.set_snapshot(snapshot)
        free = sum(1 for g in snapshot.gpus if g.is_free)
        self.summary.setText(
            self.tr("{total} GPUs on {servers} servers, {free} free").format(
                total=len(snapshot.gpus), servers=len(snapshot.servers), free=free
            )
        )

    def _fill_models(self, models: list[str]) -> None:
        current = self.model_combo.currentData()
        wanted = [None, *models]
        if [self.model_combo.itemData(i) for i in range(self.model_combo.count())] == wanted:
            return
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(self.tr("All models"), None)
        for model in models:
            self.model_combo.addItem(model, model)
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(current), 0))
        self.model_combo.blockSignals(False)
        self._apply_filter()

    def _apply_filter(self) -> None:
        self.model.set_filter(self.model_combo.currentData(), self.free_only.isChecked())

    def _server_name(self, index: QModelIndex) -> str:
        groups = self.model.groups()
        return groups[index.row()].server.name if index.row() < len(groups) else ""

    def _after_reset(self) -> None:
        root = QModelIndex()
        for row, group in enumerate(self.model.groups()):
            self.tree.setFirstColumnSpanned(row, root, True)
            if group.server.name not in self._collapsed:
                self.tree.expand(self.model.index(row, 0))


class LivePage(QStackedWidget):
    """The welcome screen while the database has no server, the Live view after."""

    add_server_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.welcome = WelcomeWidget()
        self.live = LiveView()
        self.addWidget(self.welcome)
        self.addWidget(self.live)
        self.welcome.add_server_requested.connect(self.add_server_requested)
        self.welcome.demo_requested.connect(self.demo_requested)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show the snapshot, or the welcome screen when no server is registered."""
        self.live.set_snapshot(snapshot)
        self.setCurrentWidget(self.live if snapshot.servers else self.welcome)

    def showing_welcome(self) -> bool:
        """True while the welcome screen is shown."""
        return self.currentWidget() is self.welcome
