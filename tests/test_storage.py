"""Store: servers, GPUs (added / replaced / retired / restored), audit, UTC round trips."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import (
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.storage import GpuSyncReport, Store, db
from tests.helpers.postgres import PostgresServer

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
A4000 = "NVIDIA RTX A4000"


def reading(index: int, uuid: str, util: float | None = 10.0, used: int | None = 100) -> GpuReading:
    """A GPU row as the probe would report it."""
    return GpuReading(index, uuid, A4000, 16376, used, util, 40.0, 70.5)


def probe(
    at: datetime, readings: Sequence[GpuReading], processes: Sequence[GpuProcess] = ()
) -> ProbeResult:
    """A probe result taken at ``at``."""
    return ProbeResult("host", at, tuple(readings), tuple(processes))


def scalar(url: str, sql: str, **params: object) -> object:
    """One value straight from the database, bypassing the store."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    yield store
    store.close()


def actions(store: Store) -> list[str]:
    return [e.action for e in reversed(store.list_audit())]


def test_register_server_with_gpus(store: Store) -> None:
    target = SshTarget("gpu-01.lab", port=2222, user="lab")
    server, report = store.inventory.register_server(
        "gpu-01", target, [reading(0, "U0"), reading(1, "U1")], "amy"
    )
    assert server.name == "gpu-01"
    assert server.target == target
    assert server.id is not None
    assert server.state is ServerState.UNKNOWN
    assert report == GpuSyncReport(added=("U0", "U1"))
    assert store.inventory.get_server("gpu-01") == server
    assert [
        (g.server_name, g.index, g.uuid, g.model, g.memory_mb) for g in store.inventory.list_gpus()
    ] == [
        ("gpu-01", 0, "U0", A4000, 16376),
        ("gpu-01", 1, "U1", A4000, 16376),
    ]
    assert actions(store) == ["server.add", "gpu.add", "gpu.add"]
    assert "port: - → 2222" in store.list_audit()[-1].detail
    assert store.inventory.has_servers()


def test_reregister_with_replaced_gpu(store: Store) -> None:
    target = SshTarget("gpu-01.lab")
    store.inventory.register_server("gpu-01", target, [reading(0, "U0"), reading(1, "U1")], "amy")
    _, report = store.inventory.register_server(
        "gpu-01", target, [reading(0, "U0"), reading(1, "NEW")], "bo"
    )
    assert report == GpuSyncReport(added=("NEW",), retired=("U1",))
    assert [g.uuid for g in store.inventory.list_gpus("gpu-01")] == ["U0", "NEW"]
    assert [g.uuid for g in store.inventory.list_gpus(include_retired=True)] == ["U0", "U1", "NEW"]
    entries = store.list_audit(limit=2)
    assert [(e.action, e.actor, e.subject) for e in entries] == [
        ("gpu.add", "bo", "gpu-01/gpu1"),
        ("gpu.retire", "bo", "gpu-01/gpu1"),
    ]
    assert "U1" in entries[1].detail
    assert "NEW" in entries[0].detail


def test_unchanged_reregister_changes_nothing(store: Store) -> None:
    target = SshTarget("gpu-01.lab")
    store.inventory.register_server("gpu-01", target, [reading(0, "U0")], "amy")
    before = store.list_audit()
    _, report = store.inventory.register_server("gpu-01", target, [reading(0, "U0")], "amy")
    assert report == GpuSyncReport()
    assert store.list_audit() == before


def test_gpu_that_reappears_is_restored(store: Store) -> None:
    store.inventory.register_server(
        "s", SshTarget("h"), [reading(0, "U0"), reading(1, "U1")], "amy"
    )
    assert store.inventory.sync_gpus("s", [reading(0, "U0")], "amy").retired == ("U1",)
    report = store.inventory.sync_gpus("s", [reading(0, "U1"), reading(1, "U0")], "amy")
    assert report == GpuSyncReport(updated=("U1", "U0"))
    assert [(g.index, g.uuid) for g in store.inventory.list_gpus()] == [(0, "U1"), (1, "U0")]
    assert actions(store)[-2:] == ["gpu.restore", "gpu.update"]
    assert "index: 0 → 1" in store.list_audit(limit=1)[0].detail


def test_gpu_moved_to_another_server(store: Store) -> None:
    store.inventory.register_server("a", SshTarget("a"), [reading(0, "U0")], "amy")
    store.inventory.register_server("b", SshTarget("b"), [reading(0, "U0")], "amy")
    assert [g.server_name for g in store.inventory.list_gpus(include_retired=True)] == ["b"]
    assert "server: a → b" in store.list_audit(limit=1)[0].detail


def test_duplicate_uuid_in_readings_is_refused(store: Store) -> None:
    with pytest.raises(LabgpuError, match="twice"):
        store.inventory.register_server(
            "s", SshTarget("h"), [reading(0, "U0"), reading(1, "U0")], "amy"
        )
    assert (
        store.inventory.get_server("s") is None
    )  # one transaction: the server was not kept either


def test_upsert_server_audits_changes(store: Store) -> None:
    store.inventory.upsert_server("s", SshTarget("h"), "amy")
    server = store.inventory.upsert_server(
        "s", SshTarget("h", port=2200, jump_host="bastion"), "bo"
    )
    assert server.target.port == 2200
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("server.update", "bo", "s")
    assert entry.detail == "port: - → 2200; jump_host: - → bastion"


