"""Signing in to a lab database from the app (real PostgreSQL, a plaintext test keyring)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import keyring
import pytest
from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.gui.members.connect_dialog import ConnectDialog
from labgpu.gui.shell.app import run_gui
from labgpu.gui.shell.main_window import MainWindow
from labgpu.services.members import credentials
from labgpu.services.platform import paths

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def test_keyring(file_keyring: object) -> Iterator[None]:
    """Passwords go to a plaintext file under tmp_path, never to the real OS keyring."""
    yield
    QThreadPool.globalInstance().waitForDone(30_000)  # workers done before the keyring goes


@pytest.fixture(autouse=True)
def app_style(qapp: QApplication) -> Iterator[None]:
    """run_gui styles the shared QApplication; later tests expect it unstyled."""
    style = qapp.styleSheet()
    yield
    qapp.setStyleSheet(style)


def close_lab(dialog: ConnectDialog) -> None:
    if dialog.signed_in is not None:
        dialog.signed_in.labgpu.close()


def test_fields_come_from_the_url(qtbot: QtBot) -> None:
    dialog = ConnectDialog("postgresql://kim@db.lab.example.org:6543/lab?sslmode=require")
    qtbot.addWidget(dialog)
    assert (dialog.host.text(), dialog.port.value(), dialog.database.text()) == (
        "db.lab.example.org",
        6543,
        "lab",
    )
    assert dialog.user.text() == "kim"
    conn = dialog.connection()
    assert conn is not None
    assert conn.options == (("sslmode", "require"),)
    dialog.user.clear()
    dialog.start_connecting()
    assert dialog.connection() is None
    assert not dialog.is_busy()
    assert "member name" in dialog.message.text()


def test_sign_in_remembers_the_password_in_the_keyring(qtbot: QtBot, postgres_url: str) -> None:
    dialog = ConnectDialog(postgres_url)
    qtbot.addWidget(dialog)
    dialog.password.setText("one-time-Pw")
    dialog.remember.setChecked(True)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.signed_in is not None, timeout=30_000)
    close_lab(dialog)
    conn, _ = credentials.parse_lab_url(postgres_url)
    assert keyring.get_password("labgpu", conn.key) == "one-time-Pw"
    config = (paths.config_dir() / "config.toml").read_text()
    assert "one-time-Pw" not in config
    assert tomllib.loads(config)["database"]["url"] == conn.url()


def test_unticked_remember_forgets_the_password(qtbot: QtBot, postgres_url: str) -> None:
    conn, _ = credentials.parse_lab_url(postgres_url)
    credentials.save_password(conn, "old")
    dialog = ConnectDialog(postgres_url)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.password.text() == "old")  # prefilled from the keyring
    assert dialog.remember.isChecked()
    dialog.remember.setChecked(False)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.signed_in is not None, timeout=30_000)
    close_lab(dialog)
    assert credentials.load_password(conn) is None


def test_a_wrong_database_is_reported_in_the_dialog(qtbot: QtBot, postgres_url: str) -> None:
    dialog = ConnectDialog(postgres_url)
    qtbot.addWidget(dialog)
    dialog.database.setText("no_such_db")
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: "Cannot connect" in dialog.message.text(), timeout=30_000)
    assert dialog.signed_in is None
    assert not dialog.is_busy()
    assert "no_such_db" in dialog.message.text()


def _top(kind: type) -> list:  # type: ignore[type-arg]
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def test_run_gui_asks_and_cancel_quits(qtbot: QtBot, postgres_url: str) -> None:
    seen: list[str] = []

    def cancel_when_asked() -> None:
        dialogs = _top(ConnectDialog)
        if dialogs:
            seen.append(dialogs[0].user.text())
            dialogs[0].reject()
        else:
            QTimer.singleShot(20, cancel_when_asked)

    QTimer.singleShot(0, cancel_when_asked)
    assert run_gui(postgres_url) == 1
    assert seen == ["postgres"]


def test_run_gui_signs_in_with_the_remembered_password(qtbot: QtBot, postgres_url: str) -> None:
    conn, _ = credentials.parse_lab_url(postgres_url)
    credentials.save_password(conn, "remembered")
    seen: list[str] = []

    def close_when_open() -> None:
        shown = [w for w in _top(MainWindow) if w.snapshot is not None]
        if shown:
            seen.append(shown[0].user_label.text())
            shown[0].close()
        else:
            QTimer.singleShot(20, close_when_open)

    QTimer.singleShot(0, close_when_open)
    assert run_gui(postgres_url) == 0
    assert len(seen) == 1  # the window opened without asking
