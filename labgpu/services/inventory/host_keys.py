"""Host keys pinned in the lab database, handed to the SSH pool (docs/architecture.md §3.4).

In the lab-database shape (``labgpu lab init``) a registered server's host key lives in the
``host_keys`` table: a manager pins it when registering the server or confirming a new key, and
every member's desktop and the collector verify against it. A single seat (SQLite) or a plain
PostgreSQL database keeps each account's known_hosts, as before: ``pinned`` answers ``None``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from labgpu.core.errors import DatabaseError, LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.host_keys import HostKey
from labgpu.core.inventory.servers import SshTarget

if TYPE_CHECKING:
    from labgpu.storage import Store


class LabHostKeys:
    """The lab database's pinned host keys as the pool's ``HostKeyPins``.

    Whether this is a lab database and whether the user is a manager are asked once, on the
    first connection (the pool is built before the database is opened). ``store`` and
    ``actor`` are read on each use: the app replaces its store after a password change and
    learns its user name on ``open``.
    """

    def __init__(self, store: Callable[[], Store], actor: Callable[[], str]) -> None:
        self._store = store
        self._actor = actor
        self._lock = threading.Lock()
        self._lab: bool | None = None
        self._manager: bool | None = None
        #: The pins last read per target: a reconnect while the database is away (the
        #: collector sweeps on) still checks against them instead of failing.
        self._seen: dict[SshTarget, list[HostKey] | None] = {}

    def active(self) -> bool:
        """True in the lab-database shape, where registered servers' keys are pinned."""
        with self._lock:
            if self._lab is None:
                self._lab = self._store().lab.is_lab()
            return self._lab

    def pinned(self, target: SshTarget) -> Sequence[HostKey] | None:
        """The keys pinned for the server(s) reached as ``target``; ``None`` if none is
        registered (or this is no lab database): known_hosts decides."""
        if not self.active():
            return None
        try:
            servers = self._store().host_keys.for_target(target)
        except DatabaseError:
            with self._lock:
                if target not in self._seen:
                    raise
                return self._seen[target]
        keys = [key for keys in servers.values() for key in keys] if servers else None
        with self._lock:
            self._seen[target] = keys
        return keys

    def may_pin(self) -> bool:
        """True for a lab manager (the database refuses anyone else's pin anyway)."""
        with self._lock:
            if self._manager is None:
                self._manager = self._store().lab.role() == "manager"
            return self._manager

    def pin(self, target: SshTarget, key: HostKey) -> None:
        """Pin ``key`` for every registered server reached as ``target`` (audited)."""
        servers = self._store().host_keys.for_target(target)
        if not servers:
            raise LabgpuError(
                _("{host}: no registered server to pin a host key for").format(host=target.host)
            )
        for name in servers:
            self.pin_server(name, key)

    def pin_server(self, name: str, key: HostKey) -> None:
        """Pin ``key`` for the server called ``name`` (audited; no-op if pinned already)."""
        self._store().host_keys.pin(name, key, self._actor())
