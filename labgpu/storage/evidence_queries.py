"""The evidence's reads (issue 16): hours in which each GPU model was wholly taken, booked
GPU-time per model, offloaded jobs' times. ``EvidenceStore`` runs them, one short read each;
the figures are made in ``core/usage/evidence.py``.

Saturation reads the hourly rollups in one aggregate per (hour, model) — how many bookable GPUs
had readings, how many were busy for half the hour and which — and the held bookings, so that a
year of a 52-GPU lab is one pass over ``usage_hour`` and never a row per GPU-hour in Python.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from labgpu.core.offload.jobs import JobState
from labgpu.core.usage.evidence import (
    HOUR_S,
    TAKEN_S,
    ModelHour,
    OffloadedJob,
    hours_taken,
)
from labgpu.storage.models import BookingRow, GpuRow, OffloadJobRow, UsageHourRow
from labgpu.storage.usage_queries import HELD
from labgpu.storage.usage_rollup import epoch


def _bookable(s: Session) -> dict[int, tuple[str, float]]:
    """``{gpu id: (model, retired at as epoch or inf)}`` of the GPUs marked bookable."""
    query = select(GpuRow.id, GpuRow.model, GpuRow.retired_at).where(GpuRow.bookable)
    return {int(g): (m, math.inf if r is None else float(epoch(r))) for g, m, r in s.execute(query)}


def _first_hours(s: Session, gpu_ids: list[int]) -> dict[int, int]:
    """``{gpu id: its oldest hourly rollup}``: a GPU counts in a model's hours from then."""
    h = UsageHourRow
    query = select(h.gpu_id, func.min(h.bucket)).where(h.gpu_id.in_(gpu_ids)).group_by(h.gpu_id)
    return {int(g): int(b) for g, b in s.execute(query) if b is not None}


def held_spans(s: Session, lo: datetime, hi: datetime) -> list[tuple[int, int, int]]:
    """``(gpu id, start, end)`` epoch seconds of held bookings overlapping ``[lo, hi)`` (booked,
    released or finished, up to their real end; pending, cancelled, rejected: not held)."""
    b = BookingRow
    query = select(b.gpu_id, b.start_ts, b.end_ts).where(
        b.status.in_(HELD), b.start_ts < hi, b.end_ts > lo
    )
    return [(int(g), epoch(a), epoch(z)) for g, a, z in s.execute(query)]


def served_spans(s: Session, lo: datetime, hi: datetime) -> list[tuple[str, int, int]]:
    """``(model, start, end)`` epoch seconds of held bookings overlapping ``[lo, hi)``."""
    b = BookingRow
    query = (
        select(GpuRow.model, b.start_ts, b.end_ts)
        .join(GpuRow, GpuRow.id == b.gpu_id)
        .where(b.status.in_(HELD), b.start_ts < hi, b.end_ts > lo)
    )
    return [(m, epoch(a), epoch(z)) for m, a, z in s.execute(query)]


def _busy_ids(s: Session, column: Any) -> Any:
    """The ids of the rows where ``column`` is not null, as one comma-separated text."""
    text = cast(column, String)
    if s.get_bind().dialect.name == "sqlite":
        return func.group_concat(text)
    return func.string_agg(text, ",")


def _roster(
    gpus: dict[int, tuple[str, float]], first: dict[int, int]
) -> dict[str, tuple[list[int], list[float]]]:
    """Per model, the sorted hours its bookable GPUs arrive (first readings) and retire."""
    arrive: dict[str, list[int]] = defaultdict(list)
    leave: dict[str, list[float]] = defaultdict(list)
    for gpu, (model, retired) in gpus.items():
        if gpu in first:
            arrive[model].append(first[gpu])
            leave[model].append(retired)
    return {m: (sorted(arrive[m]), sorted(leave[m])) for m in arrive}


def model_hours(s: Session, lo: datetime, hi: datetime) -> list[ModelHour]:
    """Every hour starting in ``[lo, hi)`` with readings of a model's bookable GPUs: how many
    bookable GPUs the model had then and how many were taken (``core/usage/evidence.py``).

    A GPU counts in a model's hours from its first hourly rollup until it was retired, so GPUs
    added later do not make earlier hours look free; a counted GPU without readings in an hour
    and not booked in it is not taken. Hours not rolled up yet are not read.
    """
    gpus = _bookable(s)
    if not gpus:
        return []
    a, z = epoch(lo), epoch(hi)
    first = _first_hours(s, list(gpus))
    roster = _roster(gpus, first)
    booked: dict[tuple[str, int], set[int]] = defaultdict(set)
    for (gpu, hour), _seconds in hours_taken(held_spans(s, lo, hi)).items():
        if gpu in gpus and a <= hour < z:
            booked[(gpus[gpu][0], hour)].add(gpu)
    h = UsageHourRow
    is_busy = h.busy_s >= TAKEN_S
    query = (
        select(
            h.bucket,
            GpuRow.model,
            func.sum(case((is_busy, 1), else_=0)),
            _busy_ids(s, case((is_busy, h.gpu_id), else_=None)),
        )
        .join(GpuRow, GpuRow.id == h.gpu_id)
        .where(GpuRow.bookable, h.bucket >= a, h.bucket < z, h.observed_s > 0)
        .group_by(h.bucket, GpuRow.model)
    )
    found: list[ModelHour] = []
    for bucket, model, busy_n, busy_text in s.execute(query):
        bucket = int(bucket)
        arrive, leave = roster.get(model, ([], []))
        # Arrived by this hour, minus those retired by its start.
        count = bisect_right(arrive, bucket) - bisect_right(leave, bucket)
        taken = int(busy_n or 0)
        held = booked.get((model, bucket))
        if held:
            busy = set(_ids(busy_text))
            counted = {g for g in held if first.get(g, z) <= bucket < gpus[g][1]}
            taken += len(counted - busy)
        found.append(ModelHour(model, bucket, count, min(taken, count)))
    return found


def _ids(text: str | None) -> Iterator[int]:
    for part in (text or "").split(","):
        if part:
            yield int(float(part))


def offloaded_jobs(s: Session, lo: datetime, hi: datetime) -> list[OffloadedJob]:
    """Offloaded jobs submitted in ``[lo, hi)`` (a job still being submitted is not one yet)."""
    j = OffloadJobRow
    query = select(
        j.user_name,
        j.cluster,
        j.gpu_type,
        j.gpus,
        j.submitted_at,
        j.started_at,
        j.ended_at,
        j.elapsed_s,
    ).where(j.state != JobState.SUBMITTING.value, j.submitted_at >= lo, j.submitted_at < hi)
    return [
        OffloadedJob(u, c, t or "", int(n), sub, start, end, int(n) * (el or 0) / HOUR_S)
        for u, c, t, n, sub, start, end, el in s.execute(query.order_by(j.submitted_at, j.id))
    ]


class EvidenceStore:
    """The evidence's reads over the lab's database, one short transaction each."""

    def __init__(self, read: Callable[[], AbstractContextManager[Session]]) -> None:
        self._read = read

    def model_hours(self, lo: datetime, hi: datetime) -> list[ModelHour]:
        with self._read() as s:
            return model_hours(s, lo, hi)

    def served_spans(self, lo: datetime, hi: datetime) -> list[tuple[str, int, int]]:
        with self._read() as s:
            return served_spans(s, lo, hi)

    def offloaded_jobs(self, lo: datetime, hi: datetime) -> list[OffloadedJob]:
        with self._read() as s:
            return offloaded_jobs(s, lo, hi)
