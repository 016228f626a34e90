"""The main window and its Live view against a real (SQLite) store."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.core.inventory import ServerState
from labgpu.gui.live_model import Column, FractionRole, LiveModel
from labgpu.gui.main_window import LIVE, SERVERS, SETTINGS, MainWindow
from labgpu.gui.snapshot import take_snapshot
from labgpu.services import Labgpu
from tests.gui.conftest import add_server, make_probe


def shown(model: LiveModel) -> dict[str, list[tuple[str, str, str]]]:
    """Server name → (GPU index, model, state) of the rows the view shows."""
    return {
        g.server.name: [
            (
                model.data(model.index(r, Column.GPU, model.index(row, 0))),
                model.data(model.index(r, Column.MODEL, model.index(row, 0))),
                model.data(model.index(r, Column.STATE, model.index(row, 0))),
            )
            for r in range(len(g.gpus))
        ]
        for row, g in enumerate(model.groups())
    }


def test_empty_database_shows_welcome(window: MainWindow) -> None:
    assert window.live_page.showing_welcome()
    assert window.live_page.welcome.add_button.isVisible()


def test_live_view_shows_every_gpu(sample_lab: Labgpu, window: MainWindow) -> None:
    model = window.live_page.live.model
    assert not window.live_page.showing_welcome()
    rows = shown(model)
    assert sorted(rows) == ["gpu-01", "gpu-02", "gpu-03"]
    assert [r[0] for r in rows["gpu-01"]] == ["0", "1", "2", "3"]
    assert rows["gpu-02"][0][1] == "NVIDIA A40"
    assert [r[2] for r in rows["gpu-01"]] == ["busy", "busy", "free", "free"]
    gpu0 = model.index(0, 0, model.index(0, 0))
    assert model.data(gpu0.siblingAtColumn(Column.OWNERS)) == "alice"
    assert "python train.py --gpu 0" in model.data(gpu0.siblingAtColumn(Column.PROCESSES))
    assert model.data(gpu0.siblingAtColumn(Column.MEMORY)) == "8.8 / 16.0 GiB"
    assert model.data(gpu0.siblingAtColumn(Column.UTIL), FractionRole) == 0.87
    assert window.live_page.live.tree.isExpanded(model.index(0, 0))


def test_model_filter_and_free_only(sample_lab: Labgpu, window: MainWindow) -> None:
    live = window.live_page.live
    models = [live.model_combo.itemText(i) for i in range(live.model_combo.count())]
    assert models[1:] == ["NVIDIA A40", "NVIDIA RTX A4000"]
    live.model_combo.setCurrentIndex(live.model_combo.findData("NVIDIA A40"))
    assert list(shown(live.model)) == ["gpu-02"]
    live.free_only.setChecked(True)
    assert [r[0] for r in shown(live.model)["gpu-02"]] == ["0", "1", "3"]
    live.model_combo.setCurrentIndex(0)
    free = shown(live.model)
    assert sorted(free) == ["gpu-01", "gpu-02"]  # the offline server has no free GPU
    assert all(state == "free" for rows in free.values() for _i, _m, state in rows)


def test_offline_server_shows_state_and_reason(sample_lab: Labgpu, window: MainWindow) -> None:
    model = window.live_page.live.model
    row = [g.server.name for g in model.groups()].index("gpu-03")
    title = model.data(model.index(row, 0))
    assert "offline" in title
    assert "connection refused; is the server up?" in title
    assert QApplication.activeModalWidget() is None
    gpu = model.index(0, Column.STATE, model.index(row, 0))
    assert model.data(gpu) == "offline"


def test_refresh_picks_up_new_servers_and_keeps_rows(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    tree = window.live_page.live.tree
    model = window.live_page.live.model
    tree.collapse(model.index(1, 0))
    add_server(sample_lab, "gpu-04", make_probe("gpu-04", "NVIDIA A40", 46068, {}))
    window.refresh()
    qtbot.waitUntil(lambda: len(model.groups()) == 4, timeout=10_000)
    assert not tree.isExpanded(model.index(1, 0))  # gpu-02 stays collapsed
    assert tree.isExpanded(model.index(3, 0))


def test_many_servers(qtbot: QtBot, lab: Labgpu) -> None:
    for i in range(13):
        add_server(
            lab, f"gpu-{i:02d}", make_probe(f"gpu-{i:02d}", "NVIDIA RTX A4000", 16376, {1: "u"})
        )
    model = LiveModel()
    model.set_snapshot(take_snapshot(lab))
    assert sum(len(g.gpus) for g in model.groups()) == 52
    assert model.rowCount(QModelIndex()) == 13


def test_shortcuts_switch_pages(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for key, page in ((Qt.Key.Key_2, SERVERS), (Qt.Key.Key_3, SETTINGS), (Qt.Key.Key_1, LIVE)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.current_page() == page


def test_server_state_labels_cover_every_state() -> None:
    from labgpu.gui.text import state_label

    assert len({state_label(s) for s in ServerState}) == len(ServerState)
