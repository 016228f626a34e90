"""Cluster logins held for the CLI (issue 15, point 6): where the member's login agent lives,
starting it, and the use cases ``clusters login --hours``, ``logout`` and the held list.

The agent is one background process per member (``python -m labgpu.services.offload.agent``,
the code in ``remote/login_agent.py``), listening in ``<data dir>/agent`` (0700): a 0600 Unix
socket on POSIX, a named pipe on Windows, and a 0600 authkey file. The CLI's pool
(``remote/login_relay.RelayPool``) sends held targets' commands through it; the desktop app
keeps its own login in its process. Nothing secret is written: the OTP and password pass
through memory only.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import Prompter
from labgpu.remote import agent_wire
from labgpu.remote.agent_wire import AgentPlace
from labgpu.services.offload.login import with_saved_password
from labgpu.services.platform import paths

if TYPE_CHECKING:
    from labgpu.core.inventory.host_keys import HostKeyPins
    from labgpu.remote.login_relay import HeldLogin, RelayPool
    from labgpu.services.offload.service import OffloadService

log = logging.getLogger(__name__)

#: How long a login is held unless ``--hours`` says otherwise.
DEFAULT_HOURS = 8.0
_START_TIMEOUT_S = 20.0


def agent_place() -> AgentPlace:
    """The member's agent folder (created 0700, and kept so)."""
    folder = paths.data_dir() / "agent"
    folder.mkdir(mode=0o700, exist_ok=True)
    if sys.platform != "win32":
        os.chmod(folder, 0o700)
    return AgentPlace(folder)


def relay_pool(pins: HostKeyPins | None) -> RelayPool:
    """The CLI's SSH pool: the usual settings, and the agent's held logins used first."""
    from labgpu.remote.login_relay import RelayPool

    return RelayPool(
        agent_place(), paths.known_hosts_path(), ssh_config=paths.ssh_config_path(), pins=pins
    )


def start_agent(place: AgentPlace) -> subprocess.Popen[bytes]:
    """Start the agent detached from this process and its terminal."""
    log_path = place.folder / "agent.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    argv = [sys.executable, "-m", "labgpu.services.offload.agent", str(place.folder)]
    try:
        if sys.platform == "win32":  # untested here: no Windows machine runs the tests
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, creationflags=flags
            )
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
            close_fds=True,
        )  # fmt: skip
    finally:
        os.close(fd)


def ensure_agent(place: AgentPlace) -> None:
    """Start the agent unless one answers; wait until it does."""
    conn = agent_wire.connect(place)
    if conn is not None:
        conn.close()
        return
    process = start_agent(place)
    # Reaped when it exits, should this process still run then (no zombie, no warning).
    threading.Thread(target=process.wait, daemon=True).start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        conn = agent_wire.connect(place)
        if conn is not None:
            conn.close()
            return
        if process.poll() is not None and not place.exists():
            break
        time.sleep(0.05)
    raise LabgpuError(
        _("the login agent did not start; see {log}").format(log=place.folder / "agent.log")
    )


def _pool(offload: OffloadService) -> RelayPool:
    from labgpu.remote.login_relay import RelayPool

    if not isinstance(offload.pool, RelayPool):
        raise LabgpuError(_("this lab cannot hold cluster logins"))
    return offload.pool


def hold_login(offload: OffloadService, name: str, hours: float, ask: Prompter) -> datetime:
    """Log in to cluster ``name`` in the agent, which holds it for ``hours``; until when.

    The questions go to ``ask`` (a kept password answers its own); one attempt, never retried.
    """
    cluster = offload.cluster(name)
    pool = _pool(offload)
    ensure_agent(pool.agent.place)
    prompter = with_saved_password(cluster, ask) if cluster.login == "interactive" else None
    until = pool.hold_login(cluster.name, cluster.target, prompter, hours)
    return datetime.fromtimestamp(until, UTC)


def held_logins() -> list[HeldLogin]:
    """The logins the member's agent holds now (none when it does not run)."""
    from labgpu.remote.login_relay import AgentLink

    return AgentLink(agent_place()).logins()


def logout(name: str | None) -> list[str]:
    """End the held login to cluster ``name`` (all with ``None``); the names it ended."""
    from labgpu.remote.login_relay import AgentLink

    return AgentLink(agent_place()).logout(name)


def main(argv: list[str]) -> int:
    """The agent process: serve in the folder given until nothing is held."""
    from labgpu.remote.login_agent import LoginAgent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    LoginAgent(AgentPlace(Path(argv[0]))).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
