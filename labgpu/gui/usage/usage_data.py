"""What the Usage page shows, read on a worker, and its figures as exportable tables.

Qt-free on purpose: ``load_usage`` runs on a worker thread and the tables are plain values the
charts and the CSV export share, so what a graph draws is exactly what its CSV holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from labgpu.core.offload.jobs import UsageRow
from labgpu.core.usage.figures import (
    MEMBER_FIGURES,
    Level,
    MemberUsage,
    SlotRequest,
    Table,
    UsageBucket,
)
from labgpu.gui.usage.evidence_data import EvidenceView, load_evidence
from labgpu.services.usage.service import Heatmap, Summary, UsageService

#: The page's fixed ranges: name -> span.
RANGES: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
#: Points per line: enough for a wide screen, few enough to keep 50 lines responsive.
MAX_POINTS = 800
#: Heatmap columns.
HEATMAP_COLUMNS = 400


@dataclass(frozen=True, slots=True)
class UsageView:
    """Everything the Usage page draws for one range and grouping."""

    start: datetime
    end: datetime
    by: str
    level: Level
    series: dict[str, list[UsageBucket]]
    heatmap: Heatmap
    members: list[MemberUsage]
    unmet: list[SlotRequest]
    offloaded: list[UsageRow]
    summary: Summary
    evidence: EvidenceView | None = None  # the Saturation and waits tab (evidence_data.py)

    @property
    def has_samples(self) -> bool:
        """True if any GPU reading was rolled up inside the range."""
        return any(self.series.values())

    @property
    def no_capacity(self) -> list[SlotRequest]:
        """Requests the lab had no GPUs for when wanted (the unmet demand)."""
        return [r for r in self.unmet if r.no_capacity]

    @property
    def refused(self) -> list[SlotRequest]:
        """Requests one of the lab's rules refused."""
        return [r for r in self.unmet if not r.no_capacity]


def load_usage(usage: UsageService, start: datetime, end: datetime, by: str) -> UsageView:
    """Read the page's data for ``[start, end)`` grouped ``by`` (worker side)."""
    level, series = usage.series(start, end, by, max_points=MAX_POINTS)
    return UsageView(
        start=start,
        end=end,
        by=by,
        level=level,
        series=series,
        heatmap=usage.heatmap(start, end, HEATMAP_COLUMNS),
        members=usage.members(start, end),
        unmet=usage.unmet(start, end),
        offloaded=usage.offloaded(start, end),
        summary=usage.summary(start, end),
        evidence=load_evidence(usage, start, end),
    )


def range_bounds(name: str, now: datetime) -> tuple[datetime, datetime]:
    """``[now - span, now)`` of a fixed range (``24h``, ``7d``, ``30d``, ``1y``)."""
    return now - RANGES[name], now


def iso_local(epoch_s: float) -> str:
    """An epoch as local ISO 8601 time with its offset, to the second."""
    return datetime.fromtimestamp(epoch_s, UTC).astimezone().isoformat(timespec="seconds")


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def series_table(series: dict[str, list[UsageBucket]]) -> Table:
    """One row per group and bucket: the utilisation graph's data."""
    columns = (
        "start",
        "group",
        "mean_util_pct",
        "max_util_pct",
        "busy_gpus",
        "observed_gpus",
        "mean_memory_mb",
    )
    rows: list[tuple[object, ...]] = []
    for label, buckets in series.items():
        for b in buckets:
            rows.append(
                (
                    iso_local(b.start),
                    label,
                    _round(b.util_mean),
                    _round(b.util_max),
                    round(b.busy_gpus, 3),
                    round(b.observed_gpus, 3),
                    _round(b.mem_mean_mb, 0),
                )
            )
    return Table(columns, rows)


def heatmap_table(heatmap: Heatmap) -> Table:
    """One row per GPU and time step with a reading: the heatmap's data."""
    rows: list[tuple[object, ...]] = []
    for label, values in zip(heatmap.labels, heatmap.values, strict=True):
        for start, value in zip(heatmap.starts, values, strict=True):
            if value is not None:
                rows.append((label, iso_local(start), round(value, 2)))
    return Table(("gpu", "start", "mean_util_pct"), rows)


def members_table(members: list[MemberUsage]) -> Table:
    """One row per member: the figures of ``MEMBER_FIGURES``, as ``labgpu usage --csv``."""
    columns = ("user", *MEMBER_FIGURES)
    return Table(columns, [tuple(m.as_row().values()) for m in members])


def unmet_table(requests: list[SlotRequest]) -> Table:
    """The unmet requests, oldest first."""
    rows: list[tuple[object, ...]] = [
        (
            r.user_name,
            r.model,
            r.count,
            r.hours,
            r.asked_at.astimezone().isoformat(timespec="minutes"),
            r.wanted_at.astimezone().isoformat(timespec="minutes"),
            None if r.earliest_at is None else r.earliest_at.astimezone().isoformat("T", "minutes"),
            "no_capacity" if r.refused_rule is None else "refused",
            r.refused_rule,
        )
        for r in requests
    ]
    columns = ("user", "model", "gpus", "hours", "asked", "wanted", "earliest", "outcome", "rule")
    return Table(columns, rows)


def offloaded_by_cluster(rows: list[UsageRow]) -> dict[str, tuple[int, float]]:
    """Cluster -> (jobs, GPU-hours), clusters in name order."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for row in rows:
        totals[row.cluster][0] += row.jobs
        totals[row.cluster][1] += row.gpu_hours
    return {c: (int(totals[c][0]), totals[c][1]) for c in sorted(totals)}


def offloaded_table(rows: list[UsageRow]) -> Table:
    """Offloaded jobs and GPU-hours per month, member and cluster."""
    return Table(
        ("month", "user", "cluster", "jobs", "gpu_hours"),
        [(r.month, r.user_name, r.cluster, r.jobs, round(r.gpu_hours, 3)) for r in rows],
    )


def offloaded_by_member(rows: list[UsageRow]) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Members (most offloaded first) and, per month, each member's offloaded GPU-hours: the
    Offloaded tab's bars."""
    per_member: dict[str, float] = defaultdict(float)
    per_month: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        per_member[row.user_name] += row.gpu_hours
        per_month[row.month][row.user_name] += row.gpu_hours
    members = sorted(per_member, key=lambda m: (-per_member[m], m))
    months = [(month, [per_month[month][m] for m in members]) for month in sorted(per_month)]
    return members, months
