"""Bookings as plain values, and the one rule the database also enforces: no double booking.

A booking is a group of one or more GPUs (one ``Booking`` row per GPU, sharing a ``group_id``)
held over one half-open window ``[start, end)`` of UTC time. Only *live* statuses hold a GPU, so
a cancelled, released or finished booking never conflicts with anything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from labgpu.core.errors import RefusedError
from labgpu.core.i18n import _


class BookingStatus(enum.StrEnum):
    """Where a booking is in its life."""

    PENDING = "pending"  # waiting for a PI or manager to approve (scarce models)
    BOOKED = "booked"
    ACTIVE = "active"  # its window has started
    FINISHED = "finished"
    CANCELLED = "cancelled"
    RELEASED = "released"  # ended early, by the holder or by the idle rule


#: Statuses that hold a GPU: a pending request blocks the GPU too, so approval cannot collide.
LIVE_STATUSES: frozenset[BookingStatus] = frozenset(
    {BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ACTIVE}
)


def as_utc(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, or refuse a naive datetime (its zone would be a guess).

    ``name`` says which value it is in the error message (``start``, ``deadline``...).
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} {value.isoformat()} has no time zone; pass an aware datetime "
            "(e.g. datetime.now(UTC))"
        )
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span of time ``[start, end)``, stored in UTC.

    Aware datetimes in any zone are accepted and converted to UTC; naive ones are refused.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = as_utc(self.start, "window start")
        end = as_utc(self.end, "window end")
        if end <= start:
            raise ValueError(
                f"window end {end.isoformat()} is not after its start {start.isoformat()}; "
                "the end must be later than the start"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @classmethod
    def trusted(cls, start: datetime, end: datetime) -> Window:
        """A window of values already aware, in UTC and ordered (rows the database's check
        constraint holds to): no conversion, for the slot search's thousands of windows."""
        window = object.__new__(cls)
        object.__setattr__(window, "start", start)
        object.__setattr__(window, "end", end)
        return window

    @property
    def duration(self) -> timedelta:
        """How long the window lasts."""
        return self.end - self.start

    def overlaps(self, other: Window) -> bool:
        """True if the windows share an instant; back-to-back windows do not."""
        return self.start < other.end and other.start < self.end

    def contains(self, moment: datetime) -> bool:
        """True if ``moment`` (aware) falls inside ``[start, end)``."""
        return self.start <= moment < self.end

    def describe(self) -> str:
        """The window in UTC for a message: ``2026-12-01 10:00 to 12:00 UTC``."""
        return "{start} to {end} UTC".format(**self._ends())

    def text(self) -> str:
        """:meth:`describe` in the language of the messages (``describe`` is for records)."""
        return _("{start} to {end} UTC").format(**self._ends())

    def _ends(self) -> dict[str, str]:
        same_day = self.start.date() == self.end.date()
        return {
            "start": _format_moment(self.start, with_date=True),
            "end": _format_moment(self.end, with_date=not same_day),
        }


def _format_moment(moment: datetime, *, with_date: bool) -> str:
    """``2026-12-01 10:00`` (seconds only when they are not zero)."""
    clock = "%H:%M:%S" if moment.second or moment.microsecond else "%H:%M"
    return moment.strftime(f"%Y-%m-%d {clock}" if with_date else clock)


@dataclass(frozen=True, slots=True)
class Booking:
    """One GPU of a booking group.

    ``id`` is ``None`` until stored. ``gpu_label`` (e.g. ``gpu-01:2``) is only for messages;
    identity is ``gpu_id``.
    """

    id: int | None
    group_id: str
    gpu_id: int
    user_name: str
    window: Window
    status: BookingStatus = BookingStatus.BOOKED
    note: str = ""
    gpu_label: str = ""
    #: The project or grant it is for (None: none named).
    project: str | None = None

    @property
    def is_live(self) -> bool:
        """True if this booking holds its GPU (pending, booked or active)."""
        return self.status in LIVE_STATUSES


@dataclass(frozen=True, slots=True)
class BookingConflict:
    """An existing live booking that holds a requested GPU during the requested window."""

    gpu_id: int
    gpu_label: str
    holder: str
    window: Window
    status: BookingStatus
    booking_id: int | None = None
    group_id: str = ""

    @classmethod
    def from_booking(cls, booking: Booking) -> BookingConflict:
        """The conflict that ``booking`` causes."""
        return cls(
            gpu_id=booking.gpu_id,
            gpu_label=booking.gpu_label,
            holder=booking.user_name,
            window=booking.window,
            status=booking.status,
            booking_id=booking.id,
            group_id=booking.group_id,
        )

    def describe(self) -> str:
        """``GPU gpu-01:2 is booked by kim from 2026-12-01 10:00 to 12:00 UTC``."""
        gpu = self.gpu_label or f"#{self.gpu_id}"
        if self.status is BookingStatus.PENDING:
            message = _("GPU {gpu} is requested by {holder} (pending approval) from {window}")
        else:
            message = _("GPU {gpu} is booked by {holder} from {window}")
        return message.format(gpu=gpu, holder=self.holder, window=self.window.text())


class BookingConflictError(RefusedError):
    """A requested GPU is already held during the requested window; nothing was booked."""

    def __init__(self, conflicts: Sequence[BookingConflict]) -> None:
        if not conflicts:
            raise ValueError("BookingConflictError needs at least one conflict")
        self.conflicts: tuple[BookingConflict, ...] = tuple(conflicts)
        lines = "; ".join(c.describe() for c in self.conflicts)
        super().__init__(_("{conflicts}; choose another time or GPU").format(conflicts=lines))


def find_conflicts(
    requested_gpu_ids: Iterable[int],
    window: Window,
    existing: Iterable[Booking],
    *,
    ignore_group_id: str | None = None,
) -> list[Booking]:
    """Every live booking in ``existing`` that holds a requested GPU during ``window``.

    ``ignore_group_id`` leaves out the group being edited or extended, so it does not clash
    with itself. The result is ordered by GPU, then start, so messages are stable.
    """
    wanted = set(requested_gpu_ids)
    clashes = [
        b
        for b in existing
        if b.gpu_id in wanted
        and b.is_live
        and b.group_id != ignore_group_id
        and b.window.overlaps(window)
    ]
    return sorted(clashes, key=lambda b: (b.gpu_id, b.window.start, b.id or 0))


def check_no_conflicts(
    requested_gpu_ids: Iterable[int],
    window: Window,
    existing: Iterable[Booking],
    *,
    ignore_group_id: str | None = None,
) -> None:
    """Raise ``BookingConflictError`` naming every clash if any requested GPU is held."""
    clashes = find_conflicts(requested_gpu_ids, window, existing, ignore_group_id=ignore_group_id)
    if clashes:
        raise BookingConflictError([BookingConflict.from_booking(b) for b in clashes])
