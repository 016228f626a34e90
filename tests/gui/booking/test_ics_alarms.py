"""The app's .ics exports carry alarms at the reminder lead time of its settings (issue 13,
point 12); the lab calendar's export starts with the current week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from pytestqt.qtbot import QtBot

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.gui.shell.main_window import MainWindow
from labgpu.gui.shell.notifier import set_reminder_lead_min
from labgpu.gui.shell.settings import open_settings
from labgpu.services import Labgpu


def _book(lab: Labgpu, start: datetime, user: str = "alice") -> None:
    gpu = next(
        g for g in lab.inventory.list_gpus() if g.server_name == "gpu-01" and g.id is not None
    )
    assert gpu.id is not None
    window = Window(start, start + timedelta(hours=2))
    lab.store.bookings.create_bookings(
        f"group-{start:%Y%m%d%H}", [gpu.id], user, window, BookingStatus.BOOKED, "", user
    )


def test_lab_export_has_alarms_at_the_settings_lead(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _book(sample_lab, now + timedelta(days=1))
    _book(sample_lab, now - timedelta(days=30))  # history: not in the lab's calendar
    set_reminder_lead_min(open_settings(), 30)
    page = window.calendar_page
    with qtbot.waitSignal(page.exported, timeout=10_000):
        page.export(tmp_path / "lab.ics")
    events = icalendar.Calendar.from_ical((tmp_path / "lab.ics").read_bytes()).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [now + timedelta(days=1)]
    [alarm] = events[0].walk("VALARM")
    assert alarm["trigger"].dt == -timedelta(minutes=30)


@pytest.mark.parametrize("minutes", [15, 45])
def test_my_bookings_export_uses_the_lead(
    qtbot: QtBot,
    sample_lab: Labgpu,
    window: MainWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    minutes: int,
) -> None:
    from labgpu.gui.booking import my_bookings

    _book(sample_lab, datetime.now(UTC).replace(microsecond=0) + timedelta(days=1), sample_lab.user)
    set_reminder_lead_min(open_settings(), minutes)
    path = tmp_path / "mine.ics"
    monkeypatch.setattr(my_bookings.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.my_bookings_page.export_ics()
    qtbot.waitUntil(path.exists, timeout=10_000)
    [event] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    [alarm] = event.walk("VALARM")
    assert alarm["trigger"].dt == -timedelta(minutes=minutes)
