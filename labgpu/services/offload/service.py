"""Offload use cases: clusters, login, submit, follow, cancel, resubmit, results (issue 5).

A job is recorded (state ``submitting``, unique name) *before* ``sbatch``/``qsub`` runs, and the
scheduler is asked for it by that name whenever a recorded job has no id yet: a crash between
submitting and recording is repaired on the next refresh. Polling costs one round trip per
cluster; an unreachable cluster leaves its jobs' states as they were. The keyring and the login
prompter are in ``login.py``; what a poll changes in a job is in ``status.py``.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from labgpu.core.errors import AuthFailedError, LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.offload import jobscript
from labgpu.core.offload.jobs import (
    FINAL_STATES,
    Cluster,
    JobRequest,
    JobState,
    JobStatus,
    OffloadJob,
    Prompter,
    UsageRow,
    check_cluster,
    check_request,
    new_job_name,
)
from labgpu.services.offload.login import save_password, saved_password, with_saved_password
from labgpu.services.offload.status import from_exit_file, status_changes
from labgpu.services.usage.projects import usable_project

if TYPE_CHECKING:
    from labgpu.remote import SshPool
    from labgpu.remote.cluster import SchedulerClient
    from labgpu.remote.staging import Progress, TransferReport
    from labgpu.storage import Store

log = logging.getLogger(__name__)

#: A recorded job still without an id after this long was never accepted by the cluster.
LOST_AFTER = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Draft:
    """A job ready to be shown to the member before it is sent."""

    request: JobRequest
    name: str
    work_dir: str
    job_dir: str
    script: str


@dataclass
class RefreshReport:
    """What one refresh did: jobs that changed, jobs that ended, clusters that failed."""

    changed: list[OffloadJob] = field(default_factory=list)
    finished: list[OffloadJob] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def folder_slug(local_dir: PurePath, user: str) -> str:
    """The name of a member's staged folder on the cluster: its own name and a short hash."""
    digest = hashlib.sha1(f"{user}:{local_dir}".encode()).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", local_dir.name)[:40] or "job"
    return f"{base}-{digest}"


