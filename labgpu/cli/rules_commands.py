"""``labgpu rules``: show the lab's booking rules, or change some (manager; audited)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.booking.rules import BookingRules
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


def add_rules(sub: Sub) -> None:
    """``labgpu rules [--set KEY=VALUE ...] [--json]``."""
    p = sub.add_parser("rules", help="show or change the lab's booking rules (manager)")
    p.add_argument(
        "--set",
        dest="changes",
        action="extend",
        nargs="+",
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
        if isinstance(current, str):
            return text
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
