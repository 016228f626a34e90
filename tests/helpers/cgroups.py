"""Real cgroups with container-like names, for the probe's container attribution tests.

The test machine runs as root with cgroup v1 hierarchies under ``/sys/fs/cgroup/<controller>``
and a cgroup2 mount at ``/sys/fs/cgroup/unified`` (on a pure v2 machine, ``/sys/fs/cgroup``).
Everything is created below one folder of our own per hierarchy (``labgpu-test-…``), so a
process's ``/proc/PID/cgroup`` reads like a container's behind a prefix, and cleanup removes
exactly what was made. If cgroups cannot be created here, the fixture fails and says why.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.helpers.sshd_support import REMOTE_USER

_V2_CANDIDATES = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
_V1_PIDS = Path("/sys/fs/cgroup/pids")


def _is_v2(path: Path) -> bool:
    return (path / "cgroup.controllers").exists()


def container_id() -> str:
    """A fresh 64-hex container id."""
    return secrets.token_hex(32)


class CgroupLab:
    """Cgroups made by one test session and the processes placed in them."""

    def __init__(self) -> None:
        v2 = next((p for p in _V2_CANDIDATES if _is_v2(p)), None)
        if v2 is None:
            raise RuntimeError(
                "no cgroup2 mount found at /sys/fs/cgroup/unified or /sys/fs/cgroup: the "
                "container tests need real cgroups (run them as root on Linux)"
            )
        self.tag = f"labgpu-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.v2_root = v2 / self.tag
        self.v1_root = _V1_PIDS / self.tag if (_V1_PIDS / "cgroup.procs").exists() else None
        self.made: list[Path] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def _make(self, path: Path) -> Path:
        try:
            for part in reversed([path, *path.parents]):
                if not part.exists():
                    part.mkdir()
                    self.made.append(part)
        except OSError as exc:
            raise RuntimeError(
                f"cannot create cgroup {path}: {exc}; the container tests need root and a "
                "writable cgroup filesystem"
            ) from exc
        return path

    def v2(self, relative: str) -> Path:
        """A cgroup2 group at ``<our folder>/relative``."""
        return self._make(self.v2_root / relative)

    def v1_pids(self, relative: str) -> Path:
        """A group of the v1 ``pids`` hierarchy (fails where there is no v1)."""
        if self.v1_root is None:
            raise RuntimeError("no cgroup v1 pids hierarchy at /sys/fs/cgroup/pids")
        return self._make(self.v1_root / relative)

    def spawn(self, argv: Sequence[str], *groups: Path) -> int:
        """Start ``argv`` as the test hosts' remote user and move it into ``groups``."""
        process = subprocess.Popen(list(argv), user=REMOTE_USER, group=REMOTE_USER, extra_groups=[])
        self.processes.append(process)
        for group in groups:
            (group / "cgroup.procs").write_text(f"{process.pid}\n")
        return process.pid

    def cleanup(self) -> None:
        """Kill our processes, then remove our groups, innermost first."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(10)
        problems = []
        for path in sorted(self.made, key=lambda p: len(p.parts), reverse=True):
            try:
                path.rmdir()
            except OSError as exc:
                problems.append(f"{path}: {exc}")
        if problems:
            raise RuntimeError("cgroups left behind: " + "; ".join(problems))
