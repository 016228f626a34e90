"""What Slurm and PBS print about jobs, read into ``JobStatus`` values (pure functions).

Slurm: ``squeue --noheader --format=SQUEUE_FORMAT``, ``scontrol show job -o`` and
``sacct --parsable2 --noheader --format=SACCT_FIELDS``; ``sbatch --test-only``'s estimate.
PBS: ``qstat -f -F json`` (PBS Pro / OpenPBS 19+).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import JobState, JobStatus, parse_duration

SQUEUE_FORMAT = "%i|%j|%T|%M|%r"
SACCT_FIELDS = "JobID,JobName,State,ExitCode,Elapsed,Start,End"

_SLURM_STATES = {
    JobState.QUEUED: (
        "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD",
        "SUSPENDED", "STOPPED", "SPECIAL_EXIT",
    ),
    JobState.RUNNING: ("RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"),
    JobState.COMPLETED: ("COMPLETED",),
    JobState.FAILED: (
        "FAILED", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY", "DEADLINE", "PREEMPTED", "REVOKED",
    ),
    JobState.CANCELLED: ("CANCELLED",),
    JobState.TIMEOUT: ("TIMEOUT",),
}  # fmt: skip
_SLURM = {raw: state for state, raws in _SLURM_STATES.items() for raw in raws}
_PBS = {
    "Q": JobState.QUEUED, "H": JobState.QUEUED, "W": JobState.QUEUED, "T": JobState.QUEUED,
    "S": JobState.QUEUED, "U": JobState.QUEUED, "M": JobState.QUEUED,
    "R": JobState.RUNNING, "E": JobState.RUNNING, "B": JobState.RUNNING,
}  # fmt: skip
#: PBS Pro's exit status when the server killed a job for exceeding its walltime.
PBS_WALLTIME_EXIT = -29


def slurm_state(raw: str) -> JobState:
    """Map a Slurm state (``CANCELLED by 1000``, ``PENDING``) to labgpu's set."""
    word = raw.strip().split(" ", 1)[0].rstrip("+").upper()
    return _SLURM.get(word, JobState.UNKNOWN)


def _slurm_time(text: str) -> datetime | None:
    text = text.strip()
    if not text or text in ("Unknown", "None", "N/A"):
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Slurm prints the controller's local time without a zone; the login node shares it.
    return local.astimezone(UTC) if local.tzinfo is None else local.astimezone(UTC)


def parse_squeue(text: str) -> dict[str, JobStatus]:
    """Rows of ``squeue --noheader --format=SQUEUE_FORMAT`` by job id."""
    found: dict[str, JobStatus] = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 4)
        if len(parts) != 5 or not parts[0].strip():
            continue
        job_id, name, raw, used, reason = (p.strip() for p in parts)
        reason = "" if reason == "None" else reason
        found[job_id] = JobStatus(
            job_id, slurm_state(raw), raw, reason, None, parse_duration(used), name
        )
    return found


_PAIR = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=")


def scontrol_fields(line: str) -> dict[str, str]:
    """``Key=Value`` pairs of one ``scontrol show job -o`` line (values may hold spaces)."""
    matches = list(_PAIR.finditer(line))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        fields[match.group(1)] = line[match.end() : end].strip()
    return fields


def _exit_code(text: str) -> int | None:
    """Slurm ``ExitCode=2:0`` → 2; a signal ``0:9`` → 128 + 9."""
    status, _, signal = text.partition(":")
    if not status.strip().lstrip("-").isdigit():
        return None
    code = int(status)
    if code == 0 and signal.strip().isdigit() and int(signal) > 0:
        return 128 + int(signal)
    return code


def parse_scontrol(text: str) -> dict[str, JobStatus]:
    """Jobs of ``scontrol show job -o`` by id (exit code, times and reason included)."""
    found: dict[str, JobStatus] = {}
    for line in text.splitlines():
        fields = scontrol_fields(line.strip())
        job_id = fields.get("JobId")
        if not job_id:
            continue
        raw = fields.get("JobState", "")
        reason = fields.get("Reason", "")
        found[job_id] = JobStatus(
            remote_id=job_id,
            state=slurm_state(raw),
            raw_state=raw,
            reason="" if reason == "None" else reason,
            exit_code=_exit_code(fields.get("ExitCode", "")),
            elapsed_s=parse_duration(fields.get("RunTime", "")),
            name=fields.get("JobName", ""),
            started_at=_slurm_time(fields.get("StartTime", "")),
            ended_at=_slurm_time(fields.get("EndTime", "")),
        )
    return found


