"""Running work on a booking (issue 15, point 2): the job, its states, and the script that runs
it detached on the booked server.

The job runs under the member's own login. A small POSIX ``sh`` wrapper (:func:`wrapper_script`)
waits on the server until the booking starts, starts the member's command in a session of its
own with exactly the booked GPUs, writes a warning into the job's log before the booking ends,
applies the lab's end-of-booking rule (warn only, or stop: SIGTERM, then SIGKILL after a grace
period) and records the command's exit status with the time it ended. Nothing of labgpu needs to
run meanwhile: whoever looks next (the app, ``labgpu jobs``) reads the job's folder in one
command (:data:`STATUS_SCRIPT`) and learns what happened and when.

The member's command goes into a file of its own, never onto a command line.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import FINAL_STATES, JobState

#: What the lab's rule does when a booking ends and its job still runs.
AT_END_WARN = "warn"
AT_END_STOP = "stop"
AT_END = (AT_END_WARN, AT_END_STOP)

#: The job's files in its folder on the server (``~/.labgpu/jobs/NAME``).
WRAPPER = "labgpu-run.sh"
COMMAND = "labgpu-command.sh"
LOG = "labgpu-output.log"
EXIT = "labgpu-exit"  # "<status> <epoch seconds>" once the command ended
JOBS_DIR = ".labgpu/jobs"  # under the member's home on the server
WORK_DIR = "labgpu/work"  # staged folders, under the member's home

#: How long a job recorded as being started may have no folder on its server yet.
START_GRACE = timedelta(minutes=15)
#: A marker line of the status script: ``@job NAME|wrapper alive|started|pid|exit|stopped``.
_STATUS_RE = re.compile(
    r"^@job (?P<name>[^|]+)\|(?P<alive>[01])\|(?P<started>\d*)\|"
    r"(?P<pid>\d*)\|(?P<exit>[^|]*)\|(?P<stopped>\d*)\|(?P<cancelled>[01])$"
)


@dataclass(frozen=True, slots=True)
class LabJob:
    """A job run on a booking on one of the lab's servers, as the lab records it."""

    id: int
    name: str  # unique; also the job's folder on the server
    group_id: str  # the booking
    server: str
    user_name: str
    state: JobState
    command: str
    local_dir: str  # '' when no folder was staged
    remote_dir: str  # where the command runs, relative to the member's home on the server
    job_dir: str  # the job's wrapper, log and exit record, relative to the same home
    submitted_at: datetime
    starts_at: datetime  # the booking's window when the job was started
    ends_at: datetime
    at_end: str = AT_END_WARN
    results: tuple[str, ...] = ()
    pid: int | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str = ""
    fetched_at: datetime | None = None
    released_at: datetime | None = None  # when labgpu released the booking after the job


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What a member asks: run ``command`` on a booking, from ``local_dir`` if given."""

    booking: str
    command: str
    local_dir: str = ""
    results: tuple[str, ...] = ()
    warn_before: timedelta = timedelta(minutes=10)
    server: str = ""  # which server of a booking that spans several


@dataclass(frozen=True, slots=True)
class Observed:
    """What the job's folder on the server says now."""

    name: str
    wrapper_alive: bool
    started_at: datetime | None
    pid: int | None
    exit_code: int | None
    ended_at: datetime | None
    stopped_at_end: bool  # the end-of-booking rule stopped it
    cancelled: bool


def new_run_name(user: str, now: datetime, token: str | None = None) -> str:
    """A name unique across the lab: ``run-<user>-<utc time>-<random>``."""
    who = re.sub(r"[^A-Za-z0-9]", "", user)[:12] or "user"
    return f"run-{who}-{now:%y%m%d%H%M%S}-{token or secrets.token_hex(3)}"


