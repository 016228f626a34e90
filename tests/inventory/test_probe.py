"""The one-round-trip probe against real sshd hosts with nvidia-smi stand-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest

from labgpu.core.errors import (
    HostKeyChangedError,
    ProbeError,
    ProbeParseError,
    RemoteTimeoutError,
    UnreachableError,
)
from labgpu.core.inventory.servers import SshTarget
from labgpu.remote import PROBE_SCRIPT, probe
from labgpu.remote.ssh import CommandResult, SshPool
from tests.helpers.sshd import Fleet, SshdHost

MakePool = Callable[..., SshPool]


@pytest.fixture
def pool(make_pool: MakePool) -> SshPool:
    return make_pool()


@pytest.fixture
def a40(gpu_hosts: Fleet) -> Iterator[SshdHost]:
    """The a40 host, restored to its idle state after the test changes it."""
    host = gpu_hosts.a40
    assert host.standin is not None
    gpus, apps = list(host.standin.gpus), list(host.standin.apps)
    yield host
    host.standin.set_failure(None)
    host.standin.set_state(gpus, apps)


def test_busy_a4000_host(gpu_hosts: Fleet, pool: SshPool) -> None:
    before = datetime.now(UTC)
    result = probe(pool, gpu_hosts.a4000.target, timeout=30)
    assert result.host == "127.0.0.1"
    assert before <= result.taken_at <= datetime.now(UTC)
    assert [g.index for g in result.gpus] == [0, 1, 2, 3]
    assert {g.name for g in result.gpus} == {"NVIDIA RTX A4000"}
    assert {g.memory_total_mb for g in result.gpus} == {16376}
    busy = result.gpus[0]
    assert (busy.memory_used_mb, busy.utilization_pct, busy.power_w) == (9123, 87.0, 118.52)
    first, second, gone = result.processes
    sleepers = gpu_hosts.processes
    assert (first.pid, first.gpu_uuid) == (sleepers[0].pid, busy.uuid)
    assert (first.user, first.command, first.process_name) == ("labuser", "sleep 86400", "python")
    assert first.elapsed_s is not None
    assert (second.user, second.command) == ("labuser", "sleep 86401")
    assert second.gpu_uuid == result.gpus[1].uuid
    assert (gone.user, gone.elapsed_s, gone.command) == (None, None, None)
    assert gone.used_memory_mb == 512


def test_idle_a40_host(a40: SshdHost, pool: SshPool) -> None:
    result = probe(pool, a40.target)
    assert [(g.name, g.memory_total_mb) for g in result.gpus] == [("NVIDIA A40", 46068)] * 4
    assert result.processes == ()


def test_live_values_change_between_probes(a40: SshdHost, pool: SshPool) -> None:
    assert probe(pool, a40.target).gpus[2].utilization_pct == 0.0
    a40.set_utilization(55, index=2)
    after = probe(pool, a40.target)
    assert [g.utilization_pct for g in after.gpus] == [0.0, 0.0, 55.0, 0.0]


def test_mig_host_reads_not_available_as_none(gpu_hosts: Fleet, pool: SshPool) -> None:
    result = probe(pool, gpu_hosts.mig.target)
    assert [g.utilization_pct for g in result.gpus] == [None, None]
    assert [g.power_w for g in result.gpus] == [None, None]
    (proc,) = result.processes
    assert (proc.used_memory_mb, proc.user) == (None, "labuser")


def test_garbage_output_is_a_parse_error(gpu_hosts: Fleet, pool: SshPool) -> None:
    with pytest.raises(ProbeParseError) as info:
        probe(pool, gpu_hosts.garbage.target)
    assert info.value.line == "0, GPU-x, NVIDIA RTX A4000, lots, 1, 2, 3"
    assert info.value.host == f"127.0.0.1:{gpu_hosts.garbage.target.port}"  # errors: host:port


def test_missing_nvidia_smi_is_a_probe_error(gpu_hosts: Fleet, pool: SshPool) -> None:
    with pytest.raises(ProbeError, match="nvidia-smi: not found") as info:
        probe(pool, gpu_hosts.no_smi.target)
    assert not isinstance(info.value, ProbeParseError)
    assert "exit 127" in str(info.value)
    assert str(info.value).startswith(f"127.0.0.1:{gpu_hosts.no_smi.target.port}: ")


def test_failing_driver_is_a_probe_error(a40: SshdHost, pool: SshPool) -> None:
    assert a40.standin is not None
    a40.standin.set_failure(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
        exit_code=9,
    )
    with pytest.raises(ProbeError, match="exit 9.*couldn't communicate") as info:
        probe(pool, a40.target)
    assert not isinstance(info.value, ProbeParseError)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("changed_key", HostKeyChangedError),
        ("hanging", RemoteTimeoutError),
        ("closed", UnreachableError),
    ],
)
def test_connection_trouble_surfaces_as_remote_errors(
    gpu_hosts: Fleet, pool: SshPool, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        probe(pool, gpu_hosts.hosts[name].target, timeout=3)


def test_probe_is_one_command_per_sweep(gpu_hosts: Fleet, pool: SshPool) -> None:
    commands: list[list[str]] = []
    original = pool.run

    def spy(target: SshTarget, argv: Sequence[str], timeout: float = 30.0) -> CommandResult:
        commands.append(list(argv))
        return original(target, argv, timeout)

    pool.run = spy  # type: ignore[method-assign]
    probe(pool, gpu_hosts.a4000.target)
    assert len(commands) == 1
    assert commands[0][:2] == ["sh", "-c"]
    assert commands[0][2].endswith(PROBE_SCRIPT)  # after what earlier probes already know