class OffloadService:
    """Offloading for one member, over the lab's store and the app's SSH pool."""

    def __init__(self, store: Store, pool: SshPool, user: str) -> None:
        self.store = store
        self.pool = pool
        self.user = user
        self.ask: Prompter | None = None  # the GUI's dialog or the CLI's getpass
        #: Or one prompter per cluster name (the GUI's dialog names the cluster).
        self.ask_for: Callable[[str], Prompter] | None = None
        #: For tests: called right after the scheduler accepted a job, before it is recorded.
        self.after_submit_hook: Callable[[], None] | None = None
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- clusters ------------------------------------------------------------------------------

    def add_cluster(self, cluster: Cluster, update: bool = False) -> Cluster:
        """Register a cluster (settings checked first)."""
        return self.store.offload.add_cluster(check_cluster(cluster), self.user, update)

    def list_clusters(self) -> list[Cluster]:
        """Every registered cluster."""
        return self.store.offload.list_clusters()

    def cluster(self, name: str) -> Cluster:
        """The cluster called ``name`` (a clear error if none)."""
        found = self.store.offload.get_cluster(name)
        if found is None:
            raise LabgpuError(
                _(
                    "no cluster named {name}; see `labgpu clusters list` or add it with "
                    "`labgpu clusters add`"
                ).format(name=repr(name))
            )
        return found

    def remove_cluster(self, name: str) -> None:
        """Forget a cluster; its jobs stay in the records."""
        self.store.offload.remove_cluster(name, self.user)

    # -- login ---------------------------------------------------------------------------------

    def client(self, cluster: Cluster) -> SchedulerClient:
        """The scheduler client of ``cluster``, logging in through the prompter if needed."""
        from labgpu.remote.cluster import SchedulerClient

        if cluster.login == "interactive":
            ask = self.ask_for(cluster.name) if self.ask_for is not None else self.ask
            if ask is None and not self.pool.is_connected(cluster.target):
                raise AuthFailedError(
                    cluster.name, _("not logged in; log in first (it asks for OTP and password)")
                )
            if ask is not None:
                self.pool.set_prompter(cluster.target, with_saved_password(cluster, ask))
        return SchedulerClient(self.pool, cluster)

    def login(self, name: str) -> None:
        """Log in to a cluster now — one attempt; a failure is never retried on its own."""
        cluster = self.cluster(name)
        if self.pool.is_connected(cluster.target):
            return
        self.pool.close(cluster.target)  # the member asked: forget an earlier failure
        self.client(cluster).login()

    def trust_host_key(self, name: str, fingerprint: str) -> None:
        """Save a cluster's host key after the member compared its fingerprint."""
        self.pool.trust_host_key(self.cluster(name).target, fingerprint)

    def is_logged_in(self, name: str) -> bool:
        """True while this session holds a login to the cluster."""
        return self.pool.is_connected(self.cluster(name).target)

    def _base(self, client: SchedulerClient) -> str:
        with self._lock:
            base = self._bases.get(client.cluster.name)
        if base is None:
            base = client.expand_base()
            with self._lock:
                self._bases[client.cluster.name] = base
        return base

    # -- submit --------------------------------------------------------------------------------

    def prepare(self, request: JobRequest) -> Draft:
        """The job script for ``request`` (logs in to learn the remote folders)."""
        cluster = self.cluster(request.cluster)
        check_request(request, cluster)
        local = Path(request.local_dir).expanduser()
        if not local.is_dir():
            raise LabgpuError(
                _("{path} is not a folder; give the folder to send with --dir").format(path=local)
            )
        base = self._base(self.client(cluster))
        name = new_job_name(self.user, datetime.now(UTC))
        plan = jobscript.ScriptPlan(
            name,
            posixpath.join(base, "work", folder_slug(local.resolve(), self.user)),
            posixpath.join(base, "jobs", name),
        )
        request = replace(request, local_dir=str(local.resolve()))
        script = jobscript.job_script(cluster, request, plan)
        return Draft(request, name, plan.work_dir, plan.job_dir, script)

    def submit(
        self,
        draft: Draft,
        script: str | None = None,
        progress: Progress | None = None,
        project: str | None = None,
    ) -> OffloadJob:
        """Stage the folder, record the job, then ``sbatch``/``qsub`` it.

        ``script`` is the member's edited script (it must keep the job name). A refusal by the
        scheduler raises ``SubmitRejected`` and leaves nothing recorded. ``project``: the one
        the job is for (unknown or retired: ``UsageError`` before anything is staged).
        """
        from labgpu.remote.cluster import SubmitRejected
        from labgpu.remote.staging import upload_tree

        script = script if script is not None else draft.script
        if jobscript.script_job_name(script) != draft.name:
            raise LabgpuError(
                _(
                    "keep the job name line ({name}) in the script: labgpu finds the job by "
                    "it after a restart"
                ).format(name=draft.name)
            )
        project = usable_project(self.store, project)
        request = draft.request
        client = self.client(self.cluster(request.cluster))
        with self.pool.sftp(client.target) as sftp:
            upload_tree(sftp, Path(request.local_dir), draft.work_dir, request.excludes, progress)
        job = self.store.offload.add_job(replace(self._new_job(draft, script), project=project))
        try:
            client.write_script(draft.job_dir, script)
            remote_id = client.submit(draft.job_dir)
        except SubmitRejected as exc:
            self.store.offload.delete_job(job.id, self.user, str(exc))
            raise
        if self.after_submit_hook is not None:
            self.after_submit_hook()
        return self.store.offload.update_job(
            job.id, remote_id=remote_id, state=JobState.QUEUED, raw_state="SUBMITTED"
        )

    def _new_job(self, draft: Draft, script: str) -> OffloadJob:
        request = draft.request
        return OffloadJob(
            id=0,
            name=draft.name,
            cluster=request.cluster,
            user_name=self.user,
            state=JobState.SUBMITTING,
            gpus=request.gpus,
            gpu_type=request.gpu_type,
            hours=request.hours,
            command=request.command,
            local_dir=request.local_dir,
            remote_dir=draft.work_dir,
            job_dir=draft.job_dir,
            script=script,
            submitted_at=datetime.now(UTC),
            results=request.results,
        )

    def resubmit(self, job_id: int, progress: Progress | None = None) -> OffloadJob:
        """Send a job again (same folder, command and resources; the folder is restaged)."""
        old = self.job(job_id)
        request = JobRequest(
            old.cluster, old.local_dir, old.command, old.gpus, old.hours, old.gpu_type,
            old.results,
        )  # fmt: skip
        draft = self.prepare(request)
        script = old.script.replace(old.name, draft.name) if old.script else draft.script
        kept = self.store.projects.get(old.project) if old.project else None  # while active
        return self.submit(draft, script, progress, kept.name if kept and kept.active else None)

    def estimate_start(self, draft: Draft) -> datetime | None:
        """The cluster's own start estimate for a draft (``sbatch --test-only``), if given."""
        client = self.client(self.cluster(draft.request.cluster))
        if client.cluster.scheduler != "slurm":
            return None
        probe_dir = posixpath.join(posixpath.dirname(draft.job_dir), ".estimate")
        client.write_script(probe_dir, draft.script)
        return client.estimate_start(probe_dir)

    def estimate(
        self, cluster_name: str, gpus: int, hours: float, gpu_type: str = ""
    ) -> datetime | None:
        """The cluster's start estimate for ``gpus`` GPUs over ``hours`` (overflow advice)."""
        cluster = self.cluster(cluster_name)
        request = JobRequest(cluster.name, ".", "true", gpus, hours, gpu_type)
        check_request(request, cluster)
        client = self.client(cluster)
        if cluster.scheduler != "slurm":
            return None
        base = self._base(client)
        probe_dir = posixpath.join(base, "jobs", ".estimate")
        plan = jobscript.ScriptPlan("labgpu-estimate", base, probe_dir)
        client.write_script(probe_dir, jobscript.job_script(cluster, request, plan))
        return client.estimate_start(probe_dir)

    # -- follow --------------------------------------------------------------------------------

    def job(self, job_id: int) -> OffloadJob:
        """One of the lab's offloaded jobs."""
        found = self.store.offload.get_job(job_id)
        if found is None:
            raise LabgpuError(
                _("no offloaded job {id}; see `labgpu offload list`").format(id=job_id)
            )
        return found

    def jobs(self, mine: bool = True) -> list[OffloadJob]:
        """Offloaded jobs, newest first (this member's, or the lab's)."""
        return self.store.offload.list_jobs(self.user if mine else None)

    def pollable_clusters(self) -> list[str]:
        """Clusters a background poll may ask: key logins, and those this session is logged
        in to (a poll never pops up an OTP prompt)."""
        return [
            c.name
            for c in self.list_clusters()
            if c.login == "key" or self.pool.is_connected(c.target)
        ]

    def refresh(self, only: Sequence[str] | None = None) -> RefreshReport:
        """Ask each cluster with unfinished jobs of this member about them (one query each)."""
        report = RefreshReport()
        live = [j for j in self.jobs() if j.state not in FINAL_STATES]
        by_cluster: dict[str, list[OffloadJob]] = {}
        for job in live:
            if only is None or job.cluster in only:
                by_cluster.setdefault(job.cluster, []).append(job)
        for name, jobs in by_cluster.items():
            try:
                self._refresh_cluster(self.cluster(name), jobs, report)
            except LabgpuError as exc:
                log.info("refresh of %s failed: %s", name, exc)
                report.errors[name] = str(exc)
        return report

    def _refresh_cluster(
        self, cluster: Cluster, jobs: list[OffloadJob], report: RefreshReport
    ) -> None:
        client = self.client(cluster)
        for job in [j for j in jobs if j.remote_id is None]:
            self._reattach(client, job, report)
        jobs = [self.job(j.id) for j in jobs]
        known = [j for j in jobs if j.remote_id is not None and j.state not in FINAL_STATES]
        if not known:
            return
        statuses = client.poll([j.remote_id for j in known if j.remote_id])
        missing = [j for j in known if j.remote_id not in statuses]
        codes = client.exit_codes([j.job_dir for j in missing])
        for job in known:
            status = statuses.get(job.remote_id or "")
            if status is None:
                status = from_exit_file(job, codes.get(job.job_dir))
            self._apply(job, status, report)

    def _reattach(self, client: SchedulerClient, job: OffloadJob, report: RefreshReport) -> None:
        found = client.find_by_name(job.name)
        if found is not None:
            log.info("re-attached %s to %s job %s", job.name, job.cluster, found.remote_id)
            updated = self.store.offload.update_job(
                job.id, remote_id=found.remote_id, state=JobState.QUEUED, raw_state="SUBMITTED"
            )
            report.changed.append(updated)
        elif datetime.now(UTC) - job.submitted_at > LOST_AFTER:
            updated = self.store.offload.update_job(
                job.id,
                state=JobState.UNKNOWN,
                raw_state="NOT_FOUND",
                reason="the cluster has no job of this name: it was probably never submitted",
            )
            report.changed.append(updated)

    def _apply(self, job: OffloadJob, status: JobStatus | None, report: RefreshReport) -> None:
        if status is None:
            return
        changes = status_changes(job, status, datetime.now(UTC))
        current = {k: getattr(job, k) for k in changes}
        if current == changes:
            return
        updated = self.store.offload.update_job(job.id, **changes)
        report.changed.append(updated)
        if updated.state in FINAL_STATES:
            report.finished.append(updated)

    def cancel(self, job_id: int) -> OffloadJob:
        """Cancel a queued or running job, then record what the scheduler says."""
        job = self.job(job_id)
        if job.user_name != self.user:
            raise RefusedError(
                _("job {id} is {user}'s; only they can cancel it").format(
                    id=job_id, user=job.user_name
                )
            )
        if job.state in FINAL_STATES:
            raise LabgpuError(
                _("job {id} has already ended ({state}); nothing to cancel").format(
                    id=job_id, state=job.state
                )
            )
        if job.remote_id is None:
            self.refresh([job.cluster])
            job = self.job(job_id)
            if job.remote_id is None:
                raise LabgpuError(
                    _("job {id} has no scheduler id yet; try again in a minute").format(id=job_id)
                )
        self.client(self.cluster(job.cluster)).cancel(job.remote_id)
        self.store.audit(self.user, "offload.cancel", job.name, job.remote_id)
        self.refresh([job.cluster])
        return self.job(job_id)

    # -- logs and results ----------------------------------------------------------------------

    def tail(self, job_id: int, max_bytes: int = 16384) -> tuple[str, str]:
        """The end of the job's stdout and stderr as they are now on the cluster."""
        from labgpu.remote.staging import read_tail

        job = self.job(job_id)
        client = self.client(self.cluster(job.cluster))
        with self.pool.sftp(client.target) as sftp:
            out = read_tail(sftp, posixpath.join(job.job_dir, jobscript.STDOUT), max_bytes)
            err = read_tail(sftp, posixpath.join(job.job_dir, jobscript.STDERR), max_bytes)
        return out, err

    def default_results_dir(self, job: OffloadJob) -> Path:
        """Where results land unless the member says otherwise: next to their folder."""
        return Path(job.local_dir) / "labgpu-results" / job.name

    def fetch(self, job_id: int, to: Path | None = None) -> tuple[Path, TransferReport]:
        """Copy stdout, stderr, the script and the chosen result paths home (incremental)."""
        from labgpu.remote.staging import TransferReport, download

        job = self.job(job_id)
        dest = Path(to).expanduser() if to is not None else self.default_results_dir(job)
        client = self.client(self.cluster(job.cluster))
        report = TransferReport()
        with self.pool.sftp(client.target) as sftp:
            for name in (jobscript.STDOUT, jobscript.STDERR, jobscript.SCRIPT):
                download(sftp, posixpath.join(job.job_dir, name), dest / name, report)
            for path in job.results:
                download(sftp, posixpath.join(job.remote_dir, path), dest / path, report)
        if job.state in FINAL_STATES:
            self.store.offload.update_job(job.id, fetched_at=datetime.now(UTC))
        return dest, report

    def fetch_finished(self, only: Sequence[str] | None = None) -> list[tuple[OffloadJob, Path]]:
        """Fetch the results of this member's ended jobs not fetched yet (errors logged)."""
        done: list[tuple[OffloadJob, Path]] = []
        for job in self.jobs():
            if job.state not in FINAL_STATES or job.fetched_at is not None:
                continue
            if only is not None and job.cluster not in only:
                continue
            try:
                dest, _report = self.fetch(job.id)
            except (LabgpuError, OSError) as exc:
                log.info("fetching %s failed: %s", job.name, exc)
                continue
            done.append((job, dest))
        return done

    def usage(self, start: datetime | None = None, end: datetime | None = None) -> list[UsageRow]:
        """Offloaded GPU-hours per month, member and cluster (for the PI's reports)."""
        return self.store.offload.usage(start, end)


__all__ = [
    "Draft",
    "OffloadService",
    "RefreshReport",
    "save_password",
    "saved_password",
    "status_changes",
    "with_saved_password",
]
