"""The *Add server* dialog in a lab database: a manager's save pins the server's host key.

Registering pins the key of the pooled connection discovery used, so the key is recorded
whether the connection was opened after the manager confirmed the key or was already open
(the key already known to the manager's own known_hosts: nothing is asked, nothing verified
again).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from labgpu.gui.inventory.add_server_dialog import AddServerDialog
from labgpu.services import Labgpu
from tests.gui.conftest import settle_workers
from tests.gui.inventory.test_add_server import answer_trust, fill
from tests.helpers.sshd import SshdHost
from tests.inventory.test_host_keys_labdb import Desktops, box, desktops, pin_lab, pinned  # noqa: F401
from tests.members.test_labdb_cli import names  # noqa: F401  (fixture)

pytestmark = pytest.mark.gui


@pytest.fixture
def manager(pin_lab: dict[str, str], desktops: Desktops) -> Iterator[Labgpu]:  # noqa: F811
    """The manager's app, on a desktop of their own."""
    desktops.use("manager")
    lab = Labgpu(pin_lab["max"])
    lab.open()
    yield lab
    settle_workers()
    lab.close()


def save_through_dialog(qtbot: QtBot, lab: Labgpu, host: SshdHost) -> None:
    dialog = AddServerDialog(lab)
    qtbot.addWidget(dialog)
    fill(dialog, host, "pinbox")
    dialog.start_discovery()
    qtbot.waitUntil(lambda: dialog.gpu_table.rowCount() == 4, timeout=60_000)
    with qtbot.waitSignal(dialog.registered, timeout=30_000):
        dialog.save()


def test_confirmed_key_is_pinned(
    qtbot: QtBot,
    box: SshdHost,  # noqa: F811
    pin_lab: dict[str, str],  # noqa: F811
    manager: Labgpu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = answer_trust(monkeypatch, True)
    save_through_dialog(qtbot, manager, box)
    assert [fingerprint for _host, fingerprint, _type in asked] == [box.fingerprint]
    assert pinned(pin_lab["admin"]) == [box.fingerprint]


def test_key_of_an_already_open_connection_is_pinned(
    qtbot: QtBot,
    box: SshdHost,  # noqa: F811
    pin_lab: dict[str, str],  # noqa: F811
    desktops: Desktops,  # noqa: F811
    manager: Labgpu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = answer_trust(monkeypatch, True)
    home = desktops.use("manager")
    (home / ".ssh" / "known_hosts").write_text(box.known_hosts_line())
    manager.pool.connect(box.target)  # open before the dialog: its discovery reuses it
    save_through_dialog(qtbot, manager, box)
    assert asked == []
    assert pinned(pin_lab["admin"]) == [box.fingerprint]
