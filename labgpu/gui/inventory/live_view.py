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

from labgpu.gui.inventory.live_model import Column, LiveModel
from labgpu.gui.shell.preparing import PreparingWidget
from labgpu.gui.shell.snapshot import Snapshot
from labgpu.gui.shell.welcome import WelcomeWidget
from labgpu.gui.widgets.delegates import BarDelegate

# What each column should show whole, sized with the view's font (the last, Processes,
# takes the rest: every column fits the default window, 1180 px wide). Longer cells elide;
# their tooltip has the whole text.
COLUMN_SAMPLES = {
    Column.GPU: "000",
    Column.MODEL: "NVIDIA RTX A4000",
    Column.UTIL: "100 %",
    Column.MEMORY: "13.4 / 46.0 GiB",
    Column.TEMP: "100 °C",
    Column.POWER: "300 W",
    Column.STATE: "free until 07:00",
    Column.BOOKED: "⚠ oh.taeyang, no booking",
    Column.OWNERS: "kang.seoyeon",
}
# Room around a cell's text (margins, the tree's indentation in the first column).
COLUMN_PADDING = {Column.GPU: 30, Column.UTIL: 30, Column.MEMORY: 16}


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
        self.model.shown_changed.connect(self._show_totals)

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
        metrics = self.tree.fontMetrics()
        translated = self.model.typical_texts()
        for column, sample in COLUMN_SAMPLES.items():
            title = str(self.model.headerData(column, Qt.Orientation.Horizontal))
            longest = max(sample, translated.get(column, ""), key=metrics.horizontalAdvance)
            cell = metrics.horizontalAdvance(longest) + COLUMN_PADDING.get(column, 12)
            header.resizeSection(column, max(cell, metrics.horizontalAdvance(title) + 16))
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

    def _show_totals(self) -> None:
        """The totals of the rows shown: with a filter on, of those it lets through."""
        totals = self.model.totals()
        if totals.filtered:
            line = self.tr("{shown} of {total} GPUs shown, on {servers} servers, {free} free")
        else:
            line = self.tr("{total} GPUs on {servers} servers, {free} free")
        self.summary.setText(
            line.format(
                shown=totals.gpus, total=totals.all_gpus, servers=totals.servers, free=totals.free
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
    """The welcome screen while the database has no server, the Live view after; while the
    lab is opened (the demo generated), what is being prepared."""

    add_server_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.welcome = WelcomeWidget()
        self.live = LiveView()
        self.preparing = PreparingWidget()
        self.addWidget(self.welcome)
        self.addWidget(self.live)
        self.addWidget(self.preparing)
        self.welcome.add_server_requested.connect(self.add_server_requested)
        self.welcome.demo_requested.connect(self.demo_requested)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show the snapshot, or the welcome screen when no server is registered."""
        self.live.set_snapshot(snapshot)
        self.preparing.stop()
        self.setCurrentWidget(self.live if snapshot.servers else self.welcome)

    def show_preparing(self, title: str, detail: str = "") -> None:
        """Say what is being prepared until the first snapshot is shown."""
        self.preparing.begin(title, detail)
        self.setCurrentWidget(self.preparing)

    def showing_preparing(self) -> bool:
        """True while the lab is being prepared (or could not be read)."""
        return self.currentWidget() is self.preparing

    def showing_welcome(self) -> bool:
        """True while the welcome screen is shown."""
        return self.currentWidget() is self.welcome
