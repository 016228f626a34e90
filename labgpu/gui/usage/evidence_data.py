"""What the Usage page's *Saturation and waits* tab shows, read on a worker, and its table.

Qt-free like ``usage_data``: ``load_evidence`` runs on the page's worker, and the table the tab
shows is the one its CSV export writes — per month and model, the same figures as
``labgpu usage --json``'s ``"evidence"`` (``core/usage/evidence.py`` defines them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from labgpu.core.usage.evidence import Evidence, SaturationSeries
from labgpu.core.usage.figures import Table
from labgpu.services.usage.service import UsageService

#: Ranges up to this long get a point per hour on the saturation line, longer ones per day.
HOURLY_UP_TO = timedelta(days=2)

#: The tab's table and its CSV: one row per month and model.
EVIDENCE_COLUMNS = (
    "month",
    "model",
    "requests",
    "median_wait_hours",
    "p90_wait_hours",
    "no_slot",
    "saturated_pct",
    "served_gpu_hours",
    "unserved_gpu_hours",
    "offloaded_gpu_hours",
    "refused_gpu_hours",
)


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """The range's evidence and each model's saturation line."""

    evidence: Evidence
    series: list[SaturationSeries]

    @property
    def has_data(self) -> bool:
        """True if there is a line to draw or a row to show."""
        e = self.evidence
        lines = any(v is not None for s in self.series for v in s.shares)
        return lines or bool(e.waits or e.demand or e.saturation or e.queues)


def local_zone() -> tzinfo | None:
    """The zone months and days are cut in on this desktop."""
    return datetime.now().astimezone().tzinfo


def load_evidence(usage: UsageService, start: datetime, end: datetime) -> EvidenceView:
    """Read the tab's data for ``[start, end)`` (worker side): months and days local."""
    zone = local_zone()
    step = timedelta(hours=1) if end - start <= HOURLY_UP_TO else timedelta(days=1)
    if zone is None:
        return EvidenceView(usage.evidence(start, end), usage.saturation_series(start, end, step))
    return EvidenceView(
        usage.evidence(start, end, zone), usage.saturation_series(start, end, step, zone)
    )


def evidence_table(evidence: Evidence) -> Table:
    """Waits, saturation and demand side by side, one row per month and model (a model the
    figures name differently, such as a request typed ``A40``, has rows of its own)."""
    keys: set[tuple[str, str]] = set()
    waits = {(w.month, w.model): w for w in evidence.waits}
    saturation = {(s.month, s.model): s for s in evidence.saturation}
    demand = {(d.month, d.model): d for d in evidence.demand}
    for found in (waits, saturation, demand):
        keys.update(found)
    rows: list[tuple[object, ...]] = []
    for key in sorted(keys):
        w, s, d = waits.get(key), saturation.get(key), demand.get(key)
        share = None if s is None or s.share is None else round(100 * s.share, 1)
        rows.append(
            (
                *key,
                0 if w is None else w.requests,
                None if w is None or w.median_h is None else round(w.median_h, 3),
                None if w is None or w.p90_h is None else round(w.p90_h, 3),
                0 if w is None else w.no_slot,
                share,
                *(d.row()[2:] if d is not None else (0.0, 0.0, 0.0, 0.0)),
            )
        )
    return Table(EVIDENCE_COLUMNS, rows)


def series_points(series: SaturationSeries) -> tuple[list[float], list[float]]:
    """x (bucket starts) and y (% of hours saturated; NaN where the model had no readings)."""
    xs = [float(x) for x in series.starts]
    ys = [float("nan") if v is None else 100.0 * v for v in series.shares]
    return xs, ys


def share_at(series: Sequence[SaturationSeries], x: float) -> tuple[int, list[tuple[str, float]]]:
    """The bucket start under time ``x`` and each model's share there (%), for the tooltip."""
    found: list[tuple[str, float]] = []
    start = -1
    for line in series:
        for first, value in zip(line.starts, line.shares, strict=True):
            if first <= x < first + line.step:
                start = first
                if value is not None:
                    found.append((line.model, 100.0 * value))
                break
    return start, found
