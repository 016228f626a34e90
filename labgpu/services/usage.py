"""Usage for the PI: rollups kept up to date, graphs' data at the right resolution, reports.

The collector (or the demo feed) calls ``housekeep`` about once a minute; everything else is
read-only and safe to call from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.offload import UsageRow
from labgpu.core.usage import (
    HOUR,
    MINUTE,
    RAW,
    GpuBucketState,
    Level,
    MemberUsage,
    Retention,
    Table,
    UnmetRequest,
    UsageBucket,
    UserSeconds,
    member_usage,
    merge_all,
    pick_level,
    pick_step,
    sum_buckets,
)
from labgpu.services.booking import utc_now

if TYPE_CHECKING:
    from labgpu.storage import Store
    from labgpu.storage.usage import GpuKey, RetentionReport, RollupReport

#: How a graph groups GPUs: the whole lab, per server, per model or per GPU.
GROUPINGS = ("lab", "server", "model", "gpu")
#: ``labgpu usage --by``.
TABLE_BY = ("user", "gpu", "server", "model")
#: Retention runs at most this often (it scans the oldest rows; rollups run every minute).
RETENTION_EVERY_S = 3600.0
#: A request whose earliest slot starts this much after the wanted time counts as unmet.
UNMET_AFTER = timedelta(minutes=30)
#: The same member asking the same again within this time is one unmet request, not two.
UNMET_DEDUP = timedelta(hours=1)


def epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    return int(dt.timestamp() // 1)


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Mean utilisation per GPU (rows, ``labels``) and time step (columns from ``starts``)."""

    labels: list[str]
    starts: list[int]
    step: int
    values: list[list[float | None]]


@dataclass(frozen=True, slots=True)
class Summary:
    """The lab over a range, in GPU-hours: the figures at the top of the PI's report."""

    start: datetime
    end: datetime
    gpus: int
    capacity_h: float
    observed_h: float
    busy_h: float
    mean_util_pct: float | None
    booked_h: float
    idle_booked_h: float
    unbooked_h: float
    offloaded_h: float
    unmet: int
    pending: int
    rejected: int

    @property
    def busy_pct(self) -> float | None:
        """Busy share of the observed GPU-time."""
        return 100.0 * self.busy_h / self.observed_h if self.observed_h else None


