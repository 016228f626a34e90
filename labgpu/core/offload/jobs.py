"""Offloading jobs to shared clusters: clusters, jobs and the one set of job states.

Pure values and rules; the scheduler's own words are parsed in ``core.scheduler`` and the job
script is written by ``core.jobscript``.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from labgpu.core.errors import LabgpuError, RefusedError, UsageError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget

SCHEDULERS = ("slurm", "pbs")
LOGINS = ("key", "interactive")
DEFAULT_EXCLUDES = (".git", "__pycache__", ".venv", "labgpu-results")
DEFAULT_GPU_REQUEST = {"slurm": "--gres=gpu:{type}:{count}", "pbs": "select=1:ngpus={count}"}
#: Follow the cluster gently: the controller is shared by hundreds of users.
DEFAULT_POLL_S = 30.0
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")

#: (instructions, [(prompt, echo)]) -> answers. Raise ``LoginCancelled`` to give up.
Prompter = Callable[[str, Sequence[tuple[str, bool]]], Sequence[str]]


class LoginCancelled(LabgpuError):
    """The member closed the login prompt; nothing was sent to the cluster."""


class JobState(enum.StrEnum):
    """One set of states for every scheduler (the scheduler's own word is kept beside it)."""

    SUBMITTING = "submitting"  # recorded, sbatch/qsub not confirmed yet
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """The job will not change any more."""
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.TIMEOUT}
)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A shared cluster the lab may send jobs to."""

    name: str
    host: str
    user: str
    scheduler: str = "slurm"
    port: int | None = None
    jump_host: str | None = None
    partition: str = ""
    gpu_request: str = ""  # e.g. "--gres=gpu:{type}:{count}"; empty: the scheduler's default
    directives: tuple[str, ...] = ()  # extra site directives, e.g. "--comment=pytorch"
    base_dir: str = "~/labgpu"  # may use $USER / $HOME / ~
    modules: tuple[str, ...] = ()
    max_hours: float | None = None
    login: str = "key"  # or "interactive" (OTP + password prompts)
    identity_file: str | None = None
    created_by: str = ""
    id: int | None = None

    @property
    def target(self) -> SshTarget:
        """How to reach the login node."""
        return SshTarget(self.host, self.port, self.user, self.identity_file, self.jump_host)

    @property
    def gpu_template(self) -> str:
        """How GPUs are asked for on this cluster."""
        return self.gpu_request or DEFAULT_GPU_REQUEST[self.scheduler]


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a member asks for: a local folder, a command, GPUs and hours."""

    cluster: str
    local_dir: str
    command: str
    gpus: int
    hours: float
    gpu_type: str = ""
    results: tuple[str, ...] = ()  # paths relative to the folder to bring back
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What one poll said of one job."""

    remote_id: str
    state: JobState
    raw_state: str
    reason: str = ""
    exit_code: int | None = None
    elapsed_s: int | None = None
    name: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OffloadJob:
    """A job sent (or being sent) to a cluster, as the lab records it."""

    id: int
    name: str  # unique, also the scheduler's job name: the key to re-attach after a crash
    cluster: str
    user_name: str
    state: JobState
    gpus: int
    gpu_type: str
    hours: float
    command: str
    local_dir: str
    remote_dir: str  # the staged copy of local_dir (shared by jobs from the same folder)
    job_dir: str  # this job's script, stdout and stderr
    script: str
    submitted_at: datetime
    remote_id: str | None = None
    raw_state: str = ""
    reason: str = ""
    exit_code: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    elapsed_s: int | None = None
    results: tuple[str, ...] = ()
    fetched_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: The project or grant the job is for (None: none named).
    project: str | None = None


def job_gpu_hours(job: OffloadJob) -> float:
    """GPUs times the time ``job`` ran (0 while it has not started).

    A function rather than a property: ``OffloadJob``'s members are its stored fields.
    """
    return job.gpus * (job.elapsed_s or 0) / 3600.0


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Offloaded GPU-hours of one member on one cluster in one month (for the PI's reports)."""

    month: str  # "2026-11"
    user_name: str
    cluster: str
    jobs: int
    gpu_hours: float


