"""The Calendar view: drag to book, conflicts refused inline before saving, the now-line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus
from labgpu.gui.booking.booking_dialog import BookingDialog
from labgpu.gui.booking.calendar_canvas import build_rows
from labgpu.gui.booking.calendar_data import member_color, snap_down, snap_up
from labgpu.gui.booking.calendar_paint import grid_lines
from labgpu.gui.booking.calendar_view import DAY, WEEK, CalendarPage
from labgpu.gui.shell.main_window import CALENDAR, MainWindow
from labgpu.services import Labgpu

pytestmark = pytest.mark.gui


def tomorrow_at(hour: int) -> datetime:
    """Tomorrow at ``hour``:00 local time, aware."""
    local = datetime.now().astimezone() + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def gpu_ids(lab: Labgpu, server: str) -> list[int]:
    gpus = sorted(
        (g for g in lab.inventory.list_gpus() if g.server_name == server), key=lambda g: g.index
    )
    return [g.id for g in gpus if g.id is not None]


def calendar_on(qtbot: QtBot, window: MainWindow, moment: datetime) -> CalendarPage:
    """The calendar page showing the day of ``moment``, loaded."""
    window.show_page(CALENDAR)
    page = window.calendar_page
    page.show_moment(moment, DAY)
    qtbot.waitUntil(lambda: page.data is not None and not page.is_loading(), timeout=10_000)
    return page


def drag(
    qtbot: QtBot, page: CalendarPage, first: int, last: int, start: datetime, end: datetime
) -> BookingDialog:
    """Drag from GPU ``first`` at ``start`` to GPU ``last`` at ``end``; returns the dialog."""
    canvas = page.canvas
    a = canvas.point_for(first, start)
    b = canvas.point_for(last, end)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    dialog = page.findChild(BookingDialog)
    assert dialog is not None, "dragging opened no booking dialog"
    qtbot.waitUntil(lambda: not dialog.is_checking(), timeout=10_000)
    return dialog


def test_drag_creates_a_booking(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    page = calendar_on(qtbot, window, tomorrow_at(12))
    start, end = tomorrow_at(10), tomorrow_at(12)
    dialog = drag(
        qtbot, page, ids[0], ids[1], start + timedelta(minutes=7), end - timedelta(minutes=7)
    )
    assert dialog.selected_gpu_ids() == ids[:2]
    assert dialog.chosen_window() == (start, end)  # snapped to 30 minutes
    assert dialog.refusal() == ""
    assert dialog.save_button.isEnabled()
    dialog.note.setText("ViT sweep")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=10_000)
    booked = sample_lab.bookings.between(mine=True)
    assert sorted(b.gpu_id for b in booked) == ids[:2]
    assert {(b.window.start, b.window.end, b.note) for b in booked} == {(start, end, "ViT sweep")}
    assert {b.status for b in booked} == {BookingStatus.BOOKED}
    qtbot.waitUntil(lambda: page.data is not None and len(page.data.bookings) == 2, timeout=10_000)


def test_conflict_is_refused_inline_with_its_reason(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    monkeypatch.setenv("LABGPU_USER", "alice")
    alice = Labgpu()
    try:
        alice.bookings.book([ids[2]], tomorrow_at(9), tomorrow_at(11), "alice's run")
    finally:
        alice.close()
    page = calendar_on(qtbot, window, tomorrow_at(12))
    qtbot.waitUntil(lambda: page.data is not None and len(page.data.bookings) == 1, timeout=10_000)
    dialog = drag(qtbot, page, ids[2], ids[3], tomorrow_at(10), tomorrow_at(12))
    assert "alice" in dialog.refusal()
    assert "gpu-01:2" in dialog.refusal()
    assert not dialog.save_button.isEnabled()
    # Moving the window after alice's booking clears the refusal before anything is saved.
    dialog.start_edit.setDateTime(dialog.start_edit.dateTime().addSecs(3600))
    qtbot.waitUntil(
        lambda: not dialog.is_checking() and dialog.save_button.isEnabled(), timeout=10_000
    )
    assert dialog.refusal() == ""
    dialog.reject()
    assert sample_lab.bookings.between(mine=True) == []


def test_a_rule_refusal_names_the_rule(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    page = calendar_on(qtbot, window, tomorrow_at(12))
    page.set_zoom(WEEK)
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    start = tomorrow_at(0)
    dialog = drag(qtbot, page, ids[0], ids[0], start, start + timedelta(hours=2))
    dialog.end_edit.setDateTime(dialog.start_edit.dateTime().addDays(4))  # 98 h > 72 h
    qtbot.waitUntil(lambda: not dialog.is_checking() and dialog.refusal() != "", timeout=10_000)
    assert "72 h" in dialog.refusal()
    assert not dialog.save_button.isEnabled()
    dialog.reject()


def test_week_and_day_zoom(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    page = calendar_on(qtbot, window, tomorrow_at(12))
    start, end = page.range()
    assert end - start in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))
    page.set_zoom(WEEK)
    start, end = page.range()
    assert start.astimezone().weekday() == 0
    assert start.astimezone().hour == 0
    assert timedelta(days=7) - timedelta(hours=1) <= end - start <= timedelta(days=7, hours=1)
    page.step(1)
    assert page.range()[0] > start
    page.go_today()
    assert page.range()[0] <= datetime.now(UTC) < page.range()[1]
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    # one header per server, then its GPUs
    assert page.data is not None
    rows = build_rows(list(page.data.gpus))
    assert [r.title for r in rows if r.gpu is None] == [
        "gpu-02  ·  NVIDIA A40",
        "gpu-01  ·  NVIDIA RTX A4000",
        "gpu-03  ·  NVIDIA RTX A4000",
    ]
    assert page.canvas.grab().width() > 0  # paints without error


def test_pure_helpers() -> None:
    moment = datetime(2026, 12, 1, 10, 17, tzinfo=UTC)
    assert snap_down(moment) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert snap_up(moment) == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert snap_up(snap_down(moment)) == snap_down(moment)
    assert member_color("kim") == member_color("kim")
    assert member_color("kim") != member_color("lee")
    lines = grid_lines(moment, moment + timedelta(days=1), timedelta(hours=6))
    assert len(lines) == 4


def test_compact_labels() -> None:
    from labgpu.gui.booking.calendar_data import compact_labels

    assert compact_labels(["gpu-01:0", "gpu-01:1", "gpu-02:3"]) == "gpu-01:0,1  gpu-02:3"


def test_export_the_lab_calendar(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, tmp_path: Path
) -> None:
    import icalendar

    ids = gpu_ids(sample_lab, "gpu-01")
    sample_lab.bookings.book(ids[:2], tomorrow_at(9), tomorrow_at(11), "exported")
    page = window.calendar_page
    with qtbot.waitSignal(page.exported, timeout=10_000) as signal:
        page.export(tmp_path / "lab.ics")
    assert "lab.ics" in signal.args[0]
    calendar = icalendar.Calendar.from_ical((tmp_path / "lab.ics").read_bytes())
    assert len(calendar.walk("VEVENT")) >= 1


def test_dialog_needs_a_gpu_and_tooltips_describe_bookings(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    from labgpu.gui.booking.calendar_paint import booking_caption, booking_tooltip

    ids = gpu_ids(sample_lab, "gpu-01")
    sample_lab.bookings.book([ids[1]], tomorrow_at(9), tomorrow_at(11), "tooltip")
    page = calendar_on(qtbot, window, tomorrow_at(12))
    qtbot.waitUntil(lambda: page.data is not None and len(page.data.bookings) == 1, timeout=10_000)
    booking = page.canvas.booking_at(page.canvas.point_for(ids[1], tomorrow_at(10)).toPointF())
    assert booking is not None
    assert booking_caption(booking) == "tester  ·  tooltip"
    assert "gpu-01:1" in booking_tooltip(booking)
    assert page.canvas.booking_at(page.canvas.point_for(ids[0], tomorrow_at(10)).toPointF()) is None
    dialog = page.open_booking_dialog([ids[0]], tomorrow_at(13), tomorrow_at(14))
    qtbot.waitUntil(lambda: not dialog.is_checking(), timeout=10_000)
    for row in range(dialog.gpu_list.count()):
        dialog.gpu_list.item(row).setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: not dialog.is_checking(), timeout=10_000)
    assert "at least one GPU" in dialog.refusal()
    assert not dialog.save_button.isEnabled()
    dialog.reject()


def test_a_drag_that_ends_on_the_hour_books_to_that_hour(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    ids = gpu_ids(sample_lab, "gpu-01")
    page = calendar_on(qtbot, window, tomorrow_at(12))
    # The hand lands a pixel or two past the hour line: 13:02 → 16:02 means 13:00 → 16:00.
    slip = timedelta(minutes=2)
    dialog = drag(qtbot, page, ids[0], ids[0], tomorrow_at(13) + slip, tomorrow_at(16) + slip)
    assert dialog.chosen_window() == (tomorrow_at(13), tomorrow_at(16))
    dialog.reject()


def test_snap_nearest() -> None:
    from labgpu.gui.booking.calendar_canvas import snap_nearest

    at = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert snap_nearest(at + timedelta(minutes=4)) == at
    assert snap_nearest(at - timedelta(minutes=4)) == at
    assert snap_nearest(at + timedelta(minutes=16)) == at + timedelta(minutes=30)


def test_day_view_hour_labels_do_not_run_together(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    assert window.width() == 1180  # the default size
    page = calendar_on(qtbot, window, tomorrow_at(12))
    header = page.area.header
    labels = header.hour_labels()
    assert len(labels) >= 4
    gap = header.fontMetrics().horizontalAdvance("0")
    for (left, text), (right, _next) in zip(labels, labels[1:], strict=False):
        assert left.left() + header.fontMetrics().horizontalAdvance(text) + gap <= right.left()
    assert page.area.header.grab().width() > 0


def test_every_page_has_a_shortcut_named_in_its_tooltip(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    from PySide6.QtGui import QKeySequence

    from labgpu.gui.shell.main_window import PAGE_KEYS

    assert len(set(PAGE_KEYS)) == window.nav.count() == 10
    by_keys = {action.shortcut().toString(): action for action in window.actions()}
    for page, keys in enumerate(PAGE_KEYS):
        item = window.nav.item(page)
        shown = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
        assert shown in item.toolTip()
        item.setHidden(False)
        by_keys[QKeySequence(keys).toString()].trigger()
        assert window.current_page() == page, keys
    window.nav.item(8).setHidden(True)
    by_keys["Ctrl+9"].trigger()  # a page this role does not see stays closed
    assert window.current_page() == 9


def test_cancelled_bookings_are_ghosts_that_a_remembered_toggle_hides(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    from PySide6.QtGui import QColor

    ids = gpu_ids(sample_lab, "gpu-01")
    old = sample_lab.bookings.book([ids[0]], tomorrow_at(8), tomorrow_at(20), "old")
    sample_lab.bookings.cancel(old.group_id)
    sample_lab.bookings.book([ids[1]], tomorrow_at(8), tomorrow_at(20), "live")
    page = calendar_on(qtbot, window, tomorrow_at(12))
    qtbot.waitUntil(lambda: page.data is not None and len(page.data.bookings) == 2, timeout=10_000)
    canvas = page.canvas
    image = canvas.grab().toImage()
    late = tomorrow_at(18) + timedelta(minutes=30)  # right of the caption, off the hour lines
    white = QColor("white").rgb()
    assert image.pixelColor(canvas.point_for(ids[0], late)).rgb() == white  # an outline only
    assert image.pixelColor(canvas.point_for(ids[1], late)).rgb() == member_color("tester").rgb()
    ghost = canvas.booking_at(canvas.point_for(ids[0], late).toPointF())
    assert ghost is not None
    assert ghost.status is BookingStatus.CANCELLED
    legend = " ".join(label.text() for label in page.legend.findChildren(QLabel))
    for kind in ("Booked", "Pending", "Cancelled", "Maintenance"):
        assert kind in legend
    # Hidden: not drawn, not under the mouse; the choice is remembered for the next window.
    assert page.ghosts_button.isChecked()
    page.ghosts_button.click()
    assert canvas.shown_bookings(ids[0]) == []
    assert canvas.booking_at(canvas.point_for(ids[0], late).toPointF()) is None
    assert len(canvas.shown_bookings(ids[1])) == 1
    again = CalendarPage(sample_lab, window.settings)
    qtbot.addWidget(again)
    assert not again.ghosts_button.isChecked()
    assert not again.canvas.show_ghosts
    page.ghosts_button.click()
    assert canvas.shown_bookings(ids[0]) == [ghost]


def test_a_booking_opens_on_double_click_offers_a_menu_and_cancels_on_delete(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication, QMenu

    from labgpu.gui.booking.booking_actions import CANCEL, EXTEND, RUN, USE, BookingInfoDialog

    ids = gpu_ids(sample_lab, "gpu-01")
    sample_lab.bookings.book([ids[0]], tomorrow_at(9), tomorrow_at(11), "mine")
    monkeypatch.setenv("LABGPU_USER", "alice")
    alice = Labgpu()
    try:
        alice.bookings.book([ids[1]], tomorrow_at(9), tomorrow_at(11), "alice's run")
    finally:
        alice.close()
    page = calendar_on(qtbot, window, tomorrow_at(12))
    qtbot.waitUntil(lambda: page.data is not None and len(page.data.bookings) == 2, timeout=10_000)
    canvas = page.canvas
    mine = canvas.point_for(ids[0], tomorrow_at(10))
    # Double-click: the booking, with what I may do with it.
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=mine)
    dialog = page.findChild(BookingInfoDialog)
    assert dialog is not None
    assert set(dialog.action_buttons) == {USE, RUN, EXTEND, CANCEL}
    page.ask_end = lambda _group: tomorrow_at(12)
    dialog.action_buttons[EXTEND].click()
    qtbot.waitUntil(
        lambda: sample_lab.bookings.between(mine=True)[0].window.end == tomorrow_at(12),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10_000)
    # Right-click: a menu with the same actions.
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, mine, canvas.mapToGlobal(mine))
    QApplication.sendEvent(canvas, event)
    menus = [m for m in page.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1
    texts = [a.text() for a in menus[0].actions() if a.text()]
    assert texts == ["Open…", "Use…", "Run on this booking…", "Extend…", "Cancel booking…"]
    menus[0].close()
    # Someone else's booking opens without actions; Delete names its holder.
    qtbot.mouseDClick(
        canvas, Qt.MouseButton.LeftButton, pos=canvas.point_for(ids[1], tomorrow_at(10))
    )
    theirs = [d for d in page.findChildren(BookingInfoDialog) if d.isVisible()]
    assert len(theirs) == 1
    assert theirs[-1].action_buttons == {}
    theirs[-1].reject()
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert "alice" in page.message.text()
    # Delete on mine asks, then cancels.
    asked: list[str] = []
    page.confirm = lambda _title, question: asked.append(question) or True
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=mine)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: sample_lab.bookings.between(mine=True)[0].status is BookingStatus.CANCELLED,
        timeout=10_000,
    )
    assert len(asked) == 1
    assert "gpu-01:0" in asked[0]
