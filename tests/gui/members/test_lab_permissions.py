"""The app in a real lab database: the role decides what is shown, the database what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt, QThreadPool
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.gui.shell.main_window import APPROVALS, MEMBERS, RULES, USAGE, MainWindow
from labgpu.gui.shell.settings import open_settings
from labgpu.services import Labgpu
from tests.members.test_labdb_cli import as_member, lab_url, names  # noqa: F401  (fixtures)

pytestmark = pytest.mark.gui


def soon(hours: int) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


@pytest.fixture
def members(lab_url: str, names: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """An initialised lab with student ann and PI pat; their URLs, and the admin's."""
    admin = Labgpu(lab_url)
    try:
        admin.members.init_lab()
        admin.members.add(names["ann"], "student")
        admin.members.add(names["pat"], "pi")
        admin.members.add(names["max"], "manager")
    finally:
        admin.close()
    return {
        "admin": lab_url,
        "ann": as_member(lab_url, names["ann"]),
        "pat": as_member(lab_url, names["pat"]),
        "max": as_member(lab_url, names["max"]),
    }


def open_window(qtbot: QtBot, url: str) -> tuple[Labgpu, MainWindow]:
    lab = Labgpu(url)
    lab.open()
    win = MainWindow(lab, open_settings())
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.snapshot is not None and not win.is_refreshing(), timeout=10_000)
    return lab, win


def close_window(qtbot: QtBot, lab: Labgpu, win: MainWindow) -> None:
    win.timer.stop()
    qtbot.waitUntil(lambda: not win.is_refreshing(), timeout=10_000)
    QThreadPool.globalInstance().waitForDone(30_000)
    win.close()
    QThreadPool.globalInstance().waitForDone(30_000)
    lab.close()


def test_a_demoted_pi_is_refused_by_the_database(
    qtbot: QtBot,
    members: dict[str, str],
    names: dict[str, str],  # noqa: F811
) -> None:
    ann = Labgpu(members["ann"])
    try:
        ann.open()
        a40 = [
            g.id for g in ann.inventory.list_gpus() if g.model.endswith(" A40") and g.id is not None
        ]
        request = ann.bookings.book([a40[0]], soon(3), soon(5), "thesis run")
    finally:
        ann.close()
    assert request.status is BookingStatus.PENDING

    lab, win = open_window(qtbot, members["pat"])
    try:
        qtbot.waitUntil(lambda: win.user_label.text() == f"Signed in as {names['pat']} (PI)")
        assert not win.nav.item(APPROVALS).isHidden()
        assert win.nav.item(RULES).isHidden()  # a PI manages no rules
        page = win.approvals_page
        win.show_page(APPROVALS)
        qtbot.waitUntil(lambda: len(page.groups) == 1, timeout=10_000)

        # The manager moves pat to the students while the window is open: the app still shows
        # Approve, but the role is read again when it counts (the database would refuse too).
        admin = Labgpu(members["admin"])
        try:
            admin.members.set_role(names["pat"], "student")
        finally:
            admin.close()
        qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
        assert page.message.text().startswith(
            "permission denied: only a PI or a lab manager can decide on a request"
        )
    finally:
        close_window(qtbot, lab, win)

    admin = Labgpu(members["admin"])
    try:
        admin.open()
        mine = {b.group_id: b.booking.status for b in admin.bookings.between()}
        assert mine[request.group_id] is BookingStatus.PENDING  # nothing changed
    finally:
        admin.close()


def test_a_student_sees_no_manager_actions(qtbot: QtBot, members: dict[str, str]) -> None:
    lab, win = open_window(qtbot, members["ann"])
    try:
        qtbot.waitUntil(lambda: "(student)" in win.user_label.text(), timeout=10_000)
        assert win.nav.item(APPROVALS).isHidden()
        assert win.nav.item(RULES).isHidden()
        assert win.nav.item(MEMBERS).isHidden()
        assert win.nav.item(USAGE).isHidden()  # the PI's page
        assert win.servers_page.add_button.isHidden()
        assert not win.add_server_action.isEnabled()
    finally:
        close_window(qtbot, lab, win)


def test_a_manager_adds_changes_and_removes_members(
    qtbot: QtBot,
    members: dict[str, str],
    names: dict[str, str],  # noqa: F811
) -> None:
    lab, win = open_window(qtbot, members["max"])
    try:
        qtbot.waitUntil(lambda: not win.nav.item(MEMBERS).isHidden(), timeout=10_000)
        assert not win.nav.item(USAGE).isHidden()
        win.show_page(MEMBERS)
        page = win.members_page
        qtbot.waitUntil(lambda: len(page.members) == 3, timeout=10_000)
        shown: list[tuple[str, str]] = []
        page.show_password = lambda name, password: shown.append((name, password))
        newcomer = names["new"]
        page.ask_new_member = lambda: (newcomer, "student")
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not page.is_busy() and len(page.members) == 4, timeout=10_000)
        assert page.message.text() == f"Added {newcomer}."
        assert [name for name, _password in shown] == [newcomer]
        assert len(shown[0][1]) >= 12
        added = next(m for m in page.members if m.name == newcomer)
        assert added.role == "student"
        assert added.valid_until is not None  # a one-time password

        page.tree.setCurrentItem(page.tree.topLevelItem(page.members.index(added)))
        page.ask_role = lambda _m: "pi"
        qtbot.mouseClick(page.role_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: any(m.name == newcomer and m.role == "pi" for m in page.members),
            timeout=10_000,
        )
        refused: list[str] = []
        page.confirm_remove = lambda m: refused.append(m.name) is not None  # "No"
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
        assert refused == [newcomer]
        assert len(page.members) == 4
        page.confirm_remove = lambda _m: True
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not page.is_busy() and len(page.members) == 3, timeout=10_000)
        assert "history stays" in page.message.text()

        page.ask_new_member = lambda: ("Bad Name!", "student")
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
        assert "Bad Name!" in page.message.text()
        assert len(page.members) == 3
    finally:
        close_window(qtbot, lab, win)
