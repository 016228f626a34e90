"""The member's login agent: cluster logins held for later CLI commands (issue 15, point 6).

``labgpu clusters login`` starts it (``services/offload/agent.py``) when none runs. The login
itself happens here, because this process keeps the logged-in paramiko ``Transport``: the CLI
sends the cluster's target and its own pool's settings (known_hosts, ssh config, pinned keys),
this side connects, verifies the host key exactly as the CLI would, and hands each
keyboard-interactive question back to the CLI, which asks it on the terminal. One attempt: a
refusal is reported and nothing is kept (docs/architecture.md §6 of DESIGN: never a retry).

A held login serves ``exec`` (one channel per command, output and exit status sent back) and
``sftp`` (one channel per session, bytes relayed both ways) until its time is up or ``logout``
drops it. A dead connection is dropped, never re-established: the next command logs in afresh
in the CLI, asking the member. With nothing held and nobody connected the agent exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

import paramiko

from labgpu.core.errors import LabgpuError, RemoteError
from labgpu.core.i18n import _
from labgpu.core.inventory.host_keys import HostKey
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import LoginCancelled
from labgpu.remote import agent_wire as wire
from labgpu.remote.agent_wire import AgentPlace, LoginNotHeld, Message
from labgpu.remote.ssh import SshPool

log = logging.getLogger(__name__)

#: How long a member may take to answer one round of login questions.
ANSWER_TIMEOUT_S = 300.0
_CHUNK = 65536


class StaticPins:
    """The lab database's keys pinned for one target, as the CLI read them (``HostKeyPins``)."""

    def __init__(self, target: SshTarget, keys: Sequence[HostKey]) -> None:
        self.target = target
        self.keys = list(keys)

    def pinned(self, target: SshTarget) -> Sequence[HostKey] | None:
        """The pinned keys of the logged-in target; other hosts go by known_hosts."""
        return self.keys if target == self.target else None

    def may_pin(self) -> bool:
        """Never: pinning is the CLI's, before it logs in."""
        return False

    def pin(self, target: SshTarget, key: HostKey) -> None:
        """Never called (``may_pin`` is false)."""
        raise LabgpuError(_("the login agent does not pin host keys"))


class HeldPool(SshPool):
    """A pool that logs in only while the agent is told to, and never reconnects on its own."""

    allow_login = False

    def _open(self, target: SshTarget, deadline: Any, trusted: str | None, depth: int) -> Any:
        if not self.allow_login:
            raise LoginNotHeld(_("the held login to {host} has ended").format(host=target.host))
        return super()._open(target, deadline, trusted, depth)

    def run_command(self, target: SshTarget, command: str, timeout: float) -> Message:
        """Run an already quoted command line on the held login; its output as a message."""
        result = self._exec(target, command, timeout)
        return {"exit_status": result.exit_status, "stdout": result.stdout, "stderr": result.stderr}


@dataclass
class Held:
    """One login the agent holds: the cluster's name, its target, its pool, until when."""

    name: str
    target: SshTarget
    pool: HeldPool
    until: float  # seconds since the epoch

    def alive(self) -> bool:
        """Still in time and still connected."""
        return time.time() < self.until and self.pool.is_connected(self.target)


def pool_from(settings: Message, target: SshTarget) -> HeldPool:
    """A pool with the CLI pool's settings (same known_hosts, ssh config, home, pins)."""

    def path(key: str) -> Path | None:
        value = settings.get(key)
        return Path(value) if isinstance(value, str) else None

    known_hosts = path("known_hosts")
    if known_hosts is None:
        raise LabgpuError(_("the login agent was sent no known_hosts file"))
    pins = settings.get("pins")
    keys = [HostKey(*k) for k in pins] if isinstance(pins, list) else None
    return HeldPool(
        known_hosts,
        ssh_config=path("ssh_config"),
        home=path("home"),
        user_known_hosts=path("user_known_hosts"),
        use_agent=bool(settings.get("use_agent", True)),
        connect_timeout=float(settings.get("connect_timeout", 10.0)),
        pins=StaticPins(target, keys) if keys is not None else None,
    )