def check_cluster(cluster: Cluster) -> Cluster:
    """Refuse settings that cannot work, with a message saying what to change."""
    if not _NAME_RE.match(cluster.name):
        raise LabgpuError(
            _(
                "cluster name {name} is not usable: use letters, digits, '.', '_' or '-' "
                "(at most 63 characters)"
            ).format(name=repr(cluster.name))
        )
    if cluster.scheduler not in SCHEDULERS:
        raise LabgpuError(
            _("cluster {name}: unknown scheduler {scheduler}; use slurm or pbs").format(
                name=cluster.name, scheduler=repr(cluster.scheduler)
            )
        )
    if cluster.login not in LOGINS:
        raise LabgpuError(
            _("cluster {name}: login must be 'key' or 'interactive'").format(name=cluster.name)
        )
    if not cluster.host.strip() or not cluster.user.strip():
        raise LabgpuError(
            _("cluster {name}: give the login node (--host) and --user").format(name=cluster.name)
        )
    if "{count}" not in cluster.gpu_template:
        # {{count}}: the template's own placeholder, written out by format().
        raise LabgpuError(
            _(
                "cluster {name}: the GPU request {template} must contain "
                "{{count}} (e.g. --gres=gpu:{{type}}:{{count}})"
            ).format(name=cluster.name, template=repr(cluster.gpu_template))
        )
    if cluster.max_hours is not None and cluster.max_hours <= 0:
        raise LabgpuError(
            _("cluster {name}: maximum hours must be positive").format(name=cluster.name)
        )
    for line in (*cluster.directives, *cluster.modules, cluster.partition, cluster.base_dir):
        if "\n" in line or "\r" in line:
            raise LabgpuError(
                _("cluster {name}: settings must be single lines").format(name=cluster.name)
            )
    return cluster


def check_request(request: JobRequest, cluster: Cluster) -> None:
    """Refuse a request the cluster's settings already rule out."""
    if request.gpus < 0:
        raise UsageError(_("--gpus must be 0 or more"))
    if request.hours <= 0:
        raise UsageError(_("--hours must be more than 0"))
    if cluster.max_hours is not None and request.hours > cluster.max_hours:
        raise RefusedError(
            _(
                "{cluster} allows at most {hours} hours per job; ask for less "
                "(save checkpoints and resubmit)"
            ).format(cluster=cluster.name, hours=f"{cluster.max_hours:g}")
        )
    if not request.command.strip():
        raise UsageError(_("give the command to run on the cluster (after --)"))
    if request.gpu_type and not re.match(r"^[A-Za-z0-9._-]+$", request.gpu_type):
        raise UsageError(
            _("GPU type {type} is not a plain name (e.g. a100)").format(type=repr(request.gpu_type))
        )
    for path in request.results:
        if path.startswith("/") or ".." in path.split("/"):
            raise UsageError(
                _("result path {path} must be relative to the job's folder").format(path=repr(path))
            )


def new_job_name(user: str, now: datetime, token: str | None = None) -> str:
    """A job name unique across the lab: ``labgpu-<user>-<utc time>-<random>``.

    ``token``: the six hex digits to end with (the demo's are seeded); random if not given.
    """
    who = re.sub(r"[^A-Za-z0-9]", "", user)[:12] or "user"
    return f"labgpu-{who}-{now:%y%m%d%H%M%S}-{token or secrets.token_hex(3)}"


def hms(hours: float) -> str:
    """Walltime as ``HH:MM:SS`` (rounded up to a minute)."""
    minutes = max(1, int(-(-hours * 60 // 1)))
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def parse_duration(text: str) -> int | None:
    """Seconds of a scheduler duration: ``[D-]HH:MM:SS``, ``MM:SS`` or ``SS``; None if unset."""
    text = text.strip()
    if not text or text in ("UNLIMITED", "INVALID", "N/A", "Partition_Limit"):
        return None
    days = 0
    if "-" in text:
        day_text, text = text.split("-", 1)
        if not day_text.isdigit():
            return None
        days = int(day_text)
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return days * 86400 + seconds


def elapsed_between(start: datetime | None, end: datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``end`` (None if either is unknown)."""
    if start is None or end is None:
        return None
    return max(0, int((end - start) / timedelta(seconds=1)))


#: Offer a cluster when the lab's earliest slot starts later than this (unless a deadline says).
DEFAULT_MAX_WAIT = timedelta(hours=24)


def should_offer_cluster(
    earliest: tuple[datetime, datetime] | None,
    now: datetime,
    deadline: datetime | None = None,
    max_wait: timedelta = DEFAULT_MAX_WAIT,
) -> bool:
    """True when the lab cannot serve a request in time: no slot, a slot ending after the
    member's deadline, or (without a deadline) one starting more than ``max_wait`` away."""
    if earliest is None:
        return True
    start, end = earliest
    if deadline is not None:
        return end > deadline
    return start - now > max_wait
