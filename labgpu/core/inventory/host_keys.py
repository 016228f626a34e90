"""Servers' SSH host keys pinned in the lab database, as plain values
(docs/architecture.md §3.4).

In the lab-database shape a manager pins a server's host key once; every member's desktop and
the collector then check that server against the pinned key instead of their own known_hosts.
The SSH pool (``labgpu.remote``) sees the pins only through :class:`HostKeyPins`, which the
services implement over the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from labgpu.core.errors import HostKeyError, HostKeyUnknownError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget


@dataclass(frozen=True, slots=True)
class HostKey:
    """One public host key: ``ssh-ed25519``, its base64 blob and ``SHA256:...`` fingerprint."""

    key_type: str
    key_base64: str
    fingerprint: str

    def same_key(self, other: HostKey) -> bool:
        """True for the same key (type and blob); the fingerprint follows from them."""
        return (self.key_type, self.key_base64) == (other.key_type, other.key_base64)


@dataclass(frozen=True, slots=True)
class PinnedKey:
    """A host key pinned for a registered server, with who pinned it and when."""

    server: str
    key: HostKey
    added_by: str
    added_at: datetime


class HostKeyPins(Protocol):
    """The lab's pinned host keys as the SSH pool uses them (services implement this)."""

    def pinned(self, target: SshTarget) -> Sequence[HostKey] | None:
        """The keys pinned for the registered server reached by ``target`` (empty: none yet);
        ``None`` when ``target`` is no registered server (a cluster, a jump host, a server
        being added), whose key is then checked against known_hosts as in a single seat."""
        ...

    def may_pin(self) -> bool:
        """True if this user may pin a key nobody pinned yet (a lab manager)."""
        ...

    def pin(self, target: SshTarget, key: HostKey) -> None:
        """Pin ``key`` for the registered server reached by ``target``."""
        ...


class HostKeyNotPinnedError(HostKeyUnknownError):
    """A registered server's key is not pinned in the lab database, and only a lab manager may
    pin it: refused without asking (the server's state is ``host_key_unknown``)."""

    def __init__(self, host: str, fingerprint: str, key_type: str = "") -> None:
        # The message is not HostKeyUnknownError's: this user cannot confirm the key.
        HostKeyError.__init__(
            self,
            host,
            fingerprint,
            _(
                "host key {fingerprint} is not pinned in the lab database; a lab manager must "
                "confirm it (the app's Add server, or `labgpu servers add HOST --name NAME "
                "--trust-host-key {fingerprint}`)"
            ).format(fingerprint=fingerprint),
        )
        self.key_type = key_type