def parse_sacct(text: str) -> dict[str, JobStatus]:
    """Jobs of ``sacct --parsable2 --noheader --format=SACCT_FIELDS`` (steps skipped)."""
    found: dict[str, JobStatus] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 7 or "." in parts[0] or not parts[0]:
            continue
        job_id, name, raw, code, elapsed, start, end = parts
        found[job_id] = JobStatus(
            job_id,
            slurm_state(raw),
            raw,
            "",
            _exit_code(code),
            parse_duration(elapsed),
            name,
            _slurm_time(start),
            _slurm_time(end),
        )
    return found


def merge(*sources: dict[str, JobStatus]) -> dict[str, JobStatus]:
    """The first source that knows a job wins (pass the freshest first)."""
    merged: dict[str, JobStatus] = {}
    for source in sources:
        for job_id, status in source.items():
            merged.setdefault(job_id, status)
    return merged


def parse_sbatch_id(text: str) -> str:
    """The job id ``sbatch --parsable`` printed (``123`` or ``123;cluster``)."""
    for line in reversed(text.strip().splitlines()):
        first = line.strip().split(";", 1)[0]
        if first.isdigit():
            return first
    raise LabgpuError(
        _("sbatch printed no job id ({output})").format(output=repr(text.strip()[:200]))
    )


def parse_qsub_id(text: str) -> str:
    """The job id ``qsub`` printed (``1001.pbs-server``)."""
    for line in reversed(text.strip().splitlines()):
        word = line.strip()
        if word and word.split(".", 1)[0].isdigit():
            return word
    raise LabgpuError(
        _("qsub printed no job id ({output})").format(output=repr(text.strip()[:200]))
    )


_TEST_ONLY = re.compile(r"to start at (\S+)")


def parse_test_only(text: str) -> datetime | None:
    """The start time ``sbatch --test-only`` estimates (as UTC), if it gave one."""
    match = _TEST_ONLY.search(text)
    return _slurm_time(match.group(1)) if match else None


# -- PBS ------------------------------------------------------------------------------------------

_PBS_TIME = "%a %b %d %H:%M:%S %Y"


def _pbs_time(value: object, zone: ZoneInfo | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip(), _PBS_TIME)
    except ValueError:
        return None
    return local.replace(tzinfo=zone).astimezone(UTC) if zone else local.astimezone(UTC)


def pbs_state(raw: str, exit_status: int | None) -> JobState:
    """Map a PBS ``job_state`` (and, once finished, ``Exit_status``) to labgpu's set."""
    if raw in ("F", "X"):
        if exit_status is None:
            return JobState.UNKNOWN
        if exit_status == 0:
            return JobState.COMPLETED
        if exit_status == PBS_WALLTIME_EXIT:
            return JobState.TIMEOUT
        if exit_status >= 256:  # killed by a signal: qdel
            return JobState.CANCELLED
        return JobState.FAILED
    return _PBS.get(raw, JobState.UNKNOWN)


def parse_qstat_json(text: str, zone: ZoneInfo | None = None) -> dict[str, JobStatus]:
    """Jobs of ``qstat -f -F json`` (add ``-x`` to include finished ones) by id."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise LabgpuError(
            _("cannot read qstat's JSON ({error}); is this PBS Pro 19 or later?").format(error=exc)
        ) from exc
    jobs = data.get("Jobs") or {}
    found: dict[str, JobStatus] = {}
    for job_id, job in jobs.items():
        raw = str(job.get("job_state", ""))
        code = job.get("Exit_status")
        exit_code = int(code) if str(code).lstrip("-").isdigit() else None
        used = job.get("resources_used") or {}
        found[job_id] = JobStatus(
            remote_id=job_id,
            state=pbs_state(raw, exit_code),
            raw_state=raw,
            reason=str(job.get("comment", "")),
            exit_code=exit_code,
            elapsed_s=parse_duration(str(used.get("walltime", ""))),
            name=str(job.get("Job_Name", "")),
            started_at=_pbs_time(job.get("stime"), zone),
            ended_at=_pbs_time(job.get("obittime") or job.get("mtime"), zone)
            if raw in ("F", "X")
            else None,
        )
    return found


def by_name(statuses: Iterable[JobStatus], name: str) -> JobStatus | None:
    """The newest job (highest id) with this name."""
    matching = [s for s in statuses if s.name == name]
    if not matching:
        return None
    return max(matching, key=lambda s: (len(s.remote_id), s.remote_id))
