"""Usage history read: the graphs' and the report's queries over the rollups, raw samples,
unmet requests and bookings (written by ``usage_rollup``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Engine,
    and_,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from labgpu.core.usage.figures import (
    HOUR,
    MINUTE,
    BookedSpan,
    Level,
    SlotRequest,
    UsageBucket,
    UserSeconds,
    merge_all,
)
from labgpu.storage.evidence_rows import SlotRequestRow
from labgpu.storage.models import (
    BookingRow,
    GpuRow,
    LabUsageHourRow,
    ServerRow,
    UsageHourRow,
    UsageMinuteRow,
    UserUsageHourRow,
    UserUsageMinuteRow,
)
from labgpu.storage.usage_rollup import epoch, epoch_sql

_USAGE: dict[Level, type[UsageMinuteRow] | type[UsageHourRow]] = {
    MINUTE: UsageMinuteRow,
    HOUR: UsageHourRow,
}
_USER: dict[Level, type[UserUsageMinuteRow] | type[UserUsageHourRow]] = {
    MINUTE: UserUsageMinuteRow,
    HOUR: UserUsageHourRow,
}


@dataclass(frozen=True, slots=True)
class GpuKey:
    """What a GPU id stands for in graphs."""

    gpu_id: int
    server: str
    index: int
    model: str

    @property
    def label(self) -> str:
        return f"{self.server}/{self.index}"


def gpu_keys(s: Session) -> dict[int, GpuKey]:
    """Every GPU ever registered (retired ones too: history outlives them)."""
    query = (
        select(GpuRow.id, ServerRow.name, GpuRow.index, GpuRow.model)
        .join(ServerRow, ServerRow.id == GpuRow.server_id)
        .order_by(ServerRow.name, GpuRow.index, GpuRow.id)
    )
    return {
        gid: GpuKey(gid, server, index, model) for gid, server, index, model in s.execute(query)
    }


def buckets(
    s: Session,
    level: Level,
    lo: int,
    hi: int,
    step: int,
    by_gpu: bool,
    gpu_ids: Sequence[int] | None = None,
) -> list[UsageBucket]:
    """Rollup rows of ``level`` in ``[lo, hi)`` merged per ``step`` seconds (a multiple of the
    level's), summed over GPUs unless ``by_gpu`` (then ``gpu_id`` is set), oldest first."""
    table = _USAGE[level]
    step = int(step)
    if step % max(level.seconds, 1):
        raise ValueError(f"a step of {step} s does not merge whole {level} buckets")
    if level is HOUR and not by_gpu and gpu_ids is None:
        return _lab_hours(s, lo, hi, step)
    if not by_gpu and step != level.seconds:
        # Grouped by the stored bucket, the rows stream in key order (no sort in the
        # database); merging those into longer steps here is cheap.
        native = buckets(s, level, lo, hi, level.seconds, False, gpu_ids)
        merged = merge_all(replace(b, start=b.start // step * step, length=step) for b in native)
        return merged
    b = (
        table.bucket.label("b")
        if step == level.seconds
        else literal_column(f"(bucket / {step}) * {step}", BigInteger).label("b")
    )
    gid = table.gpu_id if by_gpu else None
    # A bucket's rows are one per GPU (the key is bucket, gpu_id): count(*) counts GPUs.
    columns = [b, *([gid] if gid is not None else []), *_sums(table), func.count()]
    query = select(*columns).where(table.bucket >= lo, table.bucket < hi)
    if gpu_ids is not None:
        query = query.where(table.gpu_id.in_(list(gpu_ids)))
    group = [b, gid] if gid is not None else [b]
    query = query.group_by(*group).order_by(*group)
    found = []
    for row in s.execute(query):
        values = list(row)
        start = int(values.pop(0))
        gpu = int(values.pop(0)) if by_gpu else None
        count = int(values.pop() or 0)
        # Merged steps of one GPU hold several rows: that is still one GPU.
        found.append(_bucket(start, step, gpu, values, 1 if by_gpu else count))
    return found


def _lab_hours(s: Session, lo: int, hi: int, step: int) -> list[UsageBucket]:
    """The lab's hours from ``usage_lab_hour`` (summed over models), merged per ``step``
    (``gpus``: GPUs with readings, the most of any hour in the step)."""
    t = LabUsageHourRow
    hours = (
        select(
            t.bucket.label("bucket"),
            func.sum(t.samples).label("samples"),
            func.sum(t.util_n).label("util_n"),
            func.sum(t.util_sum).label("util_sum"),
            func.max(t.util_max).label("util_max"),
            func.sum(t.mem_n).label("mem_n"),
            func.sum(t.mem_sum).label("mem_sum"),
            func.max(t.mem_max).label("mem_max"),
            func.sum(t.observed_s).label("observed_s"),
            func.sum(t.busy_s).label("busy_s"),
            func.sum(t.gpus).label("gpus"),
        )
        .where(t.bucket >= lo, t.bucket < hi)
        .group_by(t.bucket)
    )
    if step == HOUR.seconds:
        rows = list(s.execute(hours.order_by(t.bucket)))
    else:
        h = hours.subquery()
        b = literal_column(f"(bucket / {step}) * {step}", BigInteger).label("b")
        merged = (
            select(
                b,
                func.sum(h.c.samples),
                func.sum(h.c.util_n),
                func.sum(h.c.util_sum),
                func.max(h.c.util_max),
                func.sum(h.c.mem_n),
                func.sum(h.c.mem_sum),
                func.max(h.c.mem_max),
                func.sum(h.c.observed_s),
                func.sum(h.c.busy_s),
                func.max(h.c.gpus),
            )
            .group_by(b)
            .order_by(b)
        )
        rows = list(s.execute(merged))
    return [_bucket(int(r[0]), step, None, list(r[1:10]), int(r[10] or 0)) for r in rows]


def gpu_means(
    s: Session, level: Level, gpu_id: int, lo: int, hi: int
) -> list[tuple[int, float | None, float | None]]:
    """``(bucket, mean utilisation %, mean memory MB)`` of one GPU's ``level`` rows in
    ``[lo, hi)``, oldest first: its graph at that resolution."""
    table = _USAGE[level].__tablename__
    rows = _plain_rows(
        s,
        f"SELECT bucket, util_sum, util_n, mem_sum, mem_n FROM {table} "
        "WHERE gpu_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
        (gpu_id, lo, hi),
    )
    return [
        (int(b), us / un if un else None, ms / mn if mn else None) for b, us, un, ms, mn in rows
    ]


def raw_points(
    s: Session, gpu_id: int, lo: datetime, hi: datetime
) -> list[tuple[int, float | None, int | None]]:
    """``(epoch, utilisation %, memory MB)`` of one GPU's raw samples in ``[lo, hi)``.

    The database turns the times into epoch seconds: a month of samples is tens of thousands
    of rows, and parsing each timestamp in Python would cost more than the query.
    """
    sqlite = s.get_bind().dialect.name == "sqlite"
    rows = _plain_rows(
        s,
        f"SELECT {epoch_sql(s, 'ts')}, utilization_pct, memory_used_mb FROM gpu_samples "
        "WHERE gpu_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
        (gpu_id, _stamp(lo) if sqlite else lo, _stamp(hi) if sqlite else hi),
    )
    return [(int(t), u, m) for t, u, m in rows]


def _stamp(moment: datetime) -> str:
    """A time as SQLite rows hold it (naive UTC text, as ``UtcDateTime`` stores it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _plain_rows(s: Session, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    """Rows straight from the driver's cursor (``?`` placeholders): for reads of tens of
    thousands of plain numbers, where building result rows would cost more than the query."""
    if s.get_bind().dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    dbapi = s.connection().connection.driver_connection
    if dbapi is None:
        raise RuntimeError("no database connection")
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def user_seconds(s: Session, level: Level, lo: int, hi: int) -> list[UserSeconds]:
    """Per-member attributed GPU-seconds per GPU and bucket of ``level`` in ``[lo, hi)``."""
    table = _USER[level]
    query = select(table.bucket, table.gpu_id, table.user_name, table.gpu_s).where(
        table.bucket >= lo, table.bucket < hi
    )
    return [UserSeconds(int(b), int(g), u, float(v)) for b, g, u, v in s.execute(query)]


def oldest_bucket(s: Session, level: Level) -> int | None:
    """The oldest bucket kept at ``level``."""
    value = s.scalar(select(func.min(_USAGE[level].bucket)))
    return None if value is None else int(value)


def gpu_totals(s: Session, level: Level, lo: int, hi: int) -> list[UsageBucket]:
    """One bucket per GPU summing ``level``'s rows in ``[lo, hi)`` (``length`` = hi - lo)."""
    table = _USAGE[level]
    query = (
        select(table.gpu_id, *_sums(table))
        .where(table.bucket >= lo, table.bucket < hi)
        .group_by(table.gpu_id)
    )
    return [_bucket(lo, hi - lo, int(row[0]), list(row[1:]), 1) for row in s.execute(query)]


def _sums(table: type[UsageMinuteRow] | type[UsageHourRow]) -> list[ColumnElement[Any]]:
    """The aggregates that merge rollup rows, in the order ``_bucket`` reads them."""
    return [
        func.sum(table.samples),
        func.sum(table.util_n),
        func.sum(table.util_sum),
        func.max(table.util_max),
        func.sum(table.mem_n),
        func.sum(table.mem_sum),
        func.max(table.mem_max),
        func.sum(table.observed_s),
        func.sum(table.busy_s),
    ]


def _bucket(start: int, length: int, gpu: int | None, sums: list[Any], gpus: int) -> UsageBucket:
    n, un, us, umax, mn, ms, mmax, obs, busy = sums
    return UsageBucket(
        start=start,
        length=length,
        gpu_id=gpu,
        samples=int(n or 0),
        util_n=int(un or 0),
        util_sum=float(us or 0.0),
        util_max=None if umax is None else float(umax),
        mem_n=int(mn or 0),
        mem_sum=float(ms or 0.0),
        mem_max=None if mmax is None else int(mmax),
        observed_s=float(obs or 0.0),
        busy_s=float(busy or 0.0),
        gpus=gpus,
    )


# -- slot requests (demand) -----------------------------------------------------------------


def add_request(s: Session, request: SlotRequest) -> None:
    """Record a slot request as asked."""
    s.execute(
        insert(SlotRequestRow).values(
            user_name=request.user_name,
            model=request.model,
            count=request.count,
            hours=request.hours,
            asked_at=request.asked_at,
            wanted_at=request.wanted_at,
            earliest_at=request.earliest_at,
            refused_rule=request.refused_rule,
            project=request.project,
        )
    )


def add_request_unless_seen(s: Session, request: SlotRequest, within: timedelta) -> bool:
    """Record ``request`` unless the same member asked the same (``same_request``) in the
    ``within`` before it; one statement (a slot search waits for it). True if stored."""
    row = SlotRequestRow
    just_after = request.asked_at + timedelta(microseconds=1)  # asked at that moment too
    seen = select(row.id).where(
        row.user_name == request.user_name,
        row.model == request.model,
        row.count == request.count,
        row.hours == request.hours,
        row.refused_rule.is_not_distinct_from(request.refused_rule),
        row.asked_at >= request.asked_at - within,
        row.asked_at < just_after,
    )
    values = {
        "user_name": request.user_name,
        "model": request.model,
        "count": request.count,
        "hours": request.hours,
        "asked_at": request.asked_at,
        "wanted_at": request.wanted_at,
        "earliest_at": request.earliest_at,
        "refused_rule": request.refused_rule,
        "project": request.project,
    }
    columns = [row.__table__.c[name] for name in values]
    literals = [literal(values[c.name], c.type) for c in columns]
    result = s.execute(insert(row).from_select(columns, select(*literals).where(~seen.exists())))
    return bool(cast(CursorResult[Any], result).rowcount)


def same_request(a: SlotRequest, b: SlotRequest) -> bool:
    """True if ``a`` and ``b`` ask the same of the lab and had the same outcome."""
    return (a.user_name, a.model, a.count, a.hours, a.refused_rule) == (
        b.user_name,
        b.model,
        b.count,
        b.hours,
        b.refused_rule,
    )


def requests(s: Session, lo: datetime, hi: datetime) -> list[SlotRequest]:
    """Slot requests asked in ``[lo, hi)``, oldest first."""
    query = (
        select(SlotRequestRow)
        .where(SlotRequestRow.asked_at >= lo, SlotRequestRow.asked_at < hi)
        .order_by(SlotRequestRow.asked_at, SlotRequestRow.id)
    )
    return [
        SlotRequest(
            r.user_name,
            r.model,
            r.count,
            r.hours,
            r.asked_at,
            r.wanted_at,
            r.earliest_at,
            r.refused_rule,
            r.project,
        )
        for r in s.scalars(query)
    ]


def database_bytes(engine: Engine) -> int | None:
    """The database's size on disk (SQLite file pages, PostgreSQL database size)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            return int(pages or 0) * int(size or 0)
        value = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        return None if value is None else int(value)


# -- bookings as the PI sees them -------------------------------------------------------------

#: Stored statuses whose window the member held (a released booking ends when released).
HELD = ("booked", "released", "finished")


def booked_spans(s: Session, lo: datetime, hi: datetime) -> list[BookedSpan]:
    """Every GPU held by a booking overlapping ``[lo, hi)`` (pending or cancelled: not held)."""
    query = select(BookingRow.user_name, BookingRow.gpu_id, BookingRow.start_ts, BookingRow.end_ts)
    query = query.where(
        BookingRow.status.in_(HELD), BookingRow.start_ts < hi, BookingRow.end_ts > lo
    )
    return [BookedSpan(u, g, epoch(a), epoch(b)) for u, g, a, b in s.execute(query)]


def request_counts(s: Session, lo: datetime, hi: datetime) -> dict[str, tuple[int, int]]:
    """``{member: (pending, rejected)}`` booking requests (groups) for ``[lo, hi)``.

    *Pending*: asked in the range and still undecided at its end. *Rejected*: rejected in the
    range, whenever asked (a decision counts in the month it was made; rows from before
    decisions were dated count when asked).
    """
    decided = func.coalesce(BookingRow.decided_at, BookingRow.created_at)
    rejected = and_(
        BookingRow.status == "cancelled",
        BookingRow.decision_reason.like("rejected%"),
        decided >= lo,
        decided < hi,
    )
    asked = and_(BookingRow.created_at >= lo, BookingRow.created_at < hi)
    waiting = or_(
        BookingRow.status == "pending",
        and_(BookingRow.decided_by.is_not(None), BookingRow.decided_at >= hi),
    )
    group = func.count(func.distinct(BookingRow.group_id))
    query = (
        select(
            BookingRow.user_name,
            group.filter(asked, waiting),
            group.filter(rejected),
        )
        .where(or_(asked, rejected))
        .group_by(BookingRow.user_name)
    )
    return {u: (int(p or 0), int(r or 0)) for u, p, r in s.execute(query) if p or r}