def relay_prompter(conn: Connection) -> Callable[[str, Sequence[tuple[str, bool]]], list[str]]:
    """Login questions sent to the CLI; its member's answers come back (only in memory)."""

    def ask(instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
        wire.send(conn, {"prompt": [[p, bool(e)] for p, e in prompts], "text": instructions})
        reply = wire.receive(conn, ANSWER_TIMEOUT_S)
        answers = reply.get("answers")
        if not isinstance(answers, list) or len(answers) != len(prompts):
            raise LoginCancelled(str(reply.get("cancel") or _("login cancelled")))
        return [str(a) for a in answers]

    return ask


class LoginAgent:
    """The agent's state and its request handlers."""

    def __init__(self, place: AgentPlace, idle_exit_s: float = 2.0) -> None:
        self.place = place
        self.idle_exit_s = idle_exit_s
        self._held: dict[SshTarget, Held] = {}
        self._lock = threading.Lock()
        self._busy = 0
        self._idle_since = time.monotonic()
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------

    def serve(self) -> None:
        """Listen until nothing is held and nobody is connected, then clean up and return."""
        other = wire.connect(self.place)
        if other is not None:
            other.close()
            log.info("another agent already answers at %s", self.place.address)
            return
        Path(self.place.address).unlink(missing_ok=True)
        authkey = os.urandom(32)
        wire.write_private(self.place.key_file, authkey)
        listener = wire.listen(self.place, authkey)
        wire.write_private(self.place.pid_file, str(os.getpid()).encode())
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        try:
            while not self._should_exit():
                time.sleep(0.25)
        finally:
            self._close_all()
            listener.close()
            for path in (self.place.key_file, self.place.pid_file):
                path.unlink(missing_ok=True)

    def _should_exit(self) -> bool:
        self._expire()
        with self._lock:
            idle = time.monotonic() - self._idle_since > self.idle_exit_s
            if not self._held and self._busy == 0 and idle:
                self._closing = True
            return self._closing

    def _expire(self) -> None:
        with self._lock:
            ended = [h for h in self._held.values() if not h.alive()]
            for held in ended:
                del self._held[held.target]
        for held in ended:
            log.info("login to %s ended", held.name)
            held.pool.close_all()

    def _close_all(self) -> None:
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for one in held:
            one.pool.close_all()

    def _accept(self, listener: Listener) -> None:
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError, AuthenticationError) as exc:
                if self._closing:
                    return
                log.warning("refused a connection: %s", exc)
                continue
            with self._lock:
                refuse = self._closing or not wire.peer_is_owner(conn)
                self._busy += 0 if refuse else 1
            if refuse:
                conn.close()
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: Connection) -> None:
        try:
            request = wire.receive(conn, 30.0)
            handler = self._handlers().get(str(request.get("op")))
            if handler is None:
                raise LabgpuError(_("the login agent does not know this request"))
            handler(conn, request)
        except LabgpuError as exc:
            self._reply_error(conn, exc)
        except (OSError, EOFError, ValueError) as exc:
            log.info("a client went away: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a bug: logged, the agent keeps serving
            log.exception("request failed")
            self._reply_error(conn, LabgpuError(str(exc)))
        finally:
            conn.close()
            with self._lock:
                self._busy -= 1
                self._idle_since = time.monotonic()

    @staticmethod
    def _reply_error(conn: Connection, exc: LabgpuError) -> None:
        with contextlib.suppress(OSError, EOFError):
            wire.send(conn, wire.error_to_json(exc))

    def _handlers(self) -> dict[str, Callable[[Connection, Message], None]]:
        return {
            "login": self._login,
            "list": self._list,
            "logout": self._logout,
            "exec": self._exec,
            "sftp": self._sftp,
        }

    # -- requests -------------------------------------------------------------------------------

    def _login(self, conn: Connection, request: Message) -> None:
        target = wire.target_from_json(request.get("target"))
        hours = float(request.get("hours", 8.0))
        held = self._find(target)
        if held is not None:
            wire.send(conn, {"ok": True, "until": held.until, "already": True})
            return
        pool = pool_from(request.get("settings") or {}, target)
        if request.get("interactive"):
            pool.set_prompter(target, relay_prompter(conn))
        pool.allow_login = True
        try:
            pool.connect(target)
        except BaseException:
            pool.close_all()  # one attempt: nothing is kept, nothing is tried again
            raise
        finally:
            pool.allow_login = False
            pool.set_prompter(target, None)
        name = str(request.get("name") or target.host)
        held = Held(name, target, pool, time.time() + hours * 3600)
        with self._lock:
            replaced = self._held.get(target)
            self._held[target] = held
        if replaced is not None:  # two logins at once: the later one is kept
            replaced.pool.close_all()
        log.info("holding the login to %s for %s h", name, hours)
        wire.send(conn, {"ok": True, "until": held.until})

    def _find(self, target: SshTarget) -> Held | None:
        self._expire()
        with self._lock:
            return self._held.get(target)

    def _list(self, conn: Connection, request: Message) -> None:
        self._expire()
        with self._lock:
            held = list(self._held.values())
        logins = [
            {"name": h.name, "target": wire.target_to_json(h.target), "until": h.until}
            for h in held
        ]
        wire.send(conn, {"logins": logins})

    def _logout(self, conn: Connection, request: Message) -> None:
        name = request.get("name")
        with self._lock:
            dropped = [h for h in self._held.values() if name is None or h.name == name]
            for held in dropped:
                del self._held[held.target]
        for held in dropped:
            held.pool.close_all()
        wire.send(conn, {"dropped": [h.name for h in dropped]})

    def _exec(self, conn: Connection, request: Message) -> None:
        target = wire.target_from_json(request.get("target"))
        held = self._find(target)
        if held is None:
            wire.send(conn, {"held": False})
            return
        try:
            result = held.pool.run_command(
                target, str(request.get("command")), float(request.get("timeout", 30.0))
            )
        except LoginNotHeld:
            self._expire()
            wire.send(conn, {"held": False})
            return
        wire.send(conn, {"held": True, **result})

    def _sftp(self, conn: Connection, request: Message) -> None:
        target = wire.target_from_json(request.get("target"))
        held = self._find(target)
        try:
            if held is None:
                raise LoginNotHeld(target.host)
            channel = held.pool.connect(target).open_session(timeout=30.0)
        except (LoginNotHeld, paramiko.SSHException, EOFError, OSError):
            self._expire()
            wire.send(conn, {"held": False})
            return
        try:
            channel.invoke_subsystem("sftp")
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel.close()
            raise RemoteError(
                target.host, _("cannot open SFTP ({error})").format(error=exc)
            ) from exc
        wire.send(conn, {"held": True})
        pump(conn, channel)


def pump(conn: Connection, channel: paramiko.Channel) -> None:
    """Relay raw bytes between the CLI's connection and an SFTP channel until either ends."""

    def upstream() -> None:
        try:
            while data := conn.recv_bytes(wire.MAX_MESSAGE):
                channel.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            channel.close()

    thread = threading.Thread(target=upstream, daemon=True)
    thread.start()
    try:
        while data := channel.recv(_CHUNK):
            conn.send_bytes(data)
        conn.send_bytes(b"")  # end of the session
    except (OSError, EOFError):
        pass
    finally:
        channel.close()
    thread.join(5.0)
