"""The PI's figures are true at their edges (issue 13, points 17-20, 24, 25): a range counts
exactly its own time, not the rounded hour before it; nothing after now; a request a rule
refused is not unmet demand; decisions count in the month they were made; the last, unfinished
bucket of a graph is not drawn as a drop; history that starts later says so. SQLite and
PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from labgpu.core.booking.rules import BookingRules, RuleRefusedError
from labgpu.core.inventory.servers import GpuProcess, GpuReading, LabUser, ProbeResult, SshTarget
from labgpu.core.usage.figures import HOUR, Retention
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.service import BookingService
from labgpu.services.usage.service import UsageService
from labgpu.storage import Store
from labgpu.storage.usage import LAG_S

BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
END = BASE + timedelta(hours=3)
HALF = timedelta(minutes=30)
A4000, A40 = "NVIDIA RTX A4000", "NVIDIA A40"


def _reading(index: int, uuid: str, model: str, util: float) -> GpuReading:
    return GpuReading(index, uuid, model, 16376, 1000, util, 40.0, 60.0)


@pytest.fixture
def lab(db_url: str) -> Iterator[Store]:
    """Two GPUs read once a minute for three hours from BASE, rolled up.

    - gpu-01/0 (A4000): amy's process, busy (90 %) in the first hour only, booked 0-3 h;
    - gpu-01/1 (A40): bo's process at 40 % for all three hours, no booking.
    """
    store = Store(db_url)
    store.upgrade()
    for name, role in (("mia", "manager"), ("pat", "pi"), ("amy", "student"), ("bo", "student")):
        store.add_user(LabUser(name, name, role), "mia")
    readings = [_reading(0, "U-a", A4000, 0), _reading(1, "U-b", A40, 0)]
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings, "mia")
    gpu = {g.uuid: g.id or 0 for g in store.inventory.list_gpus()}
    BookingService(store, "amy", clock=lambda: BASE - HALF).book([gpu["U-a"]], BASE, END)
    probes = []
    for minute in range(180):
        at = BASE + timedelta(minutes=minute, seconds=7)
        probes.append(
            ProbeResult(
                "h1",
                at,
                (
                    _reading(0, "U-a", A4000, 90.0 if minute < 60 else 0.0),
                    _reading(1, "U-b", A40, 40.0),
                ),
                (
                    GpuProcess("U-a", 10, 900, "python", "amy"),
                    GpuProcess("U-b", 11, 900, "python", "bo"),
                ),
            )
        )
    store.inventory.store_probes("gpu-01", probes)
    store.usage.rollup(END + timedelta(seconds=LAG_S))
    yield store
    store.close()


def usage_at(store: Store, now: datetime) -> UsageService:
    return UsageService(store, clock=lambda: now)


LATER = BASE + timedelta(days=3)  # long ranges (hourly rollups) up to here


@pytest.mark.parametrize("minutes_kept", [True, False])
def test_a_range_starting_mid_hour_counts_only_its_own_time(lab: Store, minutes_kept: bool) -> None:
    usage = usage_at(lab, LATER)
    if not minutes_kept:  # an old range: its minutes are gone, the first hour is shared out
        lab.usage.set_retention(Retention(0.5, 0.5, None))
        lab.usage.apply_retention(END + timedelta(days=2))
        assert lab.usage.oldest()["minute"] is None
    start = BASE + HALF
    assert usage.level_for(start, LATER) is HOUR
    summary = usage.summary(start, LATER)
    # 2.5 h of two GPUs, not the 3 h of the rounded-down first hour (6 GPU-h > 5 GPU-h).
    assert summary.observed_h == pytest.approx(5.0)
    # gpu-01/0 busy only its first hour: half of it lies in the range; bo's GPU all 2.5 h.
    assert summary.busy_h == pytest.approx(0.5 + 2.5)
    for row in usage.table("gpu", start, LATER).as_dicts():
        assert row["observed_gpu_hours"] == pytest.approx(2.5)  # never more than the range
    members = {m.user_name: m for m in usage.members(start, LATER)}
    assert members["bo"].process_h == pytest.approx(2.5)
    assert members["amy"].process_h == pytest.approx(2.5)
    assert members["amy"].booked_h == pytest.approx(2.5)
    assert members["amy"].idle_booked_h == pytest.approx(2.0)


def test_a_range_ending_mid_hour_in_the_past_stops_there(lab: Store) -> None:
    usage = usage_at(lab, LATER)
    end = BASE + timedelta(hours=1, minutes=15)
    summary = usage.summary(BASE - timedelta(days=3), end)
    assert summary.observed_h == pytest.approx(2 * 1.25)
    assert summary.capacity_h >= summary.observed_h
    assert not summary.partial


def test_a_range_into_the_future_counts_up_to_now(lab: Store) -> None:
    now = BASE + timedelta(hours=2)
    gpu = {g.uuid: g.id or 0 for g in lab.inventory.list_gpus()}
    BookingService(lab, "bo", clock=lambda: now).book([gpu["U-b"]], now + HALF, now + 5 * HALF)
    usage = usage_at(lab, now)
    summary = usage.summary(BASE, BASE + timedelta(days=1))
    assert summary.partial
    assert summary.until == now
    assert summary.capacity_h == pytest.approx(2 * 2.0)
    assert summary.booked_h == pytest.approx(2.0)  # amy's first two hours; bo's is to come
    assert summary.observed_h <= summary.capacity_h
    by_gpu = {r["gpu"]: r for r in usage.table("gpu", BASE, BASE + timedelta(days=1)).as_dicts()}
    assert by_gpu["gpu-01/1"]["booked_gpu_hours"] == 0.0
    members = {m.user_name: m for m in usage.members(BASE, BASE + timedelta(days=1))}
    assert members["bo"].booked_h == 0.0


def test_the_last_bucket_of_a_graph_is_a_mean_over_what_is_rolled_up(lab: Store) -> None:
    # Half of the fourth hour is read and rolled up (to minutes; the hour is not over).
    more = [
        ProbeResult(
            "h1",
            END + timedelta(minutes=minute, seconds=7),
            (_reading(0, "U-a", A4000, 0.0), _reading(1, "U-b", A40, 40.0)),
            (GpuProcess("U-b", 11, 900, "python", "bo"),),
        )
        for minute in range(30)
    ]
    lab.inventory.store_probes("gpu-01", more)
    now = END + timedelta(minutes=40)
    lab.usage.rollup(END + HALF + timedelta(seconds=LAG_S))
    usage = usage_at(lab, now)
    _level, series = usage.series(BASE - timedelta(days=3), now)
    last = series["lab"][-1]
    assert last.start == int(END.timestamp())
    assert last.length == 1800  # what its minutes cover, not the whole hour
    assert last.busy_gpus == pytest.approx(1.0)  # bo's GPU, busy all that time: no drop
    # A complete hour the range ends inside is drawn whole: its readings cover all of it.
    _level, series = usage.series(BASE - timedelta(days=3), BASE + timedelta(hours=2, minutes=30))
    last = series["lab"][-1]
    assert (last.start, last.length) == (int((BASE + timedelta(hours=2)).timestamp()), 3600)
    assert last.busy_gpus == pytest.approx(1.0)


def test_rule_refusals_are_not_unmet_demand(lab: Store) -> None:
    now = END + timedelta(hours=1)
    RulesService(BookingService(lab, "mia", clock=lambda: now)).save(BookingRules(max_hours=72.0))
    bo = BookingService(lab, "bo", clock=lambda: now)
    with pytest.raises(RuleRefusedError) as refused:
        bo.find_slots("A4000", 1, timedelta(hours=96))
    assert refused.value.rule == "max_hours"
    amy = BookingService(lab, "amy", clock=lambda: now)
    with pytest.raises(RuleRefusedError):  # malformed input (exit 2) is not a request at all
        amy.find_slots("A4000", 1, timedelta(hours=-1))
    usage = usage_at(lab, now + HALF)
    requests = usage.unmet(now - HALF, now + HALF)
    assert [(r.user_name, r.refused_rule, r.hours) for r in requests] == [("bo", "max_hours", 96)]
    summary = usage.summary(BASE, now + HALF)
    assert (summary.unmet, summary.refused, summary.refused_by_rule) == (0, 1, {"max_hours": 1})
    members = {m.user_name: m for m in usage.members(BASE, now + HALF)}
    assert (members["bo"].unmet, members["bo"].refused) == (0, 1)


def test_decisions_count_in_the_month_they_were_made(lab: Store) -> None:
    asked = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    decided = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    april = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    gpu = {g.uuid: g.id or 0 for g in lab.inventory.list_gpus()}
    start = datetime(2026, 4, 2, 0, 0, tzinfo=UTC)
    request = BookingService(lab, "bo", clock=lambda: asked).book(
        [gpu["U-b"]], start, start + timedelta(hours=4)
    )
    assert request.status.value == "pending"  # the A40 needs a PI's approval
    counts = lab.usage.request_counts
    assert counts(*march) == {"bo": (1, 0)}  # still waiting when March ended
    BookingService(lab, "pat", clock=lambda: decided).reject(request.group_id, "not this week")
    assert counts(*march) == {"bo": (1, 0)}  # it was still waiting when March ended
    assert counts(*april) == {"bo": (0, 1)}  # rejected in April
    summary = usage_at(lab, april[1]).summary(*april)
    assert (summary.pending, summary.rejected) == (0, 1)


def test_history_that_starts_later_says_where(lab: Store) -> None:
    usage = usage_at(lab, LATER)
    summary = usage.summary(BASE - timedelta(days=30), LATER)
    assert summary.starts_late
    assert summary.history_from == BASE
    assert not usage.summary(BASE, LATER).starts_late


def test_a_wait_the_members_own_rules_cause_is_not_missing_gpus(lab: Store) -> None:
    """Free GPUs that the member's own limit (GPUs held at once) keeps from them: their wait is
    the rule's, recorded as refused by it, not as unmet demand; asking for the same model by
    another name is the same request."""
    now = END + timedelta(hours=1)
    RulesService(BookingService(lab, "mia", clock=lambda: now)).save(
        BookingRules(max_gpus_at_once=1, approval_models=())
    )
    gpu = {g.uuid: g.id or 0 for g in lab.inventory.list_gpus()}
    bo = BookingService(lab, "bo", clock=lambda: now)
    bo.book([gpu["U-b"]], now, now + timedelta(hours=5))  # bo holds his one GPU until +5 h
    options = bo.find_slots("A4000", 1, timedelta(hours=2))  # gpu-01/0 is free now
    assert options[0].start >= now + timedelta(hours=5)
    bo.find_slots("RTX A4000", 1, timedelta(hours=2))  # the same request, typed otherwise
    requests = usage_at(lab, now).unmet(now - HALF, now + HALF)
    assert [(r.model, r.refused_rule) for r in requests] == [(A4000, "max_gpus_at_once")]
    summary = usage_at(lab, now + HALF).summary(BASE, now + HALF)
    assert (summary.unmet, summary.refused) == (0, 1)
