"""The CLI's side of the login agent: ``RelayPool`` sends a held target's commands and SFTP
sessions through the agent (``login_agent``) instead of logging in afresh.

A target the agent does not hold (never held, expired, logged out, the agent gone) is used as
any ``SshPool`` uses it: a fresh login that asks the member. That is no retry of a failed
login: the agent never tried one for this command. ``hold_login`` sends a login to the agent
and answers its questions through the member's prompter, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import paramiko

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.host_keys import HostKeyPins
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import LoginCancelled, Prompter
from labgpu.remote import agent_wire as wire
from labgpu.remote.agent_wire import AgentPlace, Message
from labgpu.remote.ssh import CommandResult, SshPool

#: The agent's answer to a login may wait for a person typing an OTP.
_LOGIN_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class HeldLogin:
    """A login the agent holds: the cluster's name, its target, until when (epoch seconds)."""

    name: str
    target: SshTarget
    until: float


class AgentLink:
    """Requests to the member's agent; ``None`` answers mean no agent runs."""

    def __init__(self, place: AgentPlace) -> None:
        self.place = place

    def call(self, request: Message, timeout: float = 30.0) -> Message | None:
        """One request and its answer (an error answer raised as the error it names)."""
        conn = wire.connect(self.place)
        if conn is None:
            return None
        try:
            wire.send(conn, request)
            return _answer(wire.receive(conn, timeout))
        except (OSError, EOFError) as exc:
            raise _gone(exc) from exc
        finally:
            conn.close()

    def logins(self) -> list[HeldLogin]:
        """The logins held now (none when no agent runs)."""
        reply = self.call({"op": "list"})
        found = reply.get("logins", []) if reply is not None else []
        return [
            HeldLogin(str(h["name"]), wire.target_from_json(h["target"]), float(h["until"]))
            for h in found
        ]

    def logout(self, name: str | None) -> list[str]:
        """Drop the held login of cluster ``name`` (every one with ``None``); their names."""
        reply = self.call({"op": "logout", "name": name})
        return [str(n) for n in reply.get("dropped", [])] if reply is not None else []


def _answer(reply: Message) -> Message:
    if "error" in reply:
        raise wire.error_from_json(reply)
    return reply


def _gone(exc: BaseException) -> LabgpuError:
    return LabgpuError(_("the login agent stopped answering ({error})").format(error=exc))


class RelayPool(SshPool):
    """An ``SshPool`` that runs what it can over the logins the member's agent holds."""

    def __init__(
        self,
        place: AgentPlace,
        known_hosts: Path,
        *,
        ssh_config: Path | None = None,
        home: Path | None = None,
        user_known_hosts: Path | None = None,
        use_agent: bool = True,
        pins: HostKeyPins | None = None,
    ) -> None:
        """``place``: where the agent listens; the rest as for ``SshPool``, and handed to the
        agent on a login, so that it checks host keys exactly as this pool does."""
        super().__init__(
            known_hosts, ssh_config=ssh_config, home=home, user_known_hosts=user_known_hosts,
            use_agent=use_agent, pins=pins,
        )  # fmt: skip
        self.agent = AgentLink(place)
        self._settings: Message = {
            "known_hosts": str(known_hosts),
            "ssh_config": str(ssh_config) if ssh_config is not None else None,
            "home": str(self.home),
            "user_known_hosts": str(self.known_hosts.user_path),
            "use_agent": use_agent,
            "connect_timeout": self.connect_timeout,
        }
        self._unheld: set[SshTarget] = set()

    def hold_login(
        self, name: str, target: SshTarget, prompter: Prompter | None, hours: float
    ) -> float:
        """Log in through the agent, which then holds the login for ``hours``; returns until
        when (epoch seconds). Questions go to ``prompter`` (key logins have none). One attempt:
        a refusal is raised and the agent keeps nothing."""
        conn = wire.connect(self.agent.place)
        if conn is None:
            raise LabgpuError(_("the login agent is not running"))
        pinned = self.pins.pinned(target) if self.pins is not None else None
        settings = {**self._settings, "pins": None}
        if pinned is not None:
            settings["pins"] = [[k.key_type, k.key_base64, k.fingerprint] for k in pinned]
        request = {
            "op": "login", "name": name, "target": wire.target_to_json(target),
            "settings": settings, "hours": hours, "interactive": prompter is not None,
        }  # fmt: skip
        try:
            wire.send(conn, request)
            return _login_dialogue(conn, prompter)
        except (OSError, EOFError) as exc:
            raise _gone(exc) from exc
        finally:
            conn.close()

    def _relayed(self, target: SshTarget) -> bool:
        """Worth asking the agent: no own login to it, and the agent did not say no before."""
        return (
            target not in self._unheld
            and self.agent.place.exists()
            and not SshPool.is_connected(self, target)
        )

    def is_connected(self, target: SshTarget) -> bool:
        """True with an own login to ``target`` or one the agent holds."""
        if SshPool.is_connected(self, target):
            return True
        if not self._relayed(target):
            return False
        if any(h.target == target for h in self.agent.logins()):
            return True
        self._unheld.add(target)
        return False

    def _exec(self, target: SshTarget, command: str, timeout: float) -> CommandResult:
        if self._relayed(target):
            request = {
                "op": "exec", "target": wire.target_to_json(target), "command": command,
                "timeout": timeout,
            }  # fmt: skip
            reply = self.agent.call(request, timeout + 30.0)
            if reply is not None and reply.get("held"):
                out, err = str(reply.get("stdout", "")), str(reply.get("stderr", ""))
                return CommandResult(int(reply.get("exit_status", -1)), out, err)
            self._unheld.add(target)
        return super()._exec(target, command, timeout)

    @contextmanager
    def sftp(self, target: SshTarget, timeout: float = 30.0) -> Iterator[paramiko.SFTPClient]:
        """An SFTP session through the agent's held login, else on an own login."""
        conn = self._sftp_relay(target) if self._relayed(target) else None
        if conn is None:
            with super().sftp(target, timeout) as client:
                yield client
            return
        client = paramiko.SFTPClient(ConnectionSocket(conn, timeout))  # type: ignore[arg-type]
        try:
            yield client
        finally:
            client.close()

    def _sftp_relay(self, target: SshTarget) -> Connection | None:
        conn = wire.connect(self.agent.place)
        if conn is None:
            self._unheld.add(target)
            return None
        try:
            wire.send(conn, {"op": "sftp", "target": wire.target_to_json(target)})
            reply = _answer(wire.receive(conn, 60.0))
        except (OSError, EOFError) as exc:
            conn.close()
            raise _gone(exc) from exc
        except BaseException:
            conn.close()
            raise
        if not reply.get("held"):
            conn.close()
            self._unheld.add(target)
            return None
        return conn


