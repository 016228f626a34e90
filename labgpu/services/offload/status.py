"""What a poll changes in a recorded job: the scheduler's status as stored fields, and how a job
the scheduler forgot ended (its exit file)."""

from __future__ import annotations

from datetime import datetime

from labgpu.core.offload.jobs import (
    FINAL_STATES,
    JobState,
    JobStatus,
    OffloadJob,
    elapsed_between,
)


def status_changes(job: OffloadJob, status: JobStatus, now: datetime) -> dict[str, object]:
    """The stored fields of ``job`` after the scheduler said ``status`` at ``now``."""
    started = status.started_at or job.started_at
    if started is None and status.state is JobState.RUNNING:
        started = now
    ended = status.ended_at if status.state in FINAL_STATES else None
    if status.state in FINAL_STATES and ended is None:
        ended = now
    elapsed = status.elapsed_s
    if elapsed is None:
        elapsed = elapsed_between(started, ended or now)
    return {
        "state": status.state,
        "raw_state": status.raw_state,
        "reason": status.reason,
        "exit_code": status.exit_code if status.exit_code is not None else job.exit_code,
        "started_at": started,
        "ended_at": ended,
        "elapsed_s": elapsed,
    }


def from_exit_file(job: OffloadJob, code: int | None) -> JobStatus | None:
    """A job the scheduler forgot (no accounting): its script's exit file tells how it ended."""
    if job.remote_id is None:
        return None
    if code is None:
        if job.state is JobState.UNKNOWN:
            return None
        return JobStatus(
            job.remote_id,
            JobState.UNKNOWN,
            "NOT_REPORTED",
            "the scheduler no longer reports this job and it left no exit status",
        )
    state = JobState.COMPLETED if code == 0 else JobState.FAILED
    return JobStatus(job.remote_id, state, "EXITED", "", code)
