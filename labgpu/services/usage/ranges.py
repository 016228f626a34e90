"""Ranges of time as the usage service reads them: epoch seconds, whole rollup buckets with the
share of each inside the range, and a report's month (``YYYY-MM``) as bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from labgpu.core.errors import LabgpuError, UsageError
from labgpu.core.i18n import _
from labgpu.core.usage.figures import HOUR, MINUTE, Level, UsageBucket


def epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    return int(dt.timestamp() // 1)


#: A read of whole rollup buckets: (level, first bucket, end of the last, share of them that
#: lies inside the range asked for).
Piece = tuple[Level, int, int, float]


def scaled(bucket: UsageBucket, share: float) -> UsageBucket:
    """``bucket``'s GPU-time cut to ``share`` of it (its utilisation means stay)."""
    if share >= 1.0:
        return bucket
    return replace(bucket, observed_s=bucket.observed_s * share, busy_s=bucket.busy_s * share)


def edge_pieces(lo: int, hi: int, kept_from: int | None) -> list[Piece]:
    """``[lo, hi)`` from minutes where they are kept (from ``kept_from``), else from hours,
    each bucket shared out by its part inside."""
    if hi <= lo:
        return []
    if kept_from is None or kept_from > lo // 60 * 60:
        first_hour = lo // 3600 * 3600
        return [
            (HOUR, h, h + 3600, (min(hi, h + 3600) - max(lo, h)) / 3600)
            for h in range(first_hour, hi, 3600)
        ]
    first, last = -(-lo // 60) * 60, hi // 60 * 60
    if last < first:  # inside one minute
        return [(MINUTE, last, first, (hi - lo) / 60)]
    pieces: list[Piece] = []
    if lo < first:
        pieces.append((MINUTE, first - 60, first, (first - lo) / 60))
    if last > first:
        pieces.append((MINUTE, first, last, 1.0))
    if hi > last:
        pieces.append((MINUTE, last, last + 60, (hi - last) / 60))
    return pieces


def month_range(month: str, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """``"2026-11"`` -> the month's first instant and the next month's, in ``tz`` (UTC if
    None); ``LabgpuError`` for anything else."""
    try:
        year, number = (int(p) for p in month.split("-"))
        zone = tz or UTC
        start = datetime(year, number, 1, tzinfo=zone)
    except ValueError as exc:
        raise LabgpuError(
            _("{month} is not a month; write it as YYYY-MM, e.g. 2026-11").format(month=repr(month))
        ) from exc
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


def check_month(month: str, zone: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """A report's month as bounds in ``zone``; ``UsageError`` (exit 2) for a malformed month
    or one that has not begun (nothing to report). The month in progress is fine: its figures
    stop at now and say so."""
    try:
        start, end = month_range(month, zone)
    except LabgpuError as exc:
        raise UsageError(str(exc)) from None
    if start > now:
        current = now.astimezone(zone)
        raise UsageError(
            _(
                "{month} has not begun: there is nothing to report yet; the latest report is "
                "{latest} (up to now)"
            ).format(month=month, latest=f"{current.year:04d}-{current.month:02d}")
        )
    return start, end
