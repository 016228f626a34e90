"""Servers' host keys pinned in the lab database: rows in, ``labgpu.core.inventory.host_keys`` out.

Pinning and forgetting are audited in the same transaction (``server.pin_key``,
``server.forget_key``), so the lab database's own audit trigger does not add a second line.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from labgpu.core.errors import HostKeyChangedError
from labgpu.core.inventory.host_keys import HostKey, PinnedKey
from labgpu.core.inventory.servers import SshTarget
from labgpu.storage.inventory import add_audit, require_server
from labgpu.storage.models import HostKeyRow, ServerRow
from labgpu.storage.types import utc_now


def _to_key(row: HostKeyRow) -> HostKey:
    return HostKey(row.key_type, row.key_base64, row.fingerprint)


def _same_target(target: SshTarget) -> ColumnElement[bool]:
    """Servers reached exactly as ``target`` (the collector probes the stored target)."""
    fields = (
        (ServerRow.host, target.host),
        (ServerRow.port, target.port),
        (ServerRow.ssh_user, target.user),
        (ServerRow.identity_file, target.identity_file),
        (ServerRow.jump_host, target.jump_host),
    )
    return and_(*(column.is_(None) if v is None else column == v for column, v in fields))


def keys_for_target(s: Session, target: SshTarget) -> dict[str, list[HostKey]]:
    """Server name → pinned keys, for every registered server reached as ``target``."""
    query = (
        select(ServerRow.name, HostKeyRow)
        .outerjoin(HostKeyRow, HostKeyRow.server_id == ServerRow.id)
        .where(_same_target(target))
        .order_by(ServerRow.name, HostKeyRow.key_type)
    )
    found: dict[str, list[HostKey]] = {}
    for name, row in s.execute(query):
        keys = found.setdefault(name, [])
        if row is not None:
            keys.append(_to_key(row))
    return found


def pin(s: Session, server_name: str, key: HostKey, actor: str) -> bool:
    """Pin ``key`` for a server; False if it was pinned already (nothing written).

    A different key of the same type is refused (``HostKeyChangedError``): forget it first.
    """
    server = require_server(s, server_name)
    row = s.scalars(
        select(HostKeyRow).where(
            HostKeyRow.server_id == server.id, HostKeyRow.key_type == key.key_type
        )
    ).one_or_none()
    if row is not None:
        if row.key_base64 == key.key_base64:
            return False
        raise HostKeyChangedError(server_name, key.fingerprint, row.fingerprint, server_name)
    s.add(
        HostKeyRow(
            server_id=server.id,
            key_type=key.key_type,
            key_base64=key.key_base64,
            fingerprint=key.fingerprint,
            added_by=actor,
            added_at=utc_now(),
        )
    )
    add_audit(s, actor, "server.pin_key", server_name, f"{key.key_type} {key.fingerprint}")
    return True


def forget(s: Session, server_name: str, actor: str) -> int:
    """Delete a server's pinned keys; returns how many there were (audited)."""
    server = require_server(s, server_name)
    rows = list(s.scalars(select(HostKeyRow).where(HostKeyRow.server_id == server.id)))
    detail = ", ".join(f"{r.key_type} {r.fingerprint}" for r in rows) or "none pinned"
    add_audit(s, actor, "server.forget_key", server_name, detail)
    s.execute(delete(HostKeyRow).where(HostKeyRow.server_id == server.id))
    return len(rows)


class HostKeyStore:
    """Pinned host keys in the lab's database, one short transaction per call."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._read = read
        self._write = write

    def for_target(self, target: SshTarget) -> dict[str, list[HostKey]]:
        """Server name → pinned keys for the servers reached as ``target`` (empty: none)."""
        with self._read() as s:
            return keys_for_target(s, target)

    def pin(self, server_name: str, key: HostKey, actor: str) -> bool:
        """Pin a server's host key (audited); False if it was pinned already."""
        with self._write() as s:
            return pin(s, server_name, key, actor)

    def forget(self, server_name: str, actor: str) -> int:
        """Delete a server's pinned keys (audited); returns how many were deleted."""
        with self._write() as s:
            return forget(s, server_name, actor)

    def list(self, server_name: str | None = None) -> list[PinnedKey]:
        """Pinned keys by server name and key type (one server's, if named)."""
        query = select(ServerRow.name, HostKeyRow).join(
            ServerRow, HostKeyRow.server_id == ServerRow.id
        )
        if server_name is not None:
            query = query.where(ServerRow.name == server_name)
        with self._read() as s:
            rows = s.execute(query.order_by(ServerRow.name, HostKeyRow.key_type))
            return [PinnedKey(name, _to_key(r), r.added_by, r.added_at) for name, r in rows]
