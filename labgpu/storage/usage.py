"""Usage history: rolling raw samples up to minutes and hours, retention, and graph queries.

``usage_rollup`` writes the history (rollups, retention, imported hours), ``usage_queries``
reads it; ``UsageStore`` runs both, one short transaction per call. Their names are also
importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labgpu.core.usage.figures import (
    HOUR,
    MINUTE,
    RAW,
    BookedSpan,
    Level,
    Retention,
    SlotRequest,
    UsageBucket,
    UserSeconds,
)
from labgpu.storage.usage_queries import (
    HELD,
    GpuKey,
    add_request,
    add_request_unless_seen,
    booked_spans,
    buckets,
    database_bytes,
    gpu_keys,
    gpu_means,
    gpu_totals,
    oldest_bucket,
    raw_points,
    request_counts,
    requests,
    same_request,
    user_seconds,
)
from labgpu.storage.usage_rollup import (
    BUSY_UTIL_PCT,
    LAG_S,
    RetentionReport,
    RollupReport,
    apply_retention,
    epoch,
    from_epoch,
    import_hours,
    oldest_sample,
    reopen,
    retention,
    rollup,
    sample_bounds,
    set_retention,
    watermarks,
)

__all__ = [
    "BUSY_UTIL_PCT",
    "HELD",
    "LAG_S",
    "GpuKey",
    "RetentionReport",
    "RollupReport",
    "UsageStore",
    "add_request",
    "apply_retention",
    "booked_spans",
    "buckets",
    "database_bytes",
    "epoch",
    "from_epoch",
    "gpu_keys",
    "gpu_means",
    "gpu_totals",
    "import_hours",
    "oldest_bucket",
    "oldest_sample",
    "raw_points",
    "reopen",
    "request_counts",
    "requests",
    "retention",
    "rollup",
    "same_request",
    "sample_bounds",
    "set_retention",
    "user_seconds",
    "watermarks",
]


class UsageStore:
    """The usage history in the lab's database, one short transaction per call."""

    def __init__(
        self,
        engine: Engine,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._engine = engine
        self._read = read
        self._write = write

    def rollup(self, now: datetime, lag_s: int = LAG_S) -> RollupReport:
        """Roll raw samples up to minutes and hours, from where the last rollup stopped."""
        with self._write() as s:
            return rollup(s, now, lag_s)

    def apply_retention(self, now: datetime) -> RetentionReport:
        """Delete history older than the lab's retention settings allow (rolled up only)."""
        with self._write() as s:
            return apply_retention(s, now, retention(s))

    def retention(self) -> Retention:
        with self._read() as s:
            return retention(s)

    def set_retention(self, value: Retention) -> None:
        with self._write() as s:
            set_retention(s, value)

    def watermarks(self) -> tuple[int | None, int | None]:
        with self._read() as s:
            return watermarks(s)

    def gpu_keys(self) -> dict[int, GpuKey]:
        with self._read() as s:
            return gpu_keys(s)

    def buckets(
        self,
        level: Level,
        lo: int,
        hi: int,
        step: int | None = None,
        by_gpu: bool = False,
        gpu_ids: Sequence[int] | None = None,
    ) -> list[UsageBucket]:
        with self._read() as s:
            return buckets(s, level, lo, hi, step or level.seconds, by_gpu, gpu_ids)

    def import_hours(
        self, rows: Sequence[UsageBucket], users: Sequence[UserSeconds], done: int
    ) -> int:
        with self._write() as s:
            return import_hours(s, rows, users, done)

    def gpu_totals(self, level: Level, lo: int, hi: int) -> list[UsageBucket]:
        with self._read() as s:
            return gpu_totals(s, level, lo, hi)

    def gpu_means(
        self, level: Level, gpu_id: int, lo: int, hi: int
    ) -> list[tuple[int, float | None, float | None]]:
        with self._read() as s:
            return gpu_means(s, level, gpu_id, lo, hi)

    def raw_points(
        self, gpu_id: int, lo: datetime, hi: datetime
    ) -> list[tuple[int, float | None, int | None]]:
        with self._read() as s:
            return raw_points(s, gpu_id, lo, hi)

    def user_seconds(self, level: Level, lo: int, hi: int) -> list[UserSeconds]:
        with self._read() as s:
            return user_seconds(s, level, lo, hi)

    def oldest(self) -> dict[str, int | None]:
        """The oldest time kept per level (epoch seconds; None: nothing kept)."""
        with self._read() as s:
            sample = oldest_sample(s)
            return {
                RAW.name: None if sample is None else epoch(sample),
                MINUTE.name: oldest_bucket(s, MINUTE),
                HOUR.name: oldest_bucket(s, HOUR),
            }

    def add_request(self, request: SlotRequest) -> None:
        with self._write() as s:
            add_request(s, request)

    def add_requests(self, requests: Sequence[SlotRequest]) -> None:
        """Record many requests in one transaction (the demo's history)."""
        with self._write() as s:
            for request in requests:
                add_request(s, request)

    def add_request_once(self, request: SlotRequest, within: timedelta) -> bool:
        """Record ``request`` unless the same member asked the same (model, GPUs, hours,
        outcome) within ``within`` before; one transaction. True if stored."""
        with self._write() as s:
            return add_request_unless_seen(s, request, within)

    def requests(self, lo: datetime, hi: datetime) -> list[SlotRequest]:
        with self._read() as s:
            return requests(s, lo, hi)

    def booked_spans(self, lo: datetime, hi: datetime) -> list[BookedSpan]:
        with self._read() as s:
            return booked_spans(s, lo, hi)

    def request_counts(self, lo: datetime, hi: datetime) -> dict[str, tuple[int, int]]:
        with self._read() as s:
            return request_counts(s, lo, hi)

    def database_bytes(self) -> int | None:
        return database_bytes(self._engine)
