"""Talking to a cluster's scheduler (Slurm or PBS) through its login node.

Every command is an argv quoted word by word by ``SshPool.run``; the member's command only ever
reaches the cluster inside the job script file. Following jobs costs one round trip per cluster
per poll, whatever the number of jobs.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from datetime import datetime

from labgpu.core.errors import LabgpuError, RefusedError, RemoteError
from labgpu.core.i18n import _
from labgpu.core.offload import scheduler
from labgpu.core.offload.jobs import Cluster, JobStatus
from labgpu.core.offload.jobscript import EXIT_FILE, SCRIPT
from labgpu.remote.ssh import CommandResult, SshPool
from labgpu.remote.staging import write_text

SUBMIT_TIMEOUT_S = 60.0
POLL_TIMEOUT_S = 60.0
_ID = re.compile(r"^[0-9]+(\.[A-Za-z0-9_.-]+)?$")

# Positional parameters carry every value: nothing is pasted into the script text.
_SUBMIT = 'cd "$1" && exec "$2" "$3"'
_SLURM_POLL = r"""
user=$1; shift
squeue --noheader --user="$user" --format="$SQUEUE_FORMAT" 2>&1
echo @@scontrol
for id in "$@"; do scontrol show job -o "$id" 2>/dev/null; done
echo @@sacct
if [ $# -gt 0 ] && command -v sacct >/dev/null 2>&1; then
  ids=$(printf '%s,' "$@")
  sacct --parsable2 --noheader --allocations --format="$SACCT_FIELDS" --jobs="${ids%,}" 2>&1 \
    || echo @@no-accounting
fi
"""
_EXIT_CODES = r"""
for dir in "$@"; do
  if [ -f "$dir/EXIT" ]; then printf '%s %s\n' "$(cat "$dir/EXIT")" "$dir"; fi
done
""".replace("EXIT", EXIT_FILE)


class SubmitRejected(RefusedError):
    """The scheduler refused the job (resources it cannot give, a missing directive...)."""


class SchedulerClient:
    """One cluster's scheduler, reached through the pooled SSH connection to its login node."""

    def __init__(self, pool: SshPool, cluster: Cluster) -> None:
        self.pool = pool
        self.cluster = cluster
        self.target = cluster.target

    def _run(self, argv: Sequence[str], timeout: float = POLL_TIMEOUT_S) -> CommandResult:
        return self.pool.run(self.target, argv, timeout)

    def _script(self, script: str, args: Sequence[str], env: dict[str, str]) -> CommandResult:
        exports = "".join(f"{k}={shlex.quote(v)}; " for k, v in env.items())
        return self._run(["sh", "-c", exports + script, "sh", *args])

    def login(self) -> None:
        """Connect and authenticate now (prompting through the pool's prompter, once)."""
        self.pool.connect(self.target)

    def expand_base(self) -> str:
        """The cluster's base directory with ``~``, ``$HOME`` and ``$USER`` expanded."""
        result = self._run(["sh", "-c", 'printf "%s\\n%s\\n" "$USER" "$HOME"'])
        lines = result.stdout.splitlines()
        if result.exit_status != 0 or len(lines) < 2:
            raise RemoteError(
                self.cluster.name,
                _("cannot read $USER/$HOME ({error})").format(error=result.stderr),
            )
        user, home = lines[0] or self.cluster.user, lines[1]
        base = self.cluster.base_dir.strip() or "~/labgpu"
        if base == "~" or base.startswith("~/"):
            base = home + base[1:]
        base = base.replace("${USER}", user).replace("$USER", user)
        base = base.replace("${HOME}", home).replace("$HOME", home)
        if not base.startswith("/"):
            base = posixpath.join(home, base)
        return posixpath.normpath(base)

    def write_script(self, job_dir: str, script: str) -> str:
        """Put the job script in ``job_dir``; returns its path."""
        path = posixpath.join(job_dir, SCRIPT)
        with self.pool.sftp(self.target) as sftp:
            write_text(sftp, path, script)
        return path

    def submit(self, job_dir: str) -> str:
        """Submit ``job_dir``'s script; returns the scheduler's job id.

        A refusal raises ``SubmitRejected`` with the scheduler's own words.
        """
        tool = "qsub" if self.cluster.scheduler == "pbs" else "sbatch"
        argv = ["sh", "-c", _SUBMIT, "sh", job_dir, tool, SCRIPT]
        if tool == "sbatch":
            argv = ["sh", "-c", 'cd "$1" && exec "$2" --parsable "$3"', "sh", job_dir, tool, SCRIPT]
        result = self._run(argv, SUBMIT_TIMEOUT_S)
        if result.exit_status != 0:
            said = " ".join((result.stderr or result.stdout).split())
            said = said or _("exit status {code}").format(code=result.exit_status)
            raise SubmitRejected(
                _(
                    "{cluster} refused the job: {said} — change the GPUs, hours or "
                    "directives and submit again (nothing was queued)"
                ).format(cluster=self.cluster.name, said=said)
            )
        if tool == "qsub":
            return scheduler.parse_qsub_id(result.stdout)
        return scheduler.parse_sbatch_id(result.stdout)

    def poll(self, ids: Sequence[str]) -> dict[str, JobStatus]:
        """The state of the member's jobs (and of ``ids``) in one round trip."""
        ids = [i for i in ids if _ID.match(i)]
        if self.cluster.scheduler == "pbs":
            return self._poll_pbs(ids)
        env = {"SQUEUE_FORMAT": scheduler.SQUEUE_FORMAT, "SACCT_FIELDS": scheduler.SACCT_FIELDS}
        result = self._script(_SLURM_POLL, [self.cluster.user, *ids], env)
        if result.exit_status != 0:
            raise RemoteError(
                self.cluster.name,
                _("squeue failed: {error}").format(error=result.stdout.strip()[:300]),
            )
        queue, _mark, rest = result.stdout.partition("@@scontrol\n")
        control, _mark, accounting = rest.partition("@@sacct\n")
        if "@@no-accounting" in accounting:
            accounting = ""  # the site keeps no accounting: scontrol and exit files tell
        return scheduler.merge(
            scheduler.parse_scontrol(control),
            scheduler.parse_squeue(queue),
            scheduler.parse_sacct(accounting),
        )

    def _poll_pbs(self, ids: Sequence[str]) -> dict[str, JobStatus]:
        if not ids:
            return {}
        result = self._run(["qstat", "-f", "-F", "json", "-x", *ids])
        return scheduler.parse_qstat_json(result.stdout)

    def find_by_name(self, name: str) -> JobStatus | None:
        """The job called ``name`` if the scheduler still knows it (re-attach after a crash)."""
        if self.cluster.scheduler == "pbs":
            result = self._run(["qstat", "-f", "-F", "json", "-x", "-u", self.cluster.user])
            return scheduler.by_name(scheduler.parse_qstat_json(result.stdout).values(), name)
        result = self._run(
            ["squeue", "--noheader", f"--name={name}", f"--user={self.cluster.user}",
             "--states=all", f"--format={scheduler.SQUEUE_FORMAT}"]
        )  # fmt: skip
        found = scheduler.by_name(scheduler.parse_squeue(result.stdout).values(), name)
        if found is None:
            accounting = self._run(
                ["sacct", "--parsable2", "--noheader", "--allocations", f"--name={name}",
                 f"--user={self.cluster.user}", f"--format={scheduler.SACCT_FIELDS}"]
            )  # fmt: skip
            if accounting.exit_status == 0:
                found = scheduler.by_name(scheduler.parse_sacct(accounting.stdout).values(), name)
        return found

    def exit_codes(self, job_dirs: Sequence[str]) -> dict[str, int]:
        """Exit statuses the job scripts wrote (``job_dir -> code``), where they did."""
        if not job_dirs:
            return {}
        result = self._run(["sh", "-c", _EXIT_CODES, "sh", *job_dirs])
        codes: dict[str, int] = {}
        for line in result.stdout.splitlines():
            code, _, path = line.partition(" ")
            if code.lstrip("-").isdigit():
                codes[path] = int(code)
        return codes

    def cancel(self, remote_id: str) -> None:
        """``scancel`` / ``qdel`` one job."""
        if not _ID.match(remote_id):
            raise LabgpuError(_("{id} is not a job id").format(id=repr(remote_id)))
        tool = "qdel" if self.cluster.scheduler == "pbs" else "scancel"
        result = self._run([tool, remote_id])
        if result.exit_status != 0:
            raise RemoteError(
                self.cluster.name,
                _("{tool} {id} failed: {error}").format(
                    tool=tool, id=remote_id, error=(result.stderr or result.stdout).strip()[:300]
                ),
            )

    def estimate_start(self, job_dir: str) -> datetime | None:
        """``sbatch --test-only``'s start estimate for the job script (Slurm only)."""
        if self.cluster.scheduler != "slurm":
            return None
        argv = ["sh", "-c", 'cd "$1" && exec sbatch --test-only "$2" 2>&1', "sh", job_dir, SCRIPT]
        result = self._run(argv, SUBMIT_TIMEOUT_S)
        return scheduler.parse_test_only(result.stdout + result.stderr)
