"""ORM rows to ``labgpu.core`` values: nothing outside ``labgpu.storage`` sees a row."""

from __future__ import annotations

from collections.abc import Iterable

from labgpu.core.booking.bookings import Booking, BookingStatus, Window
from labgpu.core.booking.rules import Maintenance
from labgpu.core.inventory.servers import (
    AuditEntry,
    Gpu,
    GpuProcess,
    Server,
    ServerState,
    SshTarget,
)
from labgpu.storage.models import (
    AuditRow,
    BookingRow,
    GpuProcessRow,
    GpuRow,
    MaintenanceRow,
    ServerRow,
)


def server_state(value: str) -> ServerState:
    """The stored state, or UNKNOWN for a value written by a newer labgpu."""
    try:
        return ServerState(value)
    except ValueError:
        return ServerState.UNKNOWN


def to_target(row: ServerRow) -> SshTarget:
    """How to reach the server stored in ``row``."""
    return SshTarget(
        host=row.host,
        port=row.port,
        user=row.ssh_user,
        identity_file=row.identity_file,
        jump_host=row.jump_host,
    )


def to_server(row: ServerRow) -> Server:
    """A ``Server`` from its row."""
    return Server(
        name=row.name,
        target=to_target(row),
        state=server_state(row.state),
        state_reason=row.state_reason,
        last_seen=row.last_seen,
        state_since=row.state_since,
        id=row.id,
    )


def to_gpu(row: GpuRow, server_name: str) -> Gpu:
    """A ``Gpu`` from its row and its server's name."""
    return Gpu(
        server_name=server_name,
        index=row.index,
        uuid=row.uuid,
        model=row.model,
        memory_mb=row.memory_mb,
        bookable=row.bookable,
        id=row.id,
    )


def to_process(row: GpuProcessRow, gpu_uuid: str) -> GpuProcess:
    """A ``GpuProcess`` from its row and its GPU's uuid."""
    return GpuProcess(
        gpu_uuid=gpu_uuid,
        pid=row.pid,
        used_memory_mb=row.used_memory_mb,
        process_name=row.process_name,
        user=row.user_name,
        elapsed_s=row.elapsed_s,
        command=row.command,
        container=row.container,
        container_runtime=row.container_runtime,
    )


def to_audit(row: AuditRow) -> AuditEntry:
    """An ``AuditEntry`` from its row."""
    return AuditEntry(
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        detail=row.detail,
        id=row.id,
    )


def gpu_label(server_name: str, index: int) -> str:
    """How messages name a GPU: ``gpu-01:2``."""
    return f"{server_name}:{index}"


def to_booking(row: BookingRow, label: str) -> Booking:
    """A ``Booking`` from its row and its GPU's label."""
    return Booking(
        id=row.id,
        group_id=row.group_id,
        gpu_id=row.gpu_id,
        user_name=row.user_name,
        window=Window(row.start_ts, row.end_ts),
        status=BookingStatus(row.status),
        note=row.note,
        gpu_label=label,
        project=row.project,
    )


def to_maintenance(row: MaintenanceRow, gpu_ids: Iterable[int]) -> Maintenance:
    """A ``Maintenance`` from its row and the ids of the GPUs it blocks."""
    return Maintenance(
        id=row.id,
        gpu_ids=tuple(sorted(gpu_ids)),
        window=Window(row.start_ts, row.end_ts),
        reason=row.reason,
        created_by=row.created_by,
    )
