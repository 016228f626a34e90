"""The Servers page: the registered servers, *Add server…* and *Remove*."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.inventory.servers import Server
from labgpu.gui.shell import resources
from labgpu.gui.shell.snapshot import EMPTY, Snapshot
from labgpu.gui.widgets import text
from labgpu.gui.widgets.inline_message import InlineMessage

AnyIndex = QModelIndex | QPersistentModelIndex


class ServersModel(QAbstractTableModel):
    """One row per registered server."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._snapshot = EMPTY
        self._servers: list[Server] = []

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show the servers of a snapshot (rows stay put when the names are the same)."""
        servers = sorted(snapshot.servers, key=lambda s: s.name)
        same = [s.name for s in servers] == [s.name for s in self._servers]
        if not same:
            self.beginResetModel()
        self._snapshot, self._servers = snapshot, servers
        if not same:
            self.endResetModel()
        elif servers:
            self.dataChanged.emit(self.index(0, 0), self.index(len(servers) - 1, 7))

    def server_at(self, row: int) -> Server:
        """The server shown in ``row``."""
        return self._servers[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._servers)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 8

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return [
            self.tr("Name"),
            self.tr("Host"),
            self.tr("Port"),
            self.tr("User"),
            self.tr("State"),
            self.tr("Reason"),
            self.tr("Last seen"),
            self.tr("GPUs"),
        ][section]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        server = self._servers[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 5:
            return server.state_reason or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        target = server.target
        values = [
            server.name,
            target.host,
            "" if target.port is None else str(target.port),
            target.user or "",
            text.state_label(server.state),
            server.state_reason,
            text.dated_time(server.last_seen),
            str(len(self._snapshot.gpus_of(server.name))),
        ]
        return values[index.column()]


class ServersView(QWidget):
    """Table of servers with the buttons that change it."""

    add_requested = Signal()
    remove_requested = Signal(str)
    forget_key_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ServersModel(self)
        self.table = QTableView()
        self.add_button = QPushButton(resources.icon("add"), self.tr("Add server…"))
        self.remove_button = QPushButton(resources.icon("remove"), self.tr("Remove…"))
        self.forget_key_button = QPushButton(self.tr("Forget host key…"))
        self.forget_key_button.setToolTip(
            self.tr(
                "After a server was reinstalled: forget its old SSH host key, so that the "
                "next contact asks you to confirm the new one."
            )
        )
        self.message = InlineMessage(problems_only=True, wrap=False)
        self._set_up_table()
        self._lay_out()
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.forget_key_button.clicked.connect(self._forget_key_clicked)
        self._update_buttons()

    def _set_up_table(self) -> None:
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # the full reason is in the tooltip
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.forget_key_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.message)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show the servers of a snapshot."""
        self.model.set_snapshot(snapshot)

    def show_message(self, message: str) -> None:
        """Show a one-line message under the table (empty to clear it)."""
        self.message.show_message(message)

    def selected_server(self) -> Server | None:
        """The selected server, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.server_at(rows[0].row()) if rows else None

    def _update_buttons(self) -> None:
        selected = self.selected_server() is not None
        self.remove_button.setEnabled(selected)
        self.forget_key_button.setEnabled(selected)

    def _remove_clicked(self) -> None:
        server = self.selected_server()
        if server is not None and self.confirm_remove(server.name):
            self.remove_requested.emit(server.name)

    def _forget_key_clicked(self) -> None:
        server = self.selected_server()
        if server is not None and self.confirm_forget_key(server.name):
            self.forget_key_requested.emit(server.name)

    def confirm_forget_key(self, name: str) -> bool:
        """Ask before forgetting a host key (tests replace this method to answer)."""
        answer = QMessageBox.question(
            self,
            self.tr("Forget host key"),
            self.tr(
                "Forget the SSH host key labgpu knows for {name}? Do this only when the server "
                "was reinstalled or its key was replaced on purpose; labgpu then asks you to "
                "confirm the new key the next time you add the server."
            ).format(name=name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_remove(self, name: str) -> bool:
        """Ask before removing (tests replace this method to answer)."""
        answer = QMessageBox.question(
            self,
            self.tr("Remove server"),
            self.tr(
                "Remove the server {name}? Its GPUs and their whole history (samples, processes) "
                "are deleted from the database. The server itself is not touched."
            ).format(name=name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes
