"""What the lab's GPU time would have cost elsewhere, from the prices a manager set (issue 16).

Pure figures, no price invented: a model without a price has no cost (None), and the reader is
told where to set one (``PRICE_HINT``).

- *Cloud cost*: the GPU-hours the lab provided (booked GPU-hours of the model: what members
  were given, used or not) × the model's cloud price per GPU-hour.
- *Cluster cost*: the GPU-hours the model's offloaded jobs ran on clusters × its cluster rate
  per GPU-hour. A job counts for the model its GPU type names, else for the model of the
  member's latest unmet request asked at most ``follow`` before it was submitted (the
  evidence's rule); a job neither places is left out and counted apart (``attribute_jobs``).
- *Payback*: buying ``n`` GPUs of a model would have served the period's unserved GPU-hours of
  that model (unmet + offloaded), at most ``n`` × the period's hours; valued at the cloud
  price that is what those GPUs save per period. Buying them pays for itself in
  ``purchase × n / (min(unserved, n × hours) × cloud)`` periods (months, for a month). ``n``
  shown by default is the fewest GPUs that serve all of it: ``ceil(unserved / hours)``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from labgpu.core.i18n import N_, _
from labgpu.core.usage.evidence import OffloadedJob
from labgpu.core.usage.figures import SlotRequest

#: Where prices are set, said wherever a figure lacks one.
PRICE_HINT = N_(
    "no price is set for {models}: a manager sets prices with "
    "`labgpu prices --set MODEL cloud=… purchase=…` or Usage ▸ Prices…"
)
#: What ``labgpu prices --set`` takes, and the field each sets.
PRICE_KEYS = {
    "currency": "currency",
    "cloud": "cloud_per_gpu_h",
    "cluster": "cluster_per_gpu_h",
    "purchase": "purchase_per_gpu",
}


@dataclass(frozen=True, slots=True)
class GpuPrice:
    """What one GPU model costs elsewhere, as a manager set it (None: not set)."""

    model: str
    currency: str = "USD"
    cloud_per_gpu_h: float | None = None
    cluster_per_gpu_h: float | None = None
    purchase_per_gpu: float | None = None
    updated_at: datetime | None = None
    updated_by: str = ""

    def as_dict(self) -> dict[str, object]:
        """For ``labgpu prices --json``."""
        return {
            "model": self.model,
            "currency": self.currency,
            "cloud_per_gpu_hour": self.cloud_per_gpu_h,
            "cluster_per_gpu_hour": self.cluster_per_gpu_h,
            "purchase_per_gpu": self.purchase_per_gpu,
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def check_price_value(key: str, value: float | str | None) -> float | str | None:
    """A price's value as stored; ``ValueError`` naming what is wrong (a negative or not a
    number; a currency of 1 to 8 letters)."""
    if value is None:
        return None
    if key == "currency":
        text = str(value).strip().upper()
        if not (1 <= len(text) <= 8 and text.isalpha()):
            raise ValueError(
                _("a currency is 1 to 8 letters (USD, KRW), not {value}").format(value=repr(value))
            )
        return text
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isnan(number) or math.isinf(number) or number < 0:
        raise ValueError(
            _("a price is a number of 0 or more, not {value}").format(value=repr(value))
        )
    return number


@dataclass(frozen=True, slots=True)
class ModelUse:
    """One model's GPU-hours over a period: what the lab provided and what it did not."""

    model: str
    gpus: int
    booked_h: float
    offloaded_h: float = 0.0  # asked for, not served in time, then offloaded (the evidence's)
    unmet_h: float = 0.0
    cluster_h: float = 0.0  # run on clusters by the jobs that count for the model

    @property
    def unserved_h(self) -> float:
        """Demand the lab's own GPUs did not serve: unmet + offloaded."""
        return self.unmet_h + self.offloaded_h


@dataclass(frozen=True, slots=True)
class ModelCost:
    """One model's cost figures over a period (None: the price it needs is not set)."""

    model: str
    currency: str | None
    use: ModelUse
    cloud_cost: float | None
    cluster_cost: float | None
    buy_gpus: int | None
    payback_periods: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "currency": self.currency,
            "gpus": self.use.gpus,
            "booked_gpu_hours": round(self.use.booked_h, 3),
            "cloud_cost": _money(self.cloud_cost),
            "offloaded_gpu_hours": round(self.use.offloaded_h, 3),
            "cluster_gpu_hours_run": round(self.use.cluster_h, 3),
            "cluster_cost": _money(self.cluster_cost),
            "unmet_gpu_hours": round(self.use.unmet_h, 3),
            "buy_gpus": self.buy_gpus,
            "payback_periods": None
            if self.payback_periods is None
            else round(self.payback_periods, 2),
        }


