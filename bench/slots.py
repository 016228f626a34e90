"""Earliest-slot search over a busy lab, and how fast bookings commit.

The lab: 52 GPUs (12 servers x 4 RTX A4000 + 1 server x 4 A40) and 10,000 bookings spread
over a year (groups of 1, 2 or 4 GPUs of one server, 2-40 h long, placed at random without
overlaps: about half the GPU-hours of the year booked), stored through
``Store.bookings.create_bookings``.
Figures (medians):
  earliest_slot_ms             one "4 x A4000 on one server for 48 h" search through
                               ``BookingService.find_slots`` on SQLite, as the app and the CLI
                               run it: read rules and GPUs, read the live bookings and
                               maintenance of the horizon, build the busy map, search
                               (target <= 10); at 50 random moments of the year
  earliest_slot_ms_postgresql  the same on PostgreSQL
  earliest_slot_core_ms        the pure search alone over the whole year's busy map
  earliest_slot_found_pct      searches that found a slot within the horizon (the lab is busy)
  book_per_s_sqlite / _postgresql   from bench/book_rate.py (``measure_book_per_s``)

Usage: .venv/bin/python bench/slots.py [--bookings 10000] [--searches 50]
"""

from __future__ import annotations

import argparse
import bisect
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median
from book_rate import measure_book_per_s

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.slots import SlotGpu, find_earliest_slots
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.postgres import start_postgres, stop_postgres

YEAR_START = datetime(2030, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
H = timedelta(hours=1)
MEMBERS = [f"member{i:02d}" for i in range(30)]


def seed_lab(store: Store) -> list[list[int]]:
    """13 servers of 4 GPUs; returns the GPU ids per server."""
    servers = []
    for n in range(13):
        name = f"gpu-{n + 1:02d}"
        model = "NVIDIA A40" if n == 12 else "NVIDIA RTX A4000"
        memory = 46068 if n == 12 else 16376
        readings = [
            GpuReading(i, f"{name}-{i}", model, memory, 0, 0.0, 30.0, 50.0) for i in range(4)
        ]
        store.inventory.register_server(name, SshTarget(f"{name}.lab"), readings, "bench")
        servers.append([g.id for g in store.inventory.list_gpus(name) if g.id is not None])
    return servers


def plan_bookings(
    servers: list[list[int]], total: int, rng: random.Random
) -> list[tuple[list[int], Window]]:
    """About ``total`` non-overlapping booking rows placed at random over the year."""
    starts: dict[int, list[datetime]] = {g: [] for gpus in servers for g in gpus}
    ends: dict[int, list[datetime]] = {g: [] for gpus in servers for g in gpus}
    plans = []
    rows = 0
    while rows < total:
        picked = sorted(rng.sample(rng.choice(servers), rng.choice((1, 1, 2, 4))))
        start = YEAR_START + rng.randrange(0, 365 * 24 - 40) * H
        end = start + rng.randint(2, 40) * H
        if any(_overlaps(starts[g], ends[g], start, end) for g in picked):
            continue
        for g in picked:
            i = bisect.bisect_left(starts[g], start)
            starts[g].insert(i, start)
            ends[g].insert(i, end)
        plans.append((picked, Window(start, end)))
        rows += len(picked)
    return plans


def _overlaps(starts: list[datetime], ends: list[datetime], start: datetime, end: datetime) -> bool:
    i = bisect.bisect_right(ends, start)  # first window ending after ``start``
    return i < len(ends) and starts[i] < end


def seed_bookings(store: Store, servers: list[list[int]], total: int, rng: random.Random) -> int:
    """Store the planned bookings one group at a time; returns rows written."""
    rows = 0
    for picked, window in sorted(plan_bookings(servers, total, rng), key=lambda p: p[1].start):
        store.bookings.create_bookings(
            str(uuid.uuid4()),
            picked,
            rng.choice(MEMBERS),
            window,
            BookingStatus.BOOKED,
            "",
            "bench",
        )
        rows += len(picked)
    return rows


def time_service_searches(store: Store, searches: int, rng: random.Random) -> tuple[float, float]:
    """Median ms of ``find_slots`` (4 x A4000, one server, 48 h) at random moments, and the
    share of searches that found a slot inside the 14-day horizon (the rest scanned it all)."""
    times = []
    found = 0
    for _ in range(searches):
        now = YEAR_START + rng.uniform(0.05, 0.9) * YEAR
        service = BookingService(store, "bench", clock=lambda now=now: now)  # type: ignore[misc]
        began = time.perf_counter()
        options = service.find_slots("A4000", 4, 48 * H, same_server=True)
        times.append((time.perf_counter() - began) * 1000)
        found += bool(options)
    return median(times), 100.0 * found / searches


def time_core_search(store: Store, searches: int, rng: random.Random) -> float:
    """Median ms of the pure search over the whole year's busy map (built once)."""
    gpus = [SlotGpu(g.id, g.server_name, g.model, g.memory_mb) for g in store.inventory.list_gpus()
            if g.id is not None and "A4000" in g.model]  # fmt: skip
    busy: dict[int, list[Window]] = {}
    for b in store.bookings.list_bookings(statuses=[BookingStatus.BOOKED]):
        busy.setdefault(b.gpu_id, []).append(b.window)
    times = []
    for _ in range(searches):
        after = YEAR_START + rng.uniform(0.05, 0.9) * YEAR
        began = time.perf_counter()
        find_earliest_slots(gpus, busy, 4, 48 * H, after, same_server=True)
        times.append((time.perf_counter() - began) * 1000)
    return median(times)


def measure(url: str, bookings: int, searches: int) -> dict[str, float]:
    """Seed the lab at ``url`` and time the searches there."""
    rng = random.Random(20301)
    store = Store(url)
    try:
        store.upgrade()
        began = time.perf_counter()
        rows = seed_bookings(store, seed_lab(store), bookings, rng)
        seeded = time.perf_counter() - began
        time_service_searches(store, 5, rng)  # warm-up: connections, statement caches
        service_ms, found_pct = time_service_searches(store, searches, rng)
        return {
            "rows": rows,
            "seed_s": seeded,
            "service_ms": service_ms,
            "found_pct": found_pct,
            "core_ms": time_core_search(store, searches, rng),
        }
    finally:
        store.close()


def main() -> None:
    """Seed both backends, time the searches and the booking rate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=50)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        sqlite_url = f"sqlite:///{Path(scratch) / 'slots.db'}"
        lite = measure(sqlite_url, args.bookings, args.searches)
        figures["earliest_slot_ms"] = lite["service_ms"]
        figures["earliest_slot_core_ms"] = lite["core_ms"]
        figures["earliest_slot_found_pct"] = lite["found_pct"]
        figures["book_per_s_sqlite"] = measure_book_per_s(sqlite_url)
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-bench-pg-")))
    try:
        pg_url = server.create_database("slots")
        pg = measure(pg_url, args.bookings, args.searches)
        figures["earliest_slot_ms_postgresql"] = pg["service_ms"]
        figures["book_per_s_postgresql"] = measure_book_per_s(pg_url)
    finally:
        stop_postgres(server)
    print(f"bookings stored: {lite['rows']:.0f} rows on 52 GPUs over a year")
    print(f"seeding took {lite['seed_s']:.1f} s (SQLite), {pg['seed_s']:.1f} s (PostgreSQL)")
    for name, value in figures.items():
        print(f"{name}: {value:.2f}")
    emit({name: round(value, 2) for name, value in figures.items()})


if __name__ == "__main__":
    main()
