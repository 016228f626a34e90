"""The demo lab's offloading: its jobs written through the real offload store, and a service
that follows them from the seeded plan instead of asking a cluster.

Nothing here connects anywhere: logging in, submitting, cancelling, reading logs and fetching
results are refused with one message (every remote path of ``OffloadService`` goes through
``client``); a refresh moves the jobs on as ``core.demo_offload`` planned them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.offload import jobscript
from labgpu.core.offload.jobs import (
    FINAL_STATES,
    Cluster,
    JobRequest,
    JobState,
    OffloadJob,
    check_cluster,
    check_request,
)
from labgpu.demo.offload_model import DEMO_CLUSTER, PlannedJob, plan_offload, status_at
from labgpu.demo.reference import DemoLab
from labgpu.services.offload.service import (
    Draft,
    OffloadService,
    RefreshReport,
    folder_slug,
    status_changes,
)

if TYPE_CHECKING:
    from pathlib import Path

    from labgpu.remote import SshPool
    from labgpu.remote.cluster import SchedulerClient
    from labgpu.remote.staging import TransferReport
    from labgpu.storage import Store

NO_CLUSTERS = (
    "{name}: the demo lab never connects to a cluster, so nothing is submitted, cancelled or "
    "fetched there; start labgpu without --demo to offload to a real cluster"
)
#: The Offload page fetches an ended job's results on its next poll.
FETCH_DELAY = timedelta(minutes=3)


# -- building -------------------------------------------------------------------------------


def write_offloaded_jobs(store: Store, lab: DemoLab) -> int:
    """Register the simulated cluster and record one job per unmet request of ``lab``, the way
    the app records a submission (``submitting``, then the scheduler's id, then the state a
    poll at ``lab.now`` reads). Returns the number of jobs."""
    manager = next(m.name for m in lab.members if m.role == "manager")
    offload = store.offload
    offload.add_cluster(check_cluster(DEMO_CLUSTER), manager)
    planned = plan_offload(lab)
    for plan in planned:
        job = offload.add_job(offload_job(plan))
        job = offload.update_job(
            job.id, remote_id=plan.remote_id, state=JobState.QUEUED, raw_state="SUBMITTED"
        )
        changes = status_changes(job, status_at(plan, lab.now), lab.now)
        if plan.ended_at + FETCH_DELAY <= lab.now:
            changes["fetched_at"] = plan.ended_at + FETCH_DELAY
        offload.update_job(job.id, **changes)
    return len(planned)


def offload_job(plan: PlannedJob) -> OffloadJob:
    """The job as ``OffloadService.submit`` records it, script written by the real generator."""
    cluster = DEMO_CLUSTER
    local_dir = f"/home/{plan.member}/projects/{plan.folder}"
    base = cluster.base_dir.replace("$USER", plan.member)
    work_dir = posixpath.join(base, "work", folder_slug(PurePosixPath(local_dir), plan.member))
    job_dir = posixpath.join(base, "jobs", plan.name)
    request = JobRequest(cluster.name, local_dir, plan.command, plan.gpus, plan.hours)
    check_request(request, cluster)
    # Work that wanted the A40s goes to the A100 nodes: the member edited the partition line.
    site = replace(cluster, partition=plan.partition)
    script = jobscript.job_script(site, request, jobscript.ScriptPlan(plan.name, work_dir, job_dir))
    return OffloadJob(
        id=0,
        name=plan.name,
        cluster=cluster.name,
        user_name=plan.member,
        state=JobState.SUBMITTING,
        gpus=plan.gpus,
        gpu_type="",
        hours=plan.hours,
        command=plan.command,
        local_dir=local_dir,
        remote_dir=work_dir,
        job_dir=job_dir,
        script=script,
        submitted_at=plan.submitted_at,
        project=plan.project,
    )


# -- following ------------------------------------------------------------------------------


class DemoOffloadService(OffloadService):
    """``OffloadService`` over the demo database: jobs follow the plan, no cluster is asked."""

    def __init__(self, store: Store, pool: SshPool, user: str, lab: DemoLab) -> None:
        super().__init__(store, pool, user)
        self._plans = {p.name: p for p in plan_offload(lab)}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def pollable_clusters(self) -> list[str]:
        """Every cluster: following the demo's jobs needs no login."""
        return [c.name for c in self.list_clusters()]

    def refresh(self, only: Sequence[str] | None = None) -> RefreshReport:
        """Move this member's unfinished jobs on to what the plan says of them now."""
        report = RefreshReport()
        now = self.clock()
        for job in self.jobs():
            plan = self._plans.get(job.name)
            if job.state in FINAL_STATES or plan is None:
                continue
            if only is None or job.cluster in only:
                self._apply_at(job, plan, now, report)
        return report

    def _apply_at(
        self, job: OffloadJob, plan: PlannedJob, now: datetime, report: RefreshReport
    ) -> None:
        changes = status_changes(job, status_at(plan, now), now)
        if {k: getattr(job, k) for k in changes} == changes:
            return
        updated = self.store.offload.update_job(job.id, **changes)
        report.changed.append(updated)
        if updated.state in FINAL_STATES:
            report.finished.append(updated)

    def fetch_finished(self, only: Sequence[str] | None = None) -> list[tuple[OffloadJob, Path]]:
        """Nothing: there are no results to bring home from a simulated cluster."""
        return []

    # Every remote path (login, submit, cancel, log tail, fetch, estimates) needs a client.
    def client(self, cluster: Cluster) -> SchedulerClient:
        """Refused: the demo never connects to a cluster."""
        raise LabgpuError(NO_CLUSTERS.format(name=cluster.name))

    def login(self, name: str) -> None:
        """Refused: the demo never connects to a cluster."""
        raise LabgpuError(NO_CLUSTERS.format(name=name))

    def trust_host_key(self, name: str, fingerprint: str) -> None:
        """Refused: the demo never connects to a cluster."""
        raise LabgpuError(NO_CLUSTERS.format(name=name))

    def is_logged_in(self, name: str) -> bool:
        """Never: the demo has no sessions on clusters."""
        return False

    def prepare(self, request: JobRequest) -> Draft:
        """Refused before anything is checked: no job can be sent (resubmitting neither)."""
        raise LabgpuError(NO_CLUSTERS.format(name=request.cluster))

    def fetch(self, job_id: int, to: Path | None = None) -> tuple[Path, TransferReport]:
        """Refused: the demo never connects to a cluster."""
        raise LabgpuError(NO_CLUSTERS.format(name=self.job(job_id).cluster))
