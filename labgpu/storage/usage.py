"""Usage history: rolling raw samples up to minutes and hours, retention, and graph queries.

The rollup is set-based SQL (one ``INSERT ... SELECT`` per level and window), so the collector
pays a few milliseconds a minute whatever the lab's size, and a year of history builds in
minutes. Buckets are epoch seconds (UTC) at the start of the minute or hour. Watermarks in
``usage_state`` say how far each level is rolled up; a level is only ever rolled up to
complete buckets, and raw samples are only deleted once rolled up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from labgpu.core.usage.figures import (
    HOUR,
    MINUTE,
    RAW,
    BookedSpan,
    Level,
    Retention,
    UnmetRequest,
    UsageBucket,
    UserSeconds,
    merge_all,
)
from labgpu.storage.models import (
    BookingRow,
    GpuRow,
    GpuSampleRow,
    LabUsageHourRow,
    ServerRow,
    UnmetRequestRow,
    UsageHourRow,
    UsageMinuteRow,
    UsageStateRow,
    UserUsageHourRow,
    UserUsageMinuteRow,
)
from labgpu.storage.types import UtcDateTime

#: A sample at or above this utilisation counts as busy. A process that holds a GPU without
#: computing (an idle notebook kernel) does not make it busy: that is the waste to show.
BUSY_UTIL_PCT = 5.0
#: Rollups wait this long behind the clock for the samples of a sweep still being stored.
LAG_S = 120

_USAGE: dict[Level, type[UsageMinuteRow] | type[UsageHourRow]] = {
    MINUTE: UsageMinuteRow,
    HOUR: UsageHourRow,
}
_USER: dict[Level, type[UserUsageMinuteRow] | type[UserUsageHourRow]] = {
    MINUTE: UserUsageMinuteRow,
    HOUR: UserUsageHourRow,
}
_USAGE_COLUMNS = (
    "bucket, gpu_id, samples, util_n, util_sum, util_max, mem_n, mem_sum, mem_max, "
    "observed_s, busy_s"
)
_RETENTION_KEYS = {
    "keep_raw_days": "raw_days",
    "keep_minute_days": "minute_days",
    "keep_hour_days": "hour_days",
}


def epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    return int(dt.timestamp() // 1)


def from_epoch(seconds: float) -> datetime:
    """The aware UTC datetime of epoch ``seconds``."""
    return datetime.fromtimestamp(seconds, UTC)


def _epoch_sql(s: Session, column: str) -> str:
    if s.get_bind().dialect.name == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(floor(extract(epoch FROM {column})) AS BIGINT)"


def _window() -> list[BindParameter[datetime]]:
    return [bindparam("lo", type_=UtcDateTime()), bindparam("hi", type_=UtcDateTime())]


# -- state ----------------------------------------------------------------------------------


def _state(s: Session) -> dict[str, float]:
    return {
        name: value for name, value in s.execute(select(UsageStateRow.name, UsageStateRow.value))
    }


def _set_state(s: Session, name: str, value: float) -> None:
    row = s.get(UsageStateRow, name)
    if row is None:
        s.add(UsageStateRow(name=name, value=value))
    else:
        row.value = value
    s.flush()


def retention(s: Session) -> Retention:
    """The lab's retention settings (defaults where never set)."""
    state = _state(s)
    values = {field: state[key] for key, field in _RETENTION_KEYS.items() if key in state}
    hour = values.pop("hour_days", None)
    return Retention(**values, hour_days=hour if hour and hour > 0 else None)


def set_retention(s: Session, value: Retention) -> None:
    """Store retention settings (``hour_days`` None: hours kept for ever, stored as 0)."""
    _set_state(s, "keep_raw_days", value.raw_days)
    _set_state(s, "keep_minute_days", value.minute_days)
    _set_state(s, "keep_hour_days", value.hour_days or 0.0)


