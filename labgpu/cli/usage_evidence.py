"""``labgpu usage --demand`` (issue 16): the GPU-hours a national or department demand survey
asks for, per GPU model and month — served (booked), unserved (asked for and not available in
time), offloaded (asked for, then sent to a cluster) and refused by a lab rule. The definitions
are in ``core/usage/evidence.py``; ``labgpu usage --json`` carries the same figures and the
waits, clusters' queues and saturation under ``"evidence"``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from labgpu.cli import commands, output
from labgpu.cli.times import show_time
from labgpu.cli.usage_commands import (
    UsageArgsError,
    check_alone,
    month_or_range,
    report_zone,
    text_table,
)
from labgpu.core.i18n import N_, _
from labgpu.core.usage.evidence import DEMAND_COLUMNS, Evidence
from labgpu.core.usage.figures import Table
from labgpu.services import Labgpu

#: What each column of the survey means (marked with ``N_``: translated where shown).
DEMAND_MEANINGS = {
    "served_gpu_hours": N_("GPU-hours booked (held bookings, up to now)"),
    "unserved_gpu_hours": N_(
        "GPU-hours asked for that the lab had no GPUs for within 30 minutes of the wanted start, "
        "and that the member neither booked later nor sent to a cluster"
    ),
    "offloaded_gpu_hours": N_(
        "GPU-hours asked for and not served, then sent to a cluster by the member within 24 h"
    ),
    "refused_gpu_hours": N_("GPU-hours asked for that a lab rule refused (longest booking, quota)"),
}


def run_demand(args: argparse.Namespace) -> int:
    """``labgpu usage --demand [--month M | --from/--to] [--json | --csv]``."""
    _check(args)
    start, end = month_or_range(args, datetime.now(UTC))
    return commands.with_lab(args, lambda lab: _demand(lab, args, start, end))


def _check(args: argparse.Namespace) -> None:
    if args.csv and args.json:
        raise UsageArgsError(_("choose one of --csv and --json"))
    check_alone(
        args,
        _("--demand goes only with --month or --from/--to, and --json or --csv; run it apart"),
    )


def _demand(lab: Labgpu, args: argparse.Namespace, start: datetime, end: datetime) -> int:
    zone = report_zone()
    evidence = lab.usage.evidence(start, end, zone)
    if args.json:
        output.print_json(demand_json(evidence))
    elif args.csv:
        sys.stdout.write(evidence.demand_csv())
    else:
        for line in demand_text(evidence):
            print(line)
    return 0


def demand_json(evidence: Evidence) -> dict[str, object]:
    """``--demand --json``: the range, where its figures stop, and one row per model and month."""
    return {
        "from": _iso(evidence.start),
        "to": _iso(evidence.end),
        "until": _iso(evidence.until),
        "partial": evidence.until < evidence.end,
        "rows": [d.to_json() for d in evidence.demand],
    }


def demand_text(evidence: Evidence) -> list[str]:
    """The survey as an aligned table with what each column means."""
    lines = [
        _("GPU-hours needed per GPU model and month, from {start} to {end}").format(
            start=show_time(evidence.start), end=show_time(evidence.end)
        )
    ]
    if evidence.until < evidence.end:
        lines.append(
            _("the range runs into the future: figures count up to now ({now})").format(
                now=show_time(evidence.until)
            )
        )
    if not evidence.demand:
        lines.append(_("no bookings and no slot requests in this range"))
        return lines
    lines.append(text_table(Table(DEMAND_COLUMNS, evidence.demand_rows())))
    lines.append("")
    for column, meaning in DEMAND_MEANINGS.items():
        lines.append(f"  {column.replace('_gpu_hours', ''):<11} {_(meaning)}")
    return lines


def _iso(moment: datetime) -> str:
    return moment.astimezone(report_zone()).isoformat(timespec="seconds")


def evidence_json(lab: Labgpu, start: datetime, end: datetime) -> dict[str, object]:
    """The ``"evidence"`` object of ``labgpu usage --json`` (months cut in the local zone)."""
    evidence = lab.usage.evidence(start, end, report_zone())
    data = evidence.to_json()
    data.update({"from": _iso(start), "to": _iso(end), "until": _iso(evidence.until)})
    return data
