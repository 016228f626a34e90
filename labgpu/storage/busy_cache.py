"""The busy map kept per process: every live booking and maintenance window per GPU, read once
and used by every slot search until the lab changes (issue 14, point 8).

Whether the lab changed is asked of the database on every use, in one small query: every
change of a booking, a maintenance window or the rules appends a line to ``audit_log`` (the
app writes one for each of its writes; in the lab database a trigger writes one for any
change, direct SQL too), so the newest audit id is the lab's change counter. Another member's
booking is never missed:

- the counter is read before the windows, so what is kept is never older than its counter;
- on PostgreSQL an audit id is taken when its transaction writes, not when it commits, so a
  transaction still running may commit an id below the newest one later. The counter is
  therefore the newest id *and* how many lines there are among the last ``SETTLED`` ids
  before it: a line committed late among them changes the count. (Only a transaction kept
  open while more than ``SETTLED`` other changes were audited — days of a lab's changes —
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
from labgpu.storage.models import (
    LIVE_STORED,
    AuditRow,
    BookingRow,
    MaintenanceGpuRow,
    MaintenanceRow,
)


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


class BusyCache:
    """The lab's blocked windows per GPU, with the change counter they were read at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._gpus: dict[int, _Gpu] = {}

    def busy_windows(self, s: Session, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Per GPU, the live-booking and maintenance windows overlapping ``[start, end)``."""
        key = change_counter(s)
        with self._lock:
            gpus = self._gpus if key == self._key else None
        if gpus is None:
            gpus = _read_all(s)
            with self._lock:
                self._key, self._gpus = key, gpus
        found = {gpu_id: gpu.overlapping(start, end) for gpu_id, gpu in gpus.items()}
        return {gpu_id: windows for gpu_id, windows in found.items() if windows}

    def drop(self) -> None:
        """Forget the map (the store wrote to the bookings)."""
        with self._lock:
            self._key, self._gpus = None, {}


#: How many audit ids before the newest one are counted (see the module's docstring).
SETTLED = 1000


def change_counter(s: Session) -> tuple[int, int]:
    """The newest audit id, and how many lines have one of the ``SETTLED`` ids before it."""
    newest = int(s.scalar(select(func.coalesce(func.max(AuditRow.id), 0))) or 0)
    recent = s.scalar(
        select(func.count()).select_from(AuditRow).where(AuditRow.id > newest - SETTLED)
    )
    return newest, int(recent or 0)


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