def watermarks(s: Session) -> tuple[int | None, int | None]:
    """``(minute_done, hour_done)``: epoch seconds rolled up so far per level (None: never)."""
    state = _state(s)
    minute, hour = state.get("minute_done"), state.get("hour_done")
    return (int(minute) if minute is not None else None, int(hour) if hour is not None else None)


# -- rollup ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollupReport:
    """What one rollup did: the windows rolled up (epoch seconds; equal ends: nothing)."""

    minute_from: int
    minute_to: int
    hour_from: int
    hour_to: int


def rollup(s: Session, now: datetime, lag_s: int = LAG_S) -> RollupReport:
    """Roll raw samples up to complete minutes before ``now - lag_s``, and complete minutes up
    to complete hours. Incremental: each call starts where the last one stopped."""
    minute_done, hour_done = watermarks(s)
    limit = (epoch(now) - lag_s) // MINUTE.seconds * MINUTE.seconds
    if minute_done is None:
        oldest = oldest_sample(s)
        minute_done = limit if oldest is None else epoch(oldest) // 60 * 60
    lo_m, hi_m = minute_done, max(minute_done, limit)
    if hi_m > lo_m:
        _rollup_minutes(s, lo_m, hi_m)
        _set_state(s, "minute_done", hi_m)
    hour_limit = hi_m // HOUR.seconds * HOUR.seconds
    if hour_done is None:
        oldest_minute = s.scalar(select(func.min(UsageMinuteRow.bucket)))
        start = lo_m if oldest_minute is None else min(lo_m, int(oldest_minute))
        hour_done = start // HOUR.seconds * HOUR.seconds
    lo_h, hi_h = hour_done, max(hour_done, hour_limit)
    if hi_h > lo_h:
        _rollup_hours(s, lo_h, hi_h)
        _set_state(s, "hour_done", hi_h)
    return RollupReport(lo_m, hi_m, lo_h, hi_h)


