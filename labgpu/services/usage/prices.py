"""Prices per GPU model and what the lab's use would have cost elsewhere (``lab.usage.prices``,
issue 16 point 5).

Everyone reads prices; only managers set them (refused here, and in a lab database by its
roles as well). The cost figures are ``core/usage/cost.py``'s, fed with the evidence's GPU-hours
per model (``Evidence.demand``: served = booked, unserved, offloaded), so the cost a report shows
rests on the same GPU-hours ``labgpu usage --json`` prints.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.i18n import _
from labgpu.core.inventory.models import model_matches
from labgpu.core.usage.cost import (
    PRICE_HINT,
    CostReport,
    GpuPrice,
    ModelUse,
    attribute_jobs,
    check_price_value,
    cost_report,
)
from labgpu.core.usage.evidence import OFFLOAD_FOLLOW, Evidence

if TYPE_CHECKING:
    from labgpu.services.usage.service import UsageService

#: The fields a manager sets (``GpuPrice``'s names).
FIELDS = ("currency", "cloud_per_gpu_h", "cluster_per_gpu_h", "purchase_per_gpu")


class PricesService:
    """The lab's GPU prices and the cost figures of a period."""

    def __init__(self, usage: UsageService) -> None:
        self.usage = usage
        self.store = usage.store

    def list(self) -> list[GpuPrice]:
        """Every model with a price row, by name."""
        return self.store.prices.list()

    def models(self) -> builtins.list[str]:
        """The lab's GPU models and the models with a price, by name (what a manager prices)."""
        found = {g.model for g in self.store.inventory.list_gpus()}
        return sorted(found | {p.model for p in self.list()})

    def set(
        self, model: str, changes: Mapping[str, float | str | None], actor: str, role: str
    ) -> GpuPrice:
        """Set some of ``model``'s prices (None clears one); managers only (``role``, the
        signed-in member's: ``lab.members.role()``), audited. A negative or non-number price
        is a ``UsageError``."""
        if role != "manager":
            raise RefusedError(_("permission denied: only a lab manager can set GPU prices"))
        model = self.resolve(model)
        checked: dict[str, float | str | None] = {}
        for name, value in changes.items():
            if name not in FIELDS:
                raise UsageError(_("unknown price field {name}").format(name=repr(name)))
            try:
                checked[name] = check_price_value(name, value)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if checked.get("currency", "") is None:
            raise UsageError(_("a price's currency cannot be cleared; set another one"))
        return self.store.prices.set(model, checked, actor)

    def remove(self, model: str, actor: str, role: str) -> bool:
        """Forget ``model``'s prices (managers only, audited); False if it had none."""
        if role != "manager":
            raise RefusedError(_("permission denied: only a lab manager can set GPU prices"))
        return self.store.prices.remove(self.resolve(model), actor)

    def resolve(self, model: str) -> str:
        """The one model ``model`` names, matched word by word as ``--model`` is (``A40``
        names ``NVIDIA A40``): a price is only used under the exact name nvidia-smi gives, so a
        name that matches no model of the lab or several is a ``UsageError``, never a row of
        its own that no figure would read."""
        query = model.strip()
        if not query:
            raise UsageError(_("name the GPU model to price"))
        known = self.models()
        if query in known:
            return query
        found = [m for m in known if model_matches(query, m)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise UsageError(
                _("{model} is not a GPU model of the lab; price one of: {models}").format(
                    model=repr(query), models=", ".join(known) or _("(none yet)")
                )
            )
        raise UsageError(
            _("{model} names several GPU models: {models}; give the whole name").format(
                model=repr(query), models=", ".join(found)
            )
        )

    # -- cost --------------------------------------------------------------------------------

    def cost(self, start: datetime, end: datetime, evidence: Evidence | None = None) -> CostReport:
        """The cost figures of ``[start, end)`` (counted up to now), from ``evidence`` (read
        here if not given)."""
        found = evidence if evidence is not None else self.usage.evidence(start, end)
        hours = max(0.0, (found.until - found.start).total_seconds() / 3600)
        gpus = Counter(g.model for g in self.store.inventory.list_gpus())
        jobs = self.store.evidence.offloaded_jobs(found.start, found.until)
        asked = self.store.usage.requests(found.start - OFFLOAD_FOLLOW, found.until)
        run, unattributed = attribute_jobs(jobs, asked, sorted(gpus), OFFLOAD_FOLLOW)
        prices = {p.model: p for p in self.list()}
        return cost_report(uses(found, gpus, run), prices, hours, unattributed)


def uses(
    evidence: Evidence, gpus: Mapping[str, int], run: Mapping[str, float]
) -> builtins.list[ModelUse]:
    """Each model's GPUs and GPU-hours (served, offloaded, unserved; ``run`` on clusters) over
    the evidence's range, its months added up: the lab's models, and any other with use."""
    sums: dict[str, builtins.list[float]] = {m: [0.0, 0.0, 0.0] for m in gpus}
    for figure in evidence.demand:
        row = sums.setdefault(figure.model, [0.0, 0.0, 0.0])
        row[0] += figure.served_gpu_h
        row[1] += figure.offloaded_gpu_h
        row[2] += figure.unserved_gpu_h
    for model in run:
        sums.setdefault(model, [0.0, 0.0, 0.0])
    return [
        ModelUse(m, gpus.get(m, 0), v[0], v[1], v[2], run.get(m, 0.0))
        for m, v in sorted(sums.items())
        if m in gpus or any(v) or run.get(m)  # a model only refused by a rule: nothing to price
    ]


def price_hint(models: builtins.list[str]) -> str:
    """The line that says which models lack a price and where a manager sets one."""
    return _(PRICE_HINT).format(models=", ".join(models))
