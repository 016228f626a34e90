"""The PI's evidence for a funding committee (issue 16) as values: how long members wait for
GPUs, how long offloaded jobs queue, how often each model is wholly taken, and the GPU-hours the
lab served, could not serve, sent off-site or refused by a rule.

Pure: the storage layer reads the rows (``storage/evidence_queries.py``), the usage service
combines them here (``services/usage/evidence.py``), the page, the CLI and the report show them.
Months are ``YYYY-MM`` in the zone the caller cuts months in (UTC unless told).

Definitions, the same everywhere they are shown:

- *Percentile* (median = 50th, p90 = 90th): nearest rank. Of ``n`` values sorted ascending, the
  ``q``-th percentile is the value at rank ``ceil(q / 100 * n)`` (1-based, at least 1): the
  smallest value at or below which ``q`` % of the values lie. It is always one of the values
  (of 1, 2, 3, 4 h the median is 2 h and the p90 4 h); none of no values.
- *Wait* of a slot request: the earliest start the lab offered minus the start the member wanted
  (never below 0; ``SlotRequest.wait``). Requests a rule refused are left out; those with no slot
  within the booking horizon are counted apart (``no_slot``), not in the percentiles.
- *Queue wait* of an offloaded job: started − submitted on the cluster; *turnaround*: ended −
  submitted, of jobs that started. A job not started yet counts in ``jobs`` but in neither.
- *Saturated hour* of a model: an hour with readings in which every bookable GPU of that model
  was taken, i.e. booked (a held booking: booked, released or finished, up to its real end) for
  at least half the hour, or busy (the rollups' busy seconds) for at least half the hour.
  *Share* = saturated hours / hours with readings of that model, up to now.
- *Unserved GPU-hours*: GPUs × hours of requests the lab lacked GPUs for (``SlotRequest.unmet``),
  by model and month of asking, that the lab never served: not booked later by the member
  (a booking of theirs with the same GPUs and hours made within ``OFFLOAD_FOLLOW`` after asking,
  starting no earlier than wanted: its hours are *served*, its delay is in the waits) and not
  followed by an offloaded job (same member, submitted within ``OFFLOAD_FOLLOW`` after asking),
  which counts as *offloaded*. Requests a rule refused count apart (*refused*). *Served*:
  GPU-hours booked on the model (held bookings clipped to the period and to now). A GPU-hour
  is thus counted once: served, unserved, offloaded or refused.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from labgpu.core.usage.figures import SlotRequest

#: An unmet request followed by an offloaded job of the same member within this counts as
#: offloaded demand, not unserved.
OFFLOAD_FOLLOW = timedelta(hours=24)
#: A GPU is taken in an hour when booked or busy for at least this many seconds of it.
TAKEN_S = 1800
HOUR_S = 3600
#: The demand survey's columns (``labgpu usage --demand --csv``).
DEMAND_COLUMNS = (
    "month",
    "model",
    "served_gpu_hours",
    "unserved_gpu_hours",
    "offloaded_gpu_hours",
    "refused_gpu_hours",
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values`` by nearest rank (module docstring); None if empty.

    ``percentile([4, 1, 3, 2], 50)`` is 2, ``percentile([4, 1, 3, 2], 90)`` is 4.
    """
    if not values:
        return None
    if not 0 < q <= 100:
        raise ValueError(f"a percentile is in (0, 100], not {q}")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def month_of(moment: datetime, tz: tzinfo = UTC) -> str:
    """``YYYY-MM`` of ``moment`` in ``tz``."""
    return f"{moment.astimezone(tz):%Y-%m}"


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# -- waits of slot requests -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitFigure:
    """Waits of the slot requests for ``model`` asked in ``month`` (not refused by a rule).

    ``requests``: how many; ``median_h`` / ``p90_h``: nearest-rank percentiles of the waits of
    those that had a slot within the horizon (None: none had); ``no_slot``: those that had
    none (not in the percentiles).
    """

    month: str
    model: str
    requests: int
    median_h: float | None
    p90_h: float | None
    no_slot: int

    def to_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "model": self.model,
            "requests": self.requests,
            "median_wait_hours": _round(self.median_h),
            "p90_wait_hours": _round(self.p90_h),
            "no_slot": self.no_slot,
        }


