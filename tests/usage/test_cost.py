"""Cost figures from managers' prices (issue 16, point 5): hand-computed cloud and cluster cost
and payback, no price invented (None, and the line saying where to set one), and the prices
service: managers only, values checked, changes audited (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.usage.cost import (
    GpuPrice,
    ModelUse,
    attribute_jobs,
    check_price_value,
    cost_report,
    fewest_gpus,
    payback_periods,
)
from labgpu.core.usage.evidence import DemandFigure, Evidence, OffloadedJob
from labgpu.core.usage.figures import SlotRequest
from labgpu.services import Labgpu
from labgpu.services.usage.prices import price_hint
from labgpu.storage import Store
from tests.helpers.usage_data import seed_usage

A40, A4000 = "NVIDIA A40", "NVIDIA RTX A4000"
MONTH_H = 720.0  # a 30-day month
A40_PRICE = GpuPrice(A40, "USD", cloud_per_gpu_h=2.0, cluster_per_gpu_h=0.5, purchase_per_gpu=1e4)


def test_cloud_cluster_and_payback_by_hand() -> None:
    # 1000 GPU-h booked, 300 offloaded, 900 unmet: 1200 unserved in a 720 h month; the
    # offloaded jobs ran 250 GPU-h on clusters.
    use = ModelUse(A40, gpus=4, booked_h=1000.0, offloaded_h=300.0, unmet_h=900.0, cluster_h=250)
    report = cost_report([use], {A40: A40_PRICE}, MONTH_H)
    (cost,) = report.models
    assert cost.cloud_cost == 2000.0  # 1000 GPU-h x 2.0
    assert cost.cluster_cost == 125.0  # 250 GPU-h run x 0.5
    assert cost.buy_gpus == 2  # ceil(1200 / 720)
    # Two GPUs serve min(1200, 2 x 720) = 1200 GPU-h a month, worth 2400: 20000 / 2400.
    assert cost.payback_periods == pytest.approx(20000 / 2400)
    assert report.cloud_total == 2000.0
    assert report.cluster_total == 125.0
    assert report.unpriced == []
    assert report.as_dict()["models"] == [
        {
            "model": A40,
            "currency": "USD",
            "gpus": 4,
            "booked_gpu_hours": 1000.0,
            "cloud_cost": 2000.0,
            "offloaded_gpu_hours": 300.0,
            "cluster_gpu_hours_run": 250.0,
            "cluster_cost": 125.0,
            "unmet_gpu_hours": 900.0,
            "buy_gpus": 2,
            "payback_periods": 8.33,
        }
    ]


def test_payback_caps_what_n_gpus_serve() -> None:
    # One GPU serves at most 720 of the 1200 GPU-h: 10000 / (720 x 2.0) = 6.94 months.
    assert payback_periods(1e4, 2.0, 1, 1200.0, MONTH_H) == pytest.approx(10000 / 1440)
    # Three GPUs serve all 1200 (not 2160): 30000 / 2400 = 12.5 months.
    assert payback_periods(1e4, 2.0, 3, 1200.0, MONTH_H) == pytest.approx(12.5)
    assert payback_periods(1e4, 2.0, 2, 0.0, MONTH_H) is None  # serves nothing: never
    assert payback_periods(None, 2.0, 2, 100.0, MONTH_H) is None
    assert payback_periods(1e4, None, 2, 100.0, MONTH_H) is None
    assert fewest_gpus(720.0, MONTH_H) == 1
    assert fewest_gpus(721.0, MONTH_H) == 2
    assert fewest_gpus(0.0, MONTH_H) is None


def test_no_price_gives_none_and_says_where_to_set_it() -> None:
    uses = [ModelUse(A40, 4, 100.0, 10.0, 20.0), ModelUse(A4000, 48, 500.0)]
    report = cost_report(uses, {A40: A40_PRICE}, MONTH_H)
    a40, a4000 = report.models
    assert a4000.model == A4000
    assert (a4000.cloud_cost, a4000.cluster_cost, a4000.payback_periods) == (None, None, None)
    assert a4000.currency is None
    assert report.unpriced == [A4000]
    assert report.cloud_total == 200.0  # only the priced model's: 100 x 2.0
    hint = price_hint(report.unpriced)
    assert A4000 in hint
    assert "labgpu prices --set MODEL cloud=" in hint
    assert "Usage ▸ Prices…" in hint
    # A price row with nothing set is no price either.
    empty = cost_report(uses, {A40: GpuPrice(A40)}, MONTH_H)
    assert empty.unpriced == [A40, A4000]
    assert empty.cloud_total is None
    assert empty.as_dict()["cloud_cost"] is None


def test_a_cluster_rate_alone_prices_only_the_offloaded_hours() -> None:
    price = GpuPrice(A40, "KRW", cluster_per_gpu_h=700.0)
    (cost,) = cost_report([ModelUse(A40, 4, 100.0, 0.0, 0.0, 10.0)], {A40: price}, MONTH_H).models
    assert (cost.cloud_cost, cost.cluster_cost, cost.payback_periods) == (None, 7000.0, None)


def test_totals_in_two_currencies_are_not_added() -> None:
    prices = {A40: A40_PRICE, A4000: GpuPrice(A4000, "KRW", cloud_per_gpu_h=900.0)}
    report = cost_report([ModelUse(A40, 4, 10.0), ModelUse(A4000, 8, 10.0)], prices, MONTH_H)
    assert [m.cloud_cost for m in report.models] == [20.0, 9000.0]
    assert report.currency is None
    assert report.cloud_total is None


def test_jobs_count_for_the_model_they_name_or_followed() -> None:
    t = datetime(2026, 3, 2, tzinfo=UTC)
    hour = timedelta(hours=1)

    def job(user: str, gpu_type: str, at: timedelta, gpu_h: float) -> OffloadedJob:
        return OffloadedJob(user, "hpc", gpu_type, 1, t + at, None, None, gpu_h)

    requests = [
        SlotRequest("amy", A40, 1, 8.0, t, t, None),  # no slot: unmet
        SlotRequest("bo", A4000, 1, 1.0, t, t, t),  # served at once: not unmet
        SlotRequest("amy", A4000, 1, 8.0, t + 2 * hour, t + 2 * hour, None),  # unmet, later
    ]
    jobs = [
        job("cy", "a40", hour, 3.0),  # names the A40 (its last word)
        job("amy", "", hour, 5.0),  # follows amy's A40 request
        job("amy", "", 3 * hour, 7.0),  # follows her later A4000 request (the latest)
        job("bo", "", hour, 11.0),  # bo's request was served: no model
        job("amy", "", 30 * hour, 13.0),  # more than a day after: no model
        job("dee", "NVIDIA RTX A4000", hour, 2.0),  # names the model in full
    ]
    run, left = attribute_jobs(jobs, requests, [A40, A4000], timedelta(hours=24))
    assert run == {A40: 8.0, A4000: 9.0}
    assert left == 24.0


@pytest.mark.parametrize("bad", ["-1", "abc", "nan", "inf", ""])
def test_a_price_is_a_number_of_zero_or_more(bad: str) -> None:
    with pytest.raises(ValueError, match="a number of 0 or more"):
        check_price_value("cloud_per_gpu_h", bad)


def test_currency_is_letters() -> None:
    assert check_price_value("currency", " krw ") == "KRW"
    with pytest.raises(ValueError, match="1 to 8 letters"):
        check_price_value("currency", "US$")


# -- the service on a real SQLite lab -------------------------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Labgpu]:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    lab = Labgpu(url)
    lab.open()
    yield lab
    lab.close()


def test_only_a_manager_sets_prices_and_changes_are_audited(lab: Labgpu) -> None:
    prices = lab.usage.prices
    for role in ("student", "pi"):
        with pytest.raises(RefusedError, match="only a lab manager"):
            prices.set(A40, {"cloud_per_gpu_h": 1.0}, "amy", role)
        with pytest.raises(RefusedError):
            prices.remove(A40, "amy", role)
    assert prices.list() == []
    with pytest.raises(UsageError, match="0 or more"):
        prices.set(A40, {"cloud_per_gpu_h": -1.0}, "boss", "manager")
    prices.set(A40, {"cloud_per_gpu_h": 2.5, "currency": "eur"}, "boss", "manager")
    prices.set(A40, {"purchase_per_gpu": 8000.0}, "boss", "manager")
    (stored,) = prices.list()
    assert (stored.currency, stored.cloud_per_gpu_h, stored.purchase_per_gpu) == ("EUR", 2.5, 8e3)
    assert stored.updated_by == "boss"
    prices.set(A40, {"cloud_per_gpu_h": None}, "boss", "manager")  # None clears one
    assert prices.list()[0].cloud_per_gpu_h is None
    assert prices.remove(A40, "boss", "manager") is True
    assert prices.remove(A40, "boss", "manager") is False
    audit = [(a.actor, a.action, a.subject) for a in lab.store.list_audit()]
    assert [a for a in audit if a[1].startswith("price.")] == [
        ("boss", "price.remove", A40),
        ("boss", "price.set", A40),
        ("boss", "price.set", A40),
        ("boss", "price.set", A40),
    ]


def test_cost_adds_the_evidence_months_per_model(lab: Labgpu) -> None:
    lab.usage.prices.set(A40, {"cloud_per_gpu_h": 2.0, "purchase_per_gpu": 100.0}, "b", "manager")
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    evidence = Evidence(
        start,
        end,
        end,
        demand=(
            DemandFigure("2026-03", A40, served_gpu_h=3.0, unserved_gpu_h=10.0),
            DemandFigure("2026-04", A40, served_gpu_h=1.0, offloaded_gpu_h=4.0),
            DemandFigure("2026-03", "H100", unserved_gpu_h=5.0),
        ),
    )
    report = lab.usage.prices.cost(start, end, evidence)
    by_model = {m.model: m for m in report.models}
    # The seeded lab: two RTX A4000 and one A40; H100 asked for, not in the lab.
    assert sorted(by_model) == ["H100", A40, A4000]
    a40 = by_model[A40]
    assert (a40.use.gpus, a40.use.booked_h, a40.use.unserved_h) == (1, 4.0, 14.0)
    assert a40.cloud_cost == 8.0
    # 24 h: 14 unserved GPU-h need 1 GPU, worth 28 a day; 100 / 28 days.
    assert (a40.buy_gpus, a40.payback_periods) == (1, pytest.approx(100 / 28))
    assert report.unpriced == ["H100", A4000]
    assert lab.usage.prices.models() == [A40, A4000]


def test_prices_are_empty_in_a_new_lab(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new.db'}")
    store.upgrade()
    assert store.prices.list() == []


def test_a_cleared_cluster_rate_leaves_its_hours_out_and_says_so() -> None:
    """A model whose cluster rate is cleared has no cluster cost (None, not 0) and its hours
    run on clusters are named as left out of the total (trial: they vanished)."""
    a40 = ModelUse("NVIDIA A40", 4, booked_h=100.0, cluster_h=30.0)
    a4000 = ModelUse("NVIDIA RTX A4000", 48, booked_h=200.0, cluster_h=0.0)
    prices = {
        "NVIDIA A40": GpuPrice("NVIDIA A40", cloud_per_gpu_h=1.0),
        "NVIDIA RTX A4000": GpuPrice(
            "NVIDIA RTX A4000", cloud_per_gpu_h=0.5, cluster_per_gpu_h=0.2
        ),
    }
    report = cost_report([a40, a4000], prices, 720.0).as_dict()
    models = {m["model"]: m for m in report["models"]}  # type: ignore[attr-defined]
    assert models["NVIDIA A40"]["cluster_cost"] is None
    assert report["cluster_gpu_hours_without_rate"] == 30.0
    assert report["booked_gpu_hours_without_cloud_price"] == 0.0
    assert report["cloud_cost"] == 200.0  # 100 x 1.0 + 200 x 0.5
