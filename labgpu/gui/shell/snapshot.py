"""What one refresh of the window reads from the services, in one worker call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from labgpu.core.inventory.servers import GpuStatus, Server
from labgpu.services import Labgpu


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Registered servers and every GPU's latest stored reading, read at ``taken_at`` (UTC)."""

    servers: tuple[Server, ...]
    gpus: tuple[GpuStatus, ...]
    taken_at: datetime

    @property
    def models(self) -> list[str]:
        """GPU models present, sorted."""
        return sorted({gpu.model for gpu in self.gpus})

    def gpus_of(self, server: str) -> list[GpuStatus]:
        """The GPUs of one server, by index."""
        return sorted((g for g in self.gpus if g.server == server), key=lambda g: g.index)


EMPTY = Snapshot((), (), datetime.min.replace(tzinfo=UTC))


def take_snapshot(labgpu: Labgpu) -> Snapshot:
    """Read servers and GPU status (blocking: call it on a worker)."""
    servers = tuple(labgpu.inventory.list_servers())
    gpus = tuple(labgpu.inventory.status())
    return Snapshot(servers, gpus, datetime.now(UTC))
