"""The collector against real sshd hosts: states, recovery, nothing partial stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labgpu.core.errors import (
    AuthFailedError,
    DatabaseError,
    HostKeyChangedError,
    HostKeyUnknownError,
    ProbeParseError,
    RemoteTimeoutError,
    UnreachableError,
)
from labgpu.core.inventory import ServerState
from labgpu.services import Labgpu
from labgpu.services.monitoring import classify_error
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
