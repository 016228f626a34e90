"""``labgpu use ID`` (README *Using it*): where to log in for a booking, and the environment
that shows a job exactly its GPUs (by uuid, in PCI bus order)."""

from __future__ import annotations

import argparse
from typing import Any

from labgpu.cli import commands, output
from labgpu.cli.booking_format import gpu_json
from labgpu.cli.times import show_time
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.use import UsePlan
from labgpu.core.i18n import _
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


def add_use(sub: Sub) -> None:
    """``use BOOKING_ID [--json]``."""
    p = sub.add_parser(
        "use", help="how to use a booking: the ssh line and the environment for its GPUs"
    )
    p.add_argument(
        "booking_id",
        metavar="BOOKING_ID",
        help="booking id: the group id (or its first 8 characters) or one booking's number",
    )
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(handler=run_use)


def run_use(args: argparse.Namespace) -> int:
    """Print how to use the booking's GPUs, per server."""

    def work(lab: Labgpu) -> int:
        plan = lab.bookings.use(args.booking_id)
        if args.json:
            output.print_json(use_json(plan))
        else:
            print(use_text(plan))
        return 0

    return commands.with_lab(args, work)


def use_json(plan: UsePlan) -> dict[str, Any]:
    """``labgpu use --json``: the booking, and per server its host, ssh line, environment and
    GPUs (server, index, uuid)."""
    group = plan.group
    return {
        "group_id": group.group_id,
        "user": group.user,
        "status": group.status.value,
        "start": output.iso(group.window.start),
        "end": output.iso(group.window.end),
        "servers": [
            {
                "server": use.server,
                "host": use.host,
                "ssh": use.ssh,
                "environment": use.environment,
                "export": use.exports,
                "gpus": [gpu_json(g, hosts={use.server: use.host}) for g in use.gpus],
            }
            for use in plan.servers
        ],
    }


def use_text(plan: UsePlan) -> str:
    """A heading per server, then the two lines to paste: log in, then set the environment."""
    group = plan.group
    lines = [
        _("booking {id} of {user}, {start} to {end}:").format(
            id=group.group_id,
            user=group.user,
            start=show_time(group.window.start),
            end=show_time(group.window.end),
        )
    ]
    if group.status is BookingStatus.PENDING:
        lines.append(_("  (pending: waits for a PI or manager to approve)"))
    for use in plan.servers:
        labels = ", ".join(f"{use.server}:{g.index}" for g in use.gpus)
        lines.append(_("  {server} ({gpus}):").format(server=use.server, gpus=labels))
        lines.append(f"    {use.ssh}")
        lines.append(f"    {use.exports}")
    return "\n".join(lines)
