"""The main window and its Live view against a real (SQLite) store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.core.inventory.servers import ServerState
from labgpu.gui.inventory.live_model import Column, FractionRole, LiveModel
from labgpu.gui.shell import resources
from labgpu.gui.shell.main_window import LIVE, SERVERS, SETTINGS, MainWindow
from labgpu.gui.shell.snapshot import take_snapshot
from labgpu.gui.widgets import text
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
    # The navigation's order (issue 13): Servers is the ninth page, Settings the tenth (Ctrl+0).
    for key, page in ((Qt.Key.Key_9, SERVERS), (Qt.Key.Key_0, SETTINGS), (Qt.Key.Key_1, LIVE)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.current_page() == page


def test_server_state_labels_cover_every_state() -> None:
    from labgpu.gui.widgets.text import state_label

    assert len({state_label(s) for s in ServerState}) == len(ServerState)


def gpu_row(model: LiveModel, server: str, index: int) -> QModelIndex:
    """The row of GPU ``server:index`` in the view."""
    row = [g.server.name for g in model.groups()].index(server)
    group = model.groups()[row]
    at = [g.index for g in group.gpus].index(index)
    return model.index(at, 0, model.index(row, 0))


def marks_refreshed(qtbot: QtBot, window: MainWindow, done: Callable[[], bool]) -> None:
    window.refresh_marks()
    qtbot.waitUntil(done, timeout=10_000)


def test_free_says_until_the_next_booking_and_booked_is_not_free(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    live = window.live_page.live
    model = live.model
    ids = {g.index: g.id for g in sample_lab.inventory.list_gpus() if g.server_name == "gpu-01"}
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    sample_lab.bookings.book([ids[2]], start, start + timedelta(hours=2), "later today")
    sample_lab.bookings.book([ids[3]], datetime.now(UTC), start, "held now")
    state = gpu_row(model, "gpu-01", 2).siblingAtColumn(Column.STATE)
    marks_refreshed(qtbot, window, lambda: model.data(state) != "free")
    until = start.astimezone().strftime("%H:%M")
    assert model.data(state) == f"free until {until}"
    assert text.local_time(start) in model.data(state, Qt.ItemDataRole.ToolTipRole)
    held = gpu_row(model, "gpu-01", 3).siblingAtColumn(Column.STATE)
    assert model.data(held) == "booked"  # no process, but a booking holds it now
    title = model.data(model.index(0, 0))
    assert "4 GPUs, 1 free" in title  # gpu-01: 0, 1 busy, 2 free until later, 3 booked
    live.free_only.setChecked(True)
    assert [r[0] for r in shown(model)["gpu-01"]] == ["2"]


def test_totals_count_what_the_filters_show(sample_lab: Labgpu, window: MainWindow) -> None:
    live = window.live_page.live
    assert live.summary.text() == "12 GPUs on 3 servers, 5 free"
    live.model_combo.setCurrentIndex(live.model_combo.findData("NVIDIA A40"))
    assert live.summary.text() == "4 of 12 GPUs shown, on 1 servers, 3 free"
    live.free_only.setChecked(True)
    assert live.summary.text() == "3 of 12 GPUs shown, on 1 servers, 3 free"
    live.model_combo.setCurrentIndex(0)
    assert live.summary.text() == "5 of 12 GPUs shown, on 2 servers, 5 free"


def test_booked_by_cell_has_its_whole_text_in_a_tooltip(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    model = window.live_page.live.model
    booked = gpu_row(model, "gpu-01", 0).siblingAtColumn(Column.BOOKED)
    marks_refreshed(qtbot, window, lambda: bool(model.data(booked)))
    assert model.data(booked) == "⚠ alice, no booking"
    tip = model.data(booked, Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines() == ["⚠ alice, no booking", "In use without a booking by alice."]


@pytest.fixture
def app_style(qapp: QApplication) -> Iterator[None]:
    """The app's style sheet (it sets the navigation's width), unset afterwards."""
    qapp.setStyleSheet(resources.stylesheet("labgpu"))
    yield
    qapp.setStyleSheet("")


@pytest.mark.usefixtures("app_style")
def test_every_column_is_visible_at_the_default_size(qtbot: QtBot, window: MainWindow) -> None:
    add_server(
        window.labgpu, "gpu-01", make_probe("gpu-01", "NVIDIA RTX A4000", 16376, {0: "alice"})
    )
    window.refresh()
    tree = window.live_page.live.tree
    qtbot.waitUntil(lambda: tree.model().rowCount() == 1, timeout=10_000)
    assert (window.width(), window.height()) == (1180, 720)  # MainWindow's default size
    header = tree.header()
    right = header.sectionViewportPosition(Column.PROCESSES) + 100  # room for "alice  pid …"
    assert right <= tree.viewport().width()
    metrics = tree.fontMetrics()  # the cells that were cut off show whole
    for column, sample in (
        (Column.MODEL, "NVIDIA RTX A4000"),
        (Column.MEMORY, "13.4 / 16.0 GiB"),
        (Column.BOOKED, "⚠ oh.taeyang, no booking"),
    ):
        assert metrics.horizontalAdvance(sample) < header.sectionSize(column), column.name


def test_owners_name_the_container(qtbot: QtBot, lab: Labgpu, window: MainWindow) -> None:
    """``kim.minjun (container vit-train)``; ``owner unknown (container notebook)``."""
    base = make_probe("gpu-09", "NVIDIA A40", 46068, {0: "kim.minjun", 1: "x"})
    boxed, unknown = base.processes
    procs = (
        replace(boxed, container="vit-train", container_runtime="docker"),
        replace(unknown, user=None, container="notebook", container_runtime="docker"),
    )
    add_server(lab, "gpu-09", replace(base, processes=procs))
    window.refresh()
    model = window.live_page.live.model
    qtbot.waitUntil(lambda: len(model.groups()) == 1, timeout=10_000)
    server = model.index(0, 0)
    owners = [model.data(model.index(r, Column.OWNERS, server)) for r in range(2)]
    assert owners == ["kim.minjun (container vit-train)", "owner unknown (container notebook)"]
    tooltip = model.data(model.index(1, Column.OWNERS, server), Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("owner unknown (container notebook)  pid 4001")
    assert [text.owner(p) for p in procs] == owners