def reopen(s: Session, since: datetime, now: datetime | None = None) -> bool:
    """Make the next ``rollup`` roll up again from ``since``'s minute (and its hour).

    For samples stored late (kept by the collector while the database was unreachable) that
    are older than the watermarks: without this the rollup would never see them. Never reaches
    back past the raw retention, whose samples may be gone. True if a watermark moved back.
    """
    minute_done, hour_done = watermarks(s)
    if minute_done is None:  # never rolled up: the first rollup starts at the oldest sample
        return False
    oldest_kept = epoch(now or datetime.now(UTC)) - int(retention(s).raw_days * 86400)
    floor = -(-oldest_kept // MINUTE.seconds) * MINUTE.seconds  # the first whole minute kept
    start = max(epoch(since) // MINUTE.seconds * MINUTE.seconds, floor)
    if start >= minute_done:
        return False
    _set_state(s, "minute_done", start)
    if hour_done is not None and hour_done > start:
        _set_state(s, "hour_done", start // HOUR.seconds * HOUR.seconds)
    return True


def _rollup_minutes(s: Session, lo: int, hi: int) -> None:
    for table in (UsageMinuteRow, UserUsageMinuteRow):
        s.execute(delete(table).where(table.bucket >= lo, table.bucket < hi))
    bucket = f"({_epoch_sql(s, 'g.ts')} / 60) * 60"
    busy = f"CASE WHEN g.utilization_pct >= {BUSY_UTIL_PCT} THEN 1 ELSE 0 END"
    window = {"lo": from_epoch(lo), "hi": from_epoch(hi)}
    s.execute(
        text(
            f"INSERT INTO usage_minute ({_USAGE_COLUMNS}) "
            "SELECT b, gpu_id, count(*), count(u), coalesce(sum(u), 0), max(u), count(m), "
            "coalesce(sum(m), 0), max(m), 60.0, 60.0 * sum(busy) / count(*) "
            f"FROM (SELECT {bucket} AS b, g.gpu_id AS gpu_id, g.utilization_pct AS u, "
            f"g.memory_used_mb AS m, {busy} AS busy "
            # GPU by GPU through the primary key (gpu_id, ts): no index on ts is kept.
            "FROM gpus gg CROSS JOIN gpu_samples g WHERE g.gpu_id = gg.id "
            "AND g.ts >= :lo AND g.ts < :hi) x GROUP BY b, gpu_id"
        ).bindparams(*_window()),
        window,
    )
    user_bucket = f"({_epoch_sql(s, 'd.ts')} / 60) * 60"
    s.execute(
        text(
            "INSERT INTO usage_user_minute (bucket, gpu_id, user_name, gpu_s) "
            "SELECT x.b, x.gpu_id, x.user_name, 60.0 * sum(x.share) / um.samples FROM ("
            f"  SELECT {user_bucket} AS b, d.gpu_id AS gpu_id, d.user_name AS user_name, "
            "  1.0 / count(*) OVER (PARTITION BY d.gpu_id, d.ts) AS share FROM ("
            "    SELECT DISTINCT p.gpu_id AS gpu_id, p.ts AS ts, "
            "    coalesce(p.user_name, '') AS user_name FROM gpus gg CROSS JOIN gpu_processes p "
            "    WHERE p.gpu_id = gg.id AND p.ts >= :lo AND p.ts < :hi "
            "    AND EXISTS (SELECT 1 FROM gpu_samples g "
            "    WHERE g.gpu_id = p.gpu_id AND g.ts = p.ts)) d"
            ") x JOIN usage_minute um ON um.bucket = x.b AND um.gpu_id = x.gpu_id "
            "GROUP BY x.b, x.gpu_id, x.user_name, um.samples"
        ).bindparams(*_window()),
        window,
    )


def _rollup_hours(s: Session, lo: int, hi: int) -> None:
    for table in (UsageHourRow, UserUsageHourRow):
        s.execute(delete(table).where(table.bucket >= lo, table.bucket < hi))
    window = {"lo": lo, "hi": hi}
    s.execute(
        text(
            f"INSERT INTO usage_hour ({_USAGE_COLUMNS}) "
            "SELECT (bucket / 3600) * 3600 AS b, gpu_id, sum(samples), sum(util_n), "
            "sum(util_sum), max(util_max), sum(mem_n), sum(mem_sum), max(mem_max), "
            "sum(observed_s), sum(busy_s) FROM usage_minute "
            "WHERE bucket >= :lo AND bucket < :hi GROUP BY (bucket / 3600) * 3600, gpu_id"
        ),
        window,
    )
    s.execute(
        text(
            "INSERT INTO usage_user_hour (bucket, gpu_id, user_name, gpu_s) "
            "SELECT (bucket / 3600) * 3600 AS b, gpu_id, user_name, sum(gpu_s) "
            "FROM usage_user_minute WHERE bucket >= :lo AND bucket < :hi "
            "GROUP BY (bucket / 3600) * 3600, gpu_id, user_name"
        ),
        window,
    )
    _sum_lab_hours(s, lo, hi)


def _sum_lab_hours(s: Session, lo: int, hi: int) -> None:
    """``usage_lab_hour`` for ``[lo, hi)`` from the hourly rows (per model)."""
    s.execute(
        delete(LabUsageHourRow).where(LabUsageHourRow.bucket >= lo, LabUsageHourRow.bucket < hi)
    )
    s.execute(
        text(
            "INSERT INTO usage_lab_hour (bucket, model, samples, util_n, util_sum, util_max, "
            "mem_n, mem_sum, mem_max, observed_s, busy_s, gpus) "
            "SELECT h.bucket, g.model, sum(h.samples), sum(h.util_n), sum(h.util_sum), "
            "max(h.util_max), sum(h.mem_n), sum(h.mem_sum), max(h.mem_max), sum(h.observed_s), "
            "sum(h.busy_s), count(*) FROM usage_hour h JOIN gpus g ON g.id = h.gpu_id "
            "WHERE h.bucket >= :lo AND h.bucket < :hi GROUP BY h.bucket, g.model"
        ),
        {"lo": lo, "hi": hi},
    )


# -- retention ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """Rows deleted by one retention pass, per table."""

    deleted: dict[str, int]


def apply_retention(s: Session, now: datetime, keep: Retention) -> RetentionReport:
    """Delete what is older than ``keep`` allows and already rolled up to the next level."""
    minute_done, hour_done = watermarks(s)
    deleted: dict[str, int] = {}
    if minute_done is not None:
        cut = from_epoch(min(epoch(now) - keep.raw_days * 86400, minute_done))
        gpu_ids = list(s.scalars(select(GpuRow.id)))
        for name in ("gpu_samples", "gpu_processes"):
            statement = text(f"DELETE FROM {name} WHERE gpu_id = :gpu AND ts < :cut")
            statement = statement.bindparams(bindparam("cut", type_=UtcDateTime()))
            deleted[name] = 0
            for gpu_id in gpu_ids:  # each a range of the (gpu_id, ts) index
                result = s.execute(statement, {"gpu": gpu_id, "cut": cut})
                deleted[name] += result.rowcount  # type: ignore[attr-defined]
    if hour_done is not None:
        cut_minute = int(min(epoch(now) - keep.minute_days * 86400, hour_done))
        for table in (UsageMinuteRow, UserUsageMinuteRow):
            result = s.execute(delete(table).where(table.bucket < cut_minute))
            deleted[table.__tablename__] = result.rowcount  # type: ignore[attr-defined]
    if keep.hour_days is not None:
        cut_hour = int(epoch(now) - keep.hour_days * 86400)
        for hourly in (UsageHourRow, UserUsageHourRow, LabUsageHourRow):
            result = s.execute(delete(hourly).where(hourly.bucket < cut_hour))
            deleted[hourly.__tablename__] = result.rowcount  # type: ignore[attr-defined]
    return RetentionReport(deleted)


# -- queries --------------------------------------------------------------------------------


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
        f"SELECT {_epoch_sql(s, 'ts')}, utilization_pct, memory_used_mb FROM gpu_samples "
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


def sample_bounds(s: Session) -> tuple[datetime | None, datetime | None]:
    """The oldest and newest raw samples kept, read GPU by GPU from the (gpu_id, ts) key
    (quick however many samples there are: no index on ts alone is kept)."""
    first = (
        select(func.min(GpuSampleRow.ts))
        .where(GpuSampleRow.gpu_id == GpuRow.id)
        .correlate(GpuRow)
        .scalar_subquery()
    )
    last = (
        select(func.max(GpuSampleRow.ts))
        .where(GpuSampleRow.gpu_id == GpuRow.id)
        .correlate(GpuRow)
        .scalar_subquery()
    )
    inner = select(first.label("first"), last.label("last")).select_from(GpuRow).subquery()
    row = s.execute(select(func.min(inner.c.first), func.max(inner.c.last))).one()
    lo, hi = row
    return _aware(lo), _aware(hi)


def _aware(value: object) -> datetime | None:
    """A min/max of a subquery's timestamps, which SQLite returns as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def oldest_sample(s: Session) -> datetime | None:
    """The oldest raw sample kept."""
    return sample_bounds(s)[0]


# -- unmet demand ---------------------------------------------------------------------------


def add_unmet(s: Session, request: UnmetRequest) -> None:
    """Record a request the lab could not serve in time."""
    s.execute(
        insert(UnmetRequestRow).values(
            user_name=request.user_name,
            model=request.model,
            count=request.count,
            hours=request.hours,
            asked_at=request.asked_at,
            wanted_at=request.wanted_at,
            earliest_at=request.earliest_at,
            refused_rule=request.refused_rule,
        )
    )


def same_request(a: UnmetRequest, b: UnmetRequest) -> bool:
    """True if ``a`` and ``b`` ask the same of the lab and had the same outcome."""
    return (a.user_name, a.model, a.count, a.hours, a.refused_rule) == (
        b.user_name,
        b.model,
        b.count,
        b.hours,
        b.refused_rule,
    )


def unmet(s: Session, lo: datetime, hi: datetime) -> list[UnmetRequest]:
    """Unmet requests (no capacity or refused by a rule) asked in ``[lo, hi)``, oldest first."""
    query = (
        select(UnmetRequestRow)
        .where(UnmetRequestRow.asked_at >= lo, UnmetRequestRow.asked_at < hi)
        .order_by(UnmetRequestRow.asked_at, UnmetRequestRow.id)
    )
    return [
        UnmetRequest(
            r.user_name,
            r.model,
            r.count,
            r.hours,
            r.asked_at,
            r.wanted_at,
            r.earliest_at,
            r.refused_rule,
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

    def add_unmet(self, request: UnmetRequest) -> None:
        with self._write() as s:
            add_unmet(s, request)

    def add_unmet_once(self, request: UnmetRequest, within: timedelta) -> bool:
        """Record ``request`` unless the same member asked the same (model, GPUs, hours,
        outcome) within ``within`` before; one transaction. True if stored."""
        with self._write() as s:
            just_after = request.asked_at + timedelta(microseconds=1)  # asked at that moment too
            for seen in unmet(s, request.asked_at - within, just_after):
                if same_request(seen, request):
                    return False
            add_unmet(s, request)
            return True

    def unmet(self, lo: datetime, hi: datetime) -> list[UnmetRequest]:
        with self._read() as s:
            return unmet(s, lo, hi)

    def booked_spans(self, lo: datetime, hi: datetime) -> list[BookedSpan]:
        with self._read() as s:
            return booked_spans(s, lo, hi)

    def request_counts(self, lo: datetime, hi: datetime) -> dict[str, tuple[int, int]]:
        with self._read() as s:
            return request_counts(s, lo, hi)

    def database_bytes(self) -> int | None:
        return database_bytes(self._engine)


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


def import_hours(
    s: Session, rows: Sequence[UsageBucket], users: Sequence[UserSeconds], done: int
) -> int:
    """Store hourly history computed elsewhere (the demo lab's model) and mark minutes and
    hours rolled up to ``done``, so the rollup continues from there; into a database without
    rollups only. Returns the hour rows stored."""
    minute_done, hour_done = watermarks(s)
    if minute_done is not None or hour_done is not None:
        raise ValueError("hourly history can only be imported before the first rollup")
    if any(r.length != HOUR.seconds or r.start % HOUR.seconds or r.start >= done for r in rows):
        raise ValueError(f"imported rows must be whole hours before {from_epoch(done)}")
    s.execute(
        insert(cast(Table, UsageHourRow.__table__)),
        [
            {
                "bucket": r.start,
                "gpu_id": r.gpu_id,
                "samples": r.samples,
                "util_n": r.util_n,
                "util_sum": r.util_sum,
                "util_max": r.util_max,
                "mem_n": r.mem_n,
                "mem_sum": r.mem_sum,
                "mem_max": r.mem_max,
                "observed_s": r.observed_s,
                "busy_s": r.busy_s,
            }
            for r in rows
        ],
    )
    if users:
        s.execute(
            insert(cast(Table, UserUsageHourRow.__table__)),
            [
                {"bucket": u.start, "gpu_id": u.gpu_id, "user_name": u.user_name, "gpu_s": u.gpu_s}
                for u in users
            ],
        )
    if rows:
        _sum_lab_hours(s, min(r.start for r in rows), done)
    _set_state(s, "minute_done", done)
    _set_state(s, "hour_done", done)
    return len(rows)
