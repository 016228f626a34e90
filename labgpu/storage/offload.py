"""Clusters and offloaded jobs: rows in, ``labgpu.core.offload.jobs`` values out."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import Cluster, JobState, OffloadJob, UsageRow, job_gpu_hours
from labgpu.storage.models import AuditRow, ClusterRow, OffloadJobRow
from labgpu.storage.outbox import notify_job
from labgpu.storage.projects import require_usable
from labgpu.storage.types import utc_now


def _list(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text or "[]")
    except json.JSONDecodeError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def to_cluster(row: ClusterRow) -> Cluster:
    """A stored cluster."""
    return Cluster(
        name=row.name,
        host=row.host,
        user=row.ssh_user,
        scheduler=row.scheduler,
        port=row.port,
        jump_host=row.jump_host,
        partition=row.partition,
        gpu_request=row.gpu_request,
        directives=_list(row.directives),
        base_dir=row.base_dir,
        modules=_list(row.modules),
        max_hours=row.max_hours,
        login=row.login,
        identity_file=row.identity_file,
        created_by=row.created_by,
        id=row.id,
    )


def job_state(value: str) -> JobState:
    """A stored state; one this labgpu does not know (a newer one's) reads as unknown."""
    try:
        return JobState(value)
    except ValueError:
        return JobState.UNKNOWN


def to_job(row: OffloadJobRow) -> OffloadJob:
    """A stored job."""
    return OffloadJob(
        id=row.id,
        name=row.name,
        cluster=row.cluster,
        user_name=row.user_name,
        state=job_state(row.state),
        gpus=row.gpus,
        gpu_type=row.gpu_type,
        hours=row.hours,
        command=row.command,
        local_dir=row.local_dir,
        remote_dir=row.remote_dir,
        job_dir=row.job_dir,
        script=row.script,
        submitted_at=row.submitted_at,
        remote_id=row.remote_id,
        raw_state=row.raw_state,
        reason=row.reason,
        exit_code=row.exit_code,
        started_at=row.started_at,
        ended_at=row.ended_at,
        elapsed_s=row.elapsed_s,
        results=_list(row.results),
        fetched_at=row.fetched_at,
        updated_at=row.updated_at,
        project=row.project,
    )


def _audit(s: Session, actor: str, action: str, subject: str, detail: str = "") -> None:
    s.add(AuditRow(actor=actor, action=action, subject=subject, detail=detail))


def save_cluster(s: Session, cluster: Cluster, actor: str) -> Cluster:
    """Add a cluster or change an existing one's settings (audited)."""
    row = s.scalar(select(ClusterRow).where(ClusterRow.name == cluster.name))
    action = "cluster.update"
    if row is None:
        row = ClusterRow(name=cluster.name, created_by=actor)
        s.add(row)
        action = "cluster.add"
    row.host = cluster.host
    row.port = cluster.port
    row.ssh_user = cluster.user
    row.jump_host = cluster.jump_host
    row.identity_file = cluster.identity_file
    row.scheduler = cluster.scheduler
    row.login = cluster.login
    row.partition = cluster.partition
    row.gpu_request = cluster.gpu_request
    row.directives = json.dumps(list(cluster.directives))
    row.modules = json.dumps(list(cluster.modules))
    row.base_dir = cluster.base_dir
    row.max_hours = cluster.max_hours
    s.flush()
    _audit(s, actor, action, cluster.name, f"{cluster.user}@{cluster.host} ({cluster.scheduler})")
    return to_cluster(row)


def get_cluster(s: Session, name: str) -> Cluster | None:
    """The cluster called ``name``."""
    row = s.scalar(select(ClusterRow).where(ClusterRow.name == name))
    return to_cluster(row) if row is not None else None


def list_clusters(s: Session) -> list[Cluster]:
    """Every cluster by name."""
    return [to_cluster(r) for r in s.scalars(select(ClusterRow).order_by(ClusterRow.name))]


def remove_cluster(s: Session, name: str, actor: str) -> None:
    """Forget a cluster (its jobs stay in the records)."""
    done = s.execute(delete(ClusterRow).where(ClusterRow.name == name))
    if not getattr(done, "rowcount", 0):
        raise LabgpuError(
            _("no cluster named {name}; see `labgpu clusters list`").format(name=repr(name))
        )
    _audit(s, actor, "cluster.remove", name)


def add_job(s: Session, job: OffloadJob) -> OffloadJob:
    """Record a job about to be submitted (state ``submitting``); its project must exist and be
    active (``UsageError``)."""
    require_usable(s, job.project)
    row = OffloadJobRow(
        name=job.name,
        cluster=job.cluster,
        user_name=job.user_name,
        state=job.state.value,
        gpus=job.gpus,
        gpu_type=job.gpu_type,
        hours=job.hours,
        command=job.command,
        local_dir=job.local_dir,
        remote_dir=job.remote_dir,
        job_dir=job.job_dir,
        script=job.script,
        results=json.dumps(list(job.results)),
        submitted_at=job.submitted_at,
        updated_at=utc_now(),
        project=job.project,
    )
    s.add(row)
    s.flush()
    _audit(s, job.user_name, "offload.submit", job.name, f"{job.cluster}: {job.gpus} GPU(s)")
    notify_job(s, "cluster", row, None)
    return to_job(row)


_UPDATABLE = (
    "remote_id", "state", "raw_state", "reason", "exit_code", "started_at", "ended_at",
    "elapsed_s", "fetched_at", "script",
)  # fmt: skip


def update_job(s: Session, job_id: int, **changes: object) -> OffloadJob:
    """Change a job's scheduler-side fields (state as a ``JobState`` or its value); a job that
    turns final is told to its member in the same transaction (``outbox.notify_job``)."""
    row = s.get(OffloadJobRow, job_id)
    if row is None:
        raise LabgpuError(_("no offloaded job {id}; see `labgpu offload list`").format(id=job_id))
    old_state = row.state
    for key, value in changes.items():
        if key not in _UPDATABLE:
            raise ValueError(f"cannot change {key}")
        setattr(row, key, value.value if isinstance(value, JobState) else value)
    row.updated_at = utc_now()
    s.flush()
    notify_job(s, "cluster", row, old_state)
    return to_job(row)


def delete_job(s: Session, job_id: int, actor: str, why: str) -> None:
    """Remove a job the cluster never accepted."""
    row = s.get(OffloadJobRow, job_id)
    if row is None:
        return
    if row.state != JobState.SUBMITTING.value:
        raise RefusedError(
            _("job {id} was submitted; cancel it instead of deleting it").format(id=job_id)
        )
    name = row.name
    s.delete(row)
    _audit(s, actor, "offload.rejected", name, why[:500])


def get_job(s: Session, job_id: int) -> OffloadJob | None:
    """One job by id."""
    row = s.get(OffloadJobRow, job_id)
    return to_job(row) if row is not None else None


def list_jobs(
    s: Session, user: str | None = None, states: Sequence[JobState] | None = None
) -> list[OffloadJob]:
    """Jobs, newest first; of one member and in some states if asked."""
    query = select(OffloadJobRow).order_by(OffloadJobRow.submitted_at.desc(), OffloadJobRow.id)
    if user is not None:
        query = query.where(OffloadJobRow.user_name == user)
    if states is not None:
        query = query.where(OffloadJobRow.state.in_([st.value for st in states]))
    return [to_job(r) for r in s.scalars(query)]


def usage(s: Session, start: datetime | None, end: datetime | None) -> list[UsageRow]:
    """Offloaded GPU-hours per month, member and cluster (month of submission, UTC)."""
    query = select(OffloadJobRow).where(OffloadJobRow.state != JobState.SUBMITTING.value)
    if start is not None:
        query = query.where(OffloadJobRow.submitted_at >= start)
    if end is not None:
        query = query.where(OffloadJobRow.submitted_at < end)
    totals: dict[tuple[str, str, str], UsageRow] = {}
    for job in (to_job(r) for r in s.scalars(query)):
        key = (f"{job.submitted_at:%Y-%m}", job.user_name, job.cluster)
        row = totals.get(key) or UsageRow(*key, 0, 0.0)
        totals[key] = replace(row, jobs=row.jobs + 1, gpu_hours=row.gpu_hours + job_gpu_hours(job))
    return [totals[k] for k in sorted(totals)]


class OffloadStore:
    """Clusters and offloaded jobs in the lab's database, one short transaction per call."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._read = read
        self._write = write

    def add_cluster(self, cluster: Cluster, actor: str, update: bool = False) -> Cluster:
        """Register a cluster (``update``: change an existing one's settings)."""
        with self._write() as s:
            if not update and get_cluster(s, cluster.name) is not None:
                raise LabgpuError(
                    _(
                        "a cluster named {name} exists already; pick another name or "
                        "remove it first (`labgpu clusters remove {cluster}`)"
                    ).format(name=repr(cluster.name), cluster=cluster.name)
                )
            return save_cluster(s, cluster, actor)

    def get_cluster(self, name: str) -> Cluster | None:
        """The cluster called ``name``."""
        with self._read() as s:
            return get_cluster(s, name)

    def list_clusters(self) -> list[Cluster]:
        """Every cluster by name."""
        with self._read() as s:
            return list_clusters(s)

    def remove_cluster(self, name: str, actor: str) -> None:
        """Forget a cluster; its jobs stay in the records."""
        with self._write() as s:
            remove_cluster(s, name, actor)

    def add_job(self, job: OffloadJob) -> OffloadJob:
        """Record a job before it is submitted."""
        with self._write() as s:
            return add_job(s, job)

    def update_job(self, job_id: int, **changes: object) -> OffloadJob:
        """Store what the scheduler said of a job."""
        with self._write() as s:
            return update_job(s, job_id, **changes)

    def delete_job(self, job_id: int, actor: str, why: str) -> None:
        """Forget a job the cluster refused (audited with the reason)."""
        with self._write() as s:
            delete_job(s, job_id, actor, why)

    def get_job(self, job_id: int) -> OffloadJob | None:
        """One job by id."""
        with self._read() as s:
            return get_job(s, job_id)

    def list_jobs(
        self, user: str | None = None, states: Sequence[JobState] | None = None
    ) -> list[OffloadJob]:
        """Jobs, newest first."""
        with self._read() as s:
            return list_jobs(s, user, states)

    def usage(self, start: datetime | None = None, end: datetime | None = None) -> list[UsageRow]:
        """Offloaded GPU-hours per month, member and cluster."""
        with self._read() as s:
            return usage(s, start, end)
