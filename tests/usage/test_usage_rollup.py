"""Usage rollups and retention on SQLite and PostgreSQL: equal to aggregates computed from the
raw samples (hypothesis), incremental, and retention deletes only what it should."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult, SshTarget
from labgpu.core.usage.figures import HOUR, MINUTE, Retention
from labgpu.storage import Store, db
from labgpu.storage.usage import LAG_S, epoch

BASE = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
UUIDS = ("GPU-a", "GPU-b", "GPU-c")
USERS = ("amy", "bo", None)
TABLES = (
    "gpu_processes",
    "gpu_samples",
    "usage_user_minute",
    "usage_user_hour",
    "usage_minute",
    "usage_hour",
    "usage_lab_hour",
    "usage_state",
)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    readings = [
        GpuReading(i, u, "NVIDIA RTX A4000", 16376, None, None, None, None)
        for i, u in enumerate(UUIDS)
    ]
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings, "amy")
    yield store
    store.close()


def _clear(url: str) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


# One sample: (second offset, gpu number, util or None, memory or None, users of its processes)
sample_st = st.tuples(
    st.integers(0, 3 * 3600 - 1),
    st.integers(0, len(UUIDS) - 1),
    st.one_of(st.none(), st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2))),
    st.one_of(st.none(), st.integers(0, 16000)),
    st.lists(st.sampled_from(USERS), max_size=3),
)


def _store(
    store: Store, samples: list[tuple[int, int, float | None, int | None, list[str | None]]]
) -> None:
    by_time: dict[int, dict[int, tuple[float | None, int | None, list[str | None]]]] = defaultdict(
        dict
    )
    for offset, gpu, util, mem, users in samples:
        by_time[offset][gpu] = (util, mem, users)  # one reading per GPU and time
    probes = []
    for offset, gpus in sorted(by_time.items()):
        at = BASE + timedelta(seconds=offset, microseconds=250_000)
        readings = [
            GpuReading(g, UUIDS[g], "NVIDIA RTX A4000", 16376, mem, util, None, None)
            for g, (util, mem, _users) in gpus.items()
        ]
        processes = [
            GpuProcess(UUIDS[g], 100 + n, 10, "python", user)
            for g, (_u, _m, users) in gpus.items()
            for n, user in enumerate(users)
        ]
        probes.append(ProbeResult("h1", at, tuple(readings), tuple(processes)))
    store.inventory.store_probes("gpu-01", probes)


def _expected(
    samples: list[tuple[int, int, float | None, int | None, list[str | None]]], minutes_done: int
) -> tuple[dict[tuple[int, int], dict[str, float]], dict[tuple[int, int, str], float]]:
    """Per (GPU uuid index, minute) aggregates and per (GPU, minute, user) seconds."""
    latest: dict[tuple[int, int], tuple[float | None, int | None, list[str | None]]] = {}
    for offset, gpu, util, mem, users in samples:
        latest[(offset, gpu)] = (util, mem, users)
    rows: dict[tuple[int, int], dict[str, float]] = {}
    shares: dict[tuple[int, int, str], float] = defaultdict(float)
    for (offset, gpu), (util, mem, users) in sorted(latest.items()):
        minute = offset // 60
        if minute >= minutes_done:
            continue
        row = rows.setdefault(
            (gpu, minute),
            {
                "n": 0,
                "util_n": 0,
                "util_sum": 0.0,
                "util_max": -1.0,
                "mem_n": 0,
                "mem_sum": 0.0,
                "mem_max": -1,
                "busy": 0,
            },
        )
        row["n"] += 1
        if util is not None:
            row["util_n"] += 1
            row["util_sum"] += util
            row["util_max"] = max(row["util_max"], util)
        if mem is not None:
            row["mem_n"] += 1
            row["mem_sum"] += mem
            row["mem_max"] = max(row["mem_max"], mem)
        if util is not None and util >= 5.0:  # a process alone does not make it busy
            row["busy"] += 1
        distinct = {u or "" for u in users}
        for user in distinct:
            shares[(gpu, minute, user)] += 1 / len(distinct)
    seconds = {
        (gpu, minute, user): 60 * share / rows[(gpu, minute)]["n"]
        for (gpu, minute, user), share in shares.items()
    }
    return rows, seconds


def _gpu_number(store: Store) -> dict[int, int]:
    return {g.id or 0: UUIDS.index(g.uuid) for g in store.inventory.list_gpus()}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    samples=st.lists(sample_st, max_size=60),
    cuts=st.lists(st.integers(0, 3 * 3600 + 600), max_size=3),
)
def test_rollups_equal_aggregates_of_the_raw_samples(
    store: Store, db_url: str, samples: list, cuts: list[int]
) -> None:
    _clear(db_url)
    _store(store, samples)
    end = 3 * 3600 + 600
    for cut in sorted(cuts):  # incremental rollups in between change nothing
        store.usage.rollup(BASE + timedelta(seconds=cut + LAG_S))
    store.usage.rollup(BASE + timedelta(seconds=end + LAG_S))
    rows, seconds = _expected(samples, end // 60)
    numbers = _gpu_number(store)
    lo, hi = epoch(BASE), epoch(BASE) + end

    minutes = store.usage.buckets(MINUTE, lo, hi, by_gpu=True)
    got = {(numbers[b.gpu_id or 0], (b.start - lo) // 60): b for b in minutes}
    assert got.keys() == rows.keys()
    for key, want in rows.items():
        b = got[key]
        assert (b.samples, b.util_n, b.mem_n) == (want["n"], want["util_n"], want["mem_n"])
        assert b.util_sum == pytest.approx(want["util_sum"])
        assert b.util_max == (want["util_max"] if want["util_n"] else None)
        assert b.mem_max == (want["mem_max"] if want["mem_n"] else None)
        assert b.observed_s == 60
        assert b.busy_s == pytest.approx(60 * want["busy"] / want["n"])
    users = {
        (numbers[u.gpu_id], (u.start - lo) // 60, u.user_name): u.gpu_s
        for u in store.usage.user_seconds(MINUTE, lo, hi)
    }
    assert users.keys() == seconds.keys()
    for key, value in seconds.items():
        assert users[key] == pytest.approx(value)

    # Hours: the complete ones, each the sum of its minutes.
    hours = {
        (numbers[b.gpu_id or 0], (b.start - lo) // 3600): b
        for b in store.usage.buckets(HOUR, lo, hi, by_gpu=True)
    }
    want_hours: dict[tuple[int, int], list[dict[str, float]]] = defaultdict(list)
    for (gpu, minute), row in rows.items():
        if minute // 60 < end // 3600:
            want_hours[(gpu, minute // 60)].append(row)
    assert hours.keys() == want_hours.keys()
    for key, parts in want_hours.items():
        b = hours[key]
        assert b.samples == sum(p["n"] for p in parts)
        assert b.util_sum == pytest.approx(sum(p["util_sum"] for p in parts))
        assert b.observed_s == 60 * len(parts)
        assert b.busy_s == pytest.approx(sum(60 * p["busy"] / p["n"] for p in parts))
    # The lab's hours (summed per model, read for lab-wide graphs) equal the GPUs' hours.
    lab_hours = {(b.start - lo) // 3600: b for b in store.usage.buckets(HOUR, lo, hi)}
    assert lab_hours.keys() == {hour for _gpu, hour in want_hours}
    for hour, b in lab_hours.items():
        parts = [p for (_gpu, h), ps in want_hours.items() if h == hour for p in ps]
        assert b.samples == sum(p["n"] for p in parts)
        assert b.util_sum == pytest.approx(sum(p["util_sum"] for p in parts))
        assert b.busy_s == pytest.approx(sum(60 * p["busy"] / p["n"] for p in parts))
        assert b.gpus == len({g for (g, h) in want_hours if h == hour})
    user_hours: dict[tuple[int, int, str], float] = defaultdict(float)
    for (gpu, minute, user), value in seconds.items():
        if minute // 60 < end // 3600:
            user_hours[(gpu, minute // 60, user)] += value
    got_user_hours = {
        (numbers[u.gpu_id], (u.start - lo) // 3600, u.user_name): u.gpu_s
        for u in store.usage.user_seconds(HOUR, lo, hi)
    }
    assert got_user_hours.keys() == user_hours.keys()
    for key, value in user_hours.items():
        assert got_user_hours[key] == pytest.approx(value)


def test_rollup_waits_for_complete_minutes_and_hours(store: Store) -> None:
    samples = [(s, 0, 50.0, 1000, ["amy"]) for s in range(0, 2 * 3600, 10)]
    _store(store, samples)
    now = BASE + timedelta(hours=1, minutes=30, seconds=LAG_S + 30)
    report = store.usage.rollup(now)
    assert (report.minute_from, report.minute_to) == (epoch(BASE), epoch(BASE) + 90 * 60)
    assert (report.hour_from, report.hour_to) == (epoch(BASE), epoch(BASE) + 3600)
    again = store.usage.rollup(now)  # nothing new: nothing done, nothing doubled
    assert again.minute_from == again.minute_to
    assert again.hour_from == again.hour_to
    minutes = store.usage.buckets(MINUTE, 0, 2**40)
    assert len(minutes) == 90
    assert all(b.samples == 6 and b.busy_s == 60 for b in minutes)
    assert [b.observed_s for b in store.usage.buckets(HOUR, 0, 2**40)] == [3600]


def test_late_samples_before_the_watermark_are_not_counted_twice(store: Store) -> None:
    _store(store, [(s, 0, 10.0, 1, []) for s in range(0, 600, 10)])
    store.usage.rollup(BASE + timedelta(seconds=600 + LAG_S))
    _store(store, [(5, 0, 90.0, 1, [])])  # arrives after its minute was rolled up
    store.usage.rollup(BASE + timedelta(seconds=1200 + LAG_S))
    first = store.usage.buckets(MINUTE, epoch(BASE), epoch(BASE) + 60)
    assert first[0].samples == 6
    assert first[0].util_sum == pytest.approx(60.0)


def test_retention_deletes_only_old_rolled_up_rows(store: Store, db_url: str) -> None:
    store.usage.set_retention(Retention(raw_days=1, minute_days=2, hour_days=3))
    # One sample a minute for 5 days.
    samples = [(m * 60, 0, 20.0, 10, ["bo"]) for m in range(5 * 24 * 60)]
    by_day = [samples[i : i + 1440] for i in range(0, len(samples), 1440)]
    for day in by_day:
        _store(store, day)
    now = BASE + timedelta(days=5)
    # Rolled up only to day 4: raw of day 4 stays although older than a day.
    store.usage.rollup(BASE + timedelta(days=4, seconds=LAG_S))
    report = store.usage.apply_retention(now)
    kept = store.usage.oldest()
    assert kept["raw"] == epoch(BASE + timedelta(days=4))
    assert kept["minute"] == epoch(BASE + timedelta(days=3))  # 2 days back from day 5
    assert kept["hour"] == epoch(BASE + timedelta(days=2))
    assert report.deleted["gpu_samples"] == 4 * 1440
    assert report.deleted["gpu_processes"] == 4 * 1440
    assert report.deleted["usage_minute"] == 3 * 1440
    assert report.deleted["usage_hour"] == 2 * 24
    # What was deleted is still there, rolled up: days 2-3 in hours, day 3 in minutes.
    hours = store.usage.buckets(HOUR, 0, 2**40)
    assert len(hours) == 2 * 24
    assert all(b.busy_s == 3600 for b in hours)
    # Rolling up the rest and applying again: raw older than a day goes.
    store.usage.rollup(now + timedelta(seconds=LAG_S))
    store.usage.apply_retention(now)
    assert store.usage.oldest()["raw"] == epoch(now - timedelta(days=1))
    assert store.usage.oldest()["minute"] == epoch(BASE + timedelta(days=3))
    assert len(store.usage.buckets(MINUTE, 0, 2**40)) == 2 * 1440


def test_retention_settings_are_checked_and_kept(store: Store) -> None:
    assert store.usage.retention() == Retention()
    store.usage.set_retention(Retention(raw_days=3, minute_days=10, hour_days=None))
    assert store.usage.retention() == Retention(3, 10, None)
    with pytest.raises(ValueError, match="more than 0 days"):
        Retention(raw_days=0)
    with pytest.raises(ValueError, match="at least as long as raw"):
        Retention(raw_days=8, minute_days=2)
    assert store.usage.retention() == Retention(3, 10, None)  # a refused value changes nothing