def test_set_server_state(store: Store, db_url: str) -> None:
    store.inventory.upsert_server("s", SshTarget("h"), "amy")
    since_sql = "SELECT state_since FROM servers WHERE name = 's'"
    store.inventory.set_server_state("s", ServerState.OFFLINE, "timed out", None)
    since = scalar(db_url, since_sql)
    store.inventory.set_server_state("s", ServerState.OFFLINE, "refused", None)
    assert scalar(db_url, since_sql) == since
    server = store.inventory.get_server("s")
    assert server is not None
    assert (server.state, server.state_reason, server.last_seen) == (
        ServerState.OFFLINE,
        "refused",
        None,
    )
    store.inventory.set_server_state("s", ServerState.ONLINE, "", T0)
    assert scalar(db_url, since_sql) != since
    assert store.inventory.list_servers()[0].last_seen == T0
    with pytest.raises(LabgpuError, match="no server named 'x'"):
        store.inventory.set_server_state("x", ServerState.ONLINE, "", None)


def test_aware_utc_round_trip(store: Store) -> None:
    seoul = timezone(timedelta(hours=9))
    seen = datetime(2024, 5, 1, 21, 30, 15, 654321, tzinfo=seoul)
    store.inventory.upsert_server("s", SshTarget("h"), "amy")
    store.inventory.set_server_state("s", ServerState.ONLINE, "", seen)
    server = store.inventory.get_server("s")
    assert server is not None
    assert server.last_seen is not None
    assert server.last_seen == seen
    assert server.last_seen.tzinfo is not None
    assert server.last_seen.utcoffset() == timedelta(0)
    assert server.last_seen.hour == 12
    entry = store.list_audit(limit=1)[0]
    assert entry.ts.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - entry.ts) < timedelta(minutes=1)


def test_naive_datetime_is_refused(store: Store) -> None:
    store.inventory.upsert_server("s", SshTarget("h"), "amy")
    with pytest.raises(StatementError, match="naive datetime"):
        store.inventory.set_server_state("s", ServerState.ONLINE, "", datetime(2024, 5, 1, 12))


def test_remove_server_cascades(store: Store, db_url: str) -> None:
    store.inventory.register_server("s", SshTarget("h"), [reading(0, "U0")], "amy")
    proc = GpuProcess("U0", 42, 1000, "python", "amy")
    assert store.inventory.store_probe("s", probe(T0, [reading(0, "U0")], [proc])) == 1
    store.inventory.register_server("t", SshTarget("t"), [reading(0, "T0")], "amy")
    store.inventory.remove_server("s", "bo")
    assert store.inventory.get_server("s") is None
    assert [g.uuid for g in store.inventory.list_gpus(include_retired=True)] == ["T0"]
    assert scalar(db_url, "SELECT count(*) FROM gpu_samples") == 0
    assert scalar(db_url, "SELECT count(*) FROM gpu_processes") == 0
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("server.remove", "bo", "s")
    with pytest.raises(LabgpuError, match="no server named 's'"):
        store.inventory.remove_server("s", "bo")


def test_has_servers_and_audit(store: Store) -> None:
    assert not store.inventory.has_servers()
    assert store.inventory.list_servers() == []
    for i in range(5):
        store.audit("amy", "user.add", f"u{i}", "role=student")
    entries = store.list_audit(limit=3)
    assert [e.subject for e in entries] == ["u4", "u3", "u2"]
    assert entries[0].detail == "role=student"
    assert entries[0].id is not None


def test_unreachable_database_is_a_known_error() -> None:
    store = Store("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(LabgpuError, match="the database at .*127.0.0.1:1/nowhere failed"):
            store.upgrade()
        with pytest.raises(LabgpuError, match="check that it is reachable"):
            store.inventory.list_servers()
    finally:
        store.close()


def test_store_survives_a_postgres_restart(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = Store(postgres_url)
    try:
        store.upgrade()
        store.inventory.upsert_server("s", SshTarget("h"), "amy")
        postgres_server.restart()
        assert [s.name for s in store.inventory.list_servers()] == ["s"]  # pool_pre_ping reconnects
    finally:
        store.close()


def test_reads_inside_reading_share_one_connection_and_transaction(tmp_path: Path) -> None:
    """A slot search reads rules, GPUs, servers, statuses and the busy map: inside
    ``Store.reading`` they cost one connection checkout, and an error leaves nothing behind."""
    from sqlalchemy import event

    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    checkouts: list[object] = []
    event.listen(store._engine, "checkout", lambda *_args: checkouts.append(1))
    try:
        with store.reading():
            store.bookings.get_rules()
            store.inventory.list_gpus()
            store.inventory.list_servers()
        assert len(checkouts) == 1

        def failing_search() -> None:
            with store.reading():
                store.inventory.list_gpus()
                raise RuntimeError("a search that fails")

        with pytest.raises(RuntimeError):
            failing_search()
        checkouts.clear()
        store.inventory.list_gpus()  # on its own again: the shared session is gone
        store.inventory.list_gpus()
        assert len(checkouts) == 2
    finally:
        store.close()
