"""Jobs run on bookings: rows in, ``labgpu.core.booking.run.LabJob`` values out."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labgpu.core.booking.run import LabJob
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import JobState
from labgpu.storage.inventory import add_audit
from labgpu.storage.job_rows import LabJobRow
from labgpu.storage.offload import job_state
from labgpu.storage.outbox import notify_job
from labgpu.storage.types import utc_now

_UPDATABLE = frozenset(
    {"state", "reason", "pid", "exit_code", "started_at", "ended_at", "fetched_at", "released_at"}
)


def to_lab_job(row: LabJobRow) -> LabJob:
    """The stored row as a value."""
    return LabJob(
        id=row.id,
        name=row.name,
        group_id=row.group_id,
        server=row.server,
        user_name=row.user_name,
        state=job_state(row.state),
        command=row.command,
        local_dir=row.local_dir,
        remote_dir=row.remote_dir,
        job_dir=row.job_dir,
        submitted_at=row.submitted_at,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        at_end=row.at_end,
        results=tuple(json.loads(row.results or "[]")),
        pid=row.pid,
        exit_code=row.exit_code,
        started_at=row.started_at,
        ended_at=row.ended_at,
        reason=row.reason,
        fetched_at=row.fetched_at,
        released_at=row.released_at,
    )


class LabJobStore:
    """Jobs run on bookings, one short transaction per call."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._read = read
        self._write = write

    def add(self, job: LabJob) -> LabJob:
        """Record a job before it is started on the server (audited ``run.submit``)."""
        with self._write() as s:
            row = LabJobRow(
                name=job.name,
                group_id=job.group_id,
                server=job.server,
                user_name=job.user_name,
                state=job.state.value,
                command=job.command,
                local_dir=job.local_dir,
                remote_dir=job.remote_dir,
                job_dir=job.job_dir,
                results=json.dumps(list(job.results)),
                at_end=job.at_end,
                starts_at=job.starts_at,
                ends_at=job.ends_at,
                submitted_at=job.submitted_at,
                updated_at=utc_now(),
            )
            s.add(row)
            s.flush()
            add_audit(s, job.user_name, "run.submit", job.name, f"booking {job.group_id}")
            notify_job(s, "lab", row, None)
            return to_lab_job(row)

    def update(self, job_id: int, **changes: object) -> LabJob:
        """Store what the server said of a job (``state`` as a ``JobState`` or its value); a
        job that turns final is told to its member (``job_ended``/``job_failed``) in the same
        transaction."""
        with self._write() as s:
            row = s.get(LabJobRow, job_id)
            if row is None:
                raise LabgpuError(_("no job {id}; see `labgpu jobs`").format(id=job_id))
            old_state = row.state
            for key, value in changes.items():
                if key not in _UPDATABLE:
                    raise ValueError(f"cannot change {key}")
                setattr(row, key, value.value if isinstance(value, JobState) else value)
            row.updated_at = utc_now()
            s.flush()
            notify_job(s, "lab", row, old_state)
            return to_lab_job(row)

    def delete(self, job_id: int, actor: str, why: str) -> None:
        """Forget a job that never started on the server (audited with the reason)."""
        with self._write() as s:
            row = s.get(LabJobRow, job_id)
            if row is not None:
                add_audit(s, actor, "run.failed_start", row.name, why[:500])
                s.delete(row)

    def get(self, job_id: int) -> LabJob | None:
        """One job by id."""
        with self._read() as s:
            row = s.get(LabJobRow, job_id)
            return to_lab_job(row) if row is not None else None

    def list(
        self, user: str | None = None, group_id: str | None = None, since: datetime | None = None
    ) -> list[LabJob]:
        """Jobs, newest first; of one member, one booking or submitted since a time if asked."""
        query = select(LabJobRow).order_by(LabJobRow.submitted_at.desc(), LabJobRow.id.desc())
        if user is not None:
            query = query.where(LabJobRow.user_name == user)
        if group_id is not None:
            query = query.where(LabJobRow.group_id == group_id)
        if since is not None:
            query = query.where(LabJobRow.submitted_at >= since)
        with self._read() as s:
            return [to_lab_job(r) for r in s.scalars(query)]