def wait_figures(requests: Iterable[SlotRequest], tz: tzinfo = UTC) -> list[WaitFigure]:
    """One ``WaitFigure`` per (month of asking, model), by month then model."""
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    no_slot: dict[tuple[str, str], int] = defaultdict(int)
    for request in requests:
        if not request.no_capacity:
            continue
        key = (month_of(request.asked_at, tz), request.model)
        counts[key] += 1
        wait = request.wait
        if wait is None:
            no_slot[key] += 1
        else:
            waits[key].append(_hours(wait))
    return [
        WaitFigure(
            month,
            model,
            counts[(month, model)],
            percentile(waits[(month, model)], 50),
            percentile(waits[(month, model)], 90),
            no_slot[(month, model)],
        )
        for month, model in sorted(counts)
    ]


# -- offloaded jobs' queue ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OffloadedJob:
    """An offloaded job's times as the evidence reads them (``gpu_hours``: GPUs × time run)."""

    user_name: str
    cluster: str
    gpu_type: str
    gpus: int
    submitted_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    gpu_hours: float = 0.0

    @property
    def queue_wait(self) -> timedelta | None:
        """Submitted to started on the cluster (None: not started)."""
        if self.started_at is None:
            return None
        return max(timedelta(0), self.started_at - self.submitted_at)

    @property
    def turnaround(self) -> timedelta | None:
        """Submitted to ended (None: not ended, or ended without starting)."""
        if self.ended_at is None or self.started_at is None:
            return None
        return max(timedelta(0), self.ended_at - self.submitted_at)


@dataclass(frozen=True, slots=True)
class QueueFigure:
    """Offloaded jobs submitted to ``cluster`` in ``month``: how many, their queue waits
    (median, p90) and median turnaround in hours (None: none started / ended), and the
    GPU-hours they ran."""

    month: str
    cluster: str
    jobs: int
    median_wait_h: float | None
    p90_wait_h: float | None
    median_turnaround_h: float | None
    gpu_hours: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "cluster": self.cluster,
            "jobs": self.jobs,
            "median_queue_wait_hours": _round(self.median_wait_h),
            "p90_queue_wait_hours": _round(self.p90_wait_h),
            "median_turnaround_hours": _round(self.median_turnaround_h),
            "gpu_hours": round(self.gpu_hours, 3),
        }


