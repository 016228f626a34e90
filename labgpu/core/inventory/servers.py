"""What a GPU server is made of and what runs on it, as plain values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ServerState(enum.StrEnum):
    """How the last contact with a server went."""

    UNKNOWN = "unknown"  # never swept yet
    ONLINE = "online"
    OFFLINE = "offline"  # unreachable or timed out; reason says which
    AUTH_FAILED = "auth_failed"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_CHANGED = "host_key_changed"
    PROBE_ERROR = "probe_error"  # reached, but nvidia-smi failed or printed garbage


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One GPU as ``nvidia-smi --query-gpu`` reports it at one moment.

    ``None`` means the driver said ``[N/A]`` / ``[Not Supported]`` (e.g. utilisation on a
    MIG-enabled GPU).
    """

    index: int
    uuid: str
    name: str
    memory_total_mb: int | None
    memory_used_mb: int | None
    utilization_pct: float | None
    temperature_c: float | None
    power_w: float | None


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """A compute process on a GPU, joined with what ``ps`` says of its pid.

    ``user``, ``elapsed_s`` and ``command`` are ``None`` when the process exited between the
    nvidia-smi query and the ps query. In a container (``container``: its name or short id,
    ``container_runtime``: docker, podman, containerd, cri-o, kubernetes) ``user`` is the owner
    found by ``core/inventory/containers.py``, ``None`` when it is unknown.
    """

    gpu_uuid: str
    pid: int
    used_memory_mb: int | None
    process_name: str
    user: str | None = None
    elapsed_s: int | None = None
    command: str | None = None
    container: str | None = None
    container_runtime: str | None = None

    @property
    def owner_known(self) -> bool:
        """True when labgpu knows whose process this is (False: exited, or a container whose
        owner could not be found; such a process is never counted as a member's)."""
        return self.user is not None

    @property
    def owner_unknown_container(self) -> bool:
        """A process in a container whose owner is unknown: the GPU is in use by someone."""
        return self.container is not None and self.user is None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything one probe of one host returned."""

    host: str
    taken_at: datetime  # UTC, aware
    gpus: tuple[GpuReading, ...]
    processes: tuple[GpuProcess, ...] = ()


@dataclass(frozen=True, slots=True)
class SshTarget:
    """How to reach a server. Unset fields fall back to ``~/.ssh/config`` then defaults."""

    host: str
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    jump_host: str | None = None


@dataclass(frozen=True, slots=True)
class Server:
    """A registered GPU server."""

    name: str
    target: SshTarget
    state: ServerState = ServerState.UNKNOWN
    state_reason: str = ""
    last_seen: datetime | None = None
    state_since: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Gpu:
    """A registered GPU (identity is its uuid; index may change after a reboot)."""

    server_name: str
    index: int
    uuid: str
    model: str
    memory_mb: int | None
    bookable: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class GpuSample:
    """A stored reading of one GPU."""

    gpu_id: int
    ts: datetime
    utilization_pct: float | None
    memory_used_mb: int | None
    temperature_c: float | None
    power_w: float | None


@dataclass(frozen=True, slots=True)
class GpuStatus:
    """One row of ``labgpu status``: a registered GPU with its latest reading and processes."""

    server: str
    server_state: ServerState
    server_reason: str
    index: int
    uuid: str
    model: str
    memory_total_mb: int | None
    memory_used_mb: int | None = None
    utilization_pct: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    sampled_at: datetime | None = None
    processes: tuple[GpuProcess, ...] = field(default_factory=tuple)

    @property
    def owners(self) -> tuple[str, ...]:
        """Distinct users running processes on this GPU, in order of appearance."""
        seen: dict[str, None] = {}
        for proc in self.processes:
            if proc.user:
                seen.setdefault(proc.user, None)
        return tuple(seen)

    @property
    def is_free(self) -> bool:
        """No compute process and the server answers."""
        return self.server_state is ServerState.ONLINE and not self.processes


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    ts: datetime
    actor: str
    action: str
    subject: str
    detail: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class LabUser:
    """A row of the ``users`` table: a lab member known by name, with a role."""

    name: str
    display_name: str
    role: str  # student, pi or manager
