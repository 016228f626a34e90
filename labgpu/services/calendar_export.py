"""Bookings as an iCalendar (.ics) file a calendar program can open (RFC 5545).

One event per booking group, in UTC, with a stable UID so a re-import updates the events
instead of duplicating them. Cancelled and rejected bookings are left out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from icalendar import Calendar, Event

from labgpu import __version__
from labgpu.core.booking import BookingStatus
from labgpu.core.errors import LabgpuError
from labgpu.core.rules import BookingGroupView
from labgpu.services.booking import BookingService, groups_of

PRODID = f"-//labgpu//labgpu {__version__}//EN"
_ICAL_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.BOOKED: "CONFIRMED",
    BookingStatus.ACTIVE: "CONFIRMED",
    BookingStatus.FINISHED: "CONFIRMED",
    BookingStatus.RELEASED: "CONFIRMED",
}


def build_calendar(groups: Iterable[BookingGroupView], name: str, stamp: datetime) -> Calendar:
    """A calendar with one event per group that is not cancelled."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for group in groups:
        if group.status in _ICAL_STATUS:
            cal.add_component(group_event(group, stamp))
    return cal


def group_event(group: BookingGroupView, stamp: datetime) -> Event:
    """One booking group as an event: who, which GPUs, the note and the status."""
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
    return event


def export_ics(service: BookingService, path: Path, mine: bool) -> int:
    """Write the bookings (``mine`` or the whole lab's) to ``path``; returns events written."""
    groups = groups_of(service.bookings(mine=mine))
    name = f"labgpu: {service.user}'s bookings" if mine else "labgpu: lab bookings"
    cal = build_calendar(groups, name, service.clock())
    data = cal.to_ical()
    _write_atomically(path, data)
    return sum(1 for _ in cal.walk("VEVENT"))


def _write_atomically(path: Path, data: bytes) -> None:
    # A calendar program watching the file never sees half of it.
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".labgpu-", suffix=".ics", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise LabgpuError(
            f"cannot write the calendar to {path}: {exc.strerror or exc}; choose another file"
        ) from exc