class UsageService:
    """Rollups, retention and the PI's usage queries over the lab's store."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._retention_due = 0.0

    # -- keeping the history ----------------------------------------------------------------

    def rollup(self, now: datetime | None = None) -> RollupReport:
        """Roll new raw samples up to minutes and hours."""
        return self.store.usage.rollup(now or self.clock())

    def apply_retention(self, now: datetime | None = None) -> RetentionReport:
        """Delete history older than the retention settings (only what is rolled up)."""
        return self.store.usage.apply_retention(now or self.clock())

    def housekeep(self, monotonic: float | None = None) -> None:
        """Roll up, and apply retention once an hour: the collector's minute job."""
        with self._lock:
            self.rollup()
            now = time.monotonic() if monotonic is None else monotonic
            if now >= self._retention_due:
                self._retention_due = now + RETENTION_EVERY_S
                self.apply_retention()

    def retention(self) -> Retention:
        return self.store.usage.retention()

    def set_retention(self, value: Retention, actor: str) -> None:
        """Change how long each level is kept (managers); audited."""
        before = self.store.usage.retention()
        self.store.usage.set_retention(value)
        self.store.audit(actor, "usage.retention", "usage", f"{before} -> {value}")

    # -- resolution ---------------------------------------------------------------------------

    def level_for(self, start: datetime, end: datetime, single_gpu: bool = False) -> Level:
        """The level a graph of ``[start, end)`` reads: by span, coarser where the finer one
        no longer reaches back to ``start``."""
        level = pick_level((end - start).total_seconds(), single_gpu)
        oldest = self.store.usage.oldest()
        order = [RAW, MINUTE, HOUR]
        for candidate in order[order.index(level) :]:
            first = oldest[candidate.name]
            if candidate is HOUR or (first is not None and first <= epoch(start)):
                return candidate
        return HOUR

    def _hours_until(self, lo: int, hi: int) -> int:
        """Where hourly rollups of ``[lo, hi)`` stop: the rest is read from minutes."""
        _minute_done, hour_done = self.store.usage.watermarks()
        return hi if hour_done is None else max(lo, min(hi, hour_done))

    def _buckets(
        self, level: Level, lo: int, hi: int, step: int, by_gpu: bool
    ) -> list[UsageBucket]:
        """Rollups of ``level``; an hour graph's last, not yet complete hours from minutes."""
        usage = self.store.usage
        if level is not HOUR:
            return usage.buckets(level, lo, hi, step, by_gpu)
        split = self._hours_until(lo, hi)
        parts = usage.buckets(HOUR, lo, split, step, by_gpu) if split > lo else []
        if split < hi:
            parts += usage.buckets(MINUTE, split, hi, step, by_gpu)
        return merge_all(parts)

    # -- graphs -------------------------------------------------------------------------------

    def series(
        self,
        start: datetime,
        end: datetime,
        by: str = "lab",
        max_points: int | None = None,
    ) -> tuple[Level, dict[str, list[UsageBucket]]]:
        """Utilisation over ``[start, end)`` grouped ``by`` lab/server/model/gpu.

        Returns the level read and ``{label: buckets oldest first}``; every bucket of a group
        sums its GPUs (``gpus`` of them had readings).
        """
        if by not in GROUPINGS:
            raise LabgpuError(f"cannot group usage by {by!r}; use one of {', '.join(GROUPINGS)}")
        if end <= start:
            raise LabgpuError("the usage range must end after it starts")
        level = self.level_for(start, end)
        span = (end - start).total_seconds()
        step = pick_step(level, span, max_points or 2000)
        lo, hi = epoch(start) // step * step, epoch(end)
        if by == "lab":
            return level, {"lab": self._buckets(level, lo, hi, step, by_gpu=False)}
        keys = self.store.usage.gpu_keys()
        grouped: dict[str, dict[int, list[UsageBucket]]] = defaultdict(lambda: defaultdict(list))
        for bucket in self._buckets(level, lo, hi, step, by_gpu=True):
            key = keys.get(bucket.gpu_id or 0)
            if key is None:
                continue
            label = _label(key, by)
            grouped[label][bucket.start].append(bucket)
        found = {
            label: [sum_buckets(parts) for _, parts in sorted(per_start.items())]
            for label, per_start in grouped.items()
        }
        return level, dict(sorted(found.items()))

    def gpu_series(
        self, gpu_id: int, start: datetime, end: datetime
    ) -> tuple[Level, list[tuple[int, float | None, float | None]]]:
        """One GPU at the finest resolution kept: ``(epoch, util %, memory MB)`` points.

        Raw samples where they are still kept, minute means before that (hours before the
        minutes' retention), oldest first.
        """
        usage = self.store.usage
        oldest = usage.oldest()
        lo, hi = epoch(start), epoch(end)
        raw_from = oldest[RAW.name]  # raw samples are kept from that minute on
        raw_from = hi if raw_from is None else max(lo, raw_from // 60 * 60)
        minute_from = oldest[MINUTE.name]
        minute_from = raw_from if minute_from is None else max(lo, min(minute_from, raw_from))
        points: list[tuple[int, float | None, float | None]] = []
        if minute_from > lo:
            points += usage.gpu_means(HOUR, gpu_id, lo, min(minute_from, hi))
        if raw_from > minute_from:
            points += usage.gpu_means(MINUTE, gpu_id, minute_from, raw_from)
        # The finest level of the points (raw samples where they are still kept).
        level = RAW if raw_from < hi else MINUTE if minute_from < hi else HOUR
        if raw_from < hi:
            start_raw = datetime.fromtimestamp(raw_from, start.tzinfo)
            for ts, util, mem in usage.raw_points(gpu_id, start_raw, end):
                points.append((ts, util, None if mem is None else float(mem)))
        return level, points

    def heatmap(self, start: datetime, end: datetime, max_columns: int = 400) -> Heatmap:
        """Mean utilisation of every GPU per time step: the GPUs × time picture."""
        level = self.level_for(start, end)
        span = (end - start).total_seconds()
        step = pick_step(level, span, max_columns)
        lo, hi = epoch(start) // step * step, epoch(end)
        starts = list(range(lo, hi, step))
        column = {s: n for n, s in enumerate(starts)}
        keys = self.store.usage.gpu_keys()
        rows: dict[int, list[float | None]] = {}
        for bucket in self._buckets(level, lo, hi, step, by_gpu=True):
            if bucket.gpu_id not in keys or bucket.start not in column:
                continue
            row = rows.setdefault(bucket.gpu_id, [None] * len(starts))
            row[column[bucket.start]] = bucket.util_mean
        ordered = [g for g in keys if g in rows]
        return Heatmap([keys[g].label for g in ordered], starts, step, [rows[g] for g in ordered])

    # -- people -------------------------------------------------------------------------------

    def members(self, start: datetime, end: datetime) -> list[MemberUsage]:
        """Per member: booked vs used GPU-hours, idle while booked, in use without a booking,
        offloaded GPU-hours, unmet/pending/rejected requests; busiest first."""
        usage = self.store.usage
        level = self.level_for(start, end)
        if level is RAW:
            level = MINUTE
        lo, hi = epoch(start) // level.seconds * level.seconds, epoch(end)
        states = {
            (b.gpu_id or 0, b.start): GpuBucketState(b.busy_s, b.observed_s)
            for b in self._buckets(level, lo, hi, level.seconds, by_gpu=True)
        }
        used = self._user_seconds(level, lo, hi)
        spans = usage.booked_spans(start, end)
        found = member_usage(spans, used, states, level.seconds, epoch(start), hi)
        for row in self.offloaded(start, end):
            found.setdefault(row.user_name, MemberUsage(row.user_name)).offloaded_h += row.gpu_hours
        for request in self.unmet(start, end):
            found.setdefault(request.user_name, MemberUsage(request.user_name)).unmet += 1
        for user, (pending, rejected) in usage.request_counts(start, end).items():
            member = found.setdefault(user, MemberUsage(user))
            member.pending, member.rejected = pending, rejected
        return sorted(found.values(), key=lambda m: (-(m.used_h + m.booked_h), m.user_name))

    def _user_seconds(self, level: Level, lo: int, hi: int) -> list[UserSeconds]:
        usage = self.store.usage
        if level is not HOUR:
            return usage.user_seconds(level, lo, hi)
        split = self._hours_until(lo, hi)
        items = usage.user_seconds(HOUR, lo, split) if split > lo else []
        if split < hi:  # the last, incomplete hours: their minutes, counted per hour
            per_hour: dict[tuple[int, int, str], float] = defaultdict(float)
            for item in usage.user_seconds(MINUTE, split, hi):
                per_hour[(item.start // 3600 * 3600, item.gpu_id, item.user_name)] += item.gpu_s
            items += [UserSeconds(b, g, u, v) for (b, g, u), v in per_hour.items()]
        return items

    def unmet(self, start: datetime, end: datetime) -> list[UnmetRequest]:
        """Requests the lab could not serve in time, asked in ``[start, end)``."""
        return self.store.usage.unmet(start, end)

    def record_unmet(self, request: UnmetRequest) -> bool:
        """Remember an unmet request (not twice within ``UNMET_DEDUP``); True if stored."""
        recent = self.store.usage.unmet(request.asked_at - UNMET_DEDUP, request.asked_at)
        for seen in recent:
            if (seen.user_name, seen.model, seen.count, seen.hours) == (
                request.user_name,
                request.model,
                request.count,
                request.hours,
            ):
                return False
        self.store.usage.add_unmet(request)
        return True

    def offloaded(self, start: datetime, end: datetime) -> list[UsageRow]:
        """GPU-hours sent to clusters, per month, member and cluster (jobs submitted then)."""
        return self.store.offload.usage(start, end)

    # -- tables and totals ----------------------------------------------------------------------

    def summary(self, start: datetime, end: datetime) -> Summary:
        """The lab's totals over ``[start, end)``."""
        level = self.level_for(start, end)
        if level is RAW:
            level = MINUTE
        lo, hi = epoch(start) // level.seconds * level.seconds, epoch(end)
        totals = self._buckets(level, lo, hi, level.seconds, by_gpu=False)
        whole = sum_buckets(totals) if totals else None
        gpus = len(self.store.list_gpus())
        members = self.members(start, end)
        return Summary(
            start=start,
            end=end,
            gpus=gpus,
            capacity_h=gpus * (end - start).total_seconds() / 3600,
            observed_h=(whole.observed_s if whole else 0.0) / 3600,
            busy_h=(whole.busy_s if whole else 0.0) / 3600,
            mean_util_pct=whole.util_mean if whole else None,
            booked_h=sum(m.booked_h for m in members),
            idle_booked_h=sum(m.idle_booked_h for m in members),
            unbooked_h=sum(m.unbooked_h for m in members),
            offloaded_h=sum(m.offloaded_h for m in members),
            unmet=sum(m.unmet for m in members),
            pending=sum(m.pending for m in members),
            rejected=sum(m.rejected for m in members),
        )

    def table(self, by: str, start: datetime, end: datetime) -> Table:
        """``labgpu usage --by``: one row per member, GPU, server or model."""
        if by not in TABLE_BY:
            raise LabgpuError(f"cannot list usage by {by!r}; use one of {', '.join(TABLE_BY)}")
        if end <= start:
            raise LabgpuError("the usage range must end after it starts (--from before --to)")
        if by == "user":
            member_rows = [m.as_row() for m in self.members(start, end)]
            columns = tuple(MemberUsage("").as_row())
            return Table(columns, [tuple(r.values()) for r in member_rows])
        level = self.level_for(start, end)
        if level is RAW:
            level = MINUTE
        lo, hi = epoch(start) // level.seconds * level.seconds, epoch(end)
        keys = self.store.usage.gpu_keys()
        booked: dict[int, float] = defaultdict(float)
        for span in self.store.usage.booked_spans(start, end):
            booked[span.gpu_id] += (min(span.end, hi) - max(span.start, epoch(start))) / 3600
        groups: dict[str, list[UsageBucket]] = defaultdict(list)
        members: dict[str, set[int]] = defaultdict(set)
        for per_gpu in self._gpu_totals(level, lo, hi):
            key = keys.get(per_gpu.gpu_id or 0)
            if key is not None:
                groups[_label(key, by)].append(per_gpu)
        for gpu_id, key in keys.items():
            members[_label(key, by)].add(gpu_id)
        columns = (
            by,
            "gpus",
            "observed_gpu_hours",
            "busy_gpu_hours",
            "busy_pct",
            "mean_util_pct",
            "max_util_pct",
            "booked_gpu_hours",
        )
        rows: list[tuple[object, ...]] = []
        for label in sorted(members):
            parts = groups.get(label, [])
            total = sum_buckets(parts) if parts else None
            observed = total.observed_s / 3600 if total else 0.0
            busy = total.busy_s / 3600 if total else 0.0
            rows.append(
                (
                    label,
                    len(members[label]),
                    round(observed, 3),
                    round(busy, 3),
                    round(100 * busy / observed, 1) if observed else None,
                    None if total is None or total.util_mean is None else round(total.util_mean, 1),
                    None if total is None else total.util_max,
                    round(sum(booked[g] for g in members[label]), 3),
                )
            )
        return Table(columns, rows)

    def _gpu_totals(self, level: Level, lo: int, hi: int) -> list[UsageBucket]:
        usage = self.store.usage
        if level is not HOUR:
            return usage.gpu_totals(level, lo, hi)
        split = self._hours_until(lo, hi)
        parts = usage.gpu_totals(HOUR, lo, split) if split > lo else []
        if split < hi:
            parts += usage.gpu_totals(MINUTE, split, hi)
        by_gpu: dict[int, list[UsageBucket]] = defaultdict(list)
        for part in parts:
            by_gpu[part.gpu_id or 0].append(part)
        return [sum_buckets(p, gpu_id=g) for g, p in by_gpu.items()]


def _label(key: GpuKey, by: str) -> str:
    if by == "server":
        return key.server
    if by == "model":
        return key.model
    if by == "gpu":
        return key.label
    return "lab"


def month_range(month: str, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """``"2026-11"`` -> the month's first instant and the next month's, in ``tz`` (UTC if
    None); ``LabgpuError`` for anything else."""
    try:
        year, number = (int(p) for p in month.split("-"))
        zone = tz or UTC
        start = datetime(year, number, 1, tzinfo=zone)
    except ValueError as exc:
        raise LabgpuError(f"{month!r} is not a month; write it as YYYY-MM, e.g. 2026-11") from exc
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


__all__: Sequence[str] = (
    "GROUPINGS",
    "TABLE_BY",
    "Heatmap",
    "Summary",
    "UsageService",
    "month_range",
)
