"""The signed-in member and role in the window, first-login password change, reconnecting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from labgpu.gui.shell.main_window import APPROVALS, RULES, MainWindow
from labgpu.gui.shell.session import ChangePasswordDialog, Identity, signed_in_text
from labgpu.gui.shell.settings import open_settings
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from labgpu.services.members.credentials import LabConnection
from tests.gui.conftest import settle_workers
from tests.helpers.postgres import PostgresServer

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def test_keyring(file_keyring: object) -> Iterator[None]:
    """Passwords go to a plaintext file under tmp_path, never to the real OS keyring."""
    yield
    QThreadPool.globalInstance().waitForDone(30_000)  # workers done before the keyring goes


def test_a_student_sees_no_admin_pages(window: MainWindow) -> None:
    qtbot_identity = Identity("kim", "student", can_approve=False, can_manage=False)
    window._identity_read(qtbot_identity, None)
    assert window.user_label.text() == "Signed in as kim (student)"
    assert window.nav.item(APPROVALS).isHidden()
    assert window.nav.item(RULES).isHidden()
    assert window.servers_page.add_button.isHidden()
    assert window.servers_page.remove_button.isHidden()
    assert not window.add_server_action.isEnabled()
    window._identity_read(Identity("lee", "manager", can_approve=True, can_manage=True), None)
    assert not window.nav.item(RULES).isHidden()
    assert not window.servers_page.add_button.isHidden()
    assert window.add_server_action.isEnabled()


def test_signed_in_text_without_roles() -> None:
    assert signed_in_text(Identity("kim", None, False, False)) == "User: kim"
    assert signed_in_text(Identity("kim", "pi", True, False)) == "Signed in as kim (PI)"


class FakeLab:
    def __init__(self) -> None:
        self.passwords: list[str] = []

    def change_password(self, new: str) -> None:
        self.passwords.append(new)


def test_first_login_asks_for_a_new_password(qtbot: QtBot) -> None:
    lab = FakeLab()
    remembered = LabConnection("h", "lab", "kim")
    credentials.save_password(remembered, "one-time")
    dialog = ChangePasswordDialog(lab, remembered)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.new_password.setText("short")
    dialog.submit()
    assert "at least 8" in dialog.message.text()
    dialog.new_password.setText("a longer secret")
    dialog.confirm.setText("a longer secreT")
    dialog.submit()
    assert "differ" in dialog.message.text()
    dialog.confirm.setText("a longer secret")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.changed)
    assert lab.passwords == ["a longer secret"]
    assert credentials.load_password(remembered) == "a longer secret"


def test_database_restart_shows_reconnecting(
    qtbot: QtBot, postgres_url: str, postgres_server: PostgresServer
) -> None:
    lab = Labgpu(postgres_url)
    lab.open()
    win = MainWindow(lab, open_settings())
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.snapshot is not None and not win.is_refreshing(), timeout=10_000)
    try:
        postgres_server.stop()
        win.refresh()
        qtbot.waitUntil(win.banner.is_reconnecting, timeout=30_000)
        assert "Reconnecting" in win.banner.text()
        assert "Reconnecting" in win.statusBar().currentMessage()
    finally:
        postgres_server.start()
    qtbot.waitUntil(lambda: not win.is_refreshing(), timeout=30_000)
    win.refresh()
    qtbot.waitUntil(lambda: not win.banner.is_reconnecting(), timeout=30_000)
    assert win.statusBar().currentMessage() == "Reconnected to the database."
    win.timer.stop()
    qtbot.waitUntil(lambda: not win.is_refreshing(), timeout=10_000)
    # The reconnection's identity read reloads the approvals when it is delivered: wait for
    # that too, or its worker reopens the lab after close() and leaks a connection.
    settle_workers()
    win.close()
    lab.close()
