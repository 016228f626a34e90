"""What a what-if replay reads besides the requests: the booking groups of a span with when
each was made (``labgpu.core.usage.what_if_replay.BookedGroup``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import Window, as_utc
from labgpu.core.usage.what_if_replay import BookedGroup
from labgpu.storage.models import BookingRow

#: Cancelled bookings held nothing by the end: the replay leaves them out.
KEPT = ("pending", "booked", "released", "finished")


class WhatIfStore:
    """The booking history a replay starts from, one short read."""

    def __init__(self, read: Callable[[], AbstractContextManager[Session]]) -> None:
        self._read = read

    def booked_groups(self, lo: datetime, hi: datetime) -> list[BookedGroup]:
        """Booking groups (not cancelled) overlapping ``[lo, hi)``, oldest made first."""
        with self._read() as s:
            return booked_groups(s, lo, hi)


def booked_groups(s: Session, lo: datetime, hi: datetime) -> list[BookedGroup]:
    """Booking groups (not cancelled) overlapping ``[lo, hi)``, oldest made first."""
    row = BookingRow
    query = (
        select(row.group_id, row.user_name, row.gpu_id, row.start_ts, row.end_ts, row.created_at)
        .where(row.end_ts > as_utc(lo, "lo"), row.start_ts < as_utc(hi, "hi"))
        .where(row.status.in_(KEPT))
        .order_by(row.created_at, row.group_id, row.gpu_id)
    )
    groups: dict[str, BookedGroup] = {}
    for group_id, user, gpu_id, start, end, created in s.execute(query):
        seen = groups.get(group_id)
        if seen is None:
            groups[group_id] = BookedGroup(group_id, user, (gpu_id,), Window(start, end), created)
        else:
            groups[group_id] = BookedGroup(
                group_id, user, (*seen.gpu_ids, gpu_id), seen.window, seen.created_at
            )
    return list(groups.values())
