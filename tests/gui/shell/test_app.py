"""Worker, resources, settings and start-up of the desktop app."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.core.errors import LabgpuError, SchemaTooNewError
from labgpu.gui.shell import app as gui_app
from labgpu.gui.shell import errors, resources
from labgpu.gui.shell import settings as prefs
from labgpu.gui.shell.app import run_gui
from labgpu.gui.shell.main_window import MainWindow
from labgpu.gui.shell.worker import run_task, tasks_in_flight
from labgpu.services import Labgpu
from labgpu.services.platform.paths import config_dir


def test_run_task_delivers_result_on_gui_thread(qtbot: QtBot) -> None:
    got: list[tuple[object, object, bool]] = []
    gui = threading.current_thread()

    def work() -> int:
        assert threading.current_thread() is not gui
        return 42

    run_task(work, lambda r, e: got.append((r, e, threading.current_thread() is gui)))
    qtbot.waitUntil(lambda: bool(got))
    assert got == [(42, None, True)]
    assert tasks_in_flight() == 0


def test_run_task_delivers_error(qtbot: QtBot) -> None:
    got: list[BaseException | None] = []

    def fail() -> None:
        raise LabgpuError("gpu-07: unreachable")

    run_task(fail, lambda _r, e: got.append(e))
    qtbot.waitUntil(lambda: bool(got))
    assert isinstance(got[0], LabgpuError)
    assert errors.handle_error(None, got[0]) == "gpu-07: unreachable"


def test_unexpected_error_goes_to_crash_report(bugs: list[BaseException]) -> None:
    assert errors.handle_error(None, ZeroDivisionError("boom")) is None
    assert isinstance(bugs.pop(), ZeroDivisionError)


def test_resources_by_name() -> None:
    assert resources.icon_path("labgpu").suffix == ".svg"
    assert not resources.icon("live").isNull()
    assert "QListWidget#nav" in resources.stylesheet("labgpu")
    assert resources.translation_path("ko").is_file()


@pytest.mark.parametrize(
    ("lookup", "name"),
    [
        (resources.icon_path, "nope"),
        (resources.stylesheet, "nope"),
        (resources.translation_path, "xx"),
    ],
)
def test_unknown_resource_raises_naming_it(lookup: object, name: str) -> None:
    with pytest.raises(KeyError, match=name):
        lookup(name)  # type: ignore[operator]


def test_settings_live_in_config_dir() -> None:
    settings = prefs.open_settings()
    prefs.set_language(settings, "ko")
    prefs.set_refresh_interval_s(settings, 1)
    settings.sync()
    assert (config_dir() / "gui.ini").is_file()
    again = QSettings(str(config_dir() / "gui.ini"), QSettings.Format.IniFormat)
    assert prefs.language(again) == "ko"
    assert prefs.refresh_interval_s(again) == prefs.MIN_REFRESH_S


def test_settings_page_stores_choices(window: MainWindow) -> None:
    page = window.settings_page
    page.language.setCurrentIndex(page.language.findData("ko"))
    page.interval.setValue(10)
    assert prefs.language(window.settings) == "ko"
    assert window.timer.interval() == 10_000


def test_window_geometry_is_remembered(qtbot: QtBot, lab: Labgpu) -> None:
    first = MainWindow(lab, prefs.open_settings())
    qtbot.addWidget(first)
    first.resize(640, 480)
    first.show()
    first.close()
    second = MainWindow(lab, prefs.open_settings())
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (640, 480)


def test_korean_translation_is_installed() -> None:
    app = QApplication.instance()
    assert app is not None
    installed = prefs.install_translators(app, "ko")
    try:
        assert app.translate("LiveView", "Free only") == "빈 GPU만"
    finally:
        for translator in installed:
            app.removeTranslator(translator)
    assert prefs.install_translators(app, "en") == []


def test_database_too_new_is_refused(
    qtbot: QtBot, lab: Labgpu, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[str, str]] = []
    exits: list[int] = []
    monkeypatch.setattr(
        gui_app, "_fatal", lambda title, msg, _parent=None: shown.append((title, msg))
    )
    app = QApplication.instance()
    monkeypatch.setattr(app, "exit", exits.append)
    window = MainWindow(lab, prefs.open_settings())
    qtbot.addWidget(window)
    error = SchemaTooNewError(
        "the database is at revision 9, newer than this labgpu; upgrade labgpu"
    )
    gui_app._opened(app, window, error)  # type: ignore[arg-type]
    assert shown == [("Database too new", error.args[0])]
    assert exits == [1]


def test_run_gui_opens_the_window_and_quits(qtbot: QtBot) -> None:
    seen: list[str] = []

    def close_when_refreshed() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        shown = [w for w in windows if w.isVisible() and w.snapshot is not None]
        if shown:
            seen.append(shown[0].windowTitle())
            shown[0].close()  # the last window closing quits the app
        else:
            QTimer.singleShot(20, close_when_refreshed)

    QTimer.singleShot(0, close_when_refreshed)
    assert run_gui(None) == 0
    assert seen == ["labgpu"]


def test_bug_in_a_callback_is_reported(qtbot: QtBot, bugs: list[BaseException]) -> None:
    def broken(_result: object, _error: BaseException | None) -> None:
        raise KeyError("oops")

    run_task(lambda: 1, broken)
    qtbot.waitUntil(lambda: bool(bugs))
    assert isinstance(bugs.pop(), KeyError)


def test_garbage_is_collected_on_the_gui_thread_only(qtbot: QtBot) -> None:
    """The app turns Python's automatic collection off and collects from a GUI-thread timer."""
    import gc

    from labgpu.gui.shell.gc_timer import MainThreadGc

    timer = MainThreadGc(interval_ms=10)
    try:
        assert not gc.isenabled()
        cycles = []
        for _ in range(gc.get_threshold()[0] * 3):
            a: list[object] = []
            a.append(a)  # a cycle only the collector frees
            cycles.append(a)
        cycles.clear()
        qtbot.waitUntil(lambda: timer.collections > 0, timeout=5_000)
    finally:
        timer.stop()
    assert gc.isenabled()
    gc.disable()  # as the GUI tests run (the autouse fixture enables it afterwards)
