"""What a slot search reads, kept per process: the booking rules, the current GPUs and every
live booking and maintenance window per GPU, read once and used by every search until the lab
changes (issue 14, point 8).

Whether the lab changed is asked of the database on every use, in one small query: every
change of a booking, a maintenance window, the rules, a GPU (added, retired, moved, made
bookable) or a server appends a line to ``audit_log`` (the app writes one for each of its
writes; in the lab database a trigger writes one for any change, direct SQL too), so the newest
audit id is the lab's change counter. Servers' states (online, offline) are not kept: they
change without an audit line and are read by every search. Another member's
booking is never missed:

- the counter is read before the windows, so what is kept is never older than its counter;
- on PostgreSQL an audit id is taken when its transaction writes, not when it commits, so a
  transaction still running may commit an id below the newest one later. The counter is
  therefore the newest id *and* how many lines there are among the last ``SETTLED`` ids
  before it: a line committed late among them changes the count. (Only a transaction kept
  open while more than ``SETTLED`` other changes were audited — hours of a lab's changes,
  where a booking's transaction lasts milliseconds —
  could go unseen, and then only until the next change.)
- the store's own booking writes drop the map whatever their outcome (a refused booking must
  not be offered again from a map that a write not audited — direct SQL on a plain database —
  made stale).

A stale map could only make a search offer a slot that the booking then refuses: the booking's
own checks run in the database either way.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.rules import BookingRules
from labgpu.core.inventory.servers import Gpu
from labgpu.storage.inventory import current_gpus
from labgpu.storage.models import (
    LIVE_STORED,
    AuditRow,
    BookingRow,
    MaintenanceGpuRow,
    MaintenanceRow,
)
from labgpu.storage.policies import get_rules


@dataclass(frozen=True, slots=True)
class _Gpu:
    """One GPU's blocked windows by start, with the latest end so far at each (to find the
    first window that may reach past a moment by bisection)."""

    starts: list[datetime]
    reach: list[datetime]
    windows: list[Window]

    def overlapping(self, start: datetime, end: datetime) -> list[Window]:
        first = bisect_right(self.reach, start)  # windows before it all end by ``start``
        last = bisect_left(self.starts, end)  # windows from it on all start at ``end`` or later
        return [w for w in self.windows[first:last] if w.end > start]


@dataclass(frozen=True, slots=True)
class SearchBasis:
    """What a slot search reads of the lab, as of one change counter."""

    rules: BookingRules
    gpus: tuple[Gpu, ...]  # the current ones, by server and index
    blocked: dict[int, _Gpu]

    def busy_windows(self, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Per GPU, the live-booking and maintenance windows overlapping ``[start, end)``."""
        found = {gpu_id: gpu.overlapping(start, end) for gpu_id, gpu in self.blocked.items()}
        return {gpu_id: windows for gpu_id, windows in found.items() if windows}


class BusyCache:
    """The lab's ``SearchBasis``, with the change counter it was read at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._basis: SearchBasis | None = None

    def basis(self, s: Session) -> SearchBasis:
        """The rules, GPUs and blocked windows, read again only if the lab changed."""
        key = change_counter(s)
        with self._lock:
            basis = self._basis if key == self._key else None
        if basis is None:
            basis = SearchBasis(get_rules(s), tuple(current_gpus(s)), _read_all(s))
            with self._lock:
                self._key, self._basis = key, basis
        return basis

    def busy_windows(self, s: Session, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Per GPU, the live-booking and maintenance windows overlapping ``[start, end)``."""
        return self.basis(s).busy_windows(start, end)

    def drop(self) -> None:
        """Forget what is kept (the store wrote to the bookings)."""
        with self._lock:
            self._key, self._basis = None, None


#: How many audit ids before the newest one are counted (see the module's docstring).
SETTLED = 100


def change_counter(s: Session) -> tuple[int, int]:
    """The newest audit id, and how many lines have one of the ``SETTLED`` ids before it (one
    round trip)."""
    newest = select(func.coalesce(func.max(AuditRow.id), 0)).scalar_subquery()
    recent = (
        select(func.count())
        .select_from(AuditRow)
        .where(AuditRow.id > newest - SETTLED)
        .scalar_subquery()
    )
    row = s.execute(select(newest, recent)).one()
    return int(row[0]), int(row[1])


def _read_all(s: Session) -> dict[int, _Gpu]:
    """Every live booking and maintenance window, whenever it is, in one round trip."""
    bookings = select(BookingRow.gpu_id, BookingRow.start_ts, BookingRow.end_ts).where(
        BookingRow.status.in_(LIVE_STORED)
    )
    blocks = select(MaintenanceGpuRow.gpu_id, MaintenanceRow.start_ts, MaintenanceRow.end_ts).join(
        MaintenanceRow, MaintenanceRow.id == MaintenanceGpuRow.maintenance_id
    )
    per_gpu: dict[int, list[Window]] = {}
    for gpu_id, lo, hi in s.execute(union_all(bookings, blocks)):
        per_gpu.setdefault(gpu_id, []).append(Window.trusted(lo, hi))
    gpus = {}
    for gpu_id, windows in per_gpu.items():
        windows.sort(key=lambda w: (w.start, w.end))
        reach: list[datetime] = []
        for w in windows:
            reach.append(w.end if not reach or w.end > reach[-1] else reach[-1])
        gpus[gpu_id] = _Gpu([w.start for w in windows], reach, windows)
    return gpus
