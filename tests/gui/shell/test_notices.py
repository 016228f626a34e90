"""The bell and the kept notification list (issue 17, point 4): messages kept until dismissed,
across restarts; the lab's messages read into it; one fact kept once; the settings box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.rules import Reminder, ReminderKind
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Event, InboxEntry
from labgpu.gui.shell.bell import BellButton, InboxPanel
from labgpu.gui.shell.inbox import (
    KEEP,
    Inbox,
    InboxItem,
    entry_item,
    entry_key,
    job_key,
    reminder_key,
)
from labgpu.gui.shell.main_window import SETTINGS, MainWindow
from labgpu.services import Labgpu
from tests.gui.conftest import settle_workers

START = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "labgpu.ini"), QSettings.Format.IniFormat)


def item(key: str, minute: int = 0, title: str = "t") -> InboxItem:
    at = (START + timedelta(minutes=minute)).isoformat()
    return InboxItem(key, at, title, "body")


def test_messages_are_kept_until_dismissed_across_restarts(tmp_path: Path) -> None:
    inbox = Inbox(ini(tmp_path), "sqlite:///lab.db|kim")
    counts: list[int] = []
    inbox.changed.connect(counts.append)
    assert inbox.add(item("a", 1, "first"))
    assert inbox.add(item("b", 2, "second"))
    assert not inbox.add(item("a", 3, "again"))  # the same fact: kept once
    assert [i.title for i in inbox.items()] == ["second", "first"]  # newest first
    inbox.dismiss("a")
    assert counts == [1, 2, 1]

    again = Inbox(ini(tmp_path), "sqlite:///lab.db|kim")  # the app started again
    assert [i.key for i in again.items()] == ["b"]
    assert not again.add(item("a", 9))  # dismissed stays dismissed
    other = Inbox(ini(tmp_path), "sqlite:///lab.db|lee")  # another member: their own list
    assert other.count() == 0
    again.dismiss_all()
    assert Inbox(ini(tmp_path), "sqlite:///lab.db|kim").count() == 0


def test_the_list_is_bounded_and_survives_a_damaged_entry(tmp_path: Path) -> None:
    settings = ini(tmp_path)
    inbox = Inbox(settings, "x")
    for n in range(KEEP + 5):
        inbox.add(item(f"k{n}", n))
    assert inbox.count() == KEEP
    assert inbox.items()[-1].key == "k5"  # the oldest five went first
    prefix = inbox._prefix
    settings.setValue(f"{prefix}/items", '[{"key": "ok", "at": "2026-12-03T07:00:00+00:00", '
                      '"title": "kept", "body": ""}, {"nonsense": 1}, 7]')  # fmt: skip
    assert [i.title for i in Inbox(settings, "x").items()] == ["kept"]
    settings.setValue(f"{prefix}/items", "not json")
    assert Inbox(settings, "x").count() == 0


def test_a_booking_start_told_by_the_app_and_by_the_lab_is_kept_once(tmp_path: Path) -> None:
    reminder = Reminder(
        "g1", ReminderKind.STARTS, START, Window(START, START + timedelta(hours=2)), ("gpu-01:0",)
    )
    payload: dict[str, object] = {
        "group": "g1",
        "gpus": ["gpu-01:0"],
        "start": ev.utc_text(START),
        "end": ev.utc_text(START + timedelta(hours=2)),
    }
    entry = InboxEntry(7, ev.BOOKING_STARTS, "kim", START - timedelta(minutes=10), payload)
    assert reminder_key(reminder) == entry_key(entry)
    ended = InboxEntry(9, ev.JOB_FAILED, "kim", START, {"on": "lab", "job": "run-7"})
    assert entry_key(ended) == job_key("lab", "run-7")  # the app's notice of the same job
    intruder = Reminder("g1", ReminderKind.INTRUDER, START, reminder.window, ("gpu-01:0",), "lee")
    told_by_lab = InboxEntry(
        10, ev.GPU_INTRUDER, "kim", START, {"group": "g1", "gpu": "gpu-01:0", "intruder": "lee"}
    )
    assert reminder_key(intruder) == entry_key(told_by_lab)
    approved = InboxEntry(8, ev.REQUEST_APPROVED, "kim", START, {**payload, "by": "park"})
    assert entry_key(approved) == "outbox:8"
    told = entry_item(approved, "en")
    assert told.title == "Your request was approved"
    assert "approved by park" in told.body
    assert entry_item(approved, "ko").title != told.title  # the app's language


def test_the_bell_counts_and_the_list_dismisses(qtbot: QtBot, tmp_path: Path) -> None:
    inbox = Inbox(ini(tmp_path), "x")
    bell = BellButton()
    qtbot.addWidget(bell)
    inbox.changed.connect(bell.show_count)
    panel = InboxPanel(inbox)
    qtbot.addWidget(panel)
    assert bell.text() == "Notifications"
    assert panel.empty.isVisibleTo(panel)
    assert not panel.dismiss_all.isEnabled()
    inbox.add(item("a", 1, "first"))
    inbox.add(item("b", 2, "second"))
    assert bell.text() == "Notifications (2)"
    assert panel.list.count() == 2
    panel.show()
    panel.list.setCurrentRow(0)  # "second", the newest
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert [i.title for i in inbox.items()] == ["first"]
    assert bell.text() == "Notifications (1)"
    panel.dismiss_all.click()
    assert inbox.count() == 0
    assert bell.text() == "Notifications"
    assert panel.empty.isVisibleTo(panel)


@pytest.fixture
def approved(lab: Labgpu) -> Labgpu:
    """A decision on one of the member's requests, and a request of someone else (for the
    deciders: not this student's business), in the lab's outbox."""
    end = START + timedelta(hours=1)
    payload = {"group": "g9", "gpus": ["gpu-01:0"], "start": ev.utc_text(START),
               "end": ev.utc_text(end), "by": "park", "reason": ""}  # fmt: skip
    lab.store.notify.enqueue(
        [
            Event(ev.REQUEST_APPROVED, ev.MEMBER, lab.user, "approved:g9", payload),
            Event(ev.REQUEST_APPROVED, ev.MEMBER, "someone-else", "approved:g8", payload),
            Event(ev.TEST, ev.MEMBER, lab.user, "test:1", {"user": lab.user}),  # for the mail
            Event(ev.REQUEST_PENDING, ev.DECIDERS, "lee", "pending:g7", {**payload, "user": "lee"}),
        ]
    )
    return lab


def test_the_window_reads_the_labs_messages_and_keeps_its_own(
    qtbot: QtBot, approved: Labgpu, tmp_path: Path
) -> None:
    window = MainWindow(approved, ini(tmp_path))
    qtbot.addWidget(window)
    window.show()
    window.start()
    notices = window.notices
    qtbot.waitUntil(lambda: notices.inbox.count() == 1, timeout=10_000)
    assert notices.bell.text() == "Notifications (1)"
    assert notices.inbox.items()[0].title == "Your request was approved"
    assert "Your request was approved" in window.statusBar().currentMessage()
    window._job_notice("train-3 on gpu-01 ended (exit 0)")
    assert notices.inbox.count() == 2
    assert notices.inbox.items()[0].body == "train-3 on gpu-01 ended (exit 0)"
    notices.inbox.poll()  # read again: nothing new, nothing twice
    qtbot.waitUntil(lambda: not notices.inbox.is_polling(), timeout=10_000)
    assert notices.inbox.count() == 2
    # A request waiting for this manager (a single seat's user manages it): announced, not
    # kept — the Approvals page lists what still waits.
    payload = {"group": "g6", "user": "lee", "gpus": ["gpu-01:1"], "start": ev.utc_text(START),
               "end": ev.utc_text(START + timedelta(hours=2))}  # fmt: skip
    approved.store.notify.enqueue([Event(ev.REQUEST_PENDING, ev.DECIDERS, "lee", "p:g6", payload)])
    notices.inbox.poll()
    qtbot.waitUntil(lambda: not notices.inbox.is_polling(), timeout=10_000)
    assert window.statusBar().currentMessage() == "lee asks for 1 GPU(s)"
    assert notices.inbox.count() == 2
    notices.open_list()
    assert notices.panel.isVisible()
    assert notices.panel.list.count() == 2
    notices.panel.open_settings.click()
    assert window.nav.currentRow() == SETTINGS
    window.timer.stop()
    settle_workers()
    window.close()


def test_the_settings_box_saves_the_members_own_settings(
    qtbot: QtBot, lab: Labgpu, tmp_path: Path
) -> None:
    window = MainWindow(lab, ini(tmp_path))
    qtbot.addWidget(window)
    window.start()
    box = window.settings_page.notify_box
    qtbot.waitUntil(lambda: box.save_button.isEnabled(), timeout=10_000)
    assert "Nothing is sent yet" in box.who_sends.text()  # single seat, no notify.toml
    box.email.setText("not-an-address")
    box.save_button.click()
    qtbot.waitUntil(lambda: box.save_button.isEnabled(), timeout=10_000)
    assert "is not an e-mail address" in box.status.text()
    assert lab.notify.settings().email == ""  # nothing half-saved
    box.email.setText("kim@lab.test")
    box.kinds[ev.BOOKING_ENDS].setChecked(False)
    box.language.setCurrentIndex(box.language.findData("ko"))
    box.save_button.click()
    qtbot.waitUntil(lambda: box.status.text() == "Saved.", timeout=10_000)
    saved = lab.notify.settings()
    assert (saved.email, saved.muted, saved.language) == ("kim@lab.test", (ev.BOOKING_ENDS,), "ko")
    window.settings_page.reminder_lead.setValue(25)  # one lead: the app's and the lab's
    qtbot.waitUntil(lambda: lab.notify.settings().lead_minutes == 25, timeout=10_000)
    box.test_button.click()
    qtbot.waitUntil(lambda: "queued" in box.status.text(), timeout=10_000)
    window.timer.stop()
    settle_workers()
    window.close()
