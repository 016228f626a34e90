"""``labgpu usage`` (README *Using it*, issue 6): GPU-hours per member, GPU, server or model;
the monthly PDF report for the PI; how long usage history is kept.

Times are ISO 8601 in local time unless they carry an offset, as for ``book``/``bookings``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from labgpu.cli import commands, output
from labgpu.cli.times import local_zone, parse_time, show_time
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.usage.figures import MEMBER_FIGURES, Retention, Table
from labgpu.services import Labgpu
from labgpu.services.usage.prices import price_hint
from labgpu.services.usage.service import TABLE_BY, Summary, check_month, month_range

Sub = Any  # argparse's _SubParsersAction is private

#: The range ``labgpu usage`` covers without --from/--to: this long, up to now (or --to).
DEFAULT_SPAN = timedelta(days=30)


class UsageArgsError(LabgpuError):
    """Options that do not go together, or a range that ends before it starts."""

    exit_code = 2


def register(sub: Sub) -> None:
    """Add the ``usage`` command."""
    p = sub.add_parser(
        "usage",
        help="GPU-hours per member, GPU, server or model; monthly PDF report; history retention",
    )
    p.add_argument("--by", choices=TABLE_BY, default="user", help="one row per (default: user)")
    p.add_argument(
        "--from", dest="start", type=parse_time, metavar="T", help="default: 30 days ago"
    )
    p.add_argument("--to", dest="end", type=parse_time, metavar="T", help="default: now")
    p.add_argument("--csv", action="store_true", help="CSV on stdout")
    p.add_argument(
        "--json", action="store_true", help="a JSON object on stdout: range, rows and totals"
    )
    p.add_argument("--report", type=Path, metavar="FILE.pdf", help="write the monthly PDF report")
    p.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="a whole month: the table's range, or the report's (default: last month)",
    )
    p.add_argument(
        "--lang",
        choices=("en", "ko"),
        help="the report's language (default: the app's language setting)",
    )
    p.add_argument(
        "--demand", action="store_true", help="GPU-hours served/unserved/offloaded per model, month"
    )
    p.add_argument(
        "--what-if", metavar="CHANGE", help='replay the requests with GPUs added/removed: "+8 A40"'
    )
    p.add_argument("--retention", action="store_true", help="show how long usage history is kept")
    for level, what in (("raw", "raw samples"), ("minute", "minute rollups")):
        p.add_argument(
            f"--keep-{level}-days", type=_days_arg, metavar="N", help=f"keep {what} N days"
        )
    p.add_argument(
        "--keep-hour-days",
        type=_days_arg,
        metavar="N",
        help="keep hourly rollups N days (0: for ever)",
    )
    p.set_defaults(handler=run_usage)


def _days_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a number of days").format(text=repr(text))
        ) from None
    if value < 0 or value != value:  # NaN
        raise argparse.ArgumentTypeError(
            _("a number of days must be 0 or more, not {text}").format(text=text)
        )
    return value


# -- the command --------------------------------------------------------------------------------


def run_usage(args: argparse.Namespace) -> int:
    """Dispatch to the table, the report or the retention settings."""
    if args.what_if is not None:  # the replay with GPUs added or removed (cli/what_if_commands.py)
        from labgpu.cli.what_if_commands import run_what_if

        return run_what_if(args)
    if args.demand:  # the demand survey (cli/usage_evidence.py)
        from labgpu.cli.usage_evidence import run_demand

        return run_demand(args)
    changes = _retention_changes(args)
    _check_combination(args, bool(changes))
    if args.retention or changes:
        return commands.with_lab(args, lambda lab: _retention(lab, args, changes))
    if args.report is not None:
        month = args.month or last_month(datetime.now(UTC).astimezone(report_zone()))
        check_month(month, report_zone(), datetime.now(UTC))
        return commands.with_lab(args, lambda lab: _report(lab, month, args.report, args.lang))
    if args.month is not None:
        start, end = check_month(args.month, report_zone(), datetime.now(UTC))
    else:
        start, end = usage_range(args.start, args.end, datetime.now(UTC))
    return commands.with_lab(args, lambda lab: _table(lab, args, start, end))


def _check_combination(args: argparse.Namespace, changes: bool) -> None:
    if args.csv and args.json:
        raise UsageArgsError(_("choose one of --csv and --json"))
    if args.month is not None and (args.start or args.end):
        raise UsageArgsError(_("--month is a whole month: use it or --from/--to, not both"))
    if args.lang is not None and args.report is None:
        raise UsageArgsError(_("--lang goes with --report FILE.pdf"))
    if args.month is not None:
        try:
            month_range(args.month)
        except LabgpuError as exc:
            raise UsageArgsError(str(exc)) from None
    settings = args.retention or changes
    table_options = args.start or args.end or args.csv or args.by != "user"
    if settings and (args.report is not None or table_options):
        raise UsageArgsError(
            _("--retention and --keep-*-days do not go with a table or a report; run them apart")
        )
    if args.report is not None and (table_options or args.json):
        raise UsageArgsError(_("--report writes a whole month: use --month, not --from/--to/--by"))


def usage_range(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``--from``/``--to`` with the defaults: the 30 days up to ``--to`` (or now)."""
    if start is not None and end is not None and start >= end:
        raise UsageArgsError(
            _("--from ({start}) must be before --to ({end}); swap them or leave one out").format(
                start=show_time(start), end=show_time(end)
            )
        )
    end = end or now
    start = start or end - DEFAULT_SPAN
    if start >= now:
        raise UsageArgsError(
            _("the range starts at {start}, after now: there is nothing to count yet").format(
                start=show_time(start)
            )
        )
    return start, end


