"""Booking sub-commands (README *Using it*): book, slots, bookings, cancel, end, extend,
approve, reject, rules. Times are ISO 8601 in local time unless they carry an offset; shown in
local time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from labgpu.cli import commands, output
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView, BookingRules, BookingView
from labgpu.core.booking.slots import SlotOption
from labgpu.core.errors import LabgpuError, UsageError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu
from labgpu.services import Labgpu
from labgpu.services.booking.service import groups_of

Sub = Any  # argparse's _SubParsersAction is private


# -- times -------------------------------------------------------------------------------------


def local_zone() -> tzinfo | None:
    """The IANA zone named by ``TZ``, or None to use the system's local time rules."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def parse_time(text: str, zone: tzinfo | None = None) -> datetime:
    """ISO 8601 (``2026-12-01T10:00``, ``... +09:00``, ``...Z``) or ``now``, as aware UTC.

    A naive time is local (``zone``, else ``TZ``, else the system's); one that does not exist
    there (skipped by a daylight-saving jump) is refused rather than guessed.
    """
    text = text.strip()
    zone = zone or local_zone()
    if text.lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            _(
                "{text} is not a time; write ISO 8601 like 2026-12-01T14:00 (local) "
                "or 2026-12-01T14:00+09:00"
            ).format(text=repr(text))
        ) from None
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()
        back = local.astimezone(UTC).astimezone(local.tzinfo if zone else None)
        if back.replace(tzinfo=None) != moment:
            raise argparse.ArgumentTypeError(
                _(
                    "{text} does not exist in local time (the clocks jump forward then); "
                    "choose another time or give an offset"
                ).format(text=text)
            )
        moment = local
    return moment.astimezone(UTC)


def show_time(moment: datetime) -> str:
    """A moment in local time for a person: ``2026-12-01 14:00 KST``."""
    zone = local_zone()
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _time_arg(text: str) -> datetime:
    return parse_time(text)


_hours_arg = commands.bounded_arg(
    float,
    N_("a number of hours"),
    lambda v: v > 0,
    N_("the duration must be more than 0 hours, not {text}"),
)
_count_arg = commands.bounded_arg(
    int, N_("a whole number of GPUs"), lambda v: v >= 1, N_("ask for at least 1 GPU, not {text}")
)


# -- plumbing ----------------------------------------------------------------------------------


def gpu_json(gpu: Gpu | None, label: str = "") -> dict[str, Any]:
    """A GPU as JSON names it (README *Using it*): server, index and uuid, not labgpu's
    internal id."""
    if gpu is None:  # a GPU no longer registered: its label is all that is known
        server, _colon, index = label.rpartition(":")
        return {
            "gpu": label,
            "server": server,
            "index": int(index) if index.isdigit() else None,
            "uuid": None,
            "model": "",
        }
    return {
        "gpu": f"{gpu.server_name}:{gpu.index}",
        "server": gpu.server_name,
        "index": gpu.index,
        "uuid": gpu.uuid,
        "model": gpu.model,
    }


def view_json(view: BookingView, gpus: Mapping[int, Gpu]) -> dict[str, Any]:
    """One booked GPU in ``--json`` output."""
    out = gpu_json(gpus.get(view.gpu_id), view.gpu_label)
    out.update(booking_id=view.id, gpu=view.gpu_label, server=view.server, model=view.model)
    return out


def group_json(group: BookingGroupView, gpus: Mapping[int, Gpu]) -> dict[str, Any]:
    """One booking group in ``--json`` output (times in UTC, ISO 8601)."""
    return {
        "group_id": group.group_id,
        "user": group.user,
        "status": group.status.value,
        "start": output.iso(group.window.start),
        "end": output.iso(group.window.end),
        "note": group.note,
        "gpus": [view_json(v, gpus) for v in group.gpus],
    }


def slot_json(option: SlotOption, gpus: Mapping[int, Gpu]) -> dict[str, Any]:
    """One slot of ``labgpu slots --json``."""
    return {
        "start": output.iso(option.start),
        "end": output.iso(option.end),
        "gpus": [gpu_json(gpus.get(i), f"#{i}") for i in option.gpu_ids],
        "servers": list(option.servers),
    }


def usage_error(message: str) -> int:
    """Contradictory input (the CLI contract, README *Using it*): the reason on stderr, exit 2."""
    print(_("labgpu: {error}").format(error=message), file=sys.stderr)
    return 2


def gpu_ids_by_name(names: Sequence[str], gpus: Sequence[Gpu]) -> list[int]:
    """``SERVER:INDEX`` names as GPU ids; an unknown name is a request the lab cannot serve."""
    known = {f"{g.server_name}:{g.index}": g.id for g in gpus if g.id is not None}
    missing = [n for n in names if n not in known]
    if missing:
        raise LabgpuError(
            _("no GPU {gpus} in the lab; `labgpu status` lists them as SERVER:INDEX").format(
                gpus=", ".join(missing)
            )
        )
    return [known[n] for n in names]


