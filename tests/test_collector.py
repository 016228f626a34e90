"""The collector against real sshd hosts: states, recovery, nothing partial stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

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
from labgpu.core.inventory import ProbeResult, ServerState, SshTarget
from labgpu.services import Labgpu
from labgpu.services.monitoring import Collector, classify_error
from tests.helpers.sshd import Fleet


@pytest.fixture
def lab(gpu_hosts: Fleet, monkeypatch: pytest.MonkeyPatch) -> Iterator[Labgpu]:
    monkeypatch.setenv("LABGPU_SSH_CONFIG", str(gpu_hosts.ssh_config))
    lab = Labgpu()
    lab.open()
    host = gpu_hosts.a40
    lab.add_server(host.target, "a40", host.fingerprint)
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
    collector = lab.make_collector()
    server = lab.store.get_server("a40")
    assert server is not None
    before = lab.store.sample_times("a40")
    standin.set_failure(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9
    )
    try:
        outcome = collector.probe_server(server)
    finally:
        standin.set_failure(None)
    assert outcome.state is ServerState.PROBE_ERROR
    assert "couldn't communicate with the NVIDIA driver" in outcome.reason
    stored = lab.store.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.PROBE_ERROR
    assert lab.store.sample_times("a40") == before  # nothing stored for the failed sweep
    outcome = collector.probe_server(server)
    assert outcome.state is ServerState.ONLINE
    assert outcome.samples == 4
    stored = lab.store.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.ONLINE
    assert stored.state_reason == ""
    assert len(lab.store.sample_times("a40")) == len(before) + 1
    collector.stop()


def test_database_trouble_does_not_blame_the_server(
    lab: Labgpu, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = lab.make_collector()
    server = lab.store.get_server("a40")
    assert server is not None

    def broken(*_args: object) -> int:
        raise DatabaseError("the database at x failed: disk I/O error")

    monkeypatch.setattr(lab.store, "store_probe", broken)
    outcome = collector.probe_server(server)
    monkeypatch.undo()
    assert "disk I/O error" in outcome.reason
    stored = lab.store.get_server("a40")
    assert stored is not None
    assert stored.state is ServerState.ONLINE  # unchanged: the server answered fine
    collector.stop()


@pytest.mark.parametrize("ending", ["answers", "fails"])
def test_stop_waits_for_the_probe_in_flight_and_stores_nothing_it_sees(
    lab: Labgpu, ending: str
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_probe(target: SshTarget) -> ProbeResult:
        result = lab.discover(target)  # a real reading of the real host
        entered.set()
        release.wait(30)
        if ending == "fails":  # what closing the SSH connections does to a probe
            raise UnreachableError(target.host, "connection closed")
        return result

    before = lab.store.get_server("a40")
    assert before is not None
    times = lab.store.sample_times("a40")
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
    after = lab.store.get_server("a40")
    assert after is not None
    assert (after.state, after.state_reason) == (before.state, before.state_reason)
    assert lab.store.sample_times("a40") == times  # nothing stored once stopped


def test_a_closed_lab_is_not_reopened_behind_its_back(lab: Labgpu) -> None:
    lab.start_collector(interval_s=0.05)
    lab.close()
    with pytest.raises(LabgpuError, match="labgpu was closed; open the lab again"):
        _ = lab.store
    with pytest.raises(LabgpuError, match="labgpu was closed"):
        _ = lab.pool
    lab.open()  # the fixture closes it again
    assert [s.name for s in lab.store.list_servers()] == ["a40"]
