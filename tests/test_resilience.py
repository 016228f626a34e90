"""A PostgreSQL restart while labgpu is open: it recovers, and a booking exists exactly once.

Writes are never retried behind the person's back: an edit cut off by the restart raises
``DatabaseError`` (reported as *not saved*); doing it again either succeeds or is refused because
the first attempt did commit (the bookings exclusion constraint) — never applied twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from labgpu.core.errors import DatabaseError, RefusedError
from labgpu.core.inventory.servers import GpuReading, ProbeResult, SshTarget
from labgpu.services import Labgpu
from tests.helpers.postgres import PostgresServer

pytestmark = pytest.mark.slow


@pytest.fixture
def lab(postgres_url: str) -> Iterator[Labgpu]:
    labgpu = Labgpu(postgres_url)
    labgpu.open()
    gpus = tuple(
        GpuReading(i, f"GPU-r-{i:02d}-0000-0000-000000000000", "NVIDIA A40", 46068, 3, 0.0, 40, 30)
        for i in range(2)
    )
    probe = ProbeResult("127.0.0.1", datetime.now(UTC), gpus, ())
    labgpu.inventory.register_server(
        "gpu-r", SshTarget("gpu-r.lab.example.org", 22, "labuser"), probe
    )
    yield labgpu
    labgpu.close()


def slot(hours: int) -> tuple[datetime, datetime]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
    return start, start + timedelta(hours=1)


def gpu_ids(lab: Labgpu) -> list[int]:
    return sorted(g.id for g in lab.inventory.list_gpus() if g.id is not None)


def count_bookings(server: PostgresServer, url: str, gpu_id: int) -> int:
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(server.conninfo(dbname)) as conn:
        row = conn.execute("SELECT count(*) FROM bookings WHERE gpu_id = %s", (gpu_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_restart_between_two_operations(
    lab: Labgpu, postgres_server: PostgresServer, postgres_url: str
) -> None:
    gpu = gpu_ids(lab)[0]
    first = slot(2)
    lab.bookings.book([gpu], *first)
    postgres_server.restart()
    second = slot(4)
    lab.bookings.book([gpu], *second)  # the stale pooled connection is replaced, no error
    assert count_bookings(postgres_server, postgres_url, gpu) == 2
    assert len(lab.bookings.between(first[0], second[1])) == 2


def test_restart_during_a_booking(
    lab: Labgpu, postgres_server: PostgresServer, postgres_url: str
) -> None:
    gpu = gpu_ids(lab)[1]
    start, end = slot(6)
    dbname = postgres_url.rsplit("/", 1)[1]
    outcome: list[BaseException | None] = []
    blocker = psycopg.connect(postgres_server.conninfo(dbname))
    try:
        blocker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")  # the booking waits

        def book() -> None:
            try:
                lab.bookings.book([gpu], start, end)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=book)
        worker.start()
        _wait_for_lock_wait(postgres_server, dbname)
        postgres_server.restart()  # the booking's connection breaks mid-transaction
        worker.join(60)
    finally:
        blocker.close()
    assert len(outcome) == 1
    assert isinstance(outcome[0], DatabaseError), outcome  # reported: not saved
    assert count_bookings(postgres_server, postgres_url, gpu) == 0
    lab.bookings.book([gpu], start, end)  # doing it again works on a fresh connection
    with pytest.raises(RefusedError):
        lab.bookings.book([gpu], start, end)  # and a third try is refused: never twice
    assert count_bookings(postgres_server, postgres_url, gpu) == 1


def _wait_for_lock_wait(server: PostgresServer, dbname: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(server.conninfo(dbname)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND wait_event_type = 'Lock'",
                (dbname,),
            ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the booking never waited for the lock")
