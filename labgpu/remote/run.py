"""A job on a booking, on the booked server, over the member's own SSH login (issue 15).

Staging reuses the offload's incremental SFTP copy; the wrapper and the member's command are
written as files over SFTP, so nothing the member typed reaches a shell command line. Starting,
reading and cancelling are one remote command each (``labgpu.core.booking.run`` writes them).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from labgpu.core.booking import run
from labgpu.core.errors import RemoteError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import DEFAULT_EXCLUDES
from labgpu.remote.ssh import SshPool
from labgpu.remote.staging import (
    Progress,
    TransferReport,
    download,
    read_tail,
    upload_tree,
    write_text,
)

#: Every call's limit: starting a wrapper or reading job folders is quick.
CALL_TIMEOUT_S = 30.0


class BookedServer:
    """The booked server as the member reaches it."""

    def __init__(self, pool: SshPool, target: SshTarget) -> None:
        self.pool = pool
        self.target = target

    @property
    def label(self) -> str:
        """``host`` or ``host:port``, as errors name it."""
        return self.pool.resolve(self.target).label

    def stage(
        self, local: Path, remote_dir: str, progress: Progress | None = None
    ) -> TransferReport:
        """Copy the folder's changed files to ``remote_dir`` (relative to the login's home)."""
        with self.pool.sftp(self.target) as sftp:
            return upload_tree(sftp, local, remote_dir, DEFAULT_EXCLUDES, progress)

    def start(self, job_dir: str, wrapper: str, command: str) -> int:
        """Write the job's files and start its wrapper detached; the wrapper's PID."""
        with self.pool.sftp(self.target) as sftp:
            write_text(sftp, posixpath.join(job_dir, run.COMMAND), command.rstrip() + "\n", 0o600)
            write_text(sftp, posixpath.join(job_dir, run.WRAPPER), wrapper, 0o700)
        result = self.pool.run_script(self.target, run.launch_script(job_dir), CALL_TIMEOUT_S)
        pid = result.stdout.strip().splitlines()[-1:] if result.stdout.strip() else []
        if result.exit_status != 0 or not pid or not pid[0].isdigit():
            first = (result.stderr.strip().splitlines() or [_("no message")])[0]
            raise RemoteError(
                self.label,
                _("the job did not start (exit {code}): {error}").format(
                    code=result.exit_status, error=first
                ),
            )
        return int(pid[0])

    def observe(self, job_dirs: Sequence[str]) -> dict[str, run.Observed]:
        """What each job folder says now, by job name (one command for all of them)."""
        if not job_dirs:
            return {}
        result = self.pool.run_script(self.target, run.status_script(job_dirs), CALL_TIMEOUT_S)
        return run.parse_status(result.stdout)

    def cancel(self, job_dir: str, grace: timedelta) -> bool:
        """Stop the job (SIGTERM to its session, SIGKILL after ``grace``) and mark it
        cancelled; False when it had already ended (nothing is changed then)."""
        result = self.pool.run_script(
            self.target, run.cancel_script(job_dir, grace), CALL_TIMEOUT_S
        )
        return "ended" not in result.stdout.split()

    def tail(self, job_dir: str, max_bytes: int = 16384) -> str:
        """The end of the job's log as it is now."""
        with self.pool.sftp(self.target) as sftp:
            return read_tail(sftp, posixpath.join(job_dir, run.LOG), max_bytes)

    def fetch(
        self, job_dir: str, remote_dir: str, results: Sequence[str], dest: Path
    ) -> TransferReport:
        """Copy the log and the chosen result paths to ``dest`` (only what changed)."""
        report = TransferReport()
        with self.pool.sftp(self.target) as sftp:
            download(sftp, posixpath.join(job_dir, run.LOG), dest / run.LOG, report)
            for path in results:
                download(sftp, posixpath.join(remote_dir, path), dest / path, report)
        return report
