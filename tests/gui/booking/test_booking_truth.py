"""What the windows say about bookings is true (issue 13): a pending request reads as
requested in the Live view; another member's booking is named before it changes; Find a slot
says what it offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.gui.booking.calendar_data import load_live_marks
from labgpu.gui.booking.my_bookings import group_views
from labgpu.gui.shell.main_window import MY_BOOKINGS, MainWindow
from labgpu.services import Labgpu
from labgpu.services.booking.service import BookingService

pytestmark = pytest.mark.gui


def soon(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def gpu_id(lab: Labgpu, label: str) -> int:
    server, _, index = label.partition(":")
    [gpu] = [
        g for g in lab.inventory.list_gpus() if g.server_name == server and g.index == int(index)
    ]
    assert gpu.id is not None
    return gpu.id


def test_pending_request_reads_as_requested_in_the_live_view(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    kim = BookingService(sample_lab.store, "kim")
    asked = kim.book([gpu_id(sample_lab, "gpu-02:0")], soon(0), soon(2))  # A40: a request
    assert asked.status is BookingStatus.PENDING
    marks = load_live_marks(sample_lab)
    assert "gpu-02:0" not in marks.booked_by
    assert marks.requested_by == {"gpu-02:0": "kim"}
    model = window.live_page.live.model
    assert window.snapshot is not None
    [gpu] = [g for g in window.snapshot.gpus if g.server == "gpu-02" and g.index == 0]
    window.refresh_marks()  # as the window does: the Live view reads the marks on a worker
    qtbot.waitUntil(lambda: model.booked_text(gpu) == "requested by kim", timeout=10_000)
    assert model.state_text(gpu) == "requested"  # held by the request: not free
    assert not model.is_free(gpu)
    window.live_page.grab().save("/tmp/issue13_live_requested.png")


def test_changing_another_members_booking_names_them_first(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    kim = BookingService(sample_lab.store, "kim")
    theirs = kim.book([gpu_id(sample_lab, "gpu-01:2")], soon(3), soon(5), "kim's run")
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    # single seat: the tester manages; a page listing kim's booking (the calendar) asks first
    page.set_groups(group_views(sample_lab.bookings.between()))
    page.select(theirs.group_id)
    asked: list[tuple[str, str]] = []
    page.confirm = lambda title, question: asked.append((title, question)) or False
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    title, question = asked[0]
    assert title == "Cancel kim's booking"
    assert "Cancel kim's booking of gpu-01:2" in question
    assert "This booking is kim's, not yours" in question
    assert kim.group(theirs.group_id).status is BookingStatus.BOOKED  # said no
    asked.clear()
    page.ask_end = lambda _group: None
    qtbot.mouseClick(page.extend_button, Qt.MouseButton.LeftButton)
    assert asked[0][0] == "Extend kim's booking"


def test_find_slot_opened_before_the_calendar_has_read_the_lab_reads_the_gpus(
    qtbot: QtBot, sample_lab: Labgpu
) -> None:
    from labgpu.gui.booking.find_slot_dialog import FindSlotDialog

    dialog = FindSlotDialog(sample_lab, [])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model.count() > 1, timeout=10_000)
    models = {dialog.model.itemData(i) for i in range(1, dialog.model.count())}
    assert models == {g.model for g in sample_lab.inventory.list_gpus()}
    assert set(dialog.labels.values()) >= {"gpu-01:0", "gpu-01:1"}


def test_find_slot_says_what_it_offers(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    dialog = window.calendar_page.open_find_slot()
    qtbot.addWidget(dialog)
    text = dialog.offered.text()
    assert "servers that answer now" in text
    assert "your own rules allow" in text
    assert "30 minutes" in text
    qtbot.waitUntil(lambda: bool(dialog.labels), timeout=10_000)  # the lab's GPUs are read
    dialog.search()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10_000)
    # gpu-01:0/1 run alice's and bob's unbooked processes, gpu-03 is offline: not offered now
    first = dialog.options[0]
    labels = {dialog.labels[i] for i in first.gpu_ids}
    assert not labels & {"gpu-01:0", "gpu-01:1"}
    assert not any(label.startswith("gpu-03") for label in labels)
    dialog.grab().save("/tmp/issue13_find_slot.png")
    dialog.close()
