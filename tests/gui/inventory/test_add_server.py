"""The *Add server* dialog against real sshd hosts, and the Servers page."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from labgpu.gui.inventory.add_server_dialog import AddServerDialog
from labgpu.gui.shell.main_window import MainWindow
from labgpu.services import Labgpu
from tests.helpers.sshd import Fleet, SshdHost


@pytest.fixture
def fleet(gpu_hosts: Fleet, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The sshd fleet, with this user's own ~/.ssh/config kept out of the way."""
    monkeypatch.setenv("LABGPU_SSH_CONFIG", str(gpu_hosts.ssh_config))
    return gpu_hosts


def fill(dialog: AddServerDialog, host: SshdHost, name: str) -> None:
    target = host.target
    dialog.host.setText(target.host)
    dialog.port.setValue(target.port or 0)
    dialog.user.setText(target.user or "")
    dialog.identity.setText(target.identity_file or "")
    dialog.name.setText(name)


def answer_trust(monkeypatch: pytest.MonkeyPatch, answer: bool) -> list[tuple[str, str, str]]:
    asked: list[tuple[str, str, str]] = []

    def ask(_self: AddServerDialog, host: str, fingerprint: str, key_type: str) -> bool:
        asked.append((host, fingerprint, key_type))
        return answer

    monkeypatch.setattr(AddServerDialog, "ask_trust", ask)
    return asked


def test_add_server_through_the_dialog(
    qtbot: QtBot, fleet: Fleet, lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = answer_trust(monkeypatch, True)
    dialog = window.open_add_server()
    fill(dialog, fleet.a40, "a40-box")
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.gpu_table.rowCount() == 4, timeout=60_000)
    assert asked == [(f"127.0.0.1:{fleet.a40.port}", fleet.a40.fingerprint, "ssh-ed25519")]
    model_cell = dialog.gpu_table.item(0, 1)
    assert model_cell is not None
    assert model_cell.text() == "NVIDIA A40"
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.registered, timeout=30_000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == ["a40-box"]
    assert [s.name for s in lab.inventory.list_servers()] == ["a40-box"]
    model = window.live_page.live.model
    qtbot.waitUntil(lambda: [g.server.name for g in model.groups()] == ["a40-box"], timeout=10_000)
    assert len(model.groups()[0].gpus) == 4
    assert not window.live_page.showing_welcome()


def test_untrusted_key_saves_nothing(
    qtbot: QtBot, fleet: Fleet, lab: Labgpu, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_trust(monkeypatch, False)
    dialog = AddServerDialog(lab)
    qtbot.addWidget(dialog)
    fill(dialog, fleet.a4000, "")
    dialog.start_discovery()
    qtbot.waitUntil(lambda: "not trusted" in dialog.message.text(), timeout=60_000)
    assert dialog.message.property("error") is True
    assert dialog.host.text() == "127.0.0.1"
    assert not dialog.save_button.isEnabled()
    assert lab.inventory.list_servers() == []


def test_unreachable_host_is_reported_inline(
    qtbot: QtBot, fleet: Fleet, lab: Labgpu, tmp_path: Path
) -> None:
    dialog = AddServerDialog(lab)
    qtbot.addWidget(dialog)
    fill(dialog, fleet.closed, "closed-box")
    dialog.start_discovery()
    qtbot.waitUntil(lambda: dialog.connect_button.isEnabled(), timeout=60_000)
    assert dialog.message.property("error") is True
    assert "127.0.0.1" in dialog.message.text()
    assert dialog.port.value() == fleet.closed.port
    assert dialog.name.text() == "closed-box"


def test_empty_host_asks_for_one(qtbot: QtBot, lab: Labgpu) -> None:
    dialog = AddServerDialog(lab)
    qtbot.addWidget(dialog)
    dialog.start_discovery()
    assert "host name" in dialog.message.text()


def test_remove_server_after_confirmation(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = window.servers_page
    asked: list[str] = []

    def confirm(name: str) -> bool:
        asked.append(name)
        return True

    monkeypatch.setattr(page, "confirm_remove", confirm)
    assert [page.model.server_at(r).name for r in range(page.model.rowCount())] == [
        "gpu-01",
        "gpu-02",
        "gpu-03",
    ]
    page.table.selectRow(1)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert asked == ["gpu-02"]
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    assert [s.name for s in sample_lab.inventory.list_servers()] == ["gpu-01", "gpu-03"]


def test_servers_table_shows_state_and_gpu_count(sample_lab: Labgpu, window: MainWindow) -> None:
    model = window.servers_page.model
    row = [model.data(model.index(r, 0)) for r in range(model.rowCount())].index("gpu-03")
    values = [model.data(model.index(row, c)) for c in range(model.columnCount())]
    assert values[:5] == ["gpu-03", "gpu-03.lab.example.org", "22", "labuser", "offline"]
    assert "connection refused" in values[5]
    assert values[7] == "4"


def test_forget_host_key_after_confirmation(
    qtbot: QtBot, fleet: Fleet, lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.inventory.add_server(
        fleet.a4000.target, "a4000-box", trust_fingerprint=fleet.a4000.fingerprint
    )
    window.refresh()
    page = window.servers_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    monkeypatch.setattr(page, "confirm_forget_key", lambda _name: True)
    page.table.selectRow(0)
    qtbot.mouseClick(page.forget_key_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Forgot" in page.message.text(), timeout=10_000)
    assert "1 host key(s) of a4000-box" in page.message.text()
