"""The Servers page (issue 13, point 15): *Last seen* always carries its date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from labgpu.core.inventory.servers import Server, ServerState, SshTarget
from labgpu.gui.inventory.servers_view import ServersView
from labgpu.gui.shell.snapshot import Snapshot


def test_last_seen_has_a_date_also_for_today(qtbot: QtBot) -> None:
    now = datetime.now(UTC)
    seen = now - timedelta(seconds=30)
    servers = (
        Server("gpu-01", SshTarget("gpu-01"), ServerState.ONLINE, "", seen),
        Server("gpu-02", SshTarget("gpu-02"), ServerState.OFFLINE, "timed out", None),
    )
    view = ServersView()
    qtbot.addWidget(view)
    view.set_snapshot(Snapshot(servers, (), now))
    model = view.model
    column = next(
        c
        for c in range(model.columnCount())
        if model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        == "Last seen"
    )
    shown = model.data(model.index(0, column))
    assert shown == seen.astimezone().strftime("%Y-%m-%d %H:%M")
    assert model.data(model.index(1, column)) == "never"
