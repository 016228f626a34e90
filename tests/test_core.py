"""Pure domain rules."""

from __future__ import annotations

import pytest

from labgpu.core.errors import HostKeyChangedError, HostKeyUnknownError, RefusedError
from labgpu.core.inventory.backoff import retry_delay
from labgpu.core.inventory.models import model_matches
from labgpu.core.inventory.servers import GpuProcess, GpuStatus, ServerState


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("A40", "NVIDIA A40", True),
        ("a40", "NVIDIA A40", True),
        ("A40", "NVIDIA RTX A4000", False),
        ("A4000", "NVIDIA RTX A4000", True),
        ("rtx a4000", "NVIDIA RTX A4000", True),
        ("NVIDIA RTX A4000", "NVIDIA RTX A4000", True),
        ("NVIDIA", "NVIDIA A40", True),
        ("", "NVIDIA A40", False),
        ("A100", "NVIDIA A100-SXM4-80GB", True),
    ],
)
def test_model_matches_whole_words(query: str, name: str, expected: bool) -> None:
    assert model_matches(query, name) is expected


def test_retry_delay_doubles_and_caps() -> None:
    assert retry_delay(5, 0) == 5
    assert retry_delay(5, 1) == 10
    assert retry_delay(5, 2) == 20
    assert retry_delay(5, 50) == 300
    assert retry_delay(600, 3, max_delay_s=300) == 600  # never shorter than the interval


def test_owners_are_distinct_and_free_needs_online() -> None:
    procs = (
        GpuProcess("GPU-1", 1, 100, "python", "alice"),
        GpuProcess("GPU-1", 2, 100, "python", "bob"),
        GpuProcess("GPU-1", 3, 100, "python", "alice"),
        GpuProcess("GPU-1", 4, None, "python"),  # exited before ps saw it
    )
    gpu = GpuStatus("s", ServerState.ONLINE, "", 0, "GPU-1", "NVIDIA A40", 46068, processes=procs)
    assert gpu.owners == ("alice", "bob")
    assert not gpu.is_free
    idle = GpuStatus("s", ServerState.ONLINE, "", 1, "GPU-2", "NVIDIA A40", 46068)
    assert idle.is_free
    offline = GpuStatus("s", ServerState.OFFLINE, "down", 2, "GPU-3", "NVIDIA A40", 46068)
    assert not offline.is_free


def test_error_messages_say_what_to_do() -> None:
    unknown = HostKeyUnknownError("gpu-01", "SHA256:abc", "ssh-ed25519")
    assert "gpu-01" in str(unknown)
    assert "--trust-host-key SHA256:abc" in str(unknown)
    changed = HostKeyChangedError("gpu-01", "SHA256:new", "SHA256:old")
    assert "SHA256:new" in str(changed)
    assert "SHA256:old" in str(changed)
    assert "reinstalled" in str(changed)
    assert RefusedError.exit_code == 3