@dataclass(frozen=True, slots=True)
class CostReport:
    """Every model's cost figures over a period of ``hours``, and the models without a price."""

    hours: float
    models: list[ModelCost] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    #: GPU-hours run on clusters by jobs no model could be named for (not priced).
    unattributed_cluster_h: float = 0.0

    @property
    def currency(self) -> str | None:
        """The one currency of every priced model (None: none priced, or several)."""
        found = {m.currency for m in self.models if m.currency is not None}
        return found.pop() if len(found) == 1 else None

    @property
    def cloud_total(self) -> float | None:
        """The cloud cost of every model with a cloud price, in ``currency`` (None: none, or
        prices in several currencies)."""
        return _total([m.cloud_cost for m in self.models], self.currency)

    @property
    def cluster_total(self) -> float | None:
        return _total([m.cluster_cost for m in self.models], self.currency)

    def as_dict(self) -> dict[str, object]:
        """The ``cost`` object of ``labgpu usage --json``."""
        return {
            "basis": "booked_gpu_hours",
            "period_hours": round(self.hours, 3),
            "currency": self.currency,
            "cloud_cost": _money(self.cloud_total),
            "cluster_cost": _money(self.cluster_total),
            "models": [m.as_dict() for m in self.models],
            "unpriced_models": list(self.unpriced),
            "unattributed_cluster_gpu_hours": round(self.unattributed_cluster_h, 3),
            # GPU-hours the totals leave out for want of a price: never a cost of 0
            "booked_gpu_hours_without_cloud_price": round(
                sum(m.use.booked_h for m in self.models if m.cloud_cost is None), 3
            ),
            "cluster_gpu_hours_without_rate": round(
                sum(m.use.cluster_h for m in self.models if m.cluster_cost is None), 3
            ),
        }


def payback_periods(
    purchase: float | None, cloud: float | None, n: int, unserved_h: float, hours: float
) -> float | None:
    """Periods (of ``hours``) until ``n`` GPUs bought at ``purchase`` each pay for themselves
    by serving ``unserved_h`` GPU-hours a period (at most ``n × hours``) worth ``cloud`` each;
    None without a purchase or cloud price, or when they would serve nothing."""
    if purchase is None or cloud is None or n <= 0 or hours <= 0:
        return None
    saved = min(unserved_h, n * hours) * cloud
    return purchase * n / saved if saved > 0 else None


def fewest_gpus(unserved_h: float, hours: float) -> int | None:
    """The fewest GPUs that serve ``unserved_h`` GPU-hours in ``hours`` (None: nothing to
    serve)."""
    if unserved_h <= 0 or hours <= 0:
        return None
    return max(1, math.ceil(unserved_h / hours - 1e-9))


def cost_report(
    uses: Sequence[ModelUse],
    prices: Mapping[str, GpuPrice],
    hours: float,
    unattributed_cluster_h: float = 0.0,
) -> CostReport:
    """The cost figures of each model's use over a period of ``hours`` (models by name)."""
    models, unpriced = [], []
    for use in sorted(uses, key=lambda u: u.model):
        price = prices.get(use.model)
        if price is None or (
            price.cloud_per_gpu_h is None
            and price.cluster_per_gpu_h is None
            and price.purchase_per_gpu is None
        ):
            unpriced.append(use.model)
            models.append(ModelCost(use.model, None, use, None, None, None, None))
            continue
        cloud, cluster = price.cloud_per_gpu_h, price.cluster_per_gpu_h
        n = fewest_gpus(use.unserved_h, hours)
        models.append(
            ModelCost(
                model=use.model,
                currency=price.currency,
                use=use,
                cloud_cost=None if cloud is None else use.booked_h * cloud,
                cluster_cost=None if cluster is None else use.cluster_h * cluster,
                buy_gpus=n,
                payback_periods=None
                if n is None
                else payback_periods(price.purchase_per_gpu, cloud, n, use.unserved_h, hours),
            )
        )
    return CostReport(hours, models, unpriced, unattributed_cluster_h)


def attribute_jobs(
    jobs: Iterable[OffloadedJob],
    requests: Iterable[SlotRequest],
    models: Collection[str],
    follow: timedelta,
) -> tuple[dict[str, float], float]:
    """GPU-hours run on clusters per model (``{model: GPU-h}``) and those no model is named for.

    A job counts for the model its GPU type names (the same, ignoring case, or the model's last
    word: ``a40`` for ``NVIDIA A40``); else for the model of its member's latest unmet request
    asked at most ``follow`` before the job was submitted; else it is unattributed.
    """
    by_name: dict[str, str] = {}
    for name in models:
        by_name.setdefault(name.lower(), name)
        by_name.setdefault(name.split()[-1].lower() if name.split() else "", name)
    asked: dict[str, list[SlotRequest]] = {}
    for request in sorted((r for r in requests if r.unmet), key=lambda r: r.asked_at):
        asked.setdefault(request.user_name, []).append(request)
    found: dict[str, float] = {}
    unattributed = 0.0
    for job in jobs:
        model: str | None = None
        if job.gpu_type.strip():
            model = by_name.get(job.gpu_type.strip().lower())
        if model is None:
            earlier = [
                r
                for r in asked.get(job.user_name, [])
                if r.asked_at <= job.submitted_at < r.asked_at + follow
            ]
            model = earlier[-1].model if earlier else None
        if model is None:
            unattributed += job.gpu_hours
        else:
            found[model] = found.get(model, 0.0) + job.gpu_hours
    return found, unattributed


def _total(values: Sequence[float | None], currency: str | None) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known and currency is not None else None


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
