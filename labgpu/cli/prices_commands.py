"""``labgpu prices``: what each GPU model costs elsewhere (issue 16, point 5): shown to
everyone, set by managers (audited). The usage report and ``labgpu usage --json``'s ``cost``
use them; without a price no cost is shown.

``--set MODEL KEY=VALUE...`` with KEY one of currency, cloud (per GPU-hour), cluster (per
GPU-hour), purchase (per GPU); VALUE ``none`` clears a price. ``--clear MODEL`` forgets all.
Exit 2 for a bad key or value, 3 when a member who is not a manager tries to change them.
"""

from __future__ import annotations

import argparse
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.usage.cost import PRICE_KEYS, GpuPrice, check_price_value
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``prices`` command."""
    p = sub.add_parser(
        "prices", help="GPU prices per model for the usage report's cost (set: manager)"
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--set",
        dest="changes",
        nargs="+",
        metavar="MODEL KEY=VALUE",
        help="MODEL then KEY=VALUE with KEY one of currency, cloud, cluster, purchase "
        "(e.g. --set 'NVIDIA A40' cloud=1.1 purchase=9000; VALUE none clears one)",
    )
    what.add_argument("--clear", metavar="MODEL", help="forget a model's prices")
    p.add_argument("--json", action="store_true", help="a JSON object on stdout")
    p.set_defaults(handler=run_prices)


def parse_changes(words: list[str]) -> tuple[str, dict[str, float | str | None]]:
    """``MODEL KEY=VALUE...`` as the model and ``{field: value}`` (``none``: None); a bad key
    or value is a ``UsageError`` (exit 2)."""
    model, pairs = words[0].strip(), words[1:]
    if not model or "=" in model:
        raise UsageError(_("--set takes the model first: --set MODEL KEY=VALUE..."))
    if not pairs:
        raise UsageError(
            _("--set {model} needs at least one KEY=VALUE (currency, cloud, cluster, purchase)")
            .format(model=model)
        )  # fmt: skip
    changes: dict[str, float | str | None] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        field = PRICE_KEYS.get(key.strip().lower())
        if not sep or field is None:
            raise UsageError(
                _("cannot read {pair}; use KEY=VALUE with KEY one of: {keys}").format(
                    pair=repr(pair), keys=", ".join(PRICE_KEYS)
                )
            )
        text = text.strip()
        if text.lower() == "none":
            changes[field] = None
            continue
        try:
            changes[field] = check_price_value(field, text)
        except ValueError as exc:
            raise UsageError(f"{key.strip()}: {exc}") from None
    return model, changes


def prices_json(lab: Labgpu) -> dict[str, object]:
    """Every price set, and the lab's models that have none."""
    prices = lab.usage.prices.list()
    priced = {p.model for p in prices}
    unpriced = [m for m in lab.usage.prices.models() if m not in priced]
    return {"prices": [p.as_dict() for p in prices], "unpriced_models": unpriced}


def run_prices(args: argparse.Namespace) -> int:
    """Show the prices, or change one model's (managers; audited) and show them."""
    parsed = parse_changes(args.changes) if args.changes else None

    def work(lab: Labgpu) -> int:
        service = lab.usage.prices
        if parsed is not None:
            service.set(parsed[0], parsed[1], lab.user, lab.members.role())
        elif args.clear is not None and not service.remove(
            args.clear, lab.user, lab.members.role()
        ):
            raise UsageError(
                _("{model} has no prices to clear; see `labgpu prices`").format(
                    model=repr(args.clear)
                )
            )
        if args.json:
            output.print_json(prices_json(lab))
            return 0
        _print_table(lab)
        return 0

    return commands.with_lab(args, work)


def _print_table(lab: Labgpu) -> None:
    prices = {p.model: p for p in lab.usage.prices.list()}
    rows = [_row(prices.get(m, GpuPrice(m, currency=""))) for m in lab.usage.prices.models()]
    header = [
        _("MODEL"),
        _("CURRENCY"),
        _("CLOUD/GPU-H"),
        _("CLUSTER/GPU-H"),
        _("PURCHASE/GPU"),
        _("SET BY"),
    ]
    print(output.table(rows, header))
    if any(m not in prices for m in lab.usage.prices.models()):
        print()
        print(
            _(
                "a model without a price shows no cost; a manager sets one with "
                "`labgpu prices --set MODEL cloud=… purchase=…` or Usage ▸ Prices…"
            )
        )


def _row(price: GpuPrice) -> list[str]:
    def money(value: float | None) -> str:
        return "-" if value is None else f"{value:,.2f}"

    return [
        price.model,
        price.currency or "-",
        money(price.cloud_per_gpu_h),
        money(price.cluster_per_gpu_h),
        money(price.purchase_per_gpu),
        price.updated_by or "-",
    ]
