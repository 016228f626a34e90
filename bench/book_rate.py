"""Bookings per second through ``Store.bookings.create_bookings`` (sequential, non-conflicting).

``measure_book_per_s(url)`` is used by ``bench/slots.py``; run alone it measures a fresh SQLite
file and a fresh PostgreSQL (started from the system binaries) and prints (medians of runs):
  book_per_s_sqlite      one-GPU bookings committed per second on SQLite (WAL, BEGIN IMMEDIATE)
  book_per_s_postgresql  the same on PostgreSQL (exclusion constraint, fsync off as in tests)

Each booking is its own transaction: GPU check, maintenance check, overlap check, insert,
audit line, commit. The bookings go on GPUs of a server of their own, one after another in
time, so none conflicts whatever the database already holds.

Usage: .venv/bin/python bench/book_rate.py [--runs 5] [--bookings 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.storage import Store
from tests.helpers.postgres import start_postgres, stop_postgres

SERVER = "bench-book-rate"
GPUS = 4
FIRST_START = datetime(2031, 1, 1, tzinfo=UTC)


def _bench_gpus(store: Store) -> list[int]:
    readings = [
        GpuReading(i, f"BENCH-BOOK-{i}", "NVIDIA RTX A4000", 16376, 0, 0.0, 30.0, 20.0)
        for i in range(GPUS)
    ]
    store.inventory.register_server(SERVER, SshTarget("bench.invalid"), readings, "bench")
    return [g.id for g in store.inventory.list_gpus(SERVER) if g.id is not None]


def _first_free(store: Store, gpu_ids: list[int]) -> datetime:
    ends = [
        b.window.end for b in store.bookings.list_bookings(start=FIRST_START) if b.gpu_id in gpu_ids
    ]
    return max(ends, default=FIRST_START)


def _one_run(store: Store, gpu_ids: list[int], bookings: int) -> float:
    start = _first_free(store, gpu_ids)
    began = time.perf_counter()
    for n in range(bookings):
        slot = start + timedelta(hours=n // len(gpu_ids))
        window = Window(slot, slot + timedelta(hours=1))
        gpu = [gpu_ids[n % len(gpu_ids)]]
        store.bookings.create_bookings(
            str(uuid.uuid4()), gpu, "bench", window, BookingStatus.BOOKED, "", "bench"
        )
    return bookings / (time.perf_counter() - began)


def measure_book_per_s(url: str, runs: int = 5, bookings: int = 200) -> float:
    """Median, over ``runs``, of one-GPU bookings committed per second at ``url``.

    Upgrades the schema if needed and books on a server of its own (``bench-book-rate``),
    after any bookings already there, so it can run against a database full of other data.
    """
    store = Store(url)
    try:
        store.upgrade()
        gpu_ids = _bench_gpus(store)
        _one_run(store, gpu_ids, 10)  # warm-up: connections, statement caches
        return median([_one_run(store, gpu_ids, bookings) for _ in range(runs)])
    finally:
        store.close()


def main() -> None:
    """Measure both backends on fresh databases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        sqlite_url = f"sqlite:///{Path(scratch) / 'book_rate.db'}"
        figures["book_per_s_sqlite"] = measure_book_per_s(sqlite_url, args.runs, args.bookings)
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-bench-pg-")))
    try:
        pg_url = server.create_database("book_rate")
        figures["book_per_s_postgresql"] = measure_book_per_s(pg_url, args.runs, args.bookings)
    finally:
        stop_postgres(server)
    for name, value in figures.items():
        print(f"{name}: {value:.1f}")
    emit({name: round(value, 1) for name, value in figures.items()})


if __name__ == "__main__":
    main()
