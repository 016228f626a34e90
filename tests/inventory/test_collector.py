"""The collector against real sshd hosts: states, recovery, nothing partial stored."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import text

from labgpu.core.errors import (
    AuthFailedError,
    DatabaseError,
    HostKeyChangedError,
    HostKeyUnknownError,
    LabgpuError,
    ProbeParseError,
    RemoteTimeoutError,
    UnreachableError,
)
from labgpu.core.inventory.servers import (
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.core.usage.figures import MINUTE
from labgpu.services import Labgpu
from labgpu.services.inventory.backlog import Backlog, PendingWrite
from labgpu.services.inventory.collector import Collector, classify_error
from labgpu.storage import Store, db
from labgpu.storage.inventory_store import InventoryStore
from tests.helpers.sshd import Fleet


@pytest.fixture
def lab(gpu_hosts: Fleet, monkeypatch: pytest.MonkeyPatch) -> Iterator[Labgpu]:
    monkeypatch.setenv("LABGPU_SSH_CONFIG", str(gpu_hosts.ssh_config))
    lab = Labgpu()
    lab.open()
    host = gpu_hosts.a40
    lab.inventory.add_server(host.target, "a40", host.fingerprint)
    yield lab
    lab.close()


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (UnreachableError("h", "refused"), ServerState.OFFLINE),
        (RemoteTimeoutError("h", "slow"), ServerState.OFFLINE),
        (AuthFailedError("h", "denied"), ServerState.AUTH_FAILED),
        (HostKeyUnknownError("h", "SHA256:x"), ServerState.HOST_KEY_UNKNOWN),
        (HostKeyChangedError("h", "SHA256:x", "SHA256:y"), ServerState.HOST_KEY_CHANGED),
        (ProbeParseError("h", "junk", "bad"), ServerState.PROBE_ERROR),
        (RuntimeError("bug"), ServerState.PROBE_ERROR),
    ],
)
def test_classify_error(error: Exception, state: ServerState) -> None:
    got, reason = classify_error(error)
    assert got is state
    assert reason


def test_driver_failure_then_recovery(lab: Labgpu, gpu_hosts: Fleet) -> None:
    standin = gpu_hosts.a40.standin
    assert standin is not None
    collector = lab.inventory.make_collector()
    server = lab.store.inventory.get_server("a40")
    assert server is not None
    before = lab.store.inventory.sample_times("a40")
    standin.set_failure(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9
    )
    try:
        outcome = collector.probe_server(server)
    finally:
        standin.set_failure(None)
    assert outcome.state is ServerState.PROBE_ERROR
    assert "couldn't communicate with the NVIDIA driver" in outcome.reason
    stored = lab.store.inventory.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.PROBE_ERROR
    assert lab.store.inventory.sample_times("a40") == before  # nothing stored for the failed sweep
    outcome = collector.probe_server(server)
    assert outcome.state is ServerState.ONLINE
    assert outcome.samples == 4
    stored = lab.store.inventory.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.ONLINE
    assert stored.state_reason == ""
    assert len(lab.store.inventory.sample_times("a40")) == len(before) + 1
    collector.stop()


def test_database_trouble_does_not_blame_the_server(
    lab: Labgpu, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = lab.inventory.make_collector()
    server = lab.store.inventory.get_server("a40")
    assert server is not None

    def broken(*_args: object, **_kwargs: object) -> int:
        raise DatabaseError("the database at x failed: disk I/O error")

    monkeypatch.setattr(InventoryStore, "store_probe", broken)  # every store.inventory
    outcome = collector.probe_server(server)
    monkeypatch.undo()
    assert "disk I/O error" in outcome.reason
    stored = lab.store.inventory.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.ONLINE  # unchanged: the server answered fine
    collector.stop()


@pytest.mark.parametrize("ending", ["answers", "fails"])
def test_stop_waits_for_the_probe_in_flight_and_stores_nothing_it_sees(
    lab: Labgpu, ending: str
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_probe(target: SshTarget) -> ProbeResult:
        result = lab.inventory.discover(target)  # a real reading of the real host
        entered.set()
        release.wait(30)
        if ending == "fails":  # what closing the SSH connections does to a probe
            raise UnreachableError(target.host, "connection closed")
        return result

    before = lab.store.inventory.get_server("a40")
    assert before is not None
    times = lab.store.inventory.sample_times("a40")
    collector = Collector(lab.store, slow_probe, interval_s=0.05)
    collector.start()
    assert entered.wait(30)
    stopper = threading.Thread(target=collector.stop, kwargs={"wait_s": 30})
    stopper.start()
    stopper.join(0.5)
    assert stopper.is_alive()  # the probe cannot end before it is released: stop waits for it
    release.set()
    stopper.join(30)
    assert not stopper.is_alive()
    after = lab.store.inventory.get_server("a40")
    assert after is not None
    assert (after.state, after.state_reason) == (before.state, before.state_reason)
    assert lab.store.inventory.sample_times("a40") == times  # nothing stored once stopped


def test_a_closed_lab_is_not_reopened_behind_its_back(lab: Labgpu) -> None:
    lab.inventory.start_collector(interval_s=0.05)
    lab.close()
    with pytest.raises(LabgpuError, match="labgpu was closed; open the lab again"):
        _ = lab.store
    with pytest.raises(LabgpuError, match="labgpu was closed"):
        _ = lab.pool
    lab.open()  # the fixture closes it again
    assert [s.name for s in lab.store.inventory.list_servers()] == ["a40"]


# -- the database goes away: keep, then store once, in order --------------------------------


def _readings(prefix: str, count: int = 2) -> tuple[GpuReading, ...]:
    return tuple(
        GpuReading(i, f"{prefix}-{i}", "NVIDIA A40", 46068, 100, 50.0, 40, 60) for i in range(count)
    )


def _probe_at(at: datetime, prefix: str = "GPU-k") -> ProbeResult:
    gpus = _readings(prefix)
    procs = tuple(GpuProcess(g.uuid, 4000 + g.index, 100, "python", "amy") for g in gpus)
    return ProbeResult("h", at, gpus, procs)


@pytest.fixture
def kept_store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server(
        "k", SshTarget("k.lab.example.org"), _readings("GPU-k"), "admin"
    )
    yield store
    store.close()


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def test_backlog_drops_the_oldest_beyond_its_limit() -> None:
    backlog = Backlog(limit=5)
    now = datetime.now(UTC)
    first, second, third = (
        PendingWrite("k", _probe_at(now + timedelta(seconds=i))) for i in range(3)
    )
    assert backlog.add(first) == []
    assert backlog.add(second) == []
    assert backlog.add(third) == [first]  # 6 samples > 5: the oldest goes
    assert (len(backlog), backlog.samples, backlog.peek()) == (2, 4, second)
    backlog.done(third)  # not the oldest: nothing happens
    assert backlog.hold() is second  # being written: not dropped, the next oldest goes
    fourth = PendingWrite("k", _probe_at(now + timedelta(seconds=3)))
    assert backlog.add(fourth) == [third]
    backlog.done(second)
    assert backlog.peek() is fourth
    with pytest.raises(ValueError, match="at least one sample"):
        Backlog(limit=0)


def test_a_replayed_probe_is_stored_once_with_its_processes(kept_store: Store) -> None:
    url = kept_store.url
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    whole = _probe_at(at)
    # A write cut off at its commit that did commit: the replay adds nothing.
    assert kept_store.inventory.store_probe("k", whole) == 2
    assert kept_store.inventory.store_probe("k", whole, replay=True) == 0
    # Half of a probe stored: the replay adds the other GPU and its process only.
    later = _probe_at(at + timedelta(seconds=5))
    half = ProbeResult("h", later.taken_at, later.gpus[:1], later.processes[:1])
    assert kept_store.inventory.store_probe("k", half) == 1
    assert kept_store.inventory.store_probe("k", later, replay=True) == 1
    assert _rows(url, "SELECT count(*) FROM gpu_samples") == [(4,)]
    doubled = (
        "SELECT gpu_id, ts, pid FROM gpu_processes GROUP BY gpu_id, ts, pid HAVING count(*) > 1"
    )
    assert _rows(url, doubled) == []
    assert _rows(url, "SELECT count(*) FROM gpu_processes") == [(4,)]
    # A plain store of the same probe is still refused as a repeat.
    with pytest.raises(LabgpuError, match="repeats a stored reading"):
        kept_store.inventory.store_probe("k", whole)


def test_late_samples_reopen_the_rollup(kept_store: Store) -> None:
    now = datetime.now(UTC)
    base = now.replace(second=0, microsecond=0) - timedelta(minutes=20)
    for i in range(6):  # one probe every 10 s over base's minute
        kept_store.inventory.store_probe("k", _probe_at(base + timedelta(seconds=10 * i)))
    kept_store.usage.rollup(now)
    minute_done, _ = kept_store.usage.watermarks()
    assert minute_done is not None
    assert minute_done > base.timestamp()
    # Kept while the database was away, stored after its minute was rolled up.
    kept_store.inventory.store_probe("k", _probe_at(base + timedelta(seconds=5)), replay=True)
    assert kept_store.usage.watermarks()[0] == int(base.timestamp())
    kept_store.usage.rollup(now)
    first = kept_store.usage.buckets(MINUTE, int(base.timestamp()), int(base.timestamp()) + 60)
    assert first[0].samples == 2 * 7  # two GPUs, six sweeps plus the late one
    assert kept_store.usage.watermarks()[0] == minute_done


class _Switchable:
    """A store whose database can be switched off: every read and write raises as psycopg's
    refused connection does through ``Store`` (its parts, ``store.inventory`` ..., too)."""

    PARTS = ("inventory", "bookings", "usage", "offload", "host_keys")

    def __init__(self, store: object, down: threading.Event | None = None, url: str = "") -> None:
        self.store = store
        self.down = down or threading.Event()
        self.url = url or str(getattr(store, "display_url", ""))

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.store, name)
        if name in self.PARTS:
            return _Switchable(attr, self.down, self.url)
        if not callable(attr) or name in ("display_url",):
            return attr

        def call(*args: object, **kwargs: object) -> object:
            if self.down.is_set():
                raise DatabaseError(f"the database at {self.url} failed: refused")
            return attr(*args, **kwargs)

        return call


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def test_the_loop_keeps_samples_while_the_database_is_away(
    kept_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="labgpu.collect")
    outage = _Switchable(kept_store)
    taken = itertools.count()

    def probe(_target: SshTarget) -> ProbeResult:
        # Each probe a distinct moment, as real sweeps are.
        return _probe_at(datetime.now(UTC) + timedelta(microseconds=next(taken)))

    collector = Collector(cast(Store, outage), probe, interval_s=0.02, backlog_samples=10)
    collector.start()
    try:
        _wait(lambda: collector.totals()[1] >= 4, "two sweeps stored")
        outage.down.set()
        _wait(lambda: collector.totals()[2] >= 4, "a full backlog dropping its oldest")
        assert collector.database_unreachable
        assert collector.backlog.samples <= 10
        stored_before = collector.totals()[1]
        outage.down.clear()
        _wait(lambda: not collector.database_unreachable, "the kept samples stored")
        assert collector.totals()[1] > stored_before
    finally:
        collector.stop()
    sampled, stored, dropped = collector.totals()
    assert sampled == stored + dropped  # nothing lost but what the bound dropped
    rows = _rows(kept_store.url, "SELECT count(*), count(DISTINCT ts) FROM gpu_samples")
    assert rows == [(stored, stored // 2)]
    server = kept_store.inventory.get_server("k")
    assert server is not None
    assert server.last_seen == max(kept_store.inventory.sample_times("k"))
    lines = [r.getMessage() for r in caplog.records if r.name == "labgpu.collect"]
    assert sum("Sweeping on" in line for line in lines) == 1, lines
    assert sum("dropping the oldest" in line for line in lines) == 1, lines
    back = [line for line in lines if "reachable again" in line]
    assert len(back) == 1, lines
    assert "dropped the oldest" in back[0]
    assert lines[0].startswith("collector started: database ")
    assert lines[-1] == (
        f"collector stopped: {sampled} sample(s) taken, {stored} stored, {dropped} dropped, "
        "0 not stored"
    )
