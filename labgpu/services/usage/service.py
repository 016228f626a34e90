"""Usage for the PI: rollups kept up to date, graphs' data at the right resolution, reports.

The collector (or the demo feed) calls ``housekeep`` about once a minute; everything else is
read-only and safe to call from any thread. Its answers other than rows are in ``reports.py``,
its handling of ranges (epoch seconds, rollup pieces, report months) in ``ranges.py``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import UsageRow
from labgpu.core.usage.evidence import Evidence, SaturationSeries
from labgpu.core.usage.figures import (
    HOUR,
    MINUTE,
    RAW,
    GpuBucketState,
    Level,
    MemberUsage,
    Retention,
    SlotRequest,
    Table,
    UsageBucket,
    UserSeconds,
    member_usage,
    merge_all,
    pick_level,
    pick_step,
    sum_buckets,
)
from labgpu.services.booking.service import utc_now
from labgpu.services.usage import evidence as proof
from labgpu.services.usage.ranges import (
    Piece,
    check_month,
    edge_pieces,
    epoch,
    month_range,
    scaled,
)
from labgpu.services.usage.reports import Heatmap, Summary

if TYPE_CHECKING:
    from labgpu.core.usage.what_if import WhatIf
    from labgpu.services.usage.prices import PricesService
    from labgpu.storage import Store
    from labgpu.storage.usage import GpuKey, RetentionReport, RollupReport

#: How a graph groups GPUs: the whole lab, per server, per model or per GPU.
GROUPINGS = ("lab", "server", "model", "gpu")
#: ``labgpu usage --by``.
TABLE_BY = ("user", "gpu", "server", "model", "project")
#: Retention runs at most this often (it scans the oldest rows; rollups run every minute).
RETENTION_EVERY_S = 3600.0
#: The same member asking the same again within this time is one request, not two.
REQUEST_DEDUP = timedelta(hours=1)


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

    def _until(self, end: datetime) -> datetime:
        """Where figures over a range ending at ``end`` stop: ``end``, or now if later."""
        return min(end, self.clock())

    def history_start(self) -> datetime | None:
        """The oldest usage kept at any resolution (None: none yet)."""
        kept = [v for v in self.store.usage.oldest().values() if v is not None]
        return datetime.fromtimestamp(min(kept), UTC) if kept else None

    def _pieces(self, level: Level, lo: int, hi: int) -> list[Piece]:
        """``[lo, hi)`` (exact epoch seconds) as reads of whole rollup buckets.

        Whole hours from the hourly rollups (``level`` HOUR); the parts before the first and
        after the last whole hour, and the hours not rolled up yet, from minutes; a minute (or,
        where minutes are no longer kept, an hour) that is only partly inside counts that part.
        """
        if hi <= lo:
            return []
        minutes_from = self.store.usage.oldest()[MINUTE.name]
        if level is HOUR:
            first, last = -(-lo // 3600) * 3600, hi // 3600 * 3600
            _minute_done, hour_done = self.store.usage.watermarks()
            last = first if hour_done is None else min(last, hour_done)
            if last > first:
                middle: Piece = (HOUR, first, last, 1.0)
                head = edge_pieces(lo, first, minutes_from)
                tail = edge_pieces(last, hi, minutes_from)
                return [*head, middle, *tail]
        return edge_pieces(lo, hi, minutes_from)

    def _exact_gpu_totals(self, level: Level, lo: int, hi: int) -> list[UsageBucket]:
        """One bucket per GPU summing exactly ``[lo, hi)``."""
        by_gpu: dict[int, list[UsageBucket]] = defaultdict(list)
        for piece_level, a, b, share in self._pieces(level, lo, hi):
            for part in self.store.usage.gpu_totals(piece_level, a, b):
                by_gpu[part.gpu_id or 0].append(scaled(part, share))
        return [sum_buckets(p, gpu_id=g) for g, p in by_gpu.items()]

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
            raise LabgpuError(
                _("cannot group usage by {by}; use one of {choices}").format(
                    by=repr(by), choices=", ".join(GROUPINGS)
                )
            )
        if end <= start:
            raise LabgpuError(_("the usage range must end after it starts"))
        level = self.level_for(start, end)
        span = (end - start).total_seconds()
        step = pick_step(level, span, max_points or 2000)
        lo, hi = epoch(start) // step * step, epoch(end)
        if by == "lab":
            return level, {"lab": self._clip_last(self._buckets(level, lo, hi, step, False), hi)}
        keys = self.store.usage.gpu_keys()
        grouped: dict[str, dict[int, list[UsageBucket]]] = defaultdict(lambda: defaultdict(list))
        for bucket in self._buckets(level, lo, hi, step, by_gpu=True):
            key = keys.get(bucket.gpu_id or 0)
            if key is None:
                continue
            label = _label(key, by)
            grouped[label][bucket.start].append(bucket)
        found = {
            label: self._clip_last([sum_buckets(p) for _start, p in sorted(per_start.items())], hi)
            for label, per_start in grouped.items()
        }
        return level, dict(sorted(found.items()))

    def _clip_last(self, buckets: list[UsageBucket], hi: int) -> list[UsageBucket]:
        """Buckets up to where readings are rolled up: a last bucket whose hour is not rolled
        up yet counts as long as the part of it its minutes cover (its busy GPUs are then a
        mean over that part, not a drop), and one wholly after that is left out."""
        minute_done, hour_done = self.store.usage.watermarks()
        read_to = -(-hi // 60) * 60  # minute rows starting before ``hi`` are read whole
        until = read_to if minute_done is None else min(read_to, minute_done)
        kept = list(buckets)
        while kept:
            last = kept[-1]
            end = last.start + last.length
            if hour_done is not None and end <= hour_done and last.length >= 3600:
                break  # from the hourly rollups: complete
            if last.start >= until:
                kept.pop()
                continue
            if end > until:
                kept[-1] = last.clipped(until - last.start)
            break
        return kept

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
        """Per member: booked and process GPU-hours, idle while booked, held without a
        booking, offloaded GPU-hours, unmet/refused/pending/rejected requests; busiest first.

        Counted from ``start`` to ``end`` or now, whichever is earlier (a future booking is
        not booked time yet)."""
        usage = self.store.usage
        until = self._until(end)
        if until <= start:
            return []
        level = self.level_for(start, until)
        if level is RAW:
            level = MINUTE
        lo, hi = epoch(start), epoch(until)
        first = lo // level.seconds * level.seconds
        states = {
            (b.gpu_id or 0, b.start): GpuBucketState(b.busy_s, b.observed_s)
            for b in self._buckets(level, first, hi, level.seconds, by_gpu=True)
        }
        used = self._user_seconds(level, lo, hi)
        spans = usage.booked_spans(start, until)
        found = member_usage(spans, used, states, level.seconds, lo, hi)
        for row in self.offloaded(start, until):
            found.setdefault(row.user_name, MemberUsage(row.user_name)).offloaded_h += row.gpu_hours
        for request in self.unmet(start, until):
            member = found.setdefault(request.user_name, MemberUsage(request.user_name))
            if request.no_capacity:
                member.unmet += 1
            else:
                member.refused += 1
        for user, (pending, rejected) in usage.request_counts(start, until).items():
            member = found.setdefault(user, MemberUsage(user))
            member.pending, member.rejected = pending, rejected
        return sorted(found.values(), key=lambda m: (-(m.process_h + m.booked_h), m.user_name))

    def _user_seconds(self, level: Level, lo: int, hi: int) -> list[UserSeconds]:
        """Members' process GPU-seconds in exactly ``[lo, hi)``, per GPU and ``level`` bucket
        (the edges' and the last, incomplete hours' from their minutes)."""
        size = level.seconds
        per_bucket: dict[tuple[int, int, str], float] = defaultdict(float)
        for piece_level, a, b, share in self._pieces(level, lo, hi):
            for item in self.store.usage.user_seconds(piece_level, a, b):
                key = (item.start // size * size, item.gpu_id, item.user_name)
                per_bucket[key] += item.gpu_s * share
        return [UserSeconds(b, g, u, v) for (b, g, u), v in per_bucket.items()]

    def unmet(self, start: datetime, end: datetime) -> list[SlotRequest]:
        """Requests asked in ``[start, end)`` the lab could not serve in time (``unmet``) or
        a rule refused (``refused_rule``), oldest first."""
        return [r for r in self.requests(start, end) if r.unmet or not r.no_capacity]

    def requests(self, start: datetime, end: datetime) -> list[SlotRequest]:
        """Every slot request asked in ``[start, end)``, served or not, oldest first."""
        return self.store.usage.requests(start, end)

    def what_if(self, change: str, start: datetime, end: datetime) -> WhatIf:
        """The requests of ``[start, end)`` replayed with GPUs added or removed ("+8 A40")."""
        from labgpu.services.usage.what_if import run_what_if

        return run_what_if(self.store, change, start, end)

    def record_request(self, request: SlotRequest) -> bool:
        """Remember a slot request (not twice within ``REQUEST_DEDUP``); True if stored."""
        return self.store.usage.add_request_once(request, REQUEST_DEDUP)

    def offloaded(self, start: datetime, end: datetime) -> list[UsageRow]:
        """GPU-hours sent to clusters, per month, member and cluster (jobs submitted then)."""
        return self.store.offload.usage(start, end)

    def evidence(self, start: datetime, end: datetime, tz: tzinfo = UTC) -> Evidence:
        """Waits, clusters' queues, saturation and demand up to now (``evidence.py``)."""
        return proof.evidence(self.store, start, end, self.clock(), tz)

    def saturation_series(
        self, start: datetime, end: datetime, step: timedelta = proof.DAY, tz: tzinfo = UTC
    ) -> list[SaturationSeries]:
        """Per model, the share of saturated hours per ``step`` (``evidence.py``)."""
        return proof.series(self.store, start, end, self.clock(), step, tz)

    @property
    def prices(self) -> PricesService:
        """GPU prices per model and the cost of a period's use (``prices.py``)."""
        from labgpu.services.usage.prices import PricesService

        return PricesService(self)

    # -- tables and totals ----------------------------------------------------------------------

    def summary(self, start: datetime, end: datetime) -> Summary:
        """The lab's totals over ``[start, end)``, counted up to now (``Summary.until``)."""
        until = max(start, self._until(end))
        level = self.level_for(start, until) if until > start else MINUTE
        if level is RAW:
            level = MINUTE
        per_gpu = self._exact_gpu_totals(level, epoch(start), epoch(until))
        whole = sum_buckets(per_gpu) if per_gpu else None
        gpus = len(self.store.inventory.list_gpus())
        members = self.members(start, end)
        requests = self.unmet(start, until)
        lacking = [r for r in requests if r.no_capacity]
        refused: dict[str, int] = defaultdict(int)
        for request in requests:
            if request.refused_rule is not None:
                refused[request.refused_rule] += 1
        return Summary(
            start=start,
            end=end,
            until=until,
            gpus=gpus,
            capacity_h=gpus * (until - start).total_seconds() / 3600,
            observed_h=(whole.observed_s if whole else 0.0) / 3600,
            busy_h=(whole.busy_s if whole else 0.0) / 3600,
            mean_util_pct=whole.util_mean if whole else None,
            booked_h=sum(m.booked_h for m in members),
            process_h=sum(m.process_h for m in members),
            idle_booked_h=sum(m.idle_booked_h for m in members),
            unbooked_h=sum(m.unbooked_h for m in members),
            offloaded_h=sum(m.offloaded_h for m in members),
            offloaded_jobs=sum(r.jobs for r in self.offloaded(start, until)),
            unmet=len(lacking),
            unmet_gpu_h=sum(r.gpu_hours for r in lacking),
            refused=sum(refused.values()),
            refused_by_rule=dict(sorted(refused.items())),
            pending=sum(m.pending for m in members),
            rejected=sum(m.rejected for m in members),
            history_from=self.history_start(),
        )

    def table(self, by: str, start: datetime, end: datetime) -> Table:
        """``labgpu usage --by``: one row per member, GPU, server, model or project."""
        if by not in TABLE_BY:
            raise LabgpuError(
                _("cannot list usage by {by}; use one of {choices}").format(
                    by=repr(by), choices=", ".join(TABLE_BY)
                )
            )
        if end <= start:
            raise LabgpuError(_("the usage range must end after it starts (--from before --to)"))
        if by == "project":  # booked, used, waits, offloaded and unmet GPU-hours per project
            from labgpu.services.usage.projects import project_table

            return project_table(self, start, end)
        if by == "user":
            member_rows = [m.as_row() for m in self.members(start, end)]
            columns = tuple(MemberUsage("").as_row())
            return Table(columns, [tuple(r.values()) for r in member_rows])
        until = max(start, self._until(end))
        level = self.level_for(start, until) if until > start else MINUTE
        if level is RAW:
            level = MINUTE
        lo, hi = epoch(start), epoch(until)
        keys = self.store.usage.gpu_keys()
        booked: dict[int, float] = defaultdict(float)
        for span in self.store.usage.booked_spans(start, until):
            booked[span.gpu_id] += max(0, min(span.end, hi) - max(span.start, lo)) / 3600
        groups: dict[str, list[UsageBucket]] = defaultdict(list)
        members: dict[str, set[int]] = defaultdict(set)
        for per_gpu in self._exact_gpu_totals(level, lo, hi):
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


def _label(key: GpuKey, by: str) -> str:
    if by == "server":
        return key.server
    if by == "model":
        return key.model
    if by == "gpu":
        return key.label
    return "lab"


__all__: Sequence[str] = (
    "check_month",
    "GROUPINGS",
    "TABLE_BY",
    "Heatmap",
    "Summary",
    "UsageService",
    "month_range",
)
