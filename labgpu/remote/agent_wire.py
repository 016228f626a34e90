"""The login agent's wire: where it listens, how a message travels, how an error comes back.

The agent (``login_agent``) and its clients (``login_relay``) speak JSON objects, one per
``multiprocessing.connection`` message, never pickles: a message cannot run code. The listener
needs the agent's authkey (a 0600 file in a 0700 folder), and on Linux the peer's uid must be
ours too (``SO_PEERCRED``). POSIX gets a Unix socket file (0600); Windows a named pipe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import struct
import sys
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from labgpu.core import errors
from labgpu.core.errors import LabgpuError, RemoteTimeoutError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import LoginCancelled

#: The most one JSON message may hold (an SFTP chunk travels as raw bytes, not as JSON).
MAX_MESSAGE = 64 * 1024 * 1024
_WINDOWS = sys.platform == "win32"

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentPlace:
    """Where one member's agent listens and the file holding its authkey."""

    folder: Path

    @property
    def address(self) -> str:
        """The socket file (POSIX) or the pipe's name (Windows, named after the folder)."""
        if _WINDOWS:  # untested here: no Windows machine runs the tests
            digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
            return rf"\\.\pipe\labgpu-agent-{digest}"
        return str(self.folder / "agent.sock")

    @property
    def family(self) -> str:
        """``AF_PIPE`` on Windows, ``AF_UNIX`` elsewhere."""
        return "AF_PIPE" if _WINDOWS else "AF_UNIX"

    @property
    def key_file(self) -> Path:
        """The authkey, readable by the member only."""
        return self.folder / "agent.key"

    @property
    def pid_file(self) -> Path:
        """The running agent's process id (for a person, and the tests)."""
        return self.folder / "agent.pid"

    def exists(self) -> bool:
        """Whether an agent may be listening (its socket file is there; always on Windows)."""
        return _WINDOWS or Path(self.address).exists()

    def authkey(self) -> bytes | None:
        """The agent's authkey, ``None`` when there is no agent."""
        try:
            return self.key_file.read_bytes()
        except OSError:
            return None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner may read (0600), replacing an old one."""
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def listen(place: AgentPlace, authkey: bytes) -> Listener:
    """The agent's listener; its socket file created 0600 (the folder is 0700 already)."""
    if _WINDOWS:
        return Listener(place.address, place.family, authkey=authkey)
    mask = os.umask(0o177)  # the agent is single-threaded here
    try:
        listener = Listener(place.address, place.family, authkey=authkey)
    finally:
        os.umask(mask)
    os.chmod(place.address, 0o600)
    return listener


def connect(place: AgentPlace) -> Connection | None:
    """A connection to the running agent, ``None`` when none answers."""
    if not place.exists():
        return None
    key = place.authkey()
    if key is None:
        return None
    try:
        return Client(place.address, place.family, authkey=key)
    except (
        OSError,
        EOFError,
        AuthenticationError,
    ):  # no agent, a stale socket, or one that just exited
        return None


def peer_is_owner(conn: Connection) -> bool:
    """True when the peer runs as our own uid (Linux); elsewhere the authkey alone decides."""
    option = getattr(socket, "SO_PEERCRED", None)
    if _WINDOWS or option is None or not hasattr(os, "getuid"):
        return True
    probe = socket.socket(fileno=os.dup(conn.fileno()))
    try:
        raw = probe.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    finally:
        probe.close()
    _pid, uid, _gid = struct.unpack("3i", raw)
    return bool(uid == os.getuid())


def send(conn: Connection, message: Message) -> None:
    """Send one JSON message."""
    conn.send_bytes(json.dumps(message).encode())


def receive(conn: Connection, timeout: float | None = None) -> Message:
    """The next JSON message; ``RemoteTimeoutError`` when none comes within ``timeout``."""
    if timeout is not None and not conn.poll(timeout):
        raise RemoteTimeoutError(
            _("login agent"), _("no answer within {seconds} s").format(seconds=round(timeout))
        )
    value = json.loads(conn.recv_bytes(MAX_MESSAGE))
    if not isinstance(value, dict):
        raise LabgpuError(_("the login agent sent something that is not a message"))
    return value


def target_to_json(target: SshTarget) -> Message:
    """An SSH target as a JSON object."""
    return dataclasses.asdict(target)


def target_from_json(value: Any) -> SshTarget:
    """The SSH target a JSON object describes (unknown keys ignored)."""
    if not isinstance(value, dict) or not isinstance(value.get("host"), str):
        raise LabgpuError(_("the login agent was sent a malformed target"))

    def text(key: str) -> str | None:
        found = value.get(key)
        return found if isinstance(found, str) else None

    port = value.get("port")
    return SshTarget(
        value["host"],
        port if isinstance(port, int) else None,
        text("user"),
        text("identity_file"),
        text("jump_host"),
    )


class LoginNotHeld(LabgpuError):
    """The agent holds no live login to that target (never held, expired, or dropped)."""


_ERRORS: dict[str, type[LabgpuError]] = {
    cls.__name__: cls
    for cls in (
        LabgpuError,
        LoginCancelled,
        errors.RemoteError,
        errors.UnreachableError,
        errors.RemoteTimeoutError,
        errors.AuthFailedError,
        errors.HostKeyError,
        errors.HostKeyUnknownError,
        errors.HostKeyChangedError,
        errors.ConfigError,
        LoginNotHeld,
    )
}


_FIELDS = ("host", "fingerprint", "known_fingerprint", "key_type", "server")


def error_to_json(exc: LabgpuError) -> Message:
    """A known error as a message: its class (or the nearest one the wire knows) and text."""
    kind = next(c.__name__ for c in type(exc).__mro__ if c.__name__ in _ERRORS)
    fields = {k: getattr(exc, k, None) for k in _FIELDS}
    extra = {k: v for k, v in fields.items() if isinstance(v, str)}
    return {"error": kind, "message": str(exc), **extra}


def error_from_json(message: Message) -> LabgpuError:
    """The known error a message carries, of the same class and with the same text."""
    cls = _ERRORS.get(str(message.get("error")), LabgpuError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(message.get("message", "")))
    for key in _FIELDS:
        value = message.get(key)
        setattr(exc, key, value if isinstance(value, str) else None)
    return exc
