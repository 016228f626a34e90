"""Running work on a booking (``labgpu run``, *Run on this booking…*; issue 15, point 2).

The job runs under the member's own SSH login to the booked server (their key, agent and
``~/.ssh/config``), never the lab's monitoring account. It is recorded before it is started,
started detached (see ``labgpu.core.booking.run``) and followed by whoever looks next: the app
every half minute while it runs, ``labgpu jobs`` when asked. A job that ended on its own before
its booking's end gives the rest of the booking back: the booking is released then (audited as
released by the job's end) and the time returns to the calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.booking.run import (
    JOBS_DIR,
    WORK_DIR,
    LabJob,
    RunRequest,
    check_at_end,
    check_run_request,
    new_run_name,
    refuse_ended_booking,
    should_release,
    state_of,
    wrapper_script,
)
from labgpu.core.booking.use import UseOnServer
from labgpu.core.errors import LabgpuError, RefusedError, RemoteError, UsageError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import FINAL_STATES, JobState
from labgpu.remote.run import BookedServer
from labgpu.remote.ssh import SshPool
from labgpu.remote.staging import Progress, TransferReport
from labgpu.services.booking.service import BookingService
from labgpu.services.offload.service import folder_slug
from labgpu.storage import Store

log = logging.getLogger(__name__)


class RunService:
    """Jobs on this member's bookings: start, follow, cancel, read, fetch."""

    def __init__(
        self,
        store: Store,
        pool: Callable[[], SshPool],
        bookings: BookingService,
    ) -> None:
        self.store = store
        self._pool = pool
        self.bookings = bookings
        self.user = bookings.user
        #: Why nothing can be started here (the demo: its servers are simulated).
        self.simulated = ""

    def _now(self) -> datetime:
        return self.bookings.clock()

    # -- starting ---------------------------------------------------------------------------

    def start(self, request: RunRequest, progress: Progress | None = None) -> LabJob:
        """Stage the folder and start the command detached on the booked server.

        Refused (exit 3) for another member's booking, one that is over, pending or cancelled;
        a booking that starts later makes the job wait on the server until its start.
        """
        check_run_request(request)
        plan = self.bookings.use(request.booking)
        group = plan.group
        if group.status is BookingStatus.PENDING:
            raise RefusedError(
                _("booking {id} waits for approval; run work on it once it is approved").format(
                    id=group.group_id
                )
            )
        now = self._now()
        refuse_ended_booking(group.window.end, now, group.group_id)
        use = self._server_of(plan.servers, request.server, group)
        if self.simulated:  # after the refusals: they hold in the demo too
            raise LabgpuError(self.simulated)
        rules = self.bookings.rules()
        local = Path(request.local_dir).expanduser().resolve() if request.local_dir else None
        if local is not None and not local.is_dir():
            raise UsageError(_("{path} is not a folder").format(path=request.local_dir))
        name = new_run_name(self.user, now)
        job = LabJob(
            id=0,
            name=name,
            group_id=group.group_id,
            server=use.server,
            user_name=self.user,
            state=JobState.SUBMITTING,
            command=request.command,
            local_dir=str(local) if local else "",
            remote_dir=f"{WORK_DIR}/{folder_slug(PurePath(local), self.user)}" if local else "",
            job_dir=f"{JOBS_DIR}/{name}",
            submitted_at=now,
            starts_at=group.window.start,
            ends_at=group.window.end,
            at_end=check_at_end(rules.at_booking_end),
            results=request.results,
        )
        job = self.store.lab_jobs.add(job)
        server = self._server(use)
        try:
            if local is not None:
                server.stage(local, job.remote_dir, progress)
            wrapper = wrapper_script(
                job, use.environment, request.warn_before, timedelta(seconds=rules.stop_grace_s)
            )
            server.start(job.job_dir, wrapper, request.command)
        except BaseException as exc:  # an SFTP error, a timeout, Ctrl-C: no job left behind
            self.store.lab_jobs.delete(job.id, self.user, str(exc) or type(exc).__name__)
            raise
        current = self.store.lab_jobs.get(job.id)
        if current is not None and current.state is not JobState.SUBMITTING:
            return current  # cancelled (or followed) meanwhile: that stands
        state = JobState.QUEUED if group.window.start > now else JobState.RUNNING
        return self.store.lab_jobs.update(job.id, state=state)

    @staticmethod
    def _server_of(
        servers: tuple[UseOnServer, ...], wanted: str, group: BookingGroupView
    ) -> UseOnServer:
        if wanted:
            for use in servers:
                if use.server == wanted:
                    return use
            raise UsageError(
                _("booking {id} has no GPUs on {server}; it has: {servers}").format(
                    id=group.group_id, server=wanted, servers=", ".join(u.server for u in servers)
                )
            )
        if len(servers) > 1:
            raise UsageError(
                _("booking {id} spans {servers}; say which with --server").format(
                    id=group.group_id, servers=", ".join(u.server for u in servers)
                )
            )
        return servers[0]

    def _server(self, use: UseOnServer | LabJob) -> BookedServer:
        """The booked server as the member logs in: no user, no key of the lab's account."""
        name = use.server
        server = self.store.inventory.get_server(name)
        if server is None:
            raise LabgpuError(
                _("server {name} is no longer registered; ask a lab manager").format(name=name)
            )
        target = server.target
        own = SshTarget(target.host, target.port, None, None, target.jump_host)
        return BookedServer(self._pool(), own)

    # -- following --------------------------------------------------------------------------

    def jobs(self, since: datetime | None = None, mine: bool = True) -> list[LabJob]:
        """This member's jobs on bookings (or the lab's), newest first."""
        return self.store.lab_jobs.list(user=self.user if mine else None, since=since)

    def job(self, job_id: int) -> LabJob:
        """One of this member's jobs (``LabgpuError`` if there is none)."""
        job = self.store.lab_jobs.get(job_id)
        if job is None or job.user_name != self.user:
            raise LabgpuError(_("no job {id} of yours; see `labgpu jobs`").format(id=job_id))
        return job

    def refresh(self) -> list[LabJob]:
        """Read every unfinished job of this member from its server (one command per server),
        store what changed, and give back the rest of a booking whose job ended early.

        A server that cannot be reached leaves its jobs as they were (logged, not raised)."""
        changed: list[LabJob] = []
        open_jobs = [j for j in self.jobs() if j.state not in FINAL_STATES]
        by_server: dict[str, list[LabJob]] = {}
        for job in open_jobs:
            by_server.setdefault(job.server, []).append(job)
        for name, jobs in sorted(by_server.items()):
            try:
                seen = self._server(jobs[0]).observe([j.job_dir for j in jobs])
            except (RemoteError, LabgpuError) as exc:
                log.info("cannot follow jobs on %s: %s", name, exc)
                continue
            now = self._now()
            for job in jobs:
                changes = state_of(job, seen.get(job.name), now)
                if changes:
                    changed.append(self.store.lab_jobs.update(job.id, **changes))
        for job in self.jobs():
            if job.state in FINAL_STATES and job.released_at is None and job.ended_at:
                released = self._give_back(job)
                if released is not None:
                    changed.append(released)
        return changed

    def _give_back(self, job: LabJob) -> LabJob | None:
        """Release the job's booking after it ended on its own, if nothing else of the member
        still runs on it; the job then records when."""
        try:
            group = self.bookings.group(job.group_id)
        except LabgpuError:
            return None
        now = self._now()
        if group.status is not BookingStatus.ACTIVE or not should_release(
            job, group.window.end, now
        ):
            return None
        others = self.store.lab_jobs.list(user=self.user, group_id=job.group_id)
        if any(o.id != job.id and o.state not in FINAL_STATES for o in others):
            return None
        assert job.ended_at is not None
        why = _("released by the end of job {name} at {at} (status {code})").format(
            name=job.name,
            at=job.ended_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            code=job.exit_code,
        )
        try:
            self.store.bookings.update_group(
                job.group_id,
                actor=self.user,
                status=BookingStatus.RELEASED,
                end=max(now, group.window.start + timedelta(seconds=1)),
                why=why,
            )
        except LabgpuError as exc:  # e.g. ended by hand meanwhile
            log.info("booking %s not released after job %s: %s", job.group_id, job.name, exc)
            return None
        return self.store.lab_jobs.update(job.id, released_at=now)

    # -- acting on one job ------------------------------------------------------------------

    def cancel(self, job_id: int) -> LabJob:
        """Stop a job that waits or runs (its session gets SIGTERM); the booking stays yours."""
        job = self.job(job_id)
        if job.state in FINAL_STATES:
            raise RefusedError(
                _("job {id} has already ended ({state})").format(id=job_id, state=job.state.value)
            )
        grace = timedelta(seconds=self.bookings.rules().stop_grace_s)
        if not self._server(job).cancel(job.job_dir, grace):
            self.refresh()  # it ended before the cancel came: its own record says how
            return self.job(job_id)
        return self.store.lab_jobs.update(
            job.id,
            state=JobState.CANCELLED,
            reason=_("cancelled"),
            ended_at=self._now(),
        )

    def tail(self, job_id: int, max_bytes: int = 16384) -> str:
        """The end of the job's log (its output and labgpu's notes) as it is now."""
        job = self.job(job_id)
        return self._server(job).tail(job.job_dir, max_bytes)

    def default_results_dir(self, job: LabJob) -> Path:
        """Where results land unless the member says otherwise: next to their folder."""
        base = Path(job.local_dir) if job.local_dir else Path.home()
        return base / "labgpu-results" / job.name

    def fetch(self, job_id: int, to: Path | None = None) -> tuple[Path, TransferReport]:
        """Copy the log and the chosen result paths home (only what changed)."""
        job = self.job(job_id)
        dest = Path(to).expanduser() if to is not None else self.default_results_dir(job)
        report = self._server(job).fetch(job.job_dir, job.remote_dir, job.results, dest)
        if job.state in FINAL_STATES:
            job = replace(job, fetched_at=self._now())
            self.store.lab_jobs.update(job.id, fetched_at=job.fetched_at)
        return dest, report
