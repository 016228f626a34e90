"""``labgpu users passwd [NAME]``: change your own password, or (managers) reset a member's."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from labgpu.cli import commands, output
from labgpu.cli.signin import environment_hint
from labgpu.core.errors import ConfigError, LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.services import Labgpu
from labgpu.services.members import signin

Sub = Any  # argparse's _SubParsersAction is private


def register(usub: Sub) -> None:
    """Add ``users passwd`` to the ``users`` commands."""
    p = usub.add_parser(
        "passwd",
        help="change your password; a manager gives NAME a new one-time password",
        description=(
            "Without NAME: change your own password (asked twice on a terminal; otherwise read "
            "from standard input, one line or the same line twice). If the old one was "
            "remembered in the OS keyring, the new one replaces it there. With NAME (lab "
            "managers): give that member a new one-time password, shown once; it expires like "
            "a new member's, except a service login's (the collector), which does not expire."
        ),
    )
    p.add_argument("name", nargs="?", help="the member whose password a manager resets")
    p.set_defaults(handler=run_passwd)


def run_passwd(args: argparse.Namespace) -> int:
    """Change your own password, or reset another member's (managers)."""

    def work(lab: Labgpu) -> int:
        name = (args.name or "").strip()
        if name and name != lab.user:
            return _reset(lab, name)
        signin.require_lab_database(lab, N_("changing a password"))
        new = _new_password(signin.min_password_length())
        remember = bool(getattr(args, "remember_password", False))
        try:
            kept = signin.change_own_password(lab, new, remember)
        except ConfigError as exc:
            print(_("labgpu: {error}").format(error=exc), file=sys.stderr)
            kept = False
        print(_("password changed for {user}; it does not expire").format(user=lab.user))
        if kept:
            print(_("the OS keyring remembers the new password"))
        hint = environment_hint()
        if hint:
            print(hint, file=sys.stderr)
        return 0

    return commands.with_lab(args, work)


def _reset(lab: Labgpu, name: str) -> int:
    new = signin.reset_password(lab, name)
    if new.valid_until is None:
        print(
            _("new password of service login {name} ({role})").format(name=new.name, role=new.role)
        )
        print(_("password (shown only now): {password}").format(password=new.password))
        print(_("it does not expire; put it in ~/.pgpass of the service's account"))
    else:
        print(_("new one-time password of {name} ({role})").format(name=new.name, role=new.role))
        print(_("one-time password (shown only now): {password}").format(password=new.password))
        print(
            _(
                "it expires {when}; the app asks for a new one at the "
                "first sign-in (`labgpu users passwd` on the command line)"
            ).format(when=output.iso(new.valid_until))
        )
    return 0


def _new_password(minimum: int) -> str:
    """The new password: asked twice, hidden, on a terminal; else read from standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(_("New password: "))
        _check_length(first, minimum)
        if getpass.getpass(_("Repeat it: ")) != first:
            raise LabgpuError(_("the two passwords differ; nothing changed"))
        return first
    lines = [line.rstrip("\r\n") for line in sys.stdin.readlines()[:3]]
    lines = [line for line in lines if line]
    if not lines:
        raise LabgpuError(
            _(
                "no new password: run `labgpu users passwd` on a terminal, or give the new "
                "password on standard input (one line, or the same line twice)"
            )
        )
    if len(lines) > 2 or len(set(lines)) > 1:
        raise LabgpuError(
            _(
                "standard input must hold the new password on one line, or the same line twice; "
                "nothing changed"
            )
        )
    _check_length(lines[0], minimum)
    return lines[0]


def _check_length(password: str, minimum: int) -> None:
    if len(password) < minimum:
        raise LabgpuError(
            _("a password needs at least {count} characters; nothing changed").format(count=minimum)
        )
