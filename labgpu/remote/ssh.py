"""A pool of persistent SSH connections: one paramiko ``Transport`` per target, reused.

paramiko stays inside ``labgpu.remote`` (this module and its helpers ``auth``, ``known_hosts``,
``ssh_config``). Thread-safe: one lock per target guards connecting; different targets connect
fully in parallel and commands run on their own channels. Honours ``~/.ssh/config`` (HostName,
User, Port, IdentityFile, ProxyJump) and ssh-agent, never prompts, verifies host keys: against
known_hosts, or, for the registered servers of a lab database, against the keys pinned there
(``pins``, handed in by the services).
"""

from __future__ import annotations

import logging
import select
import shlex
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko

from labgpu.core.errors import (
    AuthFailedError,
    ConfigError,
    RemoteError,
    RemoteTimeoutError,
    UnreachableError,
)
from labgpu.core.i18n import _
from labgpu.core.inventory.host_keys import HostKey, HostKeyPins
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import Prompter
from labgpu.remote.auth import authenticate, authenticate_interactive
from labgpu.remote.known_hosts import KnownHosts, prefer_algorithms, to_host_key, verify_pinned
from labgpu.remote.ssh_config import Endpoint, resolve_target

log = logging.getLogger(__name__)

DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
_MAX_JUMPS = 8
_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a remote command printed and how it exited (-1: killed by a signal / no status)."""

    exit_status: int
    stdout: str
    stderr: str


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())


class _QuietTransport(paramiko.Transport):
    """A Transport whose reader thread wakes once a second instead of ten times.

    paramiko polls its socket every 0.1 s to notice ``close()``; with dozens of idle
    persistent connections that polling was most of the collector's CPU. Closing now takes
    up to a second to finish in the background, which nothing waits for.
    """

    _active_check_timeout = 1.0


class SshPool:
    """Persistent, verified SSH connections to GPU servers and clusters."""

    def __init__(
        self,
        known_hosts: Path,
        *,
        ssh_config: Path | None = None,
        home: Path | None = None,
        user_known_hosts: Path | None = None,
        use_agent: bool = True,
        connect_timeout: float = 10.0,
        keepalive_s: int = 30,
        pins: HostKeyPins | None = None,
    ) -> None:
        """``known_hosts`` is labgpu's own file; ``home`` (default: the real home) is where
        ``.ssh/config``, ``.ssh/known_hosts`` and the default keys are looked up unless
        ``ssh_config`` / ``user_known_hosts`` are given explicitly. ``pins``: the lab
        database's pinned host keys (lab shape); the targets it pins are checked against them
        instead of known_hosts."""
        self.home = home if home is not None else Path.home()
        self.known_hosts = KnownHosts(
            known_hosts,
            user_known_hosts if user_known_hosts is not None else self.home / ".ssh/known_hosts",
        )
        self._config = paramiko.SSHConfig()
        config_path = ssh_config if ssh_config is not None else self.home / ".ssh/config"
        if config_path.is_file():
            try:
                self._config = paramiko.SSHConfig.from_path(str(config_path))
            except (paramiko.ConfigParseError, OSError, ValueError) as exc:
                raise ConfigError(
                    _("{path}: cannot read this ssh config ({error})").format(
                        path=config_path, error=exc
                    )
                ) from exc
        self.use_agent = use_agent
        self.connect_timeout = connect_timeout
        self.keepalive_s = keepalive_s
        self.pins = pins
        self._guard = threading.Lock()
        self._locks: dict[SshTarget, threading.Lock] = {}
        self._transports: dict[SshTarget, paramiko.Transport] = {}
        self._auth_failures: dict[SshTarget, AuthFailedError] = {}
        self._prompters: dict[SshTarget, Prompter] = {}

    def set_prompter(self, target: SshTarget, prompter: Prompter | None) -> None:
        """Log in to ``target`` with keyboard-interactive answers from ``prompter`` (one try)."""
        with self._guard:
            if prompter is None:
                self._prompters.pop(target, None)
            else:
                self._prompters[target] = prompter

    def is_connected(self, target: SshTarget) -> bool:
        """True while an authenticated transport to ``target`` is open (no login needed)."""
        with self._guard:
            transport = self._transports.get(target)
        return transport is not None and transport.is_active() and transport.is_authenticated()

    @contextmanager
    def sftp(self, target: SshTarget, timeout: float = 30.0) -> Iterator[paramiko.SFTPClient]:
        """An SFTP session on the target's pooled transport, closed on exit."""
        label = self.resolve(target).label
        transport = self._transport(target, _Deadline(self.connect_timeout), None, 0)
        try:
            client = paramiko.SFTPClient.from_transport(transport)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._drop(target, transport)
            raise UnreachableError(
                label, _("cannot open SFTP ({error}) — try again").format(error=exc)
            ) from exc
        if client is None:
            raise RemoteError(label, _("the server refused an SFTP session — is SFTP enabled?"))
        try:
            client.get_channel().settimeout(timeout)  # type: ignore[union-attr]
            yield client
        finally:
            client.close()

    def resolve(self, target: SshTarget) -> Endpoint:
        """Apply ``~/.ssh/config`` to a target (explicit target fields win)."""
        return resolve_target(self._config, target, self.home)

    def connect(
        self, target: SshTarget, *, trusted_fingerprint: str | None = None, timeout: float = 0
    ) -> paramiko.Transport:
        """Return the live, authenticated transport of ``target``, connecting if needed.

        ``trusted_fingerprint`` ("SHA256:...") accepts an unknown host key that matches it and
        saves it to labgpu's known_hosts. Auth failures are remembered and re-raised without
        reconnecting until :meth:`close` is called for that target.
        """
        deadline = _Deadline(timeout or self.connect_timeout)
        return self._transport(target, deadline, trusted_fingerprint, 0)

    def run(self, target: SshTarget, argv: Sequence[str], timeout: float = 30.0) -> CommandResult:
        """Run ``argv`` (each word quoted with ``shlex.quote``) and collect its output."""
        if not argv:
            raise ValueError("run() needs a command")
        return self._exec(target, " ".join(shlex.quote(str(a)) for a in argv), timeout)

    def run_script(self, target: SshTarget, script: str, timeout: float = 30.0) -> CommandResult:
        """Run a fixed POSIX sh script (never built from user input) with ``sh -c``."""
        return self.run(target, ["sh", "-c", script], timeout)

    def host_key_fingerprint(self, target: SshTarget, timeout: float = 0) -> tuple[str, str]:
        """``(SHA256 fingerprint, key type)`` of the host's key, without authenticating."""
        end = self.resolve(target)
        key = self._remote_key(end, self._key_types(end, self._pinned(target)), timeout)
        return key.fingerprint, key.get_name()

    def host_key(self, target: SshTarget, timeout: float = 0) -> HostKey:
        """The host key of ``target``'s pooled connection, verified when it was opened
        (connecting now if there is none): the key registering a server pins."""
        transport = self._transport(target, _Deadline(timeout or self.connect_timeout), None, 0)
        return to_host_key(transport.get_remote_server_key())

    def trust_host_key(self, target: SshTarget, fingerprint: str, timeout: float = 0) -> None:
        """Save the host's key to labgpu's known_hosts (or pin it in the lab database, for a
        pinned target) if it is unknown and matches ``fingerprint`` ("SHA256:..."); does not
        log in. A known key is left as it is.

        Raises ``HostKeyUnknownError`` when the fingerprint does not match and
        ``HostKeyChangedError`` when a different key is already known (forget it first).
        """
        end = self.resolve(target)
        pinned = self._pinned(target)
        key = self._remote_key(end, self._key_types(end, pinned), timeout)
        self._verify(target, end, pinned, key, fingerprint)

    def _pinned(self, target: SshTarget) -> Sequence[HostKey] | None:
        return self.pins.pinned(target) if self.pins is not None else None

    def _key_types(self, end: Endpoint, pinned: Sequence[HostKey] | None) -> list[str]:
        """The types of the keys we know for this host: its pinned ones, else known_hosts'."""
        if pinned:
            return [k.key_type for k in pinned]
        return [k.get_name() for k in self.known_hosts.keys_for(end.hostname, end.port)]

    def _verify(
        self,
        target: SshTarget,
        end: Endpoint,
        pinned: Sequence[HostKey] | None,
        key: paramiko.PKey,
        trusted: str | None,
    ) -> None:
        if self.pins is None or pinned is None:
            self.known_hosts.verify(end.hostname, end.port, key, trusted, end.label)
            return
        endpoint = (end.hostname, end.port)
        verify_pinned(
            self.pins, target, pinned, self.known_hosts, endpoint, key, trusted, end.label
        )

    def _remote_key(self, end: Endpoint, key_types: list[str], timeout: float) -> paramiko.PKey:
        deadline = _Deadline(timeout or self.connect_timeout)
        transport = self._handshake(end, deadline, self._socket(end, deadline, 0), key_types)
        try:
            return transport.get_remote_server_key()
        finally:
            transport.close()

    def forget_host_key(self, host: SshTarget | str, port: int = 22) -> int:
        """Drop a host's keys from labgpu's known_hosts; return how many lines were removed.

        A target is resolved through ~/.ssh/config (HostName, Port) first. The user's
        ~/.ssh/known_hosts is never changed (use ``ssh-keygen -R`` there).
        """
        if isinstance(host, SshTarget):
            end = self.resolve(host)
            self.close(host)
            return self.known_hosts.forget(end.hostname, end.port)
        return self.known_hosts.forget(host, port)

    def close(self, target: SshTarget) -> None:
        """Close the target's transport and forget a remembered auth failure."""
        with self._lock_for(target):
            transport = self._transports.pop(target, None)
            self._auth_failures.pop(target, None)
        if transport is not None:
            transport.close()

    def close_all(self) -> None:
        """Close every pooled transport."""
        with self._guard:
            targets = list(self._transports)
        for target in targets:
            self.close(target)

    def _lock_for(self, target: SshTarget) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target, threading.Lock())

    def _transport(
        self, target: SshTarget, deadline: _Deadline, trusted: str | None, depth: int
    ) -> paramiko.Transport:
        with self._lock_for(target):
            known = self._auth_failures.get(target)
            if known is not None:
                raise known
            transport = self._transports.get(target)
            if transport is not None and transport.is_active() and transport.is_authenticated():
                return transport
            if transport is not None:
                transport.close()
                del self._transports[target]
            try:
                transport = self._open(target, deadline, trusted, depth)
            except AuthFailedError as exc:
                self._auth_failures[target] = exc
                raise
            self._transports[target] = transport
            return transport

    def _open(
        self, target: SshTarget, deadline: _Deadline, trusted: str | None, depth: int
    ) -> paramiko.Transport:
        end = self.resolve(target)
        pinned = self._pinned(target)
        sock = self._socket(end, deadline, depth)
        transport = self._handshake(end, deadline, sock, self._key_types(end, pinned))
        try:
            self._verify(target, end, pinned, transport.get_remote_server_key(), trusted)
            with self._guard:
                prompter = self._prompters.get(target)
            if prompter is not None:
                # A person answers: their time is not the connect timeout.
                authenticate_interactive(transport, end.label, end.user, prompter, timeout=300)
            else:
                self._authenticate(transport, end, deadline)
        except BaseException:
            transport.close()
            raise
        transport.set_keepalive(self.keepalive_s)
        return transport

    def _socket(
        self, end: Endpoint, deadline: _Deadline, depth: int
    ) -> socket.socket | paramiko.Channel:
        if end.jump is not None:
            return self._jump_channel(end, deadline, depth)
        try:
            sock = socket.create_connection((end.hostname, end.port), timeout=deadline.left())
            # Small request/response packets: without this, delayed ACKs add ~40 ms per command.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except socket.gaierror as exc:
            raise UnreachableError(
                end.label,
                _(
                    "cannot resolve {host} ({error}) — check the host "
                    "name (or HostName in ~/.ssh/config) and DNS"
                ).format(host=repr(end.hostname), error=exc.strerror),
            ) from exc
        except ConnectionRefusedError as exc:
            raise UnreachableError(
                end.label, _("connection refused — is sshd running and the port right?")
            ) from exc
        except TimeoutError as exc:
            raise UnreachableError(
                end.label,
                _(
                    "no answer within {seconds} s — is the host up and not behind a firewall?"
                ).format(seconds=f"{round(deadline.seconds, 1):g}"),
            ) from exc
        except OSError as exc:
            raise UnreachableError(
                end.label,
                _("cannot connect ({error}) — check the network route").format(
                    error=exc.strerror or exc
                ),
            ) from exc

    def _jump_channel(self, end: Endpoint, deadline: _Deadline, depth: int) -> paramiko.Channel:
        assert end.jump is not None
        if depth >= _MAX_JUMPS:
            raise UnreachableError(end.label, _("too many ProxyJump hops — is there a loop?"))
        jump_transport = self._transport(end.jump, deadline, None, depth + 1)
        try:
            return jump_transport.open_channel(
                "direct-tcpip", (end.hostname, end.port), ("127.0.0.1", 0), timeout=deadline.left()
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise UnreachableError(
                end.label,
                _(
                    "jump host {jump} could not connect to {host}:{port} ({error}) — check the "
                    "address as seen from the jump host"
                ).format(jump=end.jump.host, host=end.hostname, port=end.port, error=exc),
            ) from exc

    def _handshake(
        self,
        end: Endpoint,
        deadline: _Deadline,
        sock: socket.socket | paramiko.Channel,
        key_types: list[str],
    ) -> paramiko.Transport:
        try:
            transport = _QuietTransport(sock)
        except BaseException:
            sock.close()
            raise
        transport.banner_timeout = transport.handshake_timeout = deadline.seconds + 5
        options = transport.get_security_options()
        options.key_types = prefer_algorithms(key_types, list(options.key_types))
        event = threading.Event()
        transport.start_client(event=event)
        while not event.wait(min(0.1, deadline.left())) and deadline.left() > 0:
            pass
        if not event.is_set() or not transport.is_active():
            error = transport.get_exception()
            transport.close()
            if not event.is_set():
                raise RemoteTimeoutError(
                    end.label,
                    _(
                        "connected, but no SSH handshake within {seconds} s "
                        "— is that port an SSH server, and is the server overloaded?"
                    ).format(seconds=f"{round(deadline.seconds, 1):g}"),
                )
            raise UnreachableError(
                end.label,
                _("SSH negotiation failed ({error}) — is that port an SSH server?").format(
                    error=error
                ),
            )
        return transport

    def _authenticate(
        self, transport: paramiko.Transport, end: Endpoint, deadline: _Deadline
    ) -> None:
        files = end.identity_files or tuple(self.home / ".ssh" / n for n in DEFAULT_KEY_NAMES)
        authenticate(
            transport, end.label, end.user, files, use_agent=self.use_agent, timeout=deadline.left()
        )

    def _exec(self, target: SshTarget, command: str, timeout: float) -> CommandResult:
        deadline = _Deadline(timeout)
        label = self.resolve(target).label
        for attempt in (1, 2):
            connect_by = _Deadline(min(self.connect_timeout, deadline.left()))
            transport = self._transport(target, connect_by, None, 0)
            try:
                channel = transport.open_session(timeout=max(deadline.left(), 0.1))
                break
            except (paramiko.SSHException, EOFError, OSError) as exc:
                log.info("%s: transport unusable (%s); reconnecting", label, exc)
                self._drop(target, transport)
                if attempt == 2:
                    raise RemoteError(
                        label, _("cannot open a session ({error}) — try again").format(error=exc)
                    ) from exc
        try:
            channel.exec_command(command)
            return self._collect(channel, deadline, label)
        finally:
            channel.close()

    def _drop(self, target: SshTarget, transport: paramiko.Transport) -> None:
        with self._lock_for(target):
            if self._transports.get(target) is transport:
                del self._transports[target]
        transport.close()

    def _collect(self, channel: paramiko.Channel, deadline: _Deadline, label: str) -> CommandResult:
        out: list[bytes] = []
        err: list[bytes] = []
        while True:
            # Data before EOF is buffered by the time EOF is seen: check first, drain after.
            done = channel.eof_received or channel.closed
            while channel.recv_ready():
                out.append(channel.recv(_CHUNK))
            while channel.recv_stderr_ready():
                err.append(channel.recv_stderr(_CHUNK))
            if done:
                break
            self._wait(channel, deadline, label)
        while not (channel.exit_status_ready() or channel.closed):  # status may trail EOF
            self._wait(channel, deadline, label)
        if not channel.exit_status_ready() and not transport_alive(channel):
            raise UnreachableError(label, _("connection lost while the command ran — try again"))
        status = channel.recv_exit_status() if channel.exit_status_ready() else -1
        text = (b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace"))
        return CommandResult(status, *text)

    @staticmethod
    def _wait(channel: paramiko.Channel, deadline: _Deadline, label: str) -> None:
        """Wait (at most a second) for output, EOF or the exit status; raise at the deadline."""
        if deadline.left() <= 0:
            raise RemoteTimeoutError(
                label,
                _(
                    "command did not finish within {seconds} s — the server "
                    "may be overloaded; the command was abandoned"
                ).format(seconds=f"{round(deadline.seconds, 1):g}"),
            )
        if channel.eof_received:
            channel.status_event.wait(min(deadline.left(), 1.0))
        else:
            select.select([channel], [], [], min(deadline.left(), 1.0))


def transport_alive(channel: paramiko.Channel) -> bool:
    """Whether the channel's transport still runs."""
    transport = channel.get_transport()
    return transport is not None and transport.is_active()
