"""Booking sub-commands (README *Using it*): book, slots, bookings here; cancel, end, extend,
approve, reject in ``booking_change_commands``; rules in ``rules_commands``. ``register`` adds
them all. Times are ISO 8601 in local time unless they carry an offset; shown in local time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from labgpu.cli import (
    booking_change_commands,
    commands,
    output,
    project_commands,
    rules_commands,
    use_commands,
)
from labgpu.cli.booking_format import group_json, group_line, hosts_of, slot_json
from labgpu.cli.times import show_time, time_arg
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.errors import LabgpuError, UsageError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu
from labgpu.services import Labgpu
from labgpu.services.booking.service import groups_of

Sub = Any  # argparse's _SubParsersAction is private


_hours_arg = commands.bounded_arg(
    float,
    N_("a number of hours"),
    lambda v: v > 0,
    N_("the duration must be more than 0 hours, not {text}"),
)
_count_arg = commands.bounded_arg(
    int, N_("a whole number of GPUs"), lambda v: v >= 1, N_("ask for at least 1 GPU, not {text}")
)


def usage_error(message: str) -> int:
    """Contradictory input (the CLI contract, README *Using it*): the reason on stderr, exit 2."""
    print(_("labgpu: {error}").format(error=message), file=sys.stderr)
    return 2


def gpu_ids_by_name(names: Sequence[str], gpus: Sequence[Gpu]) -> list[int]:
    """``SERVER:INDEX`` names as GPU ids; a name not of that form is a usage error (exit 2), an
    unknown one a request the lab cannot serve (exit 1)."""
    malformed = [n for n in names if ":" not in n or not n.rpartition(":")[2].isdigit()]
    if malformed:
        raise UsageError(
            _("{gpus}: give each GPU as SERVER:INDEX, e.g. gpu05:2").format(
                gpus=", ".join(malformed)
            )
        )
    known = {f"{g.server_name}:{g.index}": g.id for g in gpus if g.id is not None}
    missing = [n for n in names if n not in known]
    if missing:
        raise LabgpuError(
            _("no GPU {gpus} in the lab; `labgpu status` lists them as SERVER:INDEX").format(
                gpus=", ".join(missing)
            )
        )
    return [known[n] for n in names]


# -- book / slots ------------------------------------------------------------------------------


def add_book(sub: Sub) -> None:
    """``labgpu book --model M --count K (--hours H | --until T) [--start T | --earliest]``."""
    p = sub.add_parser("book", help="book GPUs of a model, or named GPUs")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="GPU model, e.g. A4000 or 'NVIDIA A40'")
    what.add_argument(
        "--gpu", action="append", metavar="SERVER:INDEX", help="this GPU, e.g. gpu05:2 (repeatable)"
    )
    p.add_argument("--count", type=_count_arg, default=1, help="how many GPUs (default 1)")
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--hours", type=_hours_arg)
    length.add_argument("--until", type=time_arg, metavar="T", help="end time")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--start", type=time_arg, metavar="T", help="start time (default: now)")
    when.add_argument("--earliest", action="store_true", help="the earliest free slot")
    p.add_argument("--same-server", action="store_true", help="all GPUs on one server")
    p.add_argument("--note", default="", help="what it is for (shown on the calendar)")
    project_commands.add_project_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_book)


def run_book(args: argparse.Namespace) -> int:
    """Book the GPUs, print the booking (or refuse with the reason, exit 3)."""
    if args.earliest and args.until is not None:
        return usage_error(_("--earliest needs --hours (an end time fixes the start)"))
    if args.gpu and (args.earliest or args.same_server or args.count != 1):
        return usage_error(
            _("--gpu names the GPUs: give it without --count, --earliest, --same-server")
        )
    start = args.start or datetime.now(UTC)
    if args.until is not None and args.until <= start:
        return usage_error(
            _("the end ({end}) is not after the start ({start})").format(
                end=show_time(args.until), start=show_time(start)
            )
        )

    def work(lab: Labgpu) -> int:
        project = lab.projects.check(project_commands.chosen_project(lab, args))
        if args.gpu:
            end = args.until or start + timedelta(hours=args.hours)
            gpu_ids = gpu_ids_by_name(args.gpu, lab.inventory.list_gpus())
            group = lab.bookings.book(gpu_ids, start, end, args.note, project)
        elif args.earliest:
            group = lab.bookings.book_earliest(
                args.model,
                args.count,
                timedelta(hours=args.hours),
                same_server=args.same_server,
                note=args.note,
                project=project,
            )
        else:
            end = args.until or start + timedelta(hours=args.hours)
            group = lab.bookings.book_model(
                args.model,
                args.count,
                start,
                end,
                same_server=args.same_server,
                note=args.note,
                project=project,
            )
        if args.json:
            output.print_json(group_json(group, lab.bookings.gpus(), hosts_of(lab)))
        else:
            print(
                group_line(
                    "requested" if group.status is BookingStatus.PENDING else "booked", group
                )
            )
        return 0

    return commands.with_lab(args, work)


def add_slots(sub: Sub) -> None:
    """``labgpu slots --model M --count K --hours H [--after T]``."""
    p = sub.add_parser("slots", help="earliest windows in which GPUs are free; books nothing")
    p.add_argument("--model", required=True)
    p.add_argument("--count", type=_count_arg, default=1)
    p.add_argument("--hours", type=_hours_arg, required=True)
    p.add_argument("--after", type=time_arg, metavar="T", help="not before (default: now)")
    p.add_argument("--deadline", type=time_arg, metavar="T", help="must end by")
    p.add_argument("--same-server", action="store_true")
    project_commands.add_project_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_slots)


def run_slots(args: argparse.Namespace) -> int:
    """List the earliest feasible slots; none before the deadline is a failure (exit 1)."""
    if args.after is not None and args.deadline is not None and args.deadline <= args.after:
        return usage_error(
            _("the deadline ({deadline}) is not after --after ({after})").format(
                deadline=show_time(args.deadline), after=show_time(args.after)
            )
        )

    def work(lab: Labgpu) -> int:
        options = lab.bookings.find_slots(
            args.model,
            args.count,
            timedelta(hours=args.hours),
            after=args.after,
            deadline=args.deadline,
            same_server=args.same_server,
            project=project_commands.chosen_project(lab, args),
        )
        gpus = lab.bookings.gpus()
        if args.json:
            output.print_json([slot_json(o, gpus, hosts_of(lab)) for o in options])
        if not options:
            message = (
                _(
                    "labgpu: no {count} x {model} free together for {hours} h before the "
                    "deadline; try fewer GPUs, a shorter time or later"
                )
                if args.deadline is not None
                else _(
                    "labgpu: no {count} x {model} free together for {hours} h before the "
                    "booking horizon; try fewer GPUs, a shorter time or later"
                )
            )
            print(
                message.format(count=args.count, model=args.model, hours=f"{args.hours:g}"),
                file=sys.stderr,
            )
            return 1
        if args.json:
            return 0
        labels = {i: f"{g.server_name}:{g.index}" for i, g in gpus.items()}
        rows = [
            [
                show_time(o.start),
                show_time(o.end),
                ", ".join(labels.get(i, f"#{i}") for i in o.gpu_ids),
            ]
            for o in options
        ]
        print(output.table(rows, ["START", "END", "GPUS"]))
        return 0

    return commands.with_lab(args, work)


# -- listing -----------------------------------------------------------------------------------


def add_bookings(sub: Sub) -> None:
    """``labgpu bookings [--mine] [--from T] [--to T] [--json] [--ics FILE]``."""
    p = sub.add_parser("bookings", help="bookings of the lab (or yours)")
    p.add_argument("--mine", action="store_true", help="only my bookings")
    p.add_argument(
        "--from", dest="start", type=time_arg, metavar="T",
        help="default: now (with --ics: all of mine, or the lab's from this week's Monday)",
    )  # fmt: skip
    p.add_argument("--to", dest="end", type=time_arg, metavar="T")
    p.add_argument("--all", action="store_true", help="include cancelled ones")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--ics", type=Path, metavar="FILE",
        help="write an iCalendar file (into an existing folder) instead, with alarms",
    )  # fmt: skip
    p.add_argument(
        "--remind", type=_minutes_arg, default=15, metavar="MINUTES",
        help="the .ics alarms' lead before a booking starts (default 15; 0: no alarm)",
    )  # fmt: skip
    p.set_defaults(handler=run_bookings)


_minutes_arg = commands.bounded_arg(
    int,
    N_("a whole number of minutes"),
    lambda v: v >= 0,
    N_("the lead must be 0 minutes or more, not {text}"),
)


def run_bookings(args: argparse.Namespace) -> int:
    """Bookings overlapping the span, grouped, by start."""
    if args.start is not None and args.end is not None and args.end <= args.start:
        return usage_error(
            _("--to ({end}) is not after --from ({start})").format(
                end=show_time(args.end), start=show_time(args.start)
            )
        )
    start = args.start or datetime.now(UTC)
    if args.end is not None and args.end <= start:
        return usage_error(
            _("--to ({end}) is not after now; give --from too").format(end=show_time(args.end))
        )

    def work(lab: Labgpu) -> int:
        if args.ics is not None:
            lead = timedelta(minutes=args.remind)  # 0: no alarm
            count = lab.bookings.export_ics(args.ics, args.mine, args.start, args.end, lead)
            if args.json:
                output.print_json({"ics": str(args.ics), "bookings": count})
            else:
                print(_("wrote {count} booking(s) to {path}").format(count=count, path=args.ics))
            return 0
        groups = groups_of(lab.bookings.between(start, args.end, mine=args.mine))
        if not args.all:
            groups = [g for g in groups if g.status is not BookingStatus.CANCELLED]
        if args.json:
            gpus = lab.bookings.gpus()
            hosts = hosts_of(lab)
            output.print_json([group_json(g, gpus, hosts) for g in groups])
            return 0
        rows = [
            [
                g.group_id[:8],
                g.user,
                g.status.value,
                show_time(g.window.start),
                show_time(g.window.end),
                ", ".join(g.gpu_labels),
                g.note,
            ]
            for g in groups
        ]
        print(output.table(rows, ["ID", "USER", "STATUS", "START", "END", "GPUS", "NOTE"]))
        return 0

    return commands.with_lab(args, work)


def register(sub: Sub) -> None:
    """Every booking sub-command."""
    add_book(sub)
    add_slots(sub)
    add_bookings(sub)
    use_commands.add_use(sub)
    booking_change_commands.add_changes(sub)
    rules_commands.add_rules(sub)
