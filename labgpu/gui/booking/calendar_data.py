"""What the Calendar view shows, read in one worker call, and the geometry of its time axis."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingView, Maintenance
from labgpu.core.inventory.servers import Gpu
from labgpu.services import Labgpu

SNAP = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class CalendarData:
    """GPUs, bookings and maintenance overlapping ``[start, end)``, read at ``taken_at``."""

    start: datetime
    end: datetime
    gpus: tuple[Gpu, ...]
    bookings: tuple[BookingView, ...]
    maintenance: tuple[Maintenance, ...]
    idle_groups: frozenset[str] = field(default_factory=frozenset)
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: (group id, GPU id) of a booking held now → who else runs on that GPU.
    intruded: dict[tuple[str, int], str] = field(default_factory=dict)

    def bookings_of(self, gpu_id: int) -> list[BookingView]:
        """The bookings of one GPU, by start."""
        return sorted(
            (b for b in self.bookings if b.gpu_id == gpu_id), key=lambda b: b.window.start
        )

    def maintenance_of(self, gpu_id: int) -> list[Maintenance]:
        """The maintenance windows blocking one GPU."""
        return [m for m in self.maintenance if gpu_id in m.gpu_ids]


def load_calendar(labgpu: Labgpu, start: datetime, end: datetime) -> CalendarData:
    """Read everything the calendar shows between ``start`` and ``end`` (blocking: a worker)."""
    gpus = tuple(labgpu.inventory.list_gpus())
    bookings = tuple(labgpu.bookings.between(start, end))
    maintenance = tuple(labgpu.rules.maintenance(start, end))
    report = labgpu.bookings.reality()
    idle = frozenset(item.group_id for item in report.idle_bookings)
    from labgpu.services.booking.intruders import current_intrusions  # off the GUI's start

    intruded: dict[tuple[str, int], str] = {}
    for intrusion in current_intrusions(labgpu.bookings, report.now):
        key = (intrusion.group_id, intrusion.gpu_id)
        who = intrusion.user or QCoreApplication.translate(
            "live", "owner unknown (container {name})"
        ).format(name=intrusion.container)
        intruded[key] = ", ".join(filter(None, (intruded.get(key), who)))
    return CalendarData(start, end, gpus, bookings, maintenance, idle, intruded=intruded)


def ordered_gpus(gpus: tuple[Gpu, ...] | list[Gpu]) -> list[Gpu]:
    """GPUs grouped by model, then server, then index: the calendar's row order."""
    return sorted(gpus, key=lambda g: (g.model, g.server_name, g.index))


def member_color(name: str) -> QColor:
    """A stable, light colour for a member (the same name always gets the same colour)."""
    hue = zlib.crc32(name.encode("utf-8")) % 360
    return QColor.fromHsl(hue, 150, 185)


def snap_down(moment: datetime) -> datetime:
    """``moment`` rounded down to the 30-minute grid."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // SNAP) * SNAP


def snap_up(moment: datetime) -> datetime:
    """``moment`` rounded up to the 30-minute grid."""
    down = snap_down(moment)
    return down if down == moment else down + SNAP


def local_midnight(moment: datetime) -> datetime:
    """Local midnight of ``moment``'s local day, as an aware datetime."""
    local = moment.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone()


def week_start_local(moment: datetime) -> datetime:
    """Monday 00:00 (local) of the week holding ``moment``."""
    midnight = local_midnight(moment)
    return local_midnight(midnight - timedelta(days=midnight.weekday()) + timedelta(hours=12))


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Maps time to x pixels: ``[start, end)`` spans from ``left`` to ``left + width``."""

    start: datetime
    end: datetime
    left: int
    width: int

    def x_for(self, moment: datetime) -> float:
        """The x coordinate of ``moment`` (may fall outside the drawn span)."""
        span = (self.end - self.start).total_seconds()
        return self.left + (moment - self.start).total_seconds() / span * max(self.width, 1)

    def time_at(self, x: float) -> datetime:
        """The moment at x coordinate ``x``, clamped to the span."""
        fraction = min(max((x - self.left) / max(self.width, 1), 0.0), 1.0)
        return self.start + (self.end - self.start) * fraction


@dataclass(frozen=True, slots=True)
class LiveMarks:
    """What the Live view adds from bookings, keyed by GPU label ``server:index``."""

    booked_by: dict[str, str] = field(default_factory=dict)  # holder of the booking active now
    idle: frozenset[str] = frozenset()  # booked (active) but idle
    unbooked: dict[str, str] = field(default_factory=dict)  # user running without a booking
    # member whose pending request holds the GPU now (not booked until a PI approves it)
    requested_by: dict[str, str] = field(default_factory=dict)
    # start (UTC) of the next live booking within FREE_UNTIL_HORIZON, for GPUs not held now
    next_start: dict[str, datetime] = field(default_factory=dict)


#: How far ahead the Live view looks for a booking that ends a GPU's "free" ("free until 07:00").
FREE_UNTIL_HORIZON = timedelta(hours=24)


def next_starts(bookings: list[BookingView], now: datetime) -> dict[str, datetime]:
    """GPU label → start of its next live booking after ``now`` (the earliest per GPU)."""
    found: dict[str, datetime] = {}
    for b in bookings:
        if b.booking.is_live and b.window.start > now:
            known = found.get(b.gpu_label)
            found[b.gpu_label] = b.window.start if known is None else min(known, b.window.start)
    return found


def load_live_marks(labgpu: Labgpu) -> LiveMarks:
    """Who holds each GPU now, and which are idle or used without a booking (a worker)."""
    now = datetime.now(UTC)
    labels = {g.id: f"{g.server_name}:{g.index}" for g in labgpu.inventory.list_gpus()}
    held = [
        b
        for b in labgpu.bookings.between(now, now + timedelta(seconds=1))
        if b.booking.is_live and b.window.contains(now)
    ]
    active = [b for b in held if b.status is not BookingStatus.PENDING]
    requested = {b.gpu_label: b.user for b in held if b.status is BookingStatus.PENDING}
    report = labgpu.bookings.reality(now)
    idle = {labels.get(i, "") for item in report.idle_bookings for i in item.gpu_ids}
    unbooked: dict[str, str] = {}
    for use in report.unbooked_use:
        label = labels.get(use.gpu_id, "")
        unbooked[label] = ", ".join(filter(None, (unbooked.get(label), use.user)))
    from labgpu.services.booking.intruders import current_intrusions  # off the GUI's start

    for intrusion in current_intrusions(labgpu.bookings, now):
        if intrusion.user is None:  # a container nobody owns, on a held GPU
            who = QCoreApplication.translate("live", "owner unknown (container {name})").format(
                name=intrusion.container
            )
            label = intrusion.gpu_label
            unbooked[label] = ", ".join(filter(None, (unbooked.get(label), who)))
    coming = next_starts(labgpu.bookings.between(now, now + FREE_UNTIL_HORIZON), now)
    return LiveMarks(
        {b.gpu_label: b.user for b in active},
        frozenset(idle),
        unbooked,
        next_start=coming,
        requested_by=requested,
    )


def compact_labels(labels: list[str] | tuple[str, ...]) -> str:
    """``gpu-01:0, gpu-01:1, gpu-02:3`` → ``gpu-01:0,1  gpu-02:3`` (order kept per server)."""
    by_server: dict[str, list[str]] = {}
    for label in labels:
        server, _, index = label.rpartition(":")
        by_server.setdefault(server, []).append(index)
    return "  ".join(f"{server}:{','.join(indexes)}" for server, indexes in by_server.items())
