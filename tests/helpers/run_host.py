"""A GPU server of its own for running jobs on bookings (issue 15, point 2): a real sshd whose
nvidia-smi stand-in the tests may change, and the member's own SSH setup (``~/.ssh/config``
naming ``labuser`` and the fleet's key, ``~/.ssh/known_hosts`` with the server's real key), as a
member who runs ``labgpu run`` or *Run on this booking…* has it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.nvidia_smi_standin import make_gpus
from tests.helpers.sshd import Fleet, SshdHost, start_sshd
from tests.helpers.sshd_support import REMOTE_USER


@contextmanager
def booked_server(fleet: Fleet) -> Iterator[SshdHost]:
    """A fresh sshd with four idle A40s, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="labgpu-run-"))
    host = start_sshd("runhost", root, fleet.client_key, gpus=make_gpus("run", "NVIDIA A40", 46068))
    try:
        yield host
    finally:
        host.stop()
        shutil.rmtree(root, ignore_errors=True)


def member_ssh(home: Path, fleet: Fleet, host: SshdHost) -> Path:
    """Write the member's ``~/.ssh/config`` (their login: ``labuser`` with the fleet's key) and
    ``~/.ssh/known_hosts`` under ``home``; returns the known_hosts file."""
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    config = home / ".ssh" / "config"
    config.write_text(f"Host 127.0.0.1\n  User {REMOTE_USER}\n  IdentityFile {fleet.client_key}\n")
    known = home / ".ssh" / "known_hosts"
    known.write_text(host.known_hosts_line())
    return known