def queue_figures(jobs: Iterable[OffloadedJob], tz: tzinfo = UTC) -> list[QueueFigure]:
    """One ``QueueFigure`` per (month of submission, cluster), by month then cluster."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    turns: dict[tuple[str, str], list[float]] = defaultdict(list)
    hours: dict[tuple[str, str], float] = defaultdict(float)
    for job in jobs:
        key = (month_of(job.submitted_at, tz), job.cluster)
        counts[key] += 1
        hours[key] += job.gpu_hours
        if job.queue_wait is not None:
            waits[key].append(_hours(job.queue_wait))
        if job.turnaround is not None:
            turns[key].append(_hours(job.turnaround))
    return [
        QueueFigure(
            month,
            cluster,
            counts[(month, cluster)],
            percentile(waits[(month, cluster)], 50),
            percentile(waits[(month, cluster)], 90),
            percentile(turns[(month, cluster)], 50),
            hours[(month, cluster)],
        )
        for month, cluster in sorted(counts)
    ]


# -- saturation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelHour:
    """One hour (``start``, epoch seconds) of a model with readings: ``gpus`` bookable GPUs
    of the model, ``taken`` of them booked or busy for at least half of it."""

    model: str
    start: int
    gpus: int
    taken: int

    @property
    def saturated(self) -> bool:
        return self.gpus > 0 and self.taken >= self.gpus


@dataclass(frozen=True, slots=True)
class SaturationFigure:
    """``model`` in ``month``: ``gpus`` bookable, ``hours`` with readings, ``saturated_hours``
    of them with every bookable GPU taken; ``share`` = saturated / hours (None: no hours)."""

    month: str
    model: str
    gpus: int
    hours: int
    saturated_hours: int

    @property
    def share(self) -> float | None:
        return self.saturated_hours / self.hours if self.hours else None

    def to_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "model": self.model,
            "gpus": self.gpus,
            "hours": self.hours,
            "saturated_hours": self.saturated_hours,
            "saturated_share": _round(self.share, 4),
        }


@dataclass(frozen=True, slots=True)
class SaturationSeries:
    """A model's share of saturated hours per ``step``-second bucket (the Usage page's line):
    ``starts`` epoch seconds, ``shares`` in 0..1 (None: no hour with readings in it)."""

    model: str
    step: int
    starts: tuple[int, ...]
    shares: tuple[float | None, ...]


def saturation_figures(hours: Iterable[ModelHour], tz: tzinfo = UTC) -> list[SaturationFigure]:
    """One ``SaturationFigure`` per (month, model), by month then model (``gpus``: the most
    bookable GPUs in any of its hours)."""
    seen: dict[tuple[str, str], list[int]] = {}
    for hour in hours:
        key = (month_of(datetime.fromtimestamp(hour.start, UTC), tz), hour.model)
        totals = seen.setdefault(key, [0, 0, 0])
        totals[0] = max(totals[0], hour.gpus)
        totals[1] += 1
        totals[2] += hour.saturated
    return [SaturationFigure(m, model, *seen[(m, model)]) for m, model in sorted(seen)]


def saturation_series(
    hours: Iterable[ModelHour], lo: int, hi: int, step: int
) -> list[SaturationSeries]:
    """Per model, the share of saturated hours in each ``step`` bucket from ``lo`` (aligned by
    the caller: a local midnight for days) up to ``hi``; ``step`` whole hours; by model."""
    if step <= 0 or step % HOUR_S:
        raise ValueError(f"a saturation step is whole hours, not {step} s")
    first = lo
    starts = tuple(range(first, hi, step))
    counts: dict[str, list[list[int]]] = {}
    for hour in hours:
        slot = (hour.start - first) // step
        if not 0 <= slot < len(starts):
            continue
        per = counts.get(hour.model)
        if per is None:
            per = counts[hour.model] = [[0, 0] for _ in starts]
        per[slot][0] += 1
        per[slot][1] += hour.saturated
    return [
        SaturationSeries(model, step, starts, tuple(s / n if n else None for n, s in counts[model]))
        for model in sorted(counts)
    ]


# -- demand: served, unserved, offloaded, refused --------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandFigure:
    """GPU-hours of ``model`` in ``month``: booked (served), asked for and not served in time
    (unserved), asked for and then sent to a cluster (offloaded), refused by a lab rule."""

    month: str
    model: str
    served_gpu_h: float = 0.0
    unserved_gpu_h: float = 0.0
    offloaded_gpu_h: float = 0.0
    refused_gpu_h: float = 0.0

    def row(self) -> tuple[object, ...]:
        """The survey's row, in ``DEMAND_COLUMNS`` order (GPU-hours to 3 decimals)."""
        return (
            self.month,
            self.model,
            round(self.served_gpu_h, 3),
            round(self.unserved_gpu_h, 3),
            round(self.offloaded_gpu_h, 3),
            round(self.refused_gpu_h, 3),
        )

    def to_json(self) -> dict[str, object]:
        return dict(zip(DEMAND_COLUMNS, self.row(), strict=True))


@dataclass(frozen=True, slots=True)
class BookedAsk:
    """A booking group as a request's outcome: its member, when it was made, its GPUs, its
    start and its length in hours."""

    user_name: str
    created_at: datetime
    gpus: int
    start: datetime
    hours: float


def booked_later(requests: Iterable[SlotRequest], groups: Iterable[BookedAsk]) -> set[int]:
    """Indexes (in ``requests``' order) of the unmet requests a booking of the same member
    later served: made within ``OFFLOAD_FOLLOW`` after asking, with the GPUs and hours asked,
    starting no earlier than wanted. Each booking serves one request, the earliest asked."""
    free: dict[str, list[BookedAsk]] = defaultdict(list)
    for group in sorted(groups, key=lambda g: g.created_at):
        free[group.user_name].append(group)
    served: set[int] = set()
    for i, request in enumerate(requests):
        if not request.unmet:
            continue
        own = free.get(request.user_name, [])
        for group in own:
            if (
                request.asked_at <= group.created_at < request.asked_at + OFFLOAD_FOLLOW
                and group.gpus == request.count
                and abs(group.hours - request.hours) < 0.01
                and group.start >= request.wanted_at - timedelta(minutes=1)
            ):
                own.remove(group)
                served.add(i)
                break
    return served


