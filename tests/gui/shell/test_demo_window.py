"""``labgpu --demo``: the window on the demo lab, the welcome screen's offer, *Reset demo*."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QProcess, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.cli.main import main
from labgpu.demo import lab as demo
from labgpu.demo.model import DemoLab
from labgpu.demo.setup import DemoSetup, demo_lab
from labgpu.gui.shell import opening
from labgpu.gui.shell.main_window import APPROVALS, OFFLOAD, MainWindow
from labgpu.gui.shell.settings import open_settings
from tests.helpers.demo import BUILT_AT

pytestmark = pytest.mark.gui


def test_demo_flag_opens_a_populated_demo_window(qtbot: QtBot, demo_folder: Path) -> None:
    seen: dict[str, object] = {}

    def close_when_populated() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        ready = [
            w
            for w in windows
            if w.isVisible() and w.snapshot is not None and w.snapshot.gpus and w.identity
        ]
        if not ready:
            QTimer.singleShot(20, close_when_populated)
            return
        win = ready[0]
        assert isinstance(win.labgpu.setup, DemoSetup)
        seen.update(
            title=win.windowTitle(),
            gpus=len(win.snapshot.gpus),  # type: ignore[union-attr]
            rows=sum(len(g.gpus) for g in win.live_page.live.model.groups()),
            welcome=win.live_page.showing_welcome(),
            summary=win.live_page.live.summary.text(),
            feed=win.labgpu.inventory.feed is not None and win.labgpu.inventory.feed.is_running(),
            banner=win.demo_banner is not None and win.demo_banner.isVisible(),
        )
        win.close()  # the last window closing quits the app

    QTimer.singleShot(0, close_when_populated)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        assert main(["--demo"]) == 0
    finally:
        app.setStyleSheet("")  # make_application styled the shared app: later tests expect none
    assert "Demo" in str(seen["title"])
    assert seen["gpus"] == 52
    assert seen["rows"] == 52
    assert seen["welcome"] is False
    assert str(seen["summary"]).startswith("52 GPUs on 13 servers")
    assert seen["banner"] is True


def test_first_start_says_the_demo_is_being_prepared(
    qtbot: QtBot,
    labgpu_dirs: Path,
    demo_template: tuple[Path, DemoLab],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fresh install, ``labgpu --demo``: while the demo is generated (held here on an event
    after its second step) the Live page and the status bar say so, with the step; the window
    answers meanwhile; the message goes once the Live view is populated."""
    building, release = threading.Event(), threading.Event()
    ensure_demo = demo.ensure_demo

    def held_build(folder: Path, **kwargs: object) -> demo.DemoBuild:
        progress = kwargs["progress"]
        assert callable(progress)
        progress("members")
        progress("bookings")
        building.set()
        assert release.wait(60)
        for path in demo_template[0].iterdir():  # the session's demo, not 10 s of building
            shutil.copy2(path, folder / path.name)
        return ensure_demo(folder, now=BUILT_AT)

    monkeypatch.setattr(demo, "ensure_demo", held_build)
    seen: dict[str, object] = {"ticks": 0}
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: seen.update(ticks=int(str(seen["ticks"])) + 1))

    def window() -> MainWindow | None:  # an earlier test's window may linger, hidden
        shown = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
        ]
        return shown[0] if shown else None

    def while_building() -> None:
        win = window()
        step = win.live_page.preparing.step.text() if win is not None else ""
        if not building.is_set() or win is None or not step.startswith("Step 2 of 5"):
            QTimer.singleShot(20, while_building)
            return
        if not ticker.isActive():
            ticker.start()  # the event loop keeps turning while the worker is held
        if int(str(seen["ticks"])) < 10:
            QTimer.singleShot(20, while_building)
            return
        seen.update(
            preparing=win.live_page.showing_preparing(),
            welcome=win.live_page.showing_welcome(),
            title=win.live_page.preparing.title.text(),
            detail=win.live_page.preparing.detail.text(),
            step=step,
            status=win.statusBar().currentMessage(),
            nav=win.nav.isEnabled(),
        )
        ticker.stop()
        release.set()
        QTimer.singleShot(0, when_populated)

    def when_populated() -> None:
        win = window()
        if win is None or win.snapshot is None or win.identity is None:
            QTimer.singleShot(20, when_populated)
            return
        seen.update(
            after_preparing=win.live_page.showing_preparing(),
            after_status=win.statusBar().currentMessage(),
            after_nav=win.nav.isEnabled(),
            gpus=len(win.snapshot.gpus),
        )
        win.close()

    def give_up() -> None:  # never hang the run, whatever went wrong
        win = window()
        seen["gave_up"] = win.live_page.preparing.step.text() if win is not None else "no window"
        release.set()
        for widget in QApplication.topLevelWidgets():
            widget.close()

    QTimer.singleShot(0, while_building)
    QTimer.singleShot(90_000, give_up)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        assert main(["--demo"]) == 0
    finally:
        release.set()
        app.setStyleSheet("")  # make_application styled the shared app: later tests expect none
    assert "gave_up" not in seen, seen
    assert seen["preparing"] is True
    assert seen["welcome"] is False  # no "Add a server…" offered while the demo is generated
    assert seen["title"] == "Preparing the demo lab…"
    assert "first start" in str(seen["detail"])
    assert f"about {opening.DEMO_BUILD_S} s" in str(seen["detail"])
    assert str(seen["step"]).startswith("Step 2 of 5: bookings")
    assert str(seen["status"]).startswith("Preparing the demo lab… Step 2 of 5")
    assert seen["nav"] is False  # the pages wait for the lab
    assert int(str(seen["ticks"])) >= 10
    assert seen["after_preparing"] is False
    # the preparing message is gone; the status bar may now carry a reminder from the demo lab
    # itself (a guest on a GPU the demo user holds appears in some hours), never "Preparing"
    assert not str(seen["after_status"]).startswith("Preparing"), seen["after_status"]
    assert seen["after_nav"] is True
    assert seen["gpus"] == 52


