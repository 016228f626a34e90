"""The demo lab's usage history: 90 days of hourly rollups from the model, agreeing with what
its GPUs show minute by minute, continued by the real rollup of the feed's samples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.usage.figures import HOUR, MINUTE, UNMET_AFTER
from labgpu.demo.lab import usage_history_end
from labgpu.demo.model import DemoLab, generate_lab, gpu_point, hour_usage
from labgpu.demo.requests import booking_requests
from labgpu.demo.setup import demo_lab as make_demo
from labgpu.services import Labgpu
from labgpu.storage.usage import BUSY_UTIL_PCT

NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)


@pytest.fixture
def demo_lab(demo_folder: Path) -> Iterator[Labgpu]:
    """The demo lab, opened (built from the session's template) and closed afterwards."""
    lab = make_demo(demo_folder)
    lab.open()
    yield lab
    lab.close()


@pytest.mark.parametrize("days_back", [3, 30, 80])
def test_hourly_model_agrees_with_the_minute_by_minute_points(days_back: int) -> None:
    lab = generate_lab(6, NOW)
    start = (NOW - timedelta(days=days_back)).replace(minute=0)
    hours = list(hour_usage(lab, start, start + timedelta(hours=24)))
    assert len(hours) == 24 * len(lab.gpus)
    points = [
        gpu_point(lab, g, start + timedelta(minutes=m))
        for g in range(len(lab.gpus))
        for m in range(0, 24 * 60, 2)
    ]
    mean_points = sum(p.util for p in points) / len(points)
    busy_points = sum(p.util >= BUSY_UTIL_PCT for p in points) / len(points)
    mean_hours = sum(h.util_mean for h in hours) / len(hours)
    busy_hours = sum(h.busy_s for h in hours) / (3600 * len(hours))
    assert mean_hours == pytest.approx(mean_points, abs=1.0)
    assert busy_hours == pytest.approx(busy_points, abs=0.02)
    used = sum(s for h in hours for _u, s in h.users) / (3600 * len(hours))
    held = sum(p.owner is not None for p in points) / len(points)
    assert used == pytest.approx(held, abs=0.02)


def test_demo_holds_90_days_of_usage_and_its_unmet_requests(
    demo_lab: Labgpu, demo_template: tuple[Path, DemoLab]
) -> None:
    lab = demo_lab
    model = demo_template[1]
    usage = lab.usage  # the CLI's path: the recent past is filled and rolled up first
    oldest = lab.store.usage.oldest()
    assert oldest["hour"] == int(model.start.replace(minute=0, second=0).timestamp())
    minute_done, hour_done = lab.store.usage.watermarks()
    assert hour_done is not None
    assert minute_done is not None
    assert hour_done > int(usage_history_end(model).timestamp())  # rolled on from there
    now = datetime.now(UTC)
    level, series = usage.series(now - timedelta(days=90), now)
    assert level is HOUR
    points = series["lab"]
    assert len(points) > 1000
    bad = [(p.start, p.observed_gpus) for p in points[1:-2] if abs(p.observed_gpus - 52) > 0.5]
    assert bad == []
    level, series = usage.series(now - timedelta(hours=12), now)
    assert level is MINUTE
    assert len(series["lab"]) > 600
    members = usage.members(now - timedelta(days=30), now)
    assert len(members) >= 10
    assert sum(m.idle_booked_h for m in members) > 0
    assert sum(m.unbooked_h for m in members) > 0
    # Unmet: the requests the lab did not serve, and those it served 30 minutes or more after
    # they were wanted (the A40s were all taken).
    waited = [r for r in booking_requests(model) if (r.wait or timedelta(0)) >= UNMET_AFTER]
    assert len(usage.unmet(model.start, model.end)) == len(model.unmet) + len(waited)


def test_demo_figures_keep_refusals_apart_and_decide_through_the_history(
    demo_lab: Labgpu, demo_template: tuple[Path, DemoLab]
) -> None:
    lab = demo_lab
    model = demo_template[1]
    usage = lab.usage
    now = datetime.now(UTC)
    # Requests the lab's 72-hour rule refused are not unmet demand: they are asked again
    # within the rules, and shown apart.
    requests = usage.unmet(model.start, now)
    refused = [r for r in requests if not r.no_capacity]
    lacking = [r for r in requests if r.no_capacity]
    assert refused
    assert lacking
    assert {r.refused_rule for r in refused} == {"max_hours"}
    assert all(r.hours <= 72 for r in lacking)
    summary = usage.summary(model.start, now)
    assert (summary.unmet, summary.refused) == (len(lacking), len(refused))
    # Decisions happen through the history: the months before this one have rejections
    # and requests asked in them, counted where they were made.
    rejected = pending = 0
    first = model.start
    while first < now - timedelta(days=31):
        last = first + timedelta(days=30)
        month = usage.summary(first, last)
        rejected += month.rejected
        pending += month.pending
        assert month.capacity_h >= month.observed_h
        first = last
    assert rejected > 0
    # Pending at the end of the last 30 days: exactly the requests waiting now (no
    # decision dated after now counts a decided request as waiting).
    # (The demo's requests are asked at most 13 days before they start.)
    waiting = {
        b.group_id for b in lab.store.bookings.list_bookings(statuses=[BookingStatus.PENDING])
    }
    assert usage.summary(now - timedelta(days=30), now).pending == len(waiting)
    # Nothing counted beyond now: bookings still to come are not booked time yet.
    ahead = usage.summary(now - timedelta(days=1), now + timedelta(days=10))
    assert ahead.partial
    assert ahead.booked_h <= 52 * 24 + 1e-6


def test_a_second_reader_waits_for_the_first_ones_catch_up(demo_folder: Path) -> None:
    import threading

    lab = make_demo(demo_folder)
    lab.open()
    try:
        seen: list[int | None] = []

        def read() -> None:
            seen.append(lab.usage.store.usage.watermarks()[0])

        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        recent = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
        assert len(seen) == 2
        assert all(done is not None and done >= recent for done in seen)
    finally:
        lab.close()
