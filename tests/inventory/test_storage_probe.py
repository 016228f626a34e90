"""Store: probes (samples + processes in one transaction), latest status, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import GpuProcess, ServerState, SshTarget
from labgpu.storage import Store
from tests.test_storage import T0, probe, reading, scalar


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def two_gpus(store: Store) -> Store:
    store.inventory.register_server(
        "gpu-01", SshTarget("h1"), [reading(0, "U0"), reading(1, "U1")], "amy"
    )
    return store


def test_store_probe_saves_samples_and_processes(two_gpus: Store, db_url: str) -> None:
    procs = [GpuProcess("U0", 11, 500, "python", "amy", 60, "python train.py")]
    result = probe(T0, [reading(0, "U0", 55.5, 900), reading(1, "U1"), reading(2, "STRAY")], procs)
    assert two_gpus.inventory.store_probe("gpu-01", result) == 2
    assert scalar(db_url, "SELECT count(*) FROM gpu_samples") == 2
    assert scalar(db_url, "SELECT count(*) FROM gpu_processes") == 1
    server = two_gpus.inventory.get_server("gpu-01")
    assert server is not None
    assert server.state is ServerState.ONLINE
    assert server.last_seen == T0
    assert [g.uuid for g in two_gpus.inventory.list_gpus()] == [
        "U0",
        "U1",
    ]  # the stray is not added


def test_processes_of_unknown_gpus_are_ignored(two_gpus: Store, db_url: str) -> None:
    procs = [GpuProcess("STRAY", 1, 1, "x"), GpuProcess("U1", 2, 2, "y")]
    assert two_gpus.inventory.store_probe("gpu-01", probe(T0, [reading(1, "U1")], procs)) == 1
    assert scalar(db_url, "SELECT count(*) FROM gpu_processes") == 1


def test_failed_probe_stores_nothing(two_gpus: Store, db_url: str) -> None:
    two_gpus.inventory.set_server_state("gpu-01", ServerState.OFFLINE, "timed out", None)
    assert two_gpus.inventory.store_probe("gpu-01", probe(T0, [reading(1, "U1")])) == 1
    two_gpus.inventory.set_server_state("gpu-01", ServerState.OFFLINE, "timed out", None)
    # U0's sample is new, U1's repeats the stored one: the insert fails half-way through.
    again = probe(T0, [reading(0, "U0"), reading(1, "U1")], [GpuProcess("U0", 7, 1, "p")])
    with pytest.raises(LabgpuError, match="nothing of it was stored"):
        two_gpus.inventory.store_probe("gpu-01", again)
    assert scalar(db_url, "SELECT count(*) FROM gpu_samples") == 1
    assert scalar(db_url, "SELECT count(*) FROM gpu_processes") == 0
    server = two_gpus.inventory.get_server("gpu-01")
    assert server is not None
    assert server.state is ServerState.OFFLINE  # the state change was rolled back too


def test_store_probe_of_unknown_server(store: Store) -> None:
    with pytest.raises(LabgpuError, match="no server named 'nope'"):
        store.inventory.store_probe("nope", probe(T0, [reading(0, "U0")]))


def test_latest_status_shows_newest_sample_and_its_processes(two_gpus: Store) -> None:
    old = [GpuProcess("U0", 1, 100, "old", "amy")]
    new = [GpuProcess("U0", 2, 200, "new", "bo"), GpuProcess("U0", 3, 300, "new2", "cy")]
    two_gpus.inventory.store_probe("gpu-01", probe(T0, [reading(0, "U0", 10.0)], old))
    later = T0 + timedelta(seconds=5)
    two_gpus.inventory.store_probe("gpu-01", probe(later, [reading(0, "U0", 90.0, 7000)], new))
    gpu0, gpu1 = two_gpus.inventory.latest_status()
    assert (gpu0.server, gpu0.index, gpu0.uuid, gpu0.server_state) == (
        "gpu-01",
        0,
        "U0",
        ServerState.ONLINE,
    )
    assert (gpu0.utilization_pct, gpu0.memory_used_mb, gpu0.sampled_at) == (90.0, 7000, later)
    assert [p.pid for p in gpu0.processes] == [2, 3]
    assert gpu0.owners == ("bo", "cy")
    assert gpu0.processes[0] == new[0]
    assert gpu1.sampled_at is None
    assert gpu1.processes == ()
    assert gpu1.memory_total_mb == 16376


def test_current_users_are_those_of_each_gpus_latest_sample_on_online_servers(
    two_gpus: Store,
) -> None:
    """What the slot search asks: who runs something on which GPU now (one light query)."""
    old = [GpuProcess("U0", 1, 100, "old", "amy"), GpuProcess("U1", 4, 100, "x", "dan")]
    new = [GpuProcess("U0", 2, 200, "new", "bo"), GpuProcess("U0", 3, 300, "new2", "bo")]
    two_gpus.inventory.store_probe("gpu-01", probe(T0, [reading(0, "U0"), reading(1, "U1")], old))
    later = T0 + timedelta(seconds=5)
    two_gpus.inventory.store_probe(
        "gpu-01", probe(later, [reading(0, "U0"), reading(1, "U1")], new)
    )
    ids = {g.uuid: g.id for g in two_gpus.inventory.list_gpus()}
    assert two_gpus.inventory.current_users() == {ids["U0"]: {"bo"}}  # amy's and dan's are history
    assert {g.uuid: g.owners for g in two_gpus.inventory.latest_status() if g.owners} == {
        "U0": ("bo",)
    }
    two_gpus.inventory.set_server_state("gpu-01", ServerState.OFFLINE, "timed out", None)
    assert (
        two_gpus.inventory.current_users() == {}
    )  # an offline server's last processes are not now


def test_latest_status_order_states_and_retired(store: Store) -> None:
    store.inventory.register_server(
        "b", SshTarget("b"), [reading(1, "B1"), reading(0, "B0")], "amy"
    )
    store.inventory.register_server(
        "a", SshTarget("a"), [reading(0, "A0"), reading(1, "A1")], "amy"
    )
    store.inventory.sync_gpus("a", [reading(0, "A0")], "amy")
    store.inventory.set_server_state("b", ServerState.AUTH_FAILED, "key refused", None)
    rows = store.inventory.latest_status()
    assert [(r.server, r.index) for r in rows] == [("a", 0), ("b", 0), ("b", 1)]
    assert rows[1].server_state is ServerState.AUTH_FAILED
    assert rows[1].server_reason == "key refused"
    assert not rows[1].is_free


def test_latest_status_is_two_queries(store: Store) -> None:
    for s in range(3):
        readings = [reading(i, f"S{s}G{i}") for i in range(4)]
        store.inventory.register_server(f"s{s}", SshTarget(f"h{s}"), readings, "amy")
        for k in range(3):
            procs = [GpuProcess(f"S{s}G{i}", 100 + k, 1, "p", "amy") for i in range(4)]
            store.inventory.store_probe(f"s{s}", probe(T0 + timedelta(seconds=k), readings, procs))
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        rows = store.inventory.latest_status()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(rows) == 12
    assert all(r.sampled_at == T0 + timedelta(seconds=2) for r in rows)
    assert all([p.pid for p in r.processes] == [102] for r in rows)
    assert len(selects) <= 2


def test_concurrent_probes_do_not_lock(store: Store, db_url: str) -> None:
    servers = [f"s{n}" for n in range(4)]
    for name in servers:
        store.inventory.register_server(
            name, SshTarget(name), [reading(i, f"{name}-{i}") for i in range(4)], "a"
        )
    barrier = threading.Barrier(len(servers))

    def run(name: str) -> int:
        readings = [reading(i, f"{name}-{i}") for i in range(4)]
        procs = [GpuProcess(f"{name}-0", 1, 1, "p")]
        barrier.wait()
        stored = 0
        for k in range(30):
            stored += store.inventory.store_probe(
                name, probe(T0 + timedelta(seconds=k), readings, procs)
            )
            store.inventory.latest_status()
        return stored

    with ThreadPoolExecutor(len(servers)) as pool:
        totals = list(pool.map(run, servers))
    assert totals == [120] * 4
    assert scalar(db_url, "SELECT count(*) FROM gpu_samples") == 480