def test_opening_a_database_says_so_until_the_live_view_is_read(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Not the demo: "Opening the database…" (which one), then the welcome of a fresh one."""
    window.show_opening()
    assert window.live_page.showing_preparing()
    assert window.live_page.preparing.title.text() == "Opening the database…"
    assert "Database: SQLite" in window.live_page.preparing.detail.text()
    assert window.statusBar().currentMessage() == "Opening the database…"
    assert not window.nav.isEnabled()
    window.start()
    qtbot.waitUntil(window.live_page.showing_welcome, timeout=10_000)
    assert window.nav.isEnabled()
    assert not window.live_page.preparing.is_counting()
    qtbot.waitUntil(lambda: not window.is_refreshing(), timeout=10_000)


@pytest.fixture
def demo_window(qtbot: QtBot, demo_folder: Path) -> Iterator[MainWindow]:
    """The main window on the (copied) demo lab, opened and refreshed once."""
    lab = demo_lab()
    lab.open()
    win = MainWindow(lab, open_settings(), demo=True)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.snapshot is not None and win.identity is not None, timeout=20_000)
    yield win
    win.timer.stop()
    qtbot.waitUntil(lambda: not win.is_refreshing(), timeout=20_000)
    QThreadPool.globalInstance().waitForDone(30_000)
    lab.close()


def test_every_page_has_demo_data(qtbot: QtBot, demo_window: MainWindow) -> None:
    win = demo_window
    assert win.windowTitle() == "labgpu — Demo lab"
    assert not win.servers_page.add_button.isVisible()
    assert not win.add_server_action.isEnabled()
    win.show_page(APPROVALS)
    approvals = win.nav.item(APPROVALS)
    qtbot.waitUntil(lambda: approvals.text().startswith("Approvals ("), timeout=20_000)
    assert win.labgpu.bookings.between(mine=True)
    assert win.labgpu.rules.maintenance()
    assert win.labgpu.bookings.pending_approvals()


def test_reset_demo_generates_the_lab_again(
    qtbot: QtBot, demo_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labgpu.demo import lab as demo

    monkeypatch.setattr(demo, "BUILD_HISTORY", demo.BUILD_HISTORY / 12)  # 5 minutes
    lab = demo_window.labgpu
    assert isinstance(lab.setup, DemoSetup)
    assert not lab.setup.built
    demo_window.reset_demo()
    qtbot.waitUntil(lambda: lab.setup.built, timeout=60_000)
    qtbot.waitUntil(
        lambda: "generated again" in demo_window.statusBar().currentMessage(), timeout=60_000
    )
    assert len(lab.inventory.list_gpus()) == 52
    qtbot.waitUntil(lambda: not demo_window.is_refreshing(), timeout=20_000)


def test_welcome_screen_offers_the_demo(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[str, list[str]]] = []

    def start_detached(program: str, arguments: list[str]) -> bool:
        started.append((program, arguments))
        return True

    monkeypatch.setattr(QProcess, "startDetached", start_detached)
    assert window.live_page.showing_welcome()
    window.live_page.welcome.demo_button.click()
    assert started
    assert started[0][1][-2:] == ["labgpu", "--demo"] or started[0][1][-1] == "--demo"
    assert opening.sys.executable == started[0][0]


def test_offload_page_shows_the_demos_jobs_without_connecting(
    qtbot: QtBot, demo_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paramiko

    attempts: list[object] = []

    def refuse(*args: object, **_kwargs: object) -> None:
        attempts.append(args)
        raise OSError("the demo tried to connect")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(paramiko.Transport, "__init__", refuse)
    win = demo_window
    page = win.offload_page
    if not win.labgpu.offload.jobs():  # the demo's student offloaded nothing this time
        lab = win.labgpu
        assert isinstance(lab.setup, DemoSetup)
        lab.act_as(lab.offload.jobs(mine=False)[0].user_name)
    mine = win.labgpu.offload.jobs()
    win.show_page(OFFLOAD)
    page.poll()  # the background poll: refresh and fetch, from the plan
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == len(mine), timeout=20_000)
    qtbot.waitUntil(lambda: not page._polling, timeout=20_000)
    assert page.message.text() == ""
    items = [page.tree.topLevelItem(i) for i in range(len(mine))]
    shown = {item.text(2) for item in items if item is not None}
    assert shown == {page.state_text(j) for j in win.labgpu.offload.jobs()}
    assert items[0] is not None
    page.tree.setCurrentItem(items[0])
    assert "#SBATCH --comment=pytorch" in page.script_view.toPlainText()
    page.fetch_selected()
    qtbot.waitUntil(lambda: "never connects" in page.message.text(), timeout=20_000)
    page.stop()
    assert attempts == []
