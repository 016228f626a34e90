"""The busy map kept per process (storage/busy_cache.py): it always equals what the database
says, another process's booking is seen at once, and a booking committed after a later one
(PostgreSQL: its audit id is below the newest) is seen once it commits."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.storage import Store
from labgpu.storage import bookings as rows
from labgpu.storage.busy_cache import change_counter

T0 = datetime(2031, 3, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def readings(count: int) -> list[GpuReading]:
    return [GpuReading(i, f"U{i}", "NVIDIA RTX A4000", 16376, 0, 0.0, 30, 50) for i in range(count)]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings(4), "admin")
    yield store
    store.close()


def book(store: Store, gpu_id: int, start: datetime, hours: float, user: str = "kim") -> str:
    group = str(uuid.uuid4())
    window = Window(start, start + hours * H)
    store.bookings.create_bookings(group, [gpu_id], user, window, BookingStatus.BOOKED, "", user)
    return group


def direct(store: Store, start: datetime, end: datetime) -> dict[int, list[Window]]:
    """The busy map read straight from the tables, without the cache."""
    with Session(store._engine) as s:  # noqa: SLF001 - the reference the cache must equal
        found = rows.busy_windows(s, start, end)
    return {g: sorted(w, key=lambda x: (x.start, x.end)) for g, w in found.items()}


def cached(store: Store, start: datetime, end: datetime) -> dict[int, list[Window]]:
    found = store.bookings.busy_windows(start, end)
    return {g: sorted(w, key=lambda x: (x.start, x.end)) for g, w in found.items()}


def test_the_kept_map_equals_the_tables_for_any_span(store: Store) -> None:
    rng = random.Random(7)
    gpus = [g.id for g in store.inventory.list_gpus() if g.id is not None]
    free_from = dict.fromkeys(gpus, T0)
    for _ in range(120):  # back-to-back and gapped bookings, some long, per GPU
        gpu = rng.choice(gpus)
        start = free_from[gpu] + rng.choice((0, 0, 1, 5)) * H
        hours = rng.choice((1, 2, 8, 30))
        book(store, gpu, start, hours)
        free_from[gpu] = start + hours * H
    store.bookings.add_maintenance(gpus[:2], Window(T0 + 10 * H, T0 + 200 * H), "rack", "admin")
    for _ in range(60):
        start = T0 + rng.uniform(-20, 400) * H
        end = start + rng.uniform(0.5, 100) * H
        assert cached(store, start, end) == direct(store, start, end)


def test_another_process_booking_is_seen_at_once(db_url: str, store: Store) -> None:
    gpu = next(g.id for g in store.inventory.list_gpus() if g.id is not None)
    assert cached(store, T0, T0 + 10 * H) == {}  # kept now
    other = Store(db_url)  # another member's app: its own process, its own cache
    try:
        book(other, gpu, T0 + H, 2, user="lee")
    finally:
        other.close()
    assert cached(store, T0, T0 + 10 * H) == {gpu: [Window(T0 + H, T0 + 3 * H)]}


def test_a_cancellation_frees_the_slot_in_the_kept_map(store: Store) -> None:
    gpu = next(g.id for g in store.inventory.list_gpus() if g.id is not None)
    group = book(store, gpu, T0, 4)
    assert cached(store, T0, T0 + 10 * H) == {gpu: [Window(T0, T0 + 4 * H)]}
    store.bookings.update_group(group, actor="kim", status=BookingStatus.CANCELLED)
    assert cached(store, T0, T0 + 10 * H) == {}


def test_a_booking_committed_after_a_later_one_is_seen(postgres_url: str) -> None:
    """On PostgreSQL an audit id is taken at write time: a booking that writes first and
    commits after a later one must still be seen once it commits."""
    store = Store(postgres_url)
    store.upgrade()
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings(2), "admin")
    gpu_a, gpu_b = (g.id for g in store.inventory.list_gpus() if g.id is not None)
    held, release = threading.Event(), threading.Event()
    slow = Store(postgres_url)

    def hold() -> None:
        held.set()
        assert release.wait(30)

    slow.booking_hook = hold  # inside the transaction, after its insert and audit line
    worker = threading.Thread(target=lambda: book(slow, gpu_a, T0, 2, user="amy"))
    try:
        worker.start()
        assert held.wait(30)
        book(store, gpu_b, T0, 1)  # a later audit id, committed first
        assert cached(store, T0, T0 + 5 * H) == {gpu_b: [Window(T0, T0 + H)]}
        release.set()
        worker.join(30)
        assert cached(store, T0, T0 + 5 * H) == {
            gpu_a: [Window(T0, T0 + 2 * H)],
            gpu_b: [Window(T0, T0 + H)],
        }
    finally:
        release.set()
        worker.join(30)
        slow.close()
        store.close()


def test_the_counter_moves_with_every_audit_line(store: Store) -> None:
    with Session(store._engine) as s:  # noqa: SLF001
        newest, recent = change_counter(s)
    store.audit("admin", "test.touch", "x")
    with Session(store._engine) as s:  # noqa: SLF001
        assert change_counter(s) == (newest + 1, recent + 1)


def test_rules_and_gpus_kept_with_the_map_follow_every_change(store: Store) -> None:
    """The search's rules and GPUs come from the same kept basis: a manager's change of
    either is seen by the next search."""
    from labgpu.core.booking.rules import BookingRules

    first = store.bookings.search_basis()
    assert store.bookings.search_basis() is first  # nothing changed: kept
    gpu = first.gpus[0]
    assert gpu.id is not None
    assert gpu.bookable
    store.bookings.set_gpu_bookable(gpu.id, False, "admin")
    second = store.bookings.search_basis()
    assert [g.bookable for g in second.gpus if g.id == gpu.id] == [False]
    store.bookings.set_rules(BookingRules(max_hours=12.0), "admin")
    assert store.bookings.search_basis().rules.max_hours == 12.0
    more = [GpuReading(i, f"V{i}", "NVIDIA A40", 46068, 0, 0.0, 30, 50) for i in range(2)]
    store.inventory.register_server("gpu-02", SshTarget("h2"), more, "admin")
    assert len(store.bookings.search_basis().gpus) == 6
