"""Bookings as an iCalendar (.ics) file a calendar program can open (RFC 5545).

One event per booking group, in UTC, with a stable UID so a re-import updates the events
instead of duplicating them, and an alarm at the reminder lead time. Cancelled and rejected
bookings are left out. The lab's calendar starts with the current week (not all of history)
unless a start is given; a member's own calendar holds all of theirs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from labgpu import __version__
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.services.booking.service import BookingService, groups_of

PRODID = f"-//labgpu//labgpu {__version__}//EN"
#: The alarm's lead before a booking starts, the app's default reminder lead time.
DEFAULT_REMINDER_LEAD = timedelta(minutes=15)
_ICAL_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.BOOKED: "CONFIRMED",
    BookingStatus.ACTIVE: "CONFIRMED",
    BookingStatus.FINISHED: "CONFIRMED",
    BookingStatus.RELEASED: "CONFIRMED",
}


def build_calendar(
    groups: Iterable[BookingGroupView],
    name: str,
    stamp: datetime,
    reminder_lead: timedelta | None = DEFAULT_REMINDER_LEAD,
) -> Calendar:
    """A calendar with one event per group that is not cancelled."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for group in groups:
        if group.status in _ICAL_STATUS:
            cal.add_component(group_event(group, stamp, reminder_lead))
    return cal


def group_event(
    group: BookingGroupView, stamp: datetime, reminder_lead: timedelta | None = None
) -> Event:
    """One booking group as an event: who, which GPUs, the note, the status and an alarm
    ``reminder_lead`` before it starts (none if None or 0)."""
    event = Event()
    event.add("uid", f"{group.group_id}@labgpu")
    event.add("dtstamp", stamp)
    event.add("dtstart", group.window.start)
    event.add("dtend", group.window.end)
    models = sorted({g.model for g in group.gpus if g.model})
    what = f"{len(group.gpus)} x {'/'.join(models) or 'GPU'}"
    pending = " (pending approval)" if group.status is BookingStatus.PENDING else ""
    event.add("summary", f"{group.user}: {what}{pending}")
    lines = [
        f"GPUs: {', '.join(group.gpu_labels)}",
        f"Status: {group.status.value}",
        f"Booking: {group.group_id}",
    ]
    if group.note:
        lines.insert(0, group.note)
    event.add("description", "\n".join(lines))
    event.add("location", ", ".join(sorted({g.server for g in group.gpus})))
    event.add("status", _ICAL_STATUS[group.status])
    event.add("categories", ["labgpu"])
    if reminder_lead:  # None or 0: no alarm
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{what} on {', '.join(group.gpu_labels)} starts")
        alarm.add("trigger", -reminder_lead)
        event.add_component(alarm)
    return event


def week_start_local(moment: datetime) -> datetime:
    """Monday 00:00 local time of the week holding ``moment``."""
    local = moment.astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=local.weekday())


def export_ics(
    service: BookingService,
    path: Path,
    mine: bool,
    start: datetime | None = None,
    end: datetime | None = None,
    reminder_lead: timedelta | None = DEFAULT_REMINDER_LEAD,
) -> int:
    """Write the bookings (``mine`` or the whole lab's) to ``path``; returns events written.

    The lab's bookings start with the current week unless ``start`` says otherwise; the
    folder must exist (a mistyped folder is an error, not a new folder).
    """
    if not mine and start is None:
        start = week_start_local(service.clock())
    groups = groups_of(service.between(start, end, mine=mine))
    name = f"labgpu: {service.user}'s bookings" if mine else "labgpu: lab bookings"
    cal = build_calendar(groups, name, service.clock(), reminder_lead)
    data = cal.to_ical()
    _write_atomically(path, data)
    return sum(1 for _event in cal.walk("VEVENT"))


def _write_atomically(path: Path, data: bytes) -> None:
    # A calendar program watching the file never sees half of it.
    path = path.expanduser()
    if not path.parent.is_dir():
        raise LabgpuError(
            _(
                "cannot write the calendar to {path}: there is no folder {folder}; "
                "create it or choose another file"
            ).format(path=path, folder=path.parent)
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=".labgpu-", suffix=".ics", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise LabgpuError(
            _("cannot write the calendar to {path}: {error}; choose another file").format(
                path=path, error=exc.strerror or exc
            )
        ) from exc