def month_or_range(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """The range ``--month`` (cut in ``report_zone``) or ``--from``/``--to`` names."""
    if args.month is not None:
        return check_month(args.month, report_zone(), now)
    return usage_range(args.start, args.end, now)


def check_alone(args: argparse.Namespace, refusal: str, *others: bool) -> None:
    """For a ``usage`` mode that takes only a range (``--demand``, ``--what-if``): ``--month``
    or ``--from``/``--to``, and none of the table's, report's or retention's options (nor
    ``others``); ``refusal`` is the message otherwise."""
    if args.month is not None and (args.start is not None or args.end is not None):
        raise UsageArgsError(_("--month covers a whole month: use it or --from/--to, not both"))
    taken = [
        *others,
        args.report is not None,
        args.retention,
        args.lang is not None,
        args.by != "user",
        *(getattr(args, f"keep_{level}_days") is not None for level in ("raw", "minute", "hour")),
    ]
    if any(taken):
        raise UsageArgsError(refusal)


def report_zone() -> tzinfo:
    """The zone months are cut in: ``TZ`` if set, else the system's local offset."""
    zone = local_zone()
    return zone if zone is not None else datetime.now().astimezone().tzinfo or UTC


def last_month(now: datetime) -> str:
    """``YYYY-MM`` of the last complete month before ``now``."""
    first = now.replace(day=1)
    previous = first - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


# -- the table ------------------------------------------------------------------------------------


def _table(lab: Labgpu, args: argparse.Namespace, start: datetime, end: datetime) -> int:
    table = lab.usage.table(args.by, start, end)
    summary = lab.usage.summary(start, end)
    history = summary.history_from
    if args.json:
        from labgpu.cli import usage_evidence  # imports this module

        output.print_json(
            {
                "from": _iso(start),
                "to": _iso(end),
                "until": _iso(summary.until),
                "partial": summary.partial,
                "history_from": None if history is None else _iso(history),
                "by": args.by,
                "rows": table.as_dicts(),
                "totals": summary.as_dict(),
                "evidence": usage_evidence.evidence_json(lab, start, end),
                "cost": cost_json(lab, start, end),
            }
        )
    elif args.csv:
        sys.stdout.write(csv_with_range(table, start, end, summary.until).to_csv())
    else:
        print(
            _("usage from {start} to {end}, GPU-hours").format(
                start=show_time(start), end=show_time(end)
            )
        )
        for line in range_notes(summary):
            print(line)
        print(text_table(with_total(table)))
        if args.by == "user":
            print()
            for column, meaning in MEMBER_FIGURES.items():
                print(f"  {_header(column):<22} {_(meaning)}")
    return 0


def cost_json(lab: Labgpu, start: datetime, end: datetime) -> dict[str, object]:
    """The range's cost from the prices managers set (``core/usage/cost.py``), and the line
    saying where to set the prices that are missing (null: none missing)."""
    cost = lab.usage.prices.cost(start, end)
    found = cost.as_dict()
    found["note"] = price_hint(cost.unpriced) if cost.unpriced else None
    return found


def _iso(moment: datetime) -> str:
    return moment.astimezone().isoformat(timespec="seconds")


def range_notes(summary: Summary) -> list[str]:
    """What a reader of the figures must know about the range: it runs into the future (the
    figures stop now), or the kept history starts later."""
    notes = []
    if summary.partial:
        notes.append(
            _("the range runs into the future: figures count up to now ({now})").format(
                now=show_time(summary.until)
            )
        )
    if summary.history_from is None:
        notes.append(_("no usage history is kept yet: the collector has not stored any readings"))
    elif summary.history_from >= summary.until:
        notes.append(
            _("usage history starts at {start}: nothing is known of this range").format(
                start=show_time(summary.history_from)
            )
        )
    elif summary.starts_late:
        notes.append(
            _("usage history starts at {start}: nothing is known of the time before").format(
                start=show_time(summary.history_from)
            )
        )
    return notes


def with_total(table: Table) -> Table:
    """``table`` and a last row summing it (hours and counts; shares from the sums)."""
    return Table(table.columns, [*table.rows, total_row(table)])


def total_row(table: Table) -> tuple[object, ...]:
    """The sum of every column of GPU-hours, counts of requests and GPUs; the busy share from
    the sums; utilisation means left out (they need the samples)."""
    sums: dict[str, object] = {}
    for n, column in enumerate(table.columns):
        if column.endswith(("_gpu_hours", "_requests")) or column == "gpus":
            total = 0.0
            for row in table.rows:
                value = row[n]
                if isinstance(value, int | float):
                    total += value
            sums[column] = round(total, 3) if column.endswith("_gpu_hours") else int(total)
    observed, busy = sums.get("observed_gpu_hours"), sums.get("busy_gpu_hours")
    if "busy_pct" in table.columns and isinstance(observed, float) and isinstance(busy, float):
        sums["busy_pct"] = round(100 * busy / observed, 1) if observed else None
    return tuple(sums.get(c, TOTAL if n == 0 else None) for n, c in enumerate(table.columns))


#: The first cell of the total row in the text, CSV and JSON tables.
TOTAL = "(total)"


def csv_with_range(table: Table, start: datetime, end: datetime, until: datetime) -> Table:
    """The CSV: every row with the range asked for (``from``, ``to``) and where its figures
    stop (``until``: ``to``, or now for a range into the future), and a total row."""
    span = (_iso(start), _iso(end), _iso(until))
    rows = [(*span, *row) for row in with_total(table).rows]
    return Table(("from", "to", "until", *table.columns), rows)


def text_table(table: Table) -> str:
    """An aligned table: headers in capitals, hours with one decimal, a dash for nothing."""
    header = [_header(c) for c in table.columns]
    rows = [[_cell(v) for v in row] for row in table.rows]
    return output.table(rows, header)


def _header(column: str) -> str:
    return column.replace("_gpu_hours", " gpu-h").replace("_pct", " %").replace("_", " ").upper()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


# -- the report ---------------------------------------------------------------------------------


def _report(lab: Labgpu, month: str, path: Path, lang: str | None) -> int:
    from labgpu.gui.usage.report import write_monthly_report  # Qt only here, so the CLI stays light

    pages = write_monthly_report(lab, month, path, report_zone(), lang)
    print(
        _("wrote the {month} usage report ({pages} pages) to {path}").format(
            month=month, pages=pages, path=path
        )
    )
    return 0


# -- retention ----------------------------------------------------------------------------------


def _retention_changes(args: argparse.Namespace) -> dict[str, float]:
    names = {"keep_raw_days": "raw_days", "keep_minute_days": "minute_days"}
    names["keep_hour_days"] = "hour_days"
    return {
        field: getattr(args, opt) for opt, field in names.items() if getattr(args, opt) is not None
    }


def changed_retention(current: Retention, changes: dict[str, float]) -> Retention:
    """``current`` with the changes (``hour_days`` 0: for ever); a bad combination is a
    ``UsageArgsError`` naming the rule."""
    raw = changes.get("raw_days", current.raw_days)
    minute = changes.get("minute_days", current.minute_days)
    hours = changes.get("hour_days", current.hour_days)
    try:
        return Retention(raw, minute, None if hours == 0 else hours)
    except ValueError as exc:
        raise UsageArgsError(
            _("cannot keep usage history that way: {error}; nothing changed").format(error=exc)
        ) from None


def retention_json(value: Retention) -> dict[str, float | None]:
    """``{"raw_days": 7.0, "minute_days": 30.0, "hour_days": null}`` (null: for ever)."""
    return {
        "raw_days": value.raw_days,
        "minute_days": value.minute_days,
        "hour_days": value.hour_days,
    }


def _retention(lab: Labgpu, args: argparse.Namespace, changes: dict[str, float]) -> int:
    value = lab.usage.retention()
    if changes:
        value = changed_retention(value, changes)
        if not lab.members.can_manage():
            raise RefusedError(
                _("only a lab manager may change how long usage history is kept; ask one")
            )
        lab.usage.set_retention(value, lab.user)
    if args.json:
        output.print_json(retention_json(value))
        return 0
    hours = (
        _("for ever")
        if value.hour_days is None
        else _("{days} days").format(days=_days(value.hour_days))
    )
    print(_("raw samples     {days} days").format(days=_days(value.raw_days)))
    print(_("minute rollups  {days} days").format(days=_days(value.minute_days)))
    print(_("hourly rollups  {hours}").format(hours=hours))
    return 0


def _days(value: float) -> str:
    return f"{value:g}"