def followed_by_offload(request: SlotRequest, jobs: Sequence[OffloadedJob]) -> bool:
    """True if the member submitted an offloaded job within ``OFFLOAD_FOLLOW`` after asking."""
    return any(
        job.user_name == request.user_name
        and request.asked_at <= job.submitted_at < request.asked_at + OFFLOAD_FOLLOW
        for job in jobs
    )


def demand_figures(
    requests: Iterable[SlotRequest],
    jobs: Sequence[OffloadedJob],
    served: dict[tuple[str, str], float],
    tz: tzinfo = UTC,
    booked: Iterable[BookedAsk] = (),
) -> list[DemandFigure]:
    """One ``DemandFigure`` per (month, model) booked or asked for, by month then model.

    ``served``: ``{(month, model): booked GPU-hours}``; requests count in their month of
    asking, each as unserved, offloaded or refused (module docstring) or not at all (met, or
    booked later: ``booked`` are the bookings that may have served them, ``booked_later``).
    """
    by_user: dict[str, list[OffloadedJob]] = defaultdict(list)
    for job in jobs:
        by_user[job.user_name].append(job)
    asked = list(requests)
    later = booked_later(asked, booked)
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for key, hours in served.items():
        sums[key][0] += hours
    for i, request in enumerate(asked):
        key = (month_of(request.asked_at, tz), request.model)
        entry = sums[key]  # a model asked for has a row, even when all was met
        if not request.no_capacity:
            entry[3] += request.gpu_hours
        elif request.unmet and i not in later:
            own = by_user.get(request.user_name, [])
            entry[2 if followed_by_offload(request, own) else 1] += request.gpu_hours
    return [DemandFigure(m, model, *sums[(m, model)]) for m, model in sorted(sums)]


def served_by_month(
    spans: Iterable[tuple[str, int, int]], lo: int, hi: int, tz: tzinfo = UTC
) -> dict[tuple[str, str], float]:
    """``{(month, model): GPU-hours}`` of held ``(model, start, end)`` spans (epoch seconds)
    clipped to ``[lo, hi)`` and split at month boundaries in ``tz``."""
    served: dict[tuple[str, str], float] = defaultdict(float)
    for model, start, end in spans:
        a, b = max(start, lo), min(end, hi)
        while a < b:
            moment = datetime.fromtimestamp(a, tz)
            nxt = _next_month(moment)
            cut = min(b, int(nxt.timestamp()))
            served[(f"{moment:%Y-%m}", model)] += (cut - a) / 3600
            a = cut
    return dict(served)


def _next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if first.month == 12:
        return first.replace(year=first.year + 1, month=1)
    return first.replace(month=first.month + 1)


# -- all of it ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """The evidence over ``[start, end)``, counted up to ``until`` (``end`` or now)."""

    start: datetime
    end: datetime
    until: datetime
    waits: tuple[WaitFigure, ...] = ()
    queues: tuple[QueueFigure, ...] = ()
    saturation: tuple[SaturationFigure, ...] = ()
    demand: tuple[DemandFigure, ...] = ()

    def to_json(self) -> dict[str, object]:
        """A plain dict for ``labgpu usage --json`` (hours to 3 decimals, shares to 4)."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "until": self.until.isoformat(),
            "waits": [w.to_json() for w in self.waits],
            "cluster_queues": [q.to_json() for q in self.queues],
            "saturation": [s.to_json() for s in self.saturation],
            "demand": [d.to_json() for d in self.demand],
        }

    def demand_rows(self) -> list[tuple[object, ...]]:
        """The demand survey's rows, in ``DEMAND_COLUMNS`` order."""
        return [d.row() for d in self.demand]

    def demand_csv(self) -> str:
        """The demand survey as CSV with a header line."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(DEMAND_COLUMNS)
        writer.writerows(self.demand_rows())
        return out.getvalue()
