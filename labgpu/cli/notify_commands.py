"""``labgpu notify``: where the lab's collector reaches you, and about what (issue 17).

``show`` (the default) prints your settings; ``set`` changes them (``--email``, ``--webhook``,
``--mute KIND...``, ``--unmute KIND...``, ``--lead MIN``, ``--language``; an empty value
clears an address); ``test`` enqueues a test message to yourself (at most one a minute), sent
by the collector within its next minute. In a lab database you read and write only your own
row. Exit 2 for an unknown kind or a bad value.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import NotifySettings
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``notify`` command."""
    p = sub.add_parser("notify", help="your mail and chat notifications: show, set, test")
    p.add_argument("action", nargs="?", choices=("show", "set", "test"), default="show")
    p.add_argument("--email", metavar="ADDRESS", help="your e-mail address ('' clears it)")
    p.add_argument("--webhook", metavar="URL", help="a Slack-style incoming webhook ('' clears)")
    p.add_argument("--mute", nargs="+", metavar="KIND", default=[], help="turn event kinds off")
    p.add_argument("--unmute", nargs="+", metavar="KIND", default=[], help="turn them on again")
    p.add_argument("--lead", type=int, metavar="MIN", help="minutes before a booking's start/end")
    p.add_argument("--language", metavar="LANG", help="language of the texts: en or ko")
    p.add_argument("--json", action="store_true", help="a JSON object on stdout")
    p.set_defaults(handler=run_notify)


def changed(settings: NotifySettings, args: argparse.Namespace) -> NotifySettings:
    """``settings`` with ``set``'s options applied (an unknown kind is a ``UsageError``;
    ``lab.notify.save`` checks the values)."""
    for kind in (*args.mute, *args.unmute):
        if kind not in ev.MUTABLE:
            raise UsageError(
                _("unknown event kind {kind}; use one of: {kinds}").format(
                    kind=repr(kind), kinds=", ".join(ev.MUTABLE)
                )
            )
    new = settings
    if args.email is not None:
        new = replace(new, email=args.email.strip())
    if args.webhook is not None:
        new = replace(new, webhook_url=args.webhook.strip())
    if args.lead is not None:
        new = replace(new, lead_minutes=args.lead)
    if args.language is not None:
        new = replace(new, language=args.language.strip())
    muted = (set(new.muted) | set(args.mute)) - set(args.unmute)
    return replace(new, muted=tuple(k for k in ev.MUTABLE if k in muted))


def settings_json(settings: NotifySettings) -> dict[str, object]:
    """The settings as JSON (``muted`` a list; ``kinds``: every kind that can be muted)."""
    out = asdict(settings)
    out["muted"] = list(settings.muted)
    out["kinds"] = list(ev.MUTABLE)
    return out


def run_notify(args: argparse.Namespace) -> int:
    """Show, change or test your notification settings."""
    if args.action != "set" and (
        args.email is not None or args.webhook is not None or args.mute or args.unmute
        or args.lead is not None or args.language is not None
    ):  # fmt: skip
        raise UsageError(_("options like --email go with `labgpu notify set`"))

    def work(lab: Labgpu) -> int:
        notify = lab.notify
        settings = notify.settings()
        if args.action == "set":
            settings = notify.save(changed(settings, args))
        if args.action == "test":
            queued = notify.test()
            if args.json:
                output.print_json({"queued": queued, "settings": settings_json(settings)})
            elif queued and getattr(args, "demo", False):
                print(
                    _(
                        "a test message is queued, but the demo lab sends nothing (its collector "
                        "is simulated); in a lab database the collector sends it within a minute"
                    )
                )
            elif queued:
                print(_("a test message is queued; the collector sends it within a minute"))
            else:
                print(_("a test message was already queued this minute"))
            if not settings.addresses() and not args.json:
                print(_("you have no address yet: `labgpu notify set --email ADDRESS`"))
            return 0
        if args.json:
            output.print_json(settings_json(settings))
            return 0
        _print(settings)
        return 0

    return commands.with_lab(args, work)


def _print(s: NotifySettings) -> None:
    none = _("(none)")
    rows = [
        [_("e-mail"), s.email or none],
        [_("webhook"), s.webhook_url or none],
        [_("muted"), ", ".join(s.muted) or none],
        [_("lead"), _("{minutes} min").format(minutes=s.lead_minutes)],
        [_("language"), s.language or "en"],
    ]
    print(output.table(rows, [_("SETTING"), _("VALUE")]))
    print(_("event kinds: {kinds}").format(kinds=", ".join(ev.MUTABLE)))
