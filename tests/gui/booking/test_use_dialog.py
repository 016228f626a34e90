"""*Use…* (issue 15, point 1): from My bookings and from a booking on the calendar, the dialog
shows the member's own ssh line and the environment for exactly the booked GPUs, and copies
either; a booking that is over says why it cannot be used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.gui.booking.booking_actions import USE, BookingInfoDialog
from labgpu.gui.booking.use_dialog import UseDialog
from labgpu.gui.shell.main_window import CALENDAR, MY_BOOKINGS, MainWindow
from labgpu.services import Labgpu

pytestmark = pytest.mark.gui


def soon(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def gpus_of(lab: Labgpu, server: str) -> dict[int, tuple[int, str]]:
    """index -> (id, uuid) of ``server``'s GPUs."""
    return {
        g.index: (g.id, g.uuid)
        for g in lab.inventory.list_gpus()
        if g.server_name == server and g.id is not None
    }


def test_use_from_my_bookings_shows_and_copies_both_lines(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    gpus = gpus_of(sample_lab, "gpu-01")
    group = sample_lab.bookings.book([gpus[3][0], gpus[2][0]], soon(2), soon(4), "training")
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    qtbot.waitUntil(lambda: len(page.groups) == 1, timeout=10_000)
    page.select(group.group_id)
    assert page.use_button.isEnabled()
    dialog = page.use_selected()
    assert isinstance(dialog, UseDialog)
    qtbot.waitUntil(lambda: len(dialog.lines) == 2, timeout=10_000)
    ssh, export = (line.text() for line in dialog.lines)
    assert ssh == "ssh gpu-01.lab.example.org"  # the member's login, not the lab's 'labuser'
    uuids = f"{gpus[2][1]},{gpus[3][1]}"  # by index: what nvidia-smi calls 2 and 3
    assert export == f"export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={uuids}"
    qtbot.mouseClick(dialog.copy_buttons[1], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == export
    assert dialog.copy_buttons[1].text() == "Copied"
    dialog.close()


def test_a_cancelled_booking_cannot_be_used(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    gpus = gpus_of(sample_lab, "gpu-01")
    group = sample_lab.bookings.book([gpus[1][0]], soon(3), soon(5))
    sample_lab.bookings.cancel(group.group_id)
    dialog = UseDialog(sample_lab, group.group_id, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=10_000)
    assert "is cancelled: its GPUs are no longer yours to use" in dialog.message.text()
    assert dialog.lines == []
    window.show_page(MY_BOOKINGS)
    page = window.my_bookings_page
    page.reload()
    qtbot.waitUntil(lambda: len(page.groups) == 1, timeout=10_000)
    page.select(group.group_id)
    assert page.groups[0].status is BookingStatus.CANCELLED
    assert not page.use_button.isEnabled()


def test_use_is_offered_on_your_own_booking_in_the_calendar(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    gpus = gpus_of(sample_lab, "gpu-01")
    group = sample_lab.bookings.book([gpus[0][0]], soon(1), soon(3))
    window.show_page(CALENDAR)
    page = window.calendar_page
    page.reload()
    qtbot.waitUntil(lambda: page.data is not None and bool(page.data.bookings), timeout=10_000)
    assert page.data is not None
    booking = next(b for b in page.data.bookings if b.group_id == group.group_id)
    info = page.open_booking(booking)
    assert isinstance(info, BookingInfoDialog)
    assert USE in info.action_buttons
    info.close()
    use = page.open_use(group.group_id)
    qtbot.waitUntil(lambda: len(use.lines) == 2, timeout=10_000)
    assert use.lines[0].text() == "ssh gpu-01.lab.example.org"
    use.close()
