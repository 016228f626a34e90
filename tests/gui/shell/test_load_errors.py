"""Every page's inline error after a failed read clears when its next read succeeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from labgpu.core.errors import LabgpuError
from labgpu.gui.shell import errors as gui_errors
from labgpu.gui.shell.main_window import MainWindow
from labgpu.services import Labgpu

pytestmark = pytest.mark.gui

# (the window's page, the lab's part and its method the read calls)
PAGES = [
    ("calendar_page", "inventory", "list_gpus"),
    ("my_bookings_page", "bookings", "between"),
    ("approvals_page", "bookings", "pending_approvals"),
    ("rules_page", "rules", "current"),
    ("usage_page", None, "load_usage"),  # labgpu.gui.usage.usage_page.load_usage
]


@pytest.mark.parametrize(("page_name", "part", "method"), PAGES)
def test_a_read_error_clears_when_the_next_read_succeeds(
    qtbot: QtBot,
    sample_lab: Labgpu,
    window: MainWindow,
    monkeypatch: pytest.MonkeyPatch,
    page_name: str,
    part: str | None,
    method: str,
) -> None:
    import labgpu.gui.usage.usage_page as usage_page

    page = getattr(window, page_name)
    owner: object = usage_page if part is None else getattr(sample_lab, part)
    real = getattr(owner, method)
    broken = [True]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if broken[0]:
            raise LabgpuError("no such table: gpus")
        return real(*args, **kwargs)

    QThreadPool.globalInstance().waitForDone(30_000)  # reads started before the patch end,
    qtbot.wait(50)  # and their results arrive before the failing one, not after it
    monkeypatch.setattr(owner, method, flaky)
    page.reload()
    qtbot.waitUntil(lambda: "no such table" in page.message.text(), timeout=10_000)
    broken[0] = False
    page.reload()  # F5 or the page's own timer
    qtbot.waitUntil(lambda: page.message.text() == "", timeout=10_000)


def test_an_actions_message_survives_the_read_after_it(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    page = window.my_bookings_page
    page.show_message("Booking cancelled.")
    page.reload()
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 0, timeout=10_000)
    qtbot.wait(50)
    assert page.message.text() == "Booking cancelled."


def test_the_status_bar_drops_a_refresh_failure_once_a_refresh_succeeds(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labgpu.gui.shell.main_window as main_window

    real = main_window.take_snapshot
    broken = [True]

    def flaky(lab: Labgpu) -> Any:
        if broken[0]:
            raise LabgpuError("no such table: servers")
        return real(lab)

    monkeypatch.setattr(main_window, "take_snapshot", flaky)
    window.refresh()
    qtbot.waitUntil(lambda: "no such table" in window.statusBar().currentMessage(), timeout=10_000)
    broken[0] = False
    qtbot.waitUntil(lambda: not window.is_refreshing(), timeout=10_000)
    window.refresh()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=10_000)


#: The crash dialog itself (the ``bugs`` fixture replaces it during each test).
REAL_REPORT_BUG = gui_errors.report_bug


def test_the_crash_dialog_names_the_log_file(qtbot: QtBot, tmp_path: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    REAL_REPORT_BUG(window, RuntimeError("boom"))
    [box] = window.findChildren(QMessageBox)
    assert str(tmp_path / "log" / "labgpu.log") in box.text()
    box.close()


def test_a_crash_dialog_without_a_window_stays_until_closed(qtbot: QtBot) -> None:
    """A bug in a worker's callback has no window to hang the dialog on: it must not vanish
    the moment it is made (Python would delete a parentless box at once)."""
    REAL_REPORT_BUG(None, RuntimeError("boom"))
    qtbot.wait(10)
    [box] = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert "boom" in box.text()
    box.close()
    qtbot.waitUntil(lambda: not gui_errors._open_boxes, timeout=2000)
