"""Changing one booking (README *Using it*): cancel, end, extend, approve, reject. Another
member's booking is named and asked about first; each prints the booking as it now is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from labgpu.cli import commands, output
from labgpu.cli.booking_format import group_json, group_line, hosts_of
from labgpu.cli.times import time_arg
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.i18n import N_, _
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


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
    ext.add_argument("--until", type=time_arg, metavar="T", required=True)
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
            output.print_json(group_json(group, lab.bookings.gpus(), hosts_of(lab)))
        elif verb == "cancelled" and group.status is BookingStatus.RELEASED:
            print(group_line("ended", group))  # it had started: cancelling ended it now
        else:
            print(group_line(verb, group))
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