def check_run_request(request: RunRequest) -> None:
    """Refuse a request that cannot be run as given (``UsageError``, exit 2)."""
    if not request.command.strip():
        raise UsageError(_("give the command to run on the booking (after --)"))
    if request.warn_before < timedelta(0):
        raise UsageError(_("the warning before the end must be 0 minutes or more"))
    for path in request.results:
        if path.startswith("/") or ".." in path.split("/") or not path.strip():
            raise UsageError(
                _("result path {path} must be relative to the job's folder").format(path=repr(path))
            )
    if request.results and not request.local_dir:
        raise UsageError(_("--result needs --dir: results are brought back next to that folder"))


def check_at_end(value: str) -> str:
    """The end-of-booking rule, checked: ``warn`` or ``stop``."""
    if value not in AT_END:
        raise UsageError(
            _("what happens at a booking's end must be 'warn' or 'stop', not {value}").format(
                value=repr(value)
            )
        )
    return value


def refuse_ended_booking(ends_at: datetime, now: datetime, group_id: str) -> None:
    """A booking that is over runs nothing (``RefusedError``)."""
    if ends_at <= now:
        raise RefusedError(_("booking {id} has ended; book again to run work").format(id=group_id))


def _epoch(when: datetime) -> int:
    """Whole seconds, rounded up: the job never starts (or is stopped) before the time."""
    return -int(-when.timestamp() // 1)


def wrapper_script(
    job: LabJob,
    environment: Mapping[str, str],
    warn_before: timedelta,
    grace: timedelta,
) -> str:
    """The detached wrapper (POSIX ``sh``), run from the job's folder on the server.

    It waits until the booking's start (in short sleeps, so a clock change or a suspended
    server cannot make it start early), starts the command in a session of its own, warns in
    the log ``warn_before`` the end, applies the end-of-booking rule and records
    ``<status> <epoch>`` in :data:`EXIT` when the command ends. Every value is quoted.
    """
    q = shlex.quote
    env = " ".join(f"{k}={q(v)}" for k, v in environment.items())
    start, end = _epoch(job.starts_at), _epoch(job.ends_at)
    warn_at = end - int(warn_before.total_seconds())
    stop = "1" if job.at_end == AT_END_STOP else "0"
    grace_s = max(1, int(grace.total_seconds()))
    return f"""\
#!/bin/sh
# labgpu job {job.name} on booking {job.group_id}: written by labgpu, runs detached.
echo $$ > wrapper.pid
log={q(LOG)}
note() {{ printf '[labgpu %s] %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >> "$log"; }}
start={start}; end={end}; warn_at={warn_at}; stop={stop}; grace={grace_s}
if [ "$(date +%s)" -lt "$start" ]; then
  note {q(f"waiting for booking {job.group_id} to start")}
fi
while [ "$(date +%s)" -lt "$start" ]; do
  left=$((start - $(date +%s)))
  if [ "$left" -gt 30 ]; then left=30; fi
  if [ "$left" -gt 0 ]; then sleep "$left"; fi
done
if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi
jobdir=$(pwd)
log="$jobdir/{LOG}"
finish() {{
  echo "$1 $(date +%s)" > "$jobdir/{EXIT}.tmp"; mv "$jobdir/{EXIT}.tmp" "$jobdir/{EXIT}"
}}
if [ -e "$jobdir/cancelled" ]; then note 'cancelled before it started'; finish 143; exit 0; fi
if [ "$(date +%s)" -ge "$end" ]; then
  note 'the booking ended before the job could start: not started'; finish 125; exit 0
fi
cd "$HOME"{("/" + q(job.remote_dir)) if job.remote_dir else ""} || {{
  note 'the job folder is missing'; finish 127; exit 1; }}
note {q(f"starting on GPUs {environment.get('CUDA_VISIBLE_DEVICES', '')}")}
date +%s > "$jobdir/started"
{env} setsid "$shell" "$jobdir/{COMMAND}" >> "$log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$jobdir/pid"
(
  warned=0; ended=0
  # The leader's pid first: its session may not exist yet the moment after the fork.
  while kill -0 "$pid" 2>/dev/null || kill -0 "-$pid" 2>/dev/null; do
    now=$(date +%s)
    if [ "$warned" = 0 ] && [ "$now" -ge "$warn_at" ] && [ "$now" -lt "$end" ]; then
      warned=1; note "the booking ends in $(((end - now + 59) / 60)) min"
    fi
    if [ "$ended" = 0 ] && [ "$now" -ge "$end" ]; then
      ended=1
      if [ "$stop" = 1 ]; then
        note "the booking has ended: stopping the job (SIGTERM)"
        date +%s > "$jobdir/stopped"
        kill -TERM "-$pid" 2>/dev/null
        waited=0
        while kill -0 "-$pid" 2>/dev/null && [ "$waited" -lt "$grace" ]; do
          sleep 1; waited=$((waited + 1))
        done
        if kill -0 "-$pid" 2>/dev/null; then
          note "still running after ${{grace}} s: SIGKILL"
          kill -KILL "-$pid" 2>/dev/null
        fi
      else
        note "the booking has ended; the job goes on (the lab's rule: warn)"
      fi
    fi
    sleep 1
  done
) &
wait "$pid"
status=$?
# What the command left running in its session (``cmd &``) still holds the GPUs: wait for it.
while kill -0 "-$pid" 2>/dev/null; do sleep 2; done
finish "$status"
note "the job ended with status $status"
"""


def launch_script(job_dir: str) -> str:
    """Start the wrapper detached (its own session, no terminal) and print its PID (``$!``:
    ``setsid`` does not fork in a background job, which leads no process group)."""
    q = shlex.quote(job_dir)
    return f"""\
cd {q} || exit 1
setsid nohup sh {WRAPPER} > /dev/null 2>&1 < /dev/null &
echo "$!"
"""


def status_script(job_dirs: Sequence[str]) -> str:
    """One command that reads every given job folder (one ``@job`` line each)."""
    names = " ".join(shlex.quote(d) for d in job_dirs)
    return f"""\
for d in {names}; do
  if [ ! -d "$d" ]; then printf '@missing %s\n' "${{d##*/}}"; continue; fi
  alive=0; started=''; pid=''; ex=''; stopped=''; cancelled=0
  if [ -s "$d/wrapper.pid" ]; then
    w=$(cat "$d/wrapper.pid")
    if [ -r "/proc/$w/cmdline" ]; then  # a pid reused after a reboot is not the wrapper
      case "$(tr '\\000' ' ' < "/proc/$w/cmdline" 2>/dev/null)" in *{WRAPPER}*) alive=1 ;; esac
    elif [ ! -d /proc/self ] && kill -0 "$w" 2>/dev/null; then alive=1; fi
  fi
  [ -s "$d/started" ] && started=$(cat "$d/started")
  [ -s "$d/pid" ] && pid=$(cat "$d/pid")
  [ -s "$d/{EXIT}" ] && ex=$(cat "$d/{EXIT}")
  [ -s "$d/stopped" ] && stopped=$(cat "$d/stopped")
  [ -e "$d/cancelled" ] && cancelled=1
  printf '@job %s|%s|%s|%s|%s|%s|%s\\n' "${{d##*/}}" "$alive" "$started" "$pid" "$ex" \
"$stopped" "$cancelled"
done
"""


def cancel_script(job_dir: str, grace: timedelta = timedelta(seconds=10)) -> str:
    """Mark the job cancelled and stop it: SIGTERM to its session (the wrapper's too while it
    waits), SIGKILL after ``grace`` from a detached helper. Prints ``ended`` and changes
    nothing when the job had already ended."""
    q = shlex.quote(job_dir)
    g = max(1, int(grace.total_seconds()))
    return f"""\
cd {q} || exit 0
if [ -s {EXIT} ]; then echo ended; exit 0; fi
: > cancelled
if [ -s wrapper.pid ] && [ ! -s started ]; then kill -TERM "-$(cat wrapper.pid)" 2>/dev/null; fi
i=0
while [ -s started ] && [ ! -s pid ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -s pid ]; then
  p=$(cat pid)
  kill -TERM "-$p" 2>/dev/null
  setsid sh -c "sleep {g}; kill -KILL -$p 2>/dev/null" > /dev/null 2>&1 < /dev/null &
fi
echo cancelled
"""


def _when(text: str) -> datetime | None:
    return datetime.fromtimestamp(int(text), UTC) if text.isdigit() else None


def parse_status(text: str) -> dict[str, Observed]:
    """The ``@job`` lines of :func:`status_script`, by job name (other lines ignored)."""
    found: dict[str, Observed] = {}
    for line in text.splitlines():
        if line.startswith("@missing "):
            continue  # no folder (yet): the caller decides what that means
        m = _STATUS_RE.match(line.strip())
        if m is None:
            continue
        exit_code, ended_at = None, None
        words = m["exit"].split()
        if len(words) == 2 and words[0].lstrip("-").isdigit():
            exit_code, ended_at = int(words[0]), _when(words[1])
        found[m["name"]] = Observed(
            name=m["name"],
            wrapper_alive=m["alive"] == "1",
            started_at=_when(m["started"]),
            pid=int(m["pid"]) if m["pid"] else None,
            exit_code=exit_code,
            ended_at=ended_at,
            stopped_at_end=bool(m["stopped"]),
            cancelled=m["cancelled"] == "1",
        )
    return found


def state_of(job: LabJob, seen: Observed | None, now: datetime) -> dict[str, object]:
    """The changes ``seen`` makes to ``job`` (field -> value; empty when nothing changed).

    A wrapper that is gone without an exit record (the server restarted, someone killed it)
    makes the job failed, ended when it was seen gone — never left running forever.
    """
    if job.state in FINAL_STATES:
        return {}
    starting = job.state is JobState.SUBMITTING and now - job.submitted_at < START_GRACE
    if starting and (seen is None or (seen.exit_code is None and not seen.wrapper_alive)):
        return {}  # still being staged and started: its folder or wrapper is not there yet
    if seen is None:
        return {
            "state": JobState.FAILED,
            "reason": _("the job's folder is gone from the server"),
            "ended_at": now,
        }
    changes: dict[str, object] = {}
    if seen.pid is not None and seen.pid != job.pid:
        changes["pid"] = seen.pid
    if seen.started_at is not None and job.started_at is None:
        changes["started_at"] = seen.started_at
    if seen.exit_code is not None:
        changes["exit_code"] = seen.exit_code
        changes["ended_at"] = seen.ended_at or now
        if seen.cancelled:
            changes["state"] = JobState.CANCELLED
            changes["reason"] = _("cancelled")
        elif seen.stopped_at_end:
            changes["state"] = JobState.TIMEOUT
            changes["reason"] = _("stopped at the booking's end (the lab's rule)")
        else:
            changes["state"] = JobState.COMPLETED if seen.exit_code == 0 else JobState.FAILED
            if seen.exit_code != 0:
                changes["reason"] = _("exit status {code}").format(code=seen.exit_code)
        return changes
    if not seen.wrapper_alive:
        changes["state"] = JobState.CANCELLED if seen.cancelled else JobState.FAILED
        gone = _("the job stopped without a record on the server")
        changes["reason"] = _("cancelled") if seen.cancelled else gone
        changes["ended_at"] = now
        return changes
    state = JobState.RUNNING if seen.started_at is not None else JobState.QUEUED
    if state is not job.state:
        changes["state"] = state
    return changes


def should_release(job: LabJob, booking_end: datetime, now: datetime) -> bool:
    """True when a job that ended on its own leaves its booking with time to give back: it ran
    and its wrapper recorded how it ended (a job that never started gives nothing back)."""
    return (
        job.state in (JobState.COMPLETED, JobState.FAILED)
        and job.exit_code is not None
        and job.started_at is not None
        and job.ended_at is not None
        and job.released_at is None
        and booking_end > now
    )
