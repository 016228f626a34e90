"""Many processes booking at once, and one killed mid-booking, on SQLite and PostgreSQL.

The workers are separate processes (``spawn``, as on Windows and macOS), each with its own
``Store``, all released together by a barrier, so their transactions really race.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import pytest
from sqlalchemy import text

from labgpu.core.booking.bookings import Booking, BookingConflictError, BookingStatus, Window
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.storage import Store, db

PROCESSES = 16
ATTEMPTS = 50
GPUS = 6
DAY0 = datetime(2030, 1, 7, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")

#: Pairs of live bookings of one GPU that overlap: must always be zero.
OVERLAPS_SQL = """
SELECT count(*) FROM bookings a JOIN bookings b
  ON a.gpu_id = b.gpu_id AND a.id < b.id AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts
WHERE a.status IN ('pending', 'booked') AND b.status IN ('pending', 'booked')
"""

Attempt = dict[str, Any]


@pytest.fixture
def lab(db_url: str) -> tuple[str, list[int]]:
    """A database with one server of ``GPUS`` GPUs: its URL and the GPU ids."""
    store = Store(db_url)
    store.upgrade()
    gpus = [
        GpuReading(i, f"C{i}", "NVIDIA RTX A4000", 16376, 0, 0.0, 30.0, 20.0) for i in range(GPUS)
    ]
    store.inventory.register_server("race", SshTarget("h"), gpus, "admin")
    ids = [g.id for g in store.inventory.list_gpus() if g.id is not None]
    store.close()
    return db_url, ids


def _scalar(url: str, sql: str) -> Any:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _plan(worker: int, gpu_ids: list[int]) -> list[Attempt]:
    """This worker's attempts: 1-3 random GPUs, 1-4 h, starting on the hour within 3 days;
    a quarter are requests pending approval; a third, if booked, then try to run 1-3 h longer."""
    rng = random.Random(worker)
    plan = []
    for n in range(ATTEMPTS):
        start = DAY0 + timedelta(hours=rng.randrange(72))
        end = start + timedelta(hours=rng.randint(1, 4))
        gpus = sorted(rng.sample(gpu_ids, rng.randint(1, 3)))
        status = BookingStatus.PENDING if rng.random() < 0.25 else BookingStatus.BOOKED
        longer = end + timedelta(hours=rng.randint(1, 3)) if rng.random() < 0.33 else None
        plan.append(
            {"group": f"w{worker:02d}-{n:02d}", "gpus": gpus, "start": start, "end": end,
             "status": status, "longer": longer}
        )  # fmt: skip
    return plan


def _attempt(store: Store, attempt: Attempt, user: str) -> None:
    """Book, then maybe extend; record each outcome (and the bookings a refusal named)."""
    window = Window(attempt["start"], attempt["end"])
    try:
        store.bookings.create_bookings(
            attempt["group"], attempt["gpus"], user, window, attempt["status"], "", user
        )
        attempt["outcome"] = "booked"
    except BookingConflictError as exc:
        attempt["outcome"] = "conflict"
        attempt["named"] = [c.booking_id for c in exc.conflicts]
        return
    if attempt["longer"] is None:
        return
    try:
        store.bookings.update_group(attempt["group"], actor=user, end=attempt["longer"])
        attempt["extended"] = "extended"
    except BookingConflictError as exc:
        attempt["extended"] = "conflict"
        attempt["named_extending"] = [c.booking_id for c in exc.conflicts]


def _book_many(url: str, worker: int, gpu_ids: list[int], barrier: Barrier, results: Any) -> None:
    """Worker process: try every attempt of the plan, report each outcome."""
    store = Store(url)
    user = f"user{worker:02d}"
    outcomes = []
    barrier.wait(60)
    for attempt in _plan(worker, gpu_ids):
        try:
            _attempt(store, attempt, user)
        except Exception as exc:  # noqa: BLE001 - any other failure fails the test, in the parent
            attempt["outcome"] = f"error: {exc!r}"
        outcomes.append(attempt)
    store.close()
    results.put(outcomes)


def _run_workers(url: str, gpu_ids: list[int]) -> list[Attempt]:
    barrier = SPAWN.Barrier(PROCESSES)
    results = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_book_many, args=(url, n, gpu_ids, barrier, results))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [a for _ in procs for a in results.get(timeout=240)]
    finally:
        for proc in procs:
            proc.join(30)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    return outcomes


def _check_named(
    named: list[int], attempt: Attempt, end: datetime, stored: dict[int, Booking]
) -> None:
    """A refusal names bookings that really hold one of the GPUs during the window asked for."""
    wanted = Window(attempt["start"], end)
    assert named, attempt
    for booking_id in named:
        holder = stored[booking_id]
        assert holder.gpu_id in attempt["gpus"]
        assert holder.window.overlaps(wanted)
        assert holder.group_id != attempt["group"]


def _stored(url: str) -> dict[int, Booking]:
    store = Store(url)
    try:
        return {b.id: b for b in store.bookings.list_bookings() if b.id is not None}
    finally:
        store.close()


@pytest.mark.slow
def test_racing_processes_never_double_book(lab: tuple[str, list[int]]) -> None:
    url, gpu_ids = lab
    outcomes = _run_workers(url, gpu_ids)
    assert len(outcomes) == PROCESSES * ATTEMPTS
    assert [a for a in outcomes if a["outcome"] not in ("booked", "conflict")] == []
    won = {a["group"]: a for a in outcomes if a["outcome"] == "booked"}
    lost = [a for a in outcomes if a["outcome"] == "conflict"]
    extended = [a for a in won.values() if a.get("extended") == "extended"]
    assert len(won) > 20  # real progress ...
    assert len(lost) > 100  # ... under real contention
    assert extended  # some extensions went through, too
    assert _scalar(url, OVERLAPS_SQL) == 0
    stored = _stored(url)
    groups: dict[str, set[tuple[int, Window, BookingStatus]]] = {}
    for b in stored.values():
        groups.setdefault(b.group_id, set()).add((b.gpu_id, b.window, b.status))
    # every winner is stored whole, as booked or extended; no loser left a row behind
    assert groups == {
        group: {(gpu, _final_window(a), a["status"]) for gpu in a["gpus"]}
        for group, a in won.items()
    }
    for attempt in lost:
        _check_named(attempt["named"], attempt, attempt["end"], stored)
    for attempt in won.values():
        if attempt.get("extended") == "conflict":
            _check_named(attempt["named_extending"], attempt, attempt["longer"], stored)


def _final_window(attempt: Attempt) -> Window:
    end = attempt["longer"] if attempt.get("extended") == "extended" else attempt["end"]
    return Window(attempt["start"], end)


def _hold_then_hang(url: str, gpu_id: int, inside: Event) -> None:
    """Child process: start a booking and stop inside its transaction (rows written, no commit)."""
    store = Store(url)

    def hang() -> None:
        inside.set()
        threading.Event().wait(600)  # killed long before this ends

    store.booking_hook = hang
    window = Window(DAY0, DAY0 + timedelta(hours=2))
    store.bookings.create_bookings(
        "killed", [gpu_id], "ghost", window, BookingStatus.BOOKED, "", "ghost"
    )


@pytest.mark.slow
def test_a_process_killed_mid_booking_leaves_no_trace(lab: tuple[str, list[int]]) -> None:
    url, gpu_ids = lab
    inside = SPAWN.Event()
    child = SPAWN.Process(target=_hold_then_hang, args=(url, gpu_ids[0], inside))
    child.start()
    store = Store(url)
    try:
        assert inside.wait(60), "the child never reached the middle of its booking"
        # Another member books the same GPU and time: it waits for the open transaction ...
        outcome: list[object] = []
        window = Window(DAY0 + timedelta(hours=1), DAY0 + timedelta(hours=3))

        def book_same_gpu() -> None:
            try:
                outcome.append(
                    store.bookings.create_bookings(
                        "alive", [gpu_ids[0]], "kim", window, BookingStatus.BOOKED, "", "kim"
                    )
                )
            except Exception as exc:  # noqa: BLE001 - checked below, in the test's thread
                outcome.append(exc)

        waiter = threading.Thread(target=book_same_gpu)
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive(), "the second booking did not wait for the open transaction"
        child.kill()  # SIGKILL on POSIX
        child.join(30)
        # ... and goes through once the killed one is gone: nothing of it stayed.
        waiter.join(30)
        assert not waiter.is_alive()
        assert len(outcome) == 1
        assert isinstance(outcome[0], list), outcome
        assert [(b.group_id, b.user_name) for b in store.bookings.list_bookings()] == [
            ("alive", "kim")
        ]
        assert all("killed" not in e.subject for e in store.list_audit())
        assert _scalar(url, "SELECT count(*) FROM bookings WHERE group_id = 'killed'") == 0
        store.bookings.create_bookings(
            "after", gpu_ids[1:3], "lee", window, BookingStatus.BOOKED, "", "lee"
        )  # the database takes writes as usual
    finally:
        store.close()
        if child.is_alive():
            child.kill()
    if url.startswith("sqlite"):
        assert _scalar(url, "PRAGMA integrity_check") == "ok"
