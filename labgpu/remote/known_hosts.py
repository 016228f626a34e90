"""Host-key verification against labgpu's own known_hosts plus ``~/.ssh/known_hosts``, or, for
a lab database's registered servers, against the keys pinned there (:func:`verify_pinned`).

labgpu writes only its own file (created 0600 in a 0700 directory); the user's OpenSSH file is
read, never written. Entries use OpenSSH's ``host`` / ``[host]:port`` names, hashed or not.
"""

from __future__ import annotations

import binascii
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys, InvalidHostKey

from labgpu.core.errors import HostKeyChangedError, HostKeyUnknownError
from labgpu.core.inventory.host_keys import HostKey, HostKeyNotPinnedError, HostKeyPins
from labgpu.core.inventory.servers import SshTarget

log = logging.getLogger(__name__)

_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256")


def host_entry_name(hostname: str, port: int) -> str:
    """The name OpenSSH writes in known_hosts: ``host`` for port 22, else ``[host]:port``."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


def to_host_key(key: paramiko.PKey) -> HostKey:
    """The plain value of a paramiko key (type, base64 blob, ``SHA256:...`` fingerprint)."""
    return HostKey(key.get_name(), key.get_base64(), key.fingerprint)


def prefer_algorithms(key_types: Iterable[str], offered: list[str]) -> list[str]:
    """Host-key algorithms with those of the key types we already know first."""
    known: list[str] = []
    for name in key_types:
        known.extend(_RSA_ALGORITHMS if name == "ssh-rsa" else (name,))
    first = [alg for alg in dict.fromkeys(known) if alg in offered]
    return first + [alg for alg in offered if alg not in first]


def _check_known(known: Sequence[HostKey], offered: HostKey, label: str) -> bool:
    """True if ``offered`` is one of ``known``; False if nothing is known; else refused."""
    if any(k.same_key(offered) for k in known):
        return True
    if known:
        same_type = [k for k in known if k.key_type == offered.key_type]
        raise HostKeyChangedError(label, offered.fingerprint, (same_type or known)[0].fingerprint)
    return False


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            return HostKeys.hash_host(name, pattern) == pattern
        except (binascii.Error, AssertionError, IndexError):
            return False
    return pattern == name


def _read_entries(path: Path | None) -> list[HostKeyEntry]:
    """Parse one known_hosts file, skipping comments, markers and lines paramiko can't read."""
    if path is None or not path.is_file():
        return []
    entries: list[HostKeyEntry] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = HostKeyEntry.from_line(line, lineno)
        except (InvalidHostKey, paramiko.SSHException, ValueError) as exc:
            log.debug("%s:%d: skipped unreadable known_hosts line: %s", path, lineno, exc)
            continue
        if entry is not None and entry.key is not None:
            entries.append(entry)
    return entries


class KnownHosts:
    """Known host keys from labgpu's file (read/write) and the user's file (read only)."""

    def __init__(self, path: Path, user_path: Path | None = None) -> None:
        self.path = path
        self.user_path = user_path
        self._lock = threading.Lock()

    def keys_for(self, hostname: str, port: int) -> list[paramiko.PKey]:
        """Every key recorded for this host in either file."""
        name = host_entry_name(hostname, port)
        found: list[paramiko.PKey] = []
        with self._lock:
            for entry in _read_entries(self.path) + _read_entries(self.user_path):
                if any(_matches(pattern, name) for pattern in entry.hostnames):
                    found.append(entry.key)
        return found

    def preferred_algorithms(self, hostname: str, port: int, offered: list[str]) -> list[str]:
        """Host-key algorithms with the types we already know for this host first."""
        return prefer_algorithms((k.get_name() for k in self.keys_for(hostname, port)), offered)

    def verify(
        self,
        hostname: str,
        port: int,
        key: paramiko.PKey,
        trusted_fingerprint: str | None,
        label: str | None = None,
    ) -> None:
        """Accept a known key, refuse a changed one, and accept an unknown one only if trusted.

        A trusted unknown key is saved to labgpu's known_hosts. A changed key is refused even
        when ``trusted_fingerprint`` matches it: the old key must be forgotten first.
        """
        label = label or host_entry_name(hostname, port)
        known = [to_host_key(k) for k in self.keys_for(hostname, port)]
        if _check_known(known, to_host_key(key), label):
            return
        if trusted_fingerprint is None or trusted_fingerprint.strip() != key.fingerprint:
            raise HostKeyUnknownError(label, key.fingerprint, key.get_name())
        self.add(hostname, port, key)

    def add(self, hostname: str, port: int, key: paramiko.PKey) -> None:
        """Append a key to labgpu's known_hosts (dir 0700, file 0600)."""
        line = f"{host_entry_name(hostname, port)} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self._ensure_file()
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line)

    def forget(self, hostname: str, port: int = 22) -> int:
        """Remove every labgpu entry for this host; return how many lines were dropped.

        ``~/.ssh/known_hosts`` is never changed: remove such a key with ``ssh-keygen -R``.
        """
        name = host_entry_name(hostname, port)
        with self._lock:
            if not self.path.is_file():
                return 0
            kept: list[str] = []
            lines = self.path.read_text(encoding="utf-8").splitlines()
            for line in lines:
                patterns = line.split(None, 1)[0].split(",") if line.strip() else []
                if line.lstrip().startswith("#") or not any(_matches(p, name) for p in patterns):
                    kept.append(line)
            self.path.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
            return len(lines) - len(kept)

    def _ensure_file(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        if os.name == "posix":
            self.path.chmod(0o600)


def verify_pinned(
    pins: HostKeyPins,
    target: SshTarget,
    pinned: Sequence[HostKey],
    local: KnownHosts,
    endpoint: tuple[str, int],
    key: paramiko.PKey,
    trusted_fingerprint: str | None,
    label: str,
) -> None:
    """Check a registered server's key against the keys the lab database pins for it.

    A key other than the pinned one is refused (changed), even when trusted. With nothing
    pinned yet, a lab manager pins the key if their own known_hosts (``local``, at
    ``endpoint``: host name and port) already holds it (servers registered before keys were
    pinned: the upgrade) or if they confirmed its fingerprint; a key their known_hosts
    contradicts is refused as changed. Anyone else is refused without being asked
    (:class:`HostKeyNotPinnedError`).
    """
    offered = to_host_key(key)
    if _check_known(pinned, offered, label):
        return
    if not pins.may_pin():
        raise HostKeyNotPinnedError(label, offered.fingerprint, offered.key_type)
    mine = [to_host_key(k) for k in local.keys_for(*endpoint)]
    if not _check_known(mine, offered, label) and (
        trusted_fingerprint is None or trusted_fingerprint.strip() != offered.fingerprint
    ):
        raise HostKeyUnknownError(label, offered.fingerprint, offered.key_type)
    pins.pin(target, offered)