def _login_dialogue(conn: Connection, prompter: Prompter | None) -> float:
    """Answer the agent's login questions until it says how the login went."""
    while True:
        reply = _answer(wire.receive(conn, _LOGIN_TIMEOUT_S))
        if "prompt" not in reply:
            return float(reply["until"])
        prompts = [(str(p), bool(e)) for p, e in reply["prompt"]]
        if prompter is None:
            wire.send(conn, {"cancel": _("no one to answer the login questions")})
            continue
        try:
            answers = list(prompter(str(reply.get("text", "")), prompts))
        except LoginCancelled as exc:
            wire.send(conn, {"cancel": str(exc)})
            raise
        except BaseException:
            wire.send(conn, {"cancel": _("login cancelled")})
            raise
        wire.send(conn, {"answers": answers})


class ConnectionSocket:
    """A ``multiprocessing`` connection that looks enough like a socket for ``SFTPClient``:
    each message is a piece of the byte stream, an empty one its end."""

    def __init__(self, conn: Connection, timeout: float | None) -> None:
        self.conn = conn
        self.timeout = timeout
        self._buffer = b""
        self._ended = False

    def get_name(self) -> str:
        """For paramiko's log lines."""
        return "labgpu-agent-sftp"

    def settimeout(self, timeout: float | None) -> None:
        """How long ``recv`` waits before ``socket.timeout``."""
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        """The current ``recv`` timeout."""
        return self.timeout

    def setblocking(self, blocking: bool) -> None:
        """Blocking is a timeout of ``None``, non-blocking one of 0 (as for sockets)."""
        self.timeout = None if blocking else 0.0

    def send(self, data: bytes) -> int:
        """Send all of ``data`` as one piece."""
        self.conn.send_bytes(bytes(data))
        return len(data)

    def recv_ready(self) -> bool:
        """Whether ``recv`` would not wait."""
        return bool(self._buffer) or self._ended or self.conn.poll(0)

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` once the agent ended the session."""
        if not self._buffer and not self._ended:
            if self.timeout is not None and not self.conn.poll(self.timeout):
                raise TimeoutError("no answer from the login agent")
            try:
                self._buffer = self.conn.recv_bytes()
            except (EOFError, OSError):
                self._buffer = b""
            self._ended = not self._buffer
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return piece

    def close(self) -> None:
        """End the session (the agent closes its channel)."""
        self.conn.close()
