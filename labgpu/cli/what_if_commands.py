"""``labgpu usage --what-if "+8 A40"`` (issue 16, point 6): the period's slot requests replayed
on the lab with GPUs added or removed, beside what really happened. What the replay keeps and
places again, and why it is monotone with GPUs added, is in ``core/usage/what_if_replay.py``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from labgpu.cli import commands, output
from labgpu.cli.times import show_time
from labgpu.cli.usage_commands import check_alone, month_or_range, report_zone, text_table
from labgpu.core.i18n import N_, _
from labgpu.core.usage.figures import Table
from labgpu.core.usage.what_if import WhatIf
from labgpu.core.usage.what_if_change import parse_change
from labgpu.services import Labgpu

#: The rows of the comparison: (field of ``Figures``, what it is; marked, translated where shown).
ROWS = (
    ("requests", N_("requests the lab answered (rule refusals apart)")),
    ("no_slot", N_("of them, with no slot within the booking horizon")),
    ("wait_median_h", N_("median wait, hours (requests with a slot)")),
    ("wait_p90_h", N_("90th percentile wait, hours")),
    ("unmet_requests", N_("unmet: no slot within 30 minutes of the wanted start")),
    ("unmet_gpu_h", N_("unmet GPU-hours")),
    ("offloaded_gpu_h", N_("GPU-hours sent to clusters")),
    ("stayed_home_gpu_h", N_("GPU-hours that would have stayed home")),
)


def run_what_if(args: argparse.Namespace) -> int:
    """``labgpu usage --what-if CHANGE [--month M | --from/--to] [--json]``."""
    parse_change(args.what_if)  # a bad change is exit 2 before the lab opens
    _check(args)
    start, end = month_or_range(args, datetime.now(UTC))
    return commands.with_lab(args, lambda lab: _what_if(lab, args, start, end))


def _check(args: argparse.Namespace) -> None:
    check_alone(
        args,
        _("--what-if goes only with --month or --from/--to, and --json; run it apart"),
        args.csv,
        args.demand,
    )


def _what_if(lab: Labgpu, args: argparse.Namespace, start: datetime, end: datetime) -> int:
    result = lab.usage.what_if(args.what_if, start, end)
    if args.json:
        data = result.to_json()
        data.update({"from": _iso(result.start), "to": _iso(result.end)})
        output.print_json(data)
    else:
        for line in what_if_text(result):
            print(line)
    return 0


def _iso(moment: datetime) -> str:
    return moment.astimezone(report_zone()).isoformat(timespec="seconds")


def change_title(result: WhatIf) -> str:
    """``+8 NVIDIA A40 (52 -> 60 GPUs)``, or that the lab is replayed as it is."""
    if not result.changes:
        return _("no change ({gpus} GPUs): the lab replayed as it is").format(
            gpus=result.gpus_before
        )
    return _("{change} ({before} -> {after} GPUs)").format(
        change=", ".join(c.text() for c in result.changes),
        before=result.gpus_before,
        after=result.gpus_after,
    )


def what_if_text(result: WhatIf) -> list[str]:
    """The comparison as an aligned table, with what the replay leaves out."""
    lines = [
        _("What if: {change}").format(change=change_title(result)),
        _("slot requests asked from {start} to {end}").format(
            start=show_time(result.start), end=show_time(result.end)
        ),
    ]
    if result.happened.requests == 0:
        lines.append(_("no slot requests in this range: nothing to replay"))
        return lines
    columns = (_("figure"), _("happened"), _("replayed as is"), _("with the change"))
    rows = [
        (
            _(meaning),
            *(getattr(f, field) for f in (result.happened, result.replayed, result.changed)),
        )
        for field, meaning in ROWS
    ]
    lines.append(text_table(Table(columns, rows)))
    lines.append("")
    if result.refused:
        lines.append(
            _("not counted: requests a lab rule refused or held back ({n})").format(
                n=result.refused
            )
        )
    lines.append(
        _(
            "'replayed as is' is the replay without the change: where it differs from what "
            "happened, the replay could not know something (a server down, unbooked use)"
        )
    )
    if result.not_reproduced and result.method == "monotone":
        lines.append(
            _(
                "{n} requests the replay could not reproduce (it answered them worse than the "
                "lab did) keep what really happened in 'with the change', unless the change "
                "serves them sooner"
            ).format(n=result.not_reproduced)
        )
    elif result.not_reproduced:
        lines.append(
            _(
                "{n} requests the replay could not reproduce (it answered them worse than the "
                "lab did): with GPUs removed, their figures are the replay's"
            ).format(n=result.not_reproduced)
        )
    if result.method == "monotone":
        lines.append(
            _(
                "with GPUs added, a request only moves to time nobody else's slot needs: no "
                "wait grows, none exceeds what really happened, and the figures are what the "
                "GPUs would at least have changed"
            )
        )
    return lines
