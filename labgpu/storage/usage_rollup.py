"""Usage history written: rolling raw samples up to minutes and hours, and retention.

The rollup is set-based SQL (one ``INSERT ... SELECT`` per level and window), so the collector
pays a few milliseconds a minute whatever the lab's size, and a year of history builds in
minutes. Buckets are epoch seconds (UTC) at the start of the minute or hour. Watermarks in
``usage_state`` say how far each level is rolled up; a level is only ever rolled up to
complete buckets, and raw samples are only deleted once rolled up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from labgpu.core.usage.figures import HOUR, MINUTE, Retention, UsageBucket, UserSeconds
from labgpu.storage.models import (
    GpuRow,
    GpuSampleRow,
    LabUsageHourRow,
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


def epoch_sql(s: Session, column: str) -> str:
    """SQL for the whole epoch seconds of timestamp ``column`` in this database's dialect."""
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
    bucket = f"({epoch_sql(s, 'g.ts')} / 60) * 60"
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
    user_bucket = f"({epoch_sql(s, 'd.ts')} / 60) * 60"
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


# -- what is kept ---------------------------------------------------------------------------


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