_LINES = {
    "booked": N_("booked {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "requested": N_("requested {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "cancelled": N_("cancelled {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "ended": N_("ended {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "extended": N_("extended {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "approved": N_("approved {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "rejected": N_("rejected {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
}


def _group_line(verb: str, group: BookingGroupView) -> str:
    """``booked 2 GPU(s) (…) from … to …; booking ID``; ``verb``: a key of ``_LINES``."""
    line = _(_LINES[verb]).format(
        count=len(group.gpus),
        gpus=", ".join(group.gpu_labels),
        start=show_time(group.window.start),
        end=show_time(group.window.end),
        id=group.group_id,
    )
    if group.status is BookingStatus.PENDING:
        line += _(" (pending: waits for a PI or manager to approve)")
    return line


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
    length.add_argument("--until", type=_time_arg, metavar="T", help="end time")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--start", type=_time_arg, metavar="T", help="start time (default: now)")
    when.add_argument("--earliest", action="store_true", help="the earliest free slot")
    p.add_argument("--same-server", action="store_true", help="all GPUs on one server")
    p.add_argument("--note", default="", help="what it is for (shown on the calendar)")
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
        if args.gpu:
            end = args.until or start + timedelta(hours=args.hours)
            group = lab.bookings.book(
                gpu_ids_by_name(args.gpu, lab.inventory.list_gpus()), start, end, args.note
            )
        elif args.earliest:
            group = lab.bookings.book_earliest(
                args.model,
                args.count,
                timedelta(hours=args.hours),
                same_server=args.same_server,
                note=args.note,
            )
        else:
            end = args.until or start + timedelta(hours=args.hours)
            group = lab.bookings.book_model(
                args.model, args.count, start, end, same_server=args.same_server, note=args.note
            )
        if args.json:
            output.print_json(group_json(group, lab.bookings.gpus()))
        else:
            print(
                _group_line(
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
    p.add_argument("--after", type=_time_arg, metavar="T", help="not before (default: now)")
    p.add_argument("--deadline", type=_time_arg, metavar="T", help="must end by")
    p.add_argument("--same-server", action="store_true")
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
        )
        gpus = lab.bookings.gpus()
        if args.json:
            output.print_json([slot_json(o, gpus) for o in options])
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
        "--from", dest="start", type=_time_arg, metavar="T",
        help="default: now (with --ics: all of mine, or the lab's from this week's Monday)",
    )  # fmt: skip
    p.add_argument("--to", dest="end", type=_time_arg, metavar="T")
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
            output.print_json([group_json(g, gpus) for g in groups])
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


# -- changing one booking ----------------------------------------------------------------------


def add_changes(sub: Sub) -> None:
    """``cancel``, ``end``, ``extend ID --until T``, ``approve``, ``reject ID --reason R``."""
    help_id = "booking id: the group id (or its first 8 characters) or one booking's number"
    for name, text, handler in (
        ("cancel", "cancel a booking (ends it now if it has started)", run_cancel),
        ("end", "end an active booking early", run_end),
        ("approve", "approve a pending request (PI or manager)", run_approve),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("booking_id", metavar="BOOKING_ID", help=help_id)
        if name != "approve":
            p.add_argument("--yes", action="store_true", help=YES_HELP)
        p.add_argument("--json", action="store_true", help="the booking as JSON")
        p.set_defaults(handler=handler)
    ext = sub.add_parser("extend", help="move a booking's end later")
    ext.add_argument("booking_id", metavar="BOOKING_ID", help=help_id)
    ext.add_argument("--until", type=_time_arg, metavar="T", required=True)
    ext.add_argument("--yes", action="store_true", help=YES_HELP)
    ext.add_argument("--json", action="store_true", help="the booking as JSON")
    ext.set_defaults(handler=run_extend)
    rej = sub.add_parser("reject", help="reject a pending request with a reason (PI or manager)")
    rej.add_argument("booking_id", metavar="BOOKING_ID", help=help_id)
    rej.add_argument("--reason", required=True)
    rej.add_argument("--json", action="store_true", help="the booking as JSON")
    rej.set_defaults(handler=run_reject)


def _change(args: argparse.Namespace, verb: str, act: Callable[[Labgpu, str], object]) -> int:
    def work(lab: Labgpu) -> int:
        group_id = lab.bookings.group(args.booking_id).group_id
        declined = _ask_if_not_mine(lab, args, group_id, verb)
        if declined is not None:
            return declined
        act(lab, group_id)
        group = lab.bookings.group(group_id)
        if getattr(args, "json", False):
            output.print_json(group_json(group, lab.bookings.gpus()))
        else:
            print(_group_line(verb, group))
        return 0

    return commands.with_lab(args, work)


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a booking group."""
    return _change(args, "cancelled", lambda lab, gid: lab.bookings.cancel(gid))


def run_end(args: argparse.Namespace) -> int:
    """End a booking group now."""
    return _change(args, "ended", lambda lab, gid: lab.bookings.end_early(gid))


def run_approve(args: argparse.Namespace) -> int:
    """Approve a pending request."""
    return _change(args, "approved", lambda lab, gid: lab.bookings.approve(gid))


def run_reject(args: argparse.Namespace) -> int:
    """Reject a pending request."""
    return _change(args, "rejected", lambda lab, gid: lab.bookings.reject(gid, args.reason))


def run_extend(args: argparse.Namespace) -> int:
    """Extend a booking group."""
    return _change(args, "extended", lambda lab, gid: lab.bookings.extend(gid, args.until))


YES_HELP = "change another member's booking without asking (needed off a terminal)"
#: The changes that ask first when the booking is another member's (the verb in the past).
ASKS_FIRST = {"cancelled": N_("cancel"), "ended": N_("end"), "extended": N_("extend")}


def _ask_if_not_mine(lab: Labgpu, args: argparse.Namespace, group_id: str, verb: str) -> int | None:
    """Another member's booking that this user may change (single seat: anyone's) is named
    and asked about first on a terminal, or needs ``--yes`` off one (exit 2); declined: 1.
    ``None``: go on. A change the user may not make is left to the service to refuse."""
    what = ASKS_FIRST.get(verb)
    if what is None or getattr(args, "yes", False):
        return None
    service = lab.bookings
    group = service.group(group_id)
    role = service.role()
    if group.user == lab.user or not (role == "manager" or (role == "pi" and what != "extend")):
        return None
    named = _("booking {id} ({gpus}, {window}) is {user}'s, not yours").format(
        id=group.group_id,
        gpus=", ".join(group.gpu_labels),
        window=group.window.text(),
        user=group.user,
    )
    if not sys.stdin.isatty():
        print(
            _("labgpu: {named}; add --yes to {what} it").format(named=named, what=_(what)),
            file=sys.stderr,
        )
        return 2
    question = _("{named}. {what} it? [y/N] ").format(named=named, what=_(what).capitalize())
    print(question, end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return None
    print(
        _("nothing changed; {user}'s booking stays as it was").format(user=group.user),
        file=sys.stderr,
    )
    return 1


# -- rules -------------------------------------------------------------------------------------


def add_rules(sub: Sub) -> None:
    """``labgpu rules [--set KEY=VALUE ...] [--json]``."""
    p = sub.add_parser("rules", help="show or change the lab's booking rules (manager)")
    p.add_argument(
        "--set",
        dest="changes",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="e.g. max_hours=48, weekly_quota_gpu_hours=none, model_weights=A40=3,A100=2",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_rules)


def rules_json(rules: BookingRules) -> dict[str, Any]:
    """The rules as JSON (model weights as an object)."""
    data = dataclasses.asdict(rules)
    data["model_weights"] = dict(rules.model_weights)
    data["approval_models"] = list(rules.approval_models)
    return data


def apply_changes(rules: BookingRules, changes: Sequence[str]) -> BookingRules:
    """``rules`` with ``KEY=VALUE`` changes applied; a bad key or value is a ``LabgpuError``."""
    fields = {f.name: f for f in dataclasses.fields(BookingRules)}
    updates: dict[str, Any] = {}
    for change in changes:
        key, sep, value = change.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise UsageError(
                _("cannot read --set {change}; use KEY=VALUE with KEY one of: {keys}").format(
                    change=repr(change), keys=", ".join(fields)
                )
            )
        updates[key] = _rule_value(key, value.strip(), getattr(rules, key))
    return dataclasses.replace(rules, **updates)


def _rule_value(key: str, text: str, current: object) -> object:
    try:
        if key == "model_weights":
            pairs = [p.rpartition("=") for p in text.split(",") if p.strip()]
            return tuple((m.strip(), float(w)) for m, _eq, w in pairs)
        if key == "approval_models":
            return tuple(m.strip() for m in text.split(",") if m.strip())
        if key == "weekly_quota_gpu_hours":
            return None if text.lower() in ("none", "off", "") else float(text)
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "on", "yes", "1")
        if isinstance(current, int):
            return int(text)
        return float(text)
    except ValueError:
        raise UsageError(
            _("cannot read {key}={text}; see `labgpu rules --help`").format(
                key=key, text=repr(text)
            )
        ) from None


def run_rules(args: argparse.Namespace) -> int:
    """Show the rules, or change some (audited) and show the result."""

    def work(lab: Labgpu) -> int:
        rules = lab.rules.current()
        if args.changes:
            rules = apply_changes(rules, args.changes)
            lab.rules.save(rules)
        if args.json:
            output.print_json(rules_json(rules))
            return 0
        for key, value in rules_json(rules).items():
            print(f"{key} = {value}")
        return 0

    return commands.with_lab(args, work)


def register(sub: Sub) -> None:
    """Every booking sub-command."""
    add_book(sub)
    add_slots(sub)
    add_bookings(sub)
    add_changes(sub)
    add_rules(sub)
