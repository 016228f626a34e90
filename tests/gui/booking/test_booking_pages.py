"""My bookings (cancel, end early, extend), Find a slot, Approvals, Rules, reminders, Live flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.gui.booking.rules_page import parse_models, parse_weights, weights_text
from labgpu.gui.shell.main_window import APPROVALS, MY_BOOKINGS, RULES, MainWindow
from labgpu.gui.shell.notifier import Notifier
from labgpu.services import Labgpu

pytestmark = pytest.mark.gui


def soon(hours: float) -> datetime:
    """A whole minute ``hours`` from now (UTC)."""
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def gpu_ids(lab: Labgpu, server: str) -> list[int]:
    gpus = sorted(
        (g for g in lab.inventory.list_gpus() if g.server_name == server), key=lambda g: g.index
    )
    return [g.id for g in gpus if g.id is not None]


def statuses(lab: Labgpu) -> set[BookingStatus]:
    return {b.booking.status for b in lab.bookings.between(mine=True)}


def test_cancel_a_booking_after_confirming(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    group = sample_lab.bookings.book(ids[:2], soon(3), soon(5), "to cancel")
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    qtbot.waitUntil(lambda: len(page.groups) == 1, timeout=10_000)
    page.select(group.group_id)
    assert page.cancel_button.isEnabled()
    assert not page.end_button.isEnabled()  # not started yet
    asked: list[str] = []
    page.confirm = lambda _title, question: asked.append(question) or False
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert "gpu-01:0" in asked[0]
    assert statuses(sample_lab) == {BookingStatus.BOOKED}  # said no: nothing happens
    page.confirm = lambda _title, _question: True
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
    assert statuses(sample_lab) == {BookingStatus.CANCELLED}
    qtbot.waitUntil(lambda: page.groups and page.groups[0].status is BookingStatus.CANCELLED)
    assert not page.cancel_button.isEnabled()


def test_end_early_and_extend(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    active = sample_lab.bookings.book([ids[2]], datetime.now(UTC), soon(2), "running")
    later = sample_lab.bookings.book([ids[3]], soon(4), soon(6), "later")
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    qtbot.waitUntil(lambda: len(page.groups) == 2, timeout=10_000)
    page.select(later.group_id)
    new_end = later.window.end + timedelta(hours=3)
    page.ask_end = lambda _group: new_end
    qtbot.mouseClick(page.extend_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
    ends = {b.group_id: b.window.end for b in sample_lab.bookings.between(mine=True)}
    assert ends[later.group_id] == new_end
    # An extension beyond the longest booking is refused, with the rule shown under the list.
    page.ask_end = lambda _group: new_end + timedelta(days=5)
    assert page.extend_button.isEnabled()
    qtbot.mouseClick(page.extend_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
    assert "72 h" in page.message.text()
    page.select(active.group_id)
    assert page.end_button.isEnabled()
    page.confirm = lambda _title, _question: True
    qtbot.mouseClick(page.end_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10_000)
    released = [b for b in sample_lab.bookings.between(mine=True) if b.group_id == active.group_id]
    assert released[0].booking.status is BookingStatus.RELEASED


def test_find_a_slot_and_book_it(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    window.show_page(1)
    page = window.calendar_page
    qtbot.waitUntil(lambda: page.data is not None and not page.is_loading(), timeout=10_000)
    dialog = page.open_find_slot()
    dialog.model.setCurrentIndex(dialog.model.findData("NVIDIA RTX A4000"))
    dialog.count.setValue(4)
    dialog.hours.setValue(3)
    dialog.same_server.setChecked(True)
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10_000)
    assert dialog.options, dialog.message.text()
    assert dialog.results.count() == len(dialog.options)
    assert "gpu-0" in dialog.results.item(0).text()
    chosen = dialog.options[0]
    dialog.note.setText("found")
    qtbot.mouseClick(dialog.book_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=10_000)
    booked = sample_lab.bookings.between(mine=True)
    assert sorted(b.gpu_id for b in booked) == list(chosen.gpu_ids)
    assert {b.note for b in booked} == {"found"}


def test_find_a_slot_says_when_nothing_fits(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    dialog = window.calendar_page.open_find_slot()
    dialog.model.setCurrentIndex(dialog.model.findData("NVIDIA A40"))
    dialog.count.setValue(9)
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10_000)
    assert not dialog.book_button.isEnabled()
    assert dialog.message.text()
    dialog.reject()


def test_approve_and_reject(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    ids = gpu_ids(sample_lab, "gpu-02")  # A40: needs approval
    first = sample_lab.bookings.book([ids[0]], soon(2), soon(4), "llm")
    second = sample_lab.bookings.book([ids[1]], soon(5), soon(6), "eval")
    assert first.status is BookingStatus.PENDING
    qtbot.waitUntil(lambda: not window.nav.item(APPROVALS).isHidden(), timeout=10_000)
    window.show_page(APPROVALS)
    page = window.approvals_page
    qtbot.waitUntil(lambda: len(page.groups) == 2, timeout=10_000)
    assert window.nav.item(APPROVALS).text().endswith("(2)")
    assert page.selected() is not None
    assert page.selected().group_id == first.group_id
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy() and len(page.groups) == 1, timeout=10_000)
    page.ask_reason = lambda _group: "the A40s are reserved for the deadline"
    qtbot.mouseClick(page.reject_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy() and not page.groups, timeout=10_000)
    by_group = {b.group_id: b.booking for b in sample_lab.bookings.between(mine=True)}
    assert by_group[first.group_id].status is BookingStatus.BOOKED
    assert by_group[second.group_id].status is BookingStatus.CANCELLED


def test_rules_page_saves_rules_and_maintenance(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    window.show_page(RULES)
    page = window.rules_page
    qtbot.waitUntil(lambda: page.gpu_list.count() == 12, timeout=10_000)
    assert page.max_hours.value() == 72.0
    page.max_hours.setValue(48)
    page.use_quota.setChecked(True)
    page.quota.setValue(200)
    page.weights.setText("A40=2.5")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sample_lab.rules.current().max_hours == 48.0, timeout=10_000)
    rules = sample_lab.rules.current()
    assert rules.weekly_quota_gpu_hours == 200.0
    assert rules.model_weights == (("A40", 2.5),)
    page.weights.setText("A40 three")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "A40 three" in page.message.text()
    # block the first GPU listed for maintenance
    page.gpu_list.item(0).setSelected(True)
    page.m_reason.setText("driver update")
    qtbot.mouseClick(page.m_add, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.maintenance_list.count() == 1, timeout=10_000)
    assert "driver update" in page.maintenance_list.item(0).text()
    assert [m.reason for m in sample_lab.rules.maintenance()] == ["driver update"]


def test_rule_text_helpers() -> None:
    assert parse_weights("A40=3, A100 = 4") == (("A40", 3.0), ("A100", 4.0))
    assert weights_text((("A40", 3.0),)) == "A40=3"
    assert parse_models(" A40, ,A100 ") == ("A40", "A100")
    with pytest.raises(ValueError, match="A40"):
        parse_weights("A40")


def test_reminder_shown_once_without_a_tray(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    sample_lab.bookings.book([ids[0]], soon(0.1), soon(2), "soon")  # within the 10-min lead
    notifier = Notifier(sample_lab, window.settings)
    assert notifier.tray is None  # offscreen: no system tray, and no crash
    seen: list[str] = []
    notifier.message.connect(seen.append)
    for _ in range(2):
        notifier.check()
        qtbot.waitUntil(lambda: not notifier.is_checking(), timeout=10_000)
    assert len(seen) == 1
    assert "gpu-01:0" in seen[0]


def test_live_view_shows_booked_by_and_unbooked_use(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    from labgpu.gui.booking.calendar_data import load_live_marks
    from labgpu.gui.inventory.live_model import Column

    ids = gpu_ids(sample_lab, "gpu-01")
    sample_lab.bookings.book([ids[0], ids[2]], datetime.now(UTC), soon(2), "mine")
    marks = load_live_marks(sample_lab)
    assert marks.booked_by == {"gpu-01:0": "tester", "gpu-01:2": "tester"}
    assert marks.unbooked.get("gpu-01:1") == "bob"
    window.refresh_marks()
    model = window.live_page.live.model

    def booked(index: int) -> str:
        server_row = [g.server.name for g in model.groups()].index("gpu-01")
        return str(model.data(model.index(index, Column.BOOKED, model.index(server_row, 0))))

    qtbot.waitUntil(lambda: booked(0) == "tester · ⚠ alice runs here", timeout=10_000)
    assert booked(1) == "⚠ bob, no booking"
    assert booked(2) == "tester"
    assert booked(3) == ""


def test_reminder_lead_time_is_a_setting(window: MainWindow) -> None:
    from labgpu.gui.shell.notifier import reminder_lead_min

    window.settings_page.reminder_lead.setValue(40)
    assert reminder_lead_min(window.settings) == 40
