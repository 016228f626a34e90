"""The evidence's reads (issue 16): hours in which each GPU model was wholly taken, booked
GPU-time per model, offloaded jobs' times. ``EvidenceStore`` runs them, one short read each;
the figures are made in ``core/usage/evidence.py``.

Saturation reads the hourly rollups in one aggregate per hour — per model, how many bookable GPUs
had readings, how many were busy for half the hour and which — and the held bookings as epoch
seconds, so that a year of a 52-GPU lab is one pass over ``usage_hour`` in its key order and
never a Python object per GPU-hour.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labgpu.core.offload.jobs import JobState
from labgpu.core.usage import saturation
from labgpu.core.usage.evidence import HOUR_S, TAKEN_S, ModelHour, OffloadedJob
from labgpu.core.usage.saturation import BookableGpu, HourRow, booked_runs
from labgpu.storage.models import GpuRow, OffloadJobRow, UsageHourRow
from labgpu.storage.usage_queries import HELD, _plain_rows, _stamp
from labgpu.storage.usage_rollup import epoch, epoch_sql


def bookable_gpus(s: Session) -> list[BookableGpu]:
    """The GPUs marked bookable that have hourly history, with their first hour and retirement
    (a GPU counts in its model's hours from its first hourly rollup until it was retired)."""
    h = UsageHourRow
    first = select(func.min(h.bucket)).where(h.gpu_id == GpuRow.id).scalar_subquery()
    query = select(GpuRow.id, GpuRow.model, first, GpuRow.retired_at).where(GpuRow.bookable)
    return [
        BookableGpu(int(g), m, int(f), None if r is None else epoch(r))
        for g, m, f, r in s.execute(query.order_by(GpuRow.id))
        if f is not None
    ]


def held_spans(s: Session, lo: datetime, hi: datetime) -> list[tuple[int, int, int]]:
    """``(gpu id, start, end)`` epoch seconds of held bookings overlapping ``[lo, hi)`` (booked,
    released or finished, up to their real end; pending, cancelled, rejected: not held).

    The database turns the times into epoch seconds: a year of bookings is tens of thousands of
    rows, and parsing each timestamp in Python would cost more than the query."""
    sqlite = s.get_bind().dialect.name == "sqlite"
    held = ", ".join(f"'{status}'" for status in HELD)
    sql = (
        f"SELECT gpu_id, {epoch_sql(s, 'start_ts')}, {epoch_sql(s, 'end_ts')} FROM bookings "
        f"WHERE status IN ({held}) AND start_ts < ? AND end_ts > ?"
    )
    params = (_stamp(hi), _stamp(lo)) if sqlite else (hi, lo)
    return [(int(g), int(a), int(z)) for g, a, z in _plain_rows(s, sql, params)]


def served_spans(s: Session, lo: datetime, hi: datetime) -> list[tuple[str, int, int]]:
    """``(model, start, end)`` epoch seconds of held bookings overlapping ``[lo, hi)``."""
    models = {int(g): m for g, m in s.execute(select(GpuRow.id, GpuRow.model))}
    return [(models[g], a, z) for g, a, z in held_spans(s, lo, hi) if g in models]


#: Bits of one mask column: a signed 64-bit sum of distinct powers of two below 2**62.
MASK_BITS = 62


def hour_rows(s: Session, lo: int, hi: int) -> tuple[list[HourRow], dict[int, int]]:
    """Per hour starting in ``[lo, hi)``: the GPUs with readings and those busy for at least
    ``TAKEN_S``, as bit masks (``core/usage/saturation.HourRow``), and each GPU's bit.

    One pass over ``usage_hour`` in its key order (hour, GPU), grouped by hour: no sort, a row
    per hour rather than per GPU-hour, and a bit per GPU summed in the database. GPU ids are
    cut into runs of ``MASK_BITS``; a lab whose ids all fit in one run (most) needs no test of
    the id per row."""
    ids = sorted(int(g) for g in s.scalars(select(GpuRow.id)))
    if not ids:
        return [], {}
    base = ids[0]
    bits = {g: g - base for g in ids}
    groups = sorted({(g - base) // MASK_BITS for g in ids})
    one = "1" if s.get_bind().dialect.name == "sqlite" else "CAST(1 AS BIGINT)"
    busy = f"busy_s >= {TAKEN_S}"
    columns = []
    for group in groups:
        first = base + group * MASK_BITS
        bit = f"{one} << (gpu_id - {first})"
        if len(groups) == 1:
            columns += [f"sum({bit})", f"sum(CASE WHEN {busy} THEN {bit} ELSE 0 END)"]
        else:
            inside = f"gpu_id >= {first} AND gpu_id < {first + MASK_BITS}"
            columns += [
                f"sum(CASE WHEN {inside} THEN {bit} ELSE 0 END)",
                f"sum(CASE WHEN {inside} AND {busy} THEN {bit} ELSE 0 END)",
            ]
    sql = (
        f"SELECT bucket, {', '.join(columns)} FROM usage_hour "
        "WHERE bucket >= ? AND bucket < ? GROUP BY bucket ORDER BY bucket"
    )
    rows: list[HourRow] = []
    for row in _plain_rows(s, sql, (lo, hi)):
        observed = busy_mask = 0
        for n, group in enumerate(groups):
            shift = group * MASK_BITS
            observed |= int(row[1 + 2 * n] or 0) << shift
            busy_mask |= int(row[2 + 2 * n] or 0) << shift
        rows.append((int(row[0]), observed, busy_mask))
    return rows, bits


def model_hours(s: Session, lo: datetime, hi: datetime) -> list[ModelHour]:
    """Every hour starting in ``[lo, hi)`` with readings of a model's bookable GPUs: how many
    bookable GPUs the model had then and how many were taken (``core/usage/saturation.py``).

    Hours not rolled up yet are not read."""
    gpus = bookable_gpus(s)
    if not gpus:
        return []
    rows, bits = hour_rows(s, epoch(lo), epoch(hi))
    return saturation.model_hours(rows, gpus, booked_runs(held_spans(s, lo, hi)), bits)


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
