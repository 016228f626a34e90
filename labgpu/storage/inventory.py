"""Servers, GPUs and the audit log, as operations inside a caller's session (transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import Gpu, GpuReading, ServerState, SshTarget
from labgpu.storage.convert import to_gpu
from labgpu.storage.models import AuditRow, GpuRow, ServerRow
from labgpu.storage.types import utc_now


@dataclass(frozen=True, slots=True)
class GpuSyncReport:
    """What ``sync_gpus`` changed, as GPU uuids."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()


def add_audit(s: Session, actor: str, action: str, subject: str, detail: str = "") -> None:
    """Append one line to the audit log."""
    s.add(AuditRow(ts=utc_now(), actor=actor, action=action, subject=subject, detail=detail))


def describe_changes(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """``"port: 22 → 2222; user: - → lab"`` for the keys whose values differ."""
    return "; ".join(
        f"{key}: {_show(before.get(key))} → {_show(value)}"
        for key, value in after.items()
        if before.get(key) != value
    )


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def find_server(s: Session, name: str) -> ServerRow | None:
    """The server row named ``name``, if any."""
    return s.scalars(select(ServerRow).where(ServerRow.name == name)).one_or_none()


def require_server(s: Session, name: str) -> ServerRow:
    """The server row named ``name``; a ``LabgpuError`` if there is none."""
    row = find_server(s, name)
    if row is None:
        raise LabgpuError(
            _("no server named {name}; see `labgpu servers list`").format(name=repr(name))
        )
    return row


def _target_fields(target: SshTarget) -> dict[str, object]:
    return {
        "host": target.host,
        "port": target.port,
        "ssh_user": target.user,
        "identity_file": target.identity_file,
        "jump_host": target.jump_host,
    }


def upsert_server(s: Session, name: str, target: SshTarget, actor: str) -> ServerRow:
    """Create the server or update how to reach it; audit what changed."""
    fields = _target_fields(target)
    row = find_server(s, name)
    if row is None:
        row = ServerRow(name=name, **fields)
        s.add(row)
        add_audit(s, actor, "server.add", name, describe_changes({}, fields))
    else:
        before = {key: getattr(row, key) for key in fields}
        detail = describe_changes(before, fields)
        if detail:
            for key, value in fields.items():
                setattr(row, key, value)
            add_audit(s, actor, "server.update", name, detail)
    s.flush()
    return row


def set_state(row: ServerRow, state: ServerState, reason: str, seen_at: datetime | None) -> None:
    """Record a contact outcome; ``state_since`` moves only when the state changes."""
    if row.state != state.value:
        row.state = state.value
        row.state_since = utc_now()
    row.state_reason = reason
    if seen_at is not None:
        row.last_seen = seen_at


def sync_gpus(
    s: Session, server: ServerRow, readings: Sequence[GpuReading], actor: str
) -> GpuSyncReport:
    """Make the server's GPUs those of ``readings``, matched by uuid.

    A GPU no longer reported is retired (its history kept); one that reappears is restored.
    """
    uuids = [r.uuid for r in readings]
    if len(set(uuids)) != len(uuids):
        raise LabgpuError(
            _("{server}: the probe lists a GPU uuid twice; nothing was changed").format(
                server=server.name
            )
        )
    retired = _retire_missing(s, server, set(uuids), actor)
    known = {g.uuid: g for g in s.scalars(select(GpuRow).where(GpuRow.uuid.in_(uuids)))}
    added: list[str] = []
    updated: list[str] = []
    for reading in readings:
        row = known.get(reading.uuid)
        if row is None:
            _add_gpu(s, server, reading, actor)
            added.append(reading.uuid)
        elif _update_gpu(s, server, row, reading, actor):
            updated.append(reading.uuid)
    s.flush()
    return GpuSyncReport(tuple(added), tuple(updated), tuple(retired))


def _gpu_subject(server: ServerRow, index: int) -> str:
    return f"{server.name}/gpu{index}"


def _retire_missing(s: Session, server: ServerRow, present: set[str], actor: str) -> list[str]:
    query = select(GpuRow).where(GpuRow.server_id == server.id, GpuRow.retired_at.is_(None))
    retired = []
    for row in s.scalars(query.order_by(GpuRow.index)):
        if row.uuid not in present:
            row.retired_at = utc_now()
            retired.append(row.uuid)
            detail = f"uuid {row.uuid} ({row.model}) no longer reported"
            add_audit(s, actor, "gpu.retire", _gpu_subject(server, row.index), detail)
    return retired


def _add_gpu(s: Session, server: ServerRow, reading: GpuReading, actor: str) -> None:
    s.add(
        GpuRow(
            server_id=server.id,
            index=reading.index,
            uuid=reading.uuid,
            model=reading.name,
            memory_mb=reading.memory_total_mb,
        )
    )
    detail = f"uuid {reading.uuid}, {reading.name}, {_show(reading.memory_total_mb)} MiB"
    add_audit(s, actor, "gpu.add", _gpu_subject(server, reading.index), detail)


def _update_gpu(
    s: Session, server: ServerRow, row: GpuRow, reading: GpuReading, actor: str
) -> bool:
    memory = row.memory_mb if reading.memory_total_mb is None else reading.memory_total_mb
    before: dict[str, object] = {"index": row.index, "model": row.model, "memory_mb": row.memory_mb}
    after: dict[str, object] = {"index": reading.index, "model": reading.name, "memory_mb": memory}
    if row.server_id != server.id:
        old = s.get(ServerRow, row.server_id)
        before["server"], after["server"] = (old.name if old else None), server.name
    restored = row.retired_at is not None
    detail = describe_changes(before, after)
    if not detail and not restored:
        return False
    row.server_id, row.index, row.model = server.id, reading.index, reading.name
    row.memory_mb, row.retired_at = memory, None
    action = "gpu.restore" if restored else "gpu.update"
    detail = f"uuid {row.uuid}" + (f"; {detail}" if detail else "")
    add_audit(s, actor, action, _gpu_subject(server, reading.index), detail)
    return True


def list_gpus(
    s: Session, server_name: str | None = None, include_retired: bool = False
) -> list[Gpu]:
    """GPUs by server name and index; retired ones only when asked."""
    query = select(GpuRow, ServerRow.name).join(ServerRow, GpuRow.server_id == ServerRow.id)
    if server_name is not None:
        query = query.where(ServerRow.name == server_name)
    if not include_retired:
        query = query.where(GpuRow.retired_at.is_(None))
    rows = s.execute(query.order_by(ServerRow.name, GpuRow.index, GpuRow.id))
    return [to_gpu(gpu, server) for gpu, server in rows]


def current_gpus(s: Session) -> list[Gpu]:
    """Every GPU not retired, by server name and index."""
    return list_gpus(s)
