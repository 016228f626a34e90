"""Running work on a booking (issue 15, point 2), against a real sshd GPU server where the
member's own account (``labuser``) runs the job: staged folder, detached start with exactly the
booked GPUs, a job that waits for a later booking, the end-of-booking rule (warn; stop with
SIGTERM then SIGKILL), release of the rest of the booking when the job ends early, and the
job's real process seen by the probe as the booking holder's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.run import (
    LabJob,
    Observed,
    RunRequest,
    parse_status,
    state_of,
    wrapper_script,
)
from labgpu.core.errors import LabgpuError, RefusedError, UsageError
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.core.offload.jobs import FINAL_STATES, JobState
from labgpu.remote.probe import probe
from labgpu.remote.ssh import SshPool
from labgpu.services.booking.run import RunService
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.nvidia_smi_standin import FakeApp
from tests.helpers.run_host import booked_server, member_ssh
from tests.helpers.sshd import Fleet, SshdHost
from tests.helpers.sshd_support import REMOTE_USER

S = timedelta(seconds=1)


@dataclass
class RunLab:
    """A lab with server ``gpu-r`` (the test's own sshd) and ``labuser``'s services."""

    store: Store
    host: SshdHost
    pool: SshPool  # the member's own login: labuser, by their ssh config
    monitor: SshPool  # the lab's monitoring account
    bookings: BookingService
    runs: RunService
    gpu_ids: list[int]
    tmp: Path

    def book(self, start: timedelta, length: timedelta, count: int = 2) -> str:
        now = datetime.now(UTC)
        group = self.bookings.book(self.gpu_ids[:count], now + start, now + start + length)
        return group.group_id

    def wait(self, job: LabJob, done: Callable[[LabJob], bool], seconds: float = 60) -> LabJob:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.runs.refresh()
            job = self.runs.job(job.id)
            if done(job):
                return job
            time.sleep(0.3)
        raise AssertionError(
            f"job {job.id} still {job.state} after {seconds} s; log:\n{self.runs.tail(job.id)}"
        )

    def remote(self, script: str) -> str:
        return self.pool.run_script(self.runs._server(replace_server()).target, script).stdout


def replace_server() -> LabJob:
    """A stand-in job naming the server, for reaching it as the member."""
    now = datetime.now(UTC)
    return LabJob(0, "x", "g", "gpu-r", REMOTE_USER, JobState.QUEUED, "", "", "", "", now, now, now)


def ended(job: LabJob) -> bool:
    return job.state in FINAL_STATES


@pytest.fixture(scope="module")
def run_host(gpu_hosts: Fleet) -> Iterator[SshdHost]:
    """An sshd of its own (its nvidia-smi answers are this module's to change)."""
    with booked_server(gpu_hosts) as host:
        yield host


@pytest.fixture(params=["sqlite"])
def lab(
    request: pytest.FixtureRequest, gpu_hosts: Fleet, run_host: SshdHost, tmp_path: Path
) -> Iterator[RunLab]:
    """SQLite unless a test asks for ``postgresql`` too (``indirect`` parametrize)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'labgpu.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.upgrade()
    assert run_host.standin is not None
    readings = [
        GpuReading(g.index, g.uuid, g.name, 46068, 0, 0.0, 30, 50) for g in run_host.standin.gpus
    ]
    store.inventory.register_server("gpu-r", run_host.target, readings, "admin")
    gpu_ids = sorted(g.id for g in store.inventory.list_gpus() if g.id is not None)
    home = tmp_path / "home"
    known = member_ssh(home, gpu_hosts, run_host)
    pool = SshPool(tmp_path / "labgpu_known_hosts", home=home, use_agent=False)
    monitor = SshPool(
        tmp_path / "monitor_known_hosts", home=home, use_agent=False, user_known_hosts=known
    )
    # No approval for A40s in this lab: the member books and runs at once.
    store.bookings.set_rules(
        replace(store.bookings.get_rules(), approval_models=(), max_gpus_at_once=4), "admin"
    )
    bookings = BookingService(store, REMOTE_USER)
    runs = RunService(store, lambda: pool, bookings)
    made = RunLab(store, run_host, pool, monitor, bookings, runs, gpu_ids, tmp_path)
    try:
        yield made
    finally:
        for job in runs.jobs():
            if job.state not in FINAL_STATES:
                runs.cancel(job.id)
        names = " ".join(j.job_dir for j in runs.jobs())
        if names:
            made.remote(f"rm -rf {names}")
        run_host.standin.set_state(run_host.standin.gpus, [])
        pool.close_all()
        monitor.close_all()
        store.close()


def set_rules(lab: RunLab, **changes: object) -> None:
    lab.store.bookings.set_rules(replace(lab.store.bookings.get_rules(), **changes), "admin")


# -- the wrapper and its record, as values ----------------------------------------------------


def test_status_lines_are_read_and_unknown_lines_ignored() -> None:
    text = "motd\n@job run-a|1|1700000000|4242||\x7c0\n@job run-b|0|1700000000|17|2 1700000100||0\n"
    seen = parse_status(text.replace("\x7c0\n", "|0\n", 1))
    assert seen["run-a"].wrapper_alive
    assert seen["run-a"].pid == 4242
    assert seen["run-a"].exit_code is None
    assert seen["run-b"].exit_code == 2
    assert seen["run-b"].ended_at == datetime.fromtimestamp(1700000100, UTC)


def test_a_wrapper_gone_without_a_record_fails_the_job_instead_of_running_forever() -> None:
    now = datetime.now(UTC)
    job = replace_server()
    job = replace(job, state=JobState.RUNNING, started_at=now)
    gone = Observed("x", False, now, 5, None, None, False, False)
    changes = state_of(job, gone, now)
    assert changes["state"] is JobState.FAILED
    assert "without a record" in str(changes["reason"])
    assert state_of(job, None, now)["state"] is JobState.FAILED  # the folder itself is gone


def test_the_wrapper_quotes_every_value_and_keeps_the_command_out() -> None:
    now = datetime.now(UTC)
    job = replace(replace_server(), remote_dir="labgpu/work/it's here", command="rm -rf / ; echo")
    text = wrapper_script(job, {"CUDA_VISIBLE_DEVICES": "GPU-1,GPU-2"}, 10 * S, 5 * S)
    assert "cd \"$HOME\"/'labgpu/work/it'\"'\"'s here'" in text
    assert "rm -rf /" not in text  # the command lives in its own file
    assert str(int(now.timestamp()))[:6] in text


# -- on a real server -------------------------------------------------------------------------


@pytest.mark.parametrize("lab", ["sqlite", "postgresql"], indirect=True)
def test_a_job_runs_with_exactly_the_booked_gpus_and_gives_the_rest_of_the_booking_back(
    lab: RunLab,
) -> None:
    group_id = lab.book(S, timedelta(hours=2))
    folder = lab.tmp / "project"
    folder.mkdir()
    (folder / "data.txt").write_text("forty-two\n")
    command = (
        'echo "order=$CUDA_DEVICE_ORDER gpus=$CUDA_VISIBLE_DEVICES"; cat data.txt; '
        "pwd > where.txt; exit 0"
    )
    job = lab.runs.start(
        RunRequest(group_id, command, local_dir=str(folder), results=("where.txt",))
    )
    assert job.state in (JobState.QUEUED, JobState.RUNNING)
    job = lab.wait(job, ended)
    assert job.state is JobState.COMPLETED, lab.runs.tail(job.id)
    assert job.exit_code == 0
    log = lab.runs.tail(job.id)
    uuids = ",".join(g.uuid for g in lab.host.standin.gpus[:2])  # type: ignore[union-attr]
    assert f"order=PCI_BUS_ID gpus={uuids}" in log
    assert "forty-two" in log
    # The booking was given back from the job's end, audited as such.
    assert job.released_at is not None
    group = lab.bookings.group(group_id)
    assert group.status is BookingStatus.RELEASED
    assert group.window.end < datetime.now(UTC) + timedelta(minutes=1)
    audit = [a for a in lab.store.list_audit() if a.subject == group_id]
    assert any(a.action == "booking.release_by_job" and job.name in a.detail for a in audit)
    # Results come home next to the folder.
    dest, report = lab.runs.fetch(job.id)
    assert (dest / "where.txt").read_text().strip().endswith(job.remote_dir)
    assert report.files_copied == 2  # the log and where.txt
    assert lab.runs.job(job.id).fetched_at is not None


def test_the_job_outlives_the_connection_and_the_probe_sees_its_real_process_as_the_holders(
    lab: RunLab,
) -> None:
    group_id = lab.book(S, timedelta(hours=2), count=1)
    job = lab.runs.start(RunRequest(group_id, "sleep 120"))
    job = lab.wait(job, lambda j: j.state is JobState.RUNNING and j.pid is not None)
    lab.pool.close_all()  # the desktop goes away
    again = lab.wait(job, lambda j: j.state is JobState.RUNNING)
    assert again.pid == job.pid
    # The stand-in reports the job's real PID on the booked GPU, as nvidia-smi would.
    standin = lab.host.standin
    assert standin is not None
    assert job.pid is not None
    standin.set_state(standin.gpus, [FakeApp(standin.gpus[0].uuid, job.pid, "900", "sleep")])
    seen = probe(lab.monitor, SshTarget("127.0.0.1", lab.host.port, REMOTE_USER))
    mine = [p for p in seen.processes if p.pid == job.pid]
    assert mine
    assert mine[0].user == REMOTE_USER
    lab.store.inventory.store_probe("gpu-r", seen)
    reality = lab.bookings.reality()
    assert not [u for u in reality.unbooked_use if u.user == REMOTE_USER]
    # Cancelled: the process is gone, the booking stays the member's.
    cancelled = lab.runs.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "alive" in lab.remote(
        f"kill -0 {job.pid} 2>/dev/null && echo alive"
    ):
        time.sleep(0.2)
    assert "alive" not in lab.remote(f"kill -0 {job.pid} 2>/dev/null && echo alive")
    lab.runs.refresh()
    assert lab.bookings.group(group_id).status is BookingStatus.ACTIVE


def test_a_job_for_a_booking_an_hour_ahead_waits_on_the_server(lab: RunLab) -> None:
    group_id = lab.book(timedelta(hours=1), timedelta(hours=1))
    job = lab.runs.start(RunRequest(group_id, "echo should-not-run-yet"))
    assert job.state is JobState.QUEUED
    time.sleep(1.5)
    lab.runs.refresh()
    job = lab.runs.job(job.id)
    assert job.state is JobState.QUEUED
    assert job.started_at is None
    assert "waiting for booking" in lab.runs.tail(job.id)
    assert "should-not-run-yet" not in lab.runs.tail(job.id)
    lab.pool.close_all()  # nothing of labgpu needs to stay connected
    lab.runs.cancel(job.id)
    lab.runs.refresh()
    assert lab.runs.job(job.id).state is JobState.CANCELLED
    assert lab.bookings.group(group_id).status is BookingStatus.BOOKED


def test_at_the_end_the_stop_rule_sends_sigterm_then_sigkill_after_the_grace(lab: RunLab) -> None:
    set_rules(lab, at_booking_end="stop", stop_grace_s=2)
    group_id = lab.book(S, 8 * S, count=1)  # the warning window: 5 s wide, even under load
    stubborn = "trap 'echo got TERM' TERM; while true; do sleep 1; done"
    job = lab.runs.start(RunRequest(group_id, stubborn, warn_before=5 * S))
    job = lab.wait(job, ended, seconds=60)
    assert job.state is JobState.TIMEOUT
    log = lab.runs.tail(job.id)
    assert "the booking ends in 1 min" in log
    assert "stopping the job (SIGTERM)" in log
    assert "got TERM" in log
    assert "SIGKILL" in log
    assert job.released_at is None  # the booking ended by itself
    assert lab.bookings.group(group_id).status is not BookingStatus.RELEASED


def test_at_the_end_the_warn_rule_lets_the_job_go_on(lab: RunLab) -> None:
    group_id = lab.book(S, 3 * S, count=1)
    job = lab.runs.start(RunRequest(group_id, "sleep 6; echo finished", warn_before=2 * S))
    job = lab.wait(job, ended, seconds=60)
    assert job.state is JobState.COMPLETED
    log = lab.runs.tail(job.id)
    assert "the job goes on" in log
    assert "finished" in log
    assert job.released_at is None


# -- refusals: a clear message, and nothing recorded or changed -------------------------------


def test_only_the_holder_runs_on_a_live_approved_booking(lab: RunLab) -> None:
    other = BookingService(lab.store, "kim")
    now = datetime.now(UTC)
    theirs = other.book(lab.gpu_ids[2:3], now + S, now + timedelta(hours=1)).group_id
    with pytest.raises(RefusedError, match="kim's, not yours"):
        lab.runs.start(RunRequest(theirs, "nvidia-smi"))
    set_rules(lab, approval_models=("A40",))
    pending = lab.book(timedelta(hours=2), timedelta(hours=1), count=1)
    with pytest.raises(RefusedError, match="waits for approval"):
        lab.runs.start(RunRequest(pending, "nvidia-smi"))
    with pytest.raises(UsageError, match="after --"):
        lab.runs.start(RunRequest(pending, "  "))
    with pytest.raises(UsageError, match="needs --dir"):
        lab.runs.start(RunRequest(pending, "x", results=("out",)))
    assert lab.runs.jobs() == []


def test_an_unreachable_server_records_no_job_and_leaves_the_booking(
    lab: RunLab, gpu_hosts: Fleet
) -> None:
    group_id = lab.book(timedelta(minutes=5), timedelta(hours=1), count=1)
    closed = gpu_hosts.hosts["closed"].target if "closed" in gpu_hosts.hosts else None
    port = closed.port if closed is not None else 9  # nothing listens on the discard port
    lab.store.inventory.upsert_server("gpu-r", SshTarget("127.0.0.1", port, "monitor"), "admin")
    with pytest.raises(LabgpuError, match="127.0.0.1"):
        lab.runs.start(RunRequest(group_id, "nvidia-smi"))
    assert lab.runs.jobs() == []
    assert lab.bookings.group(group_id).status is BookingStatus.BOOKED
    assert any(a.action == "run.failed_start" for a in lab.store.list_audit())


def test_a_job_recorded_but_not_confirmed_is_found_again_by_its_folder(lab: RunLab) -> None:
    """The desktop died between starting the job and storing that it started: the job's
    folder on the server names it, and the next refresh re-attaches."""
    group_id = lab.book(S, timedelta(hours=1), count=1)
    plan = lab.bookings.use(group_id)
    now = datetime.now(UTC)
    job = lab.store.lab_jobs.add(
        LabJob(
            0, "run-labuser-crashed-000001", group_id, "gpu-r", REMOTE_USER,
            JobState.SUBMITTING, "sleep 30", "", "", ".labgpu/jobs/run-labuser-crashed-000001",
            now, plan.group.window.start, plan.group.window.end,
        )
    )  # fmt: skip
    wrapper = wrapper_script(job, plan.servers[0].environment, 10 * S, 5 * S)
    lab.runs._server(job).start(job.job_dir, wrapper, job.command)
    found = lab.wait(job, lambda j: j.state is JobState.RUNNING)
    assert found.pid is not None
    lab.runs.cancel(job.id)


def test_a_refresh_while_a_job_is_being_started_changes_nothing(lab: RunLab) -> None:
    """The app's poll or another terminal's `labgpu jobs` during staging: the job has no folder
    yet; it is neither failed nor does its booking go back. Only long after is it failed, and a
    job that never ran gives nothing back."""
    group_id = lab.book(timedelta(seconds=-30), timedelta(hours=1), count=1)
    plan = lab.bookings.use(group_id)
    now = datetime.now(UTC)

    def submitting(name: str, submitted: datetime) -> LabJob:
        return lab.store.lab_jobs.add(
            LabJob(
                0, name, group_id, "gpu-r", REMOTE_USER, JobState.SUBMITTING, "true", "", "",
                f".labgpu/jobs/{name}", submitted, plan.group.window.start, plan.group.window.end,
            )
        )  # fmt: skip

    young = submitting("run-labuser-young-000001", now)
    old = submitting("run-labuser-old-000001", now - timedelta(minutes=20))
    lab.runs.refresh()
    assert lab.runs.job(young.id).state is JobState.SUBMITTING
    failed = lab.runs.job(old.id)
    assert failed.state is JobState.FAILED
    assert failed.released_at is None
    assert lab.bookings.group(group_id).status is BookingStatus.ACTIVE


def test_what_the_command_leaves_running_keeps_the_job_and_the_booking(lab: RunLab) -> None:
    group_id = lab.book(S, timedelta(hours=1), count=1)
    job = lab.runs.start(RunRequest(group_id, "sleep 5 & echo parent-done"))
    job = lab.wait(job, lambda j: "parent-done" in lab.runs.tail(j.id) and j.pid is not None)
    time.sleep(1)
    lab.runs.refresh()
    assert lab.runs.job(job.id).state is JobState.RUNNING  # its child still runs
    assert lab.bookings.group(group_id).status is BookingStatus.ACTIVE
    done = lab.wait(job, ended)
    assert done.state is JobState.COMPLETED
    assert done.released_at is not None


def test_cancel_kills_a_job_that_ignores_sigterm_and_not_one_that_ended(lab: RunLab) -> None:
    set_rules(lab, stop_grace_s=2)
    group_id = lab.book(S, timedelta(hours=1), count=2)
    stubborn = "trap 'echo got TERM' TERM; while true; do sleep 1; done"
    job = lab.runs.start(RunRequest(group_id, stubborn))
    job = lab.wait(job, lambda j: j.pid is not None and j.state is JobState.RUNNING)
    assert lab.runs.cancel(job.id).state is JobState.CANCELLED
    deadline = time.monotonic() + 20
    alive = f"kill -0 -{job.pid} 2>/dev/null && echo alive"
    while time.monotonic() < deadline and "alive" in lab.remote(alive):
        time.sleep(0.3)
    assert "alive" not in lab.remote(alive)  # SIGKILL after the grace
    quick = lab.runs.start(RunRequest(group_id, "echo quick"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "labgpu-exit" not in lab.remote(f"ls {quick.job_dir}"):
        time.sleep(0.3)
    assert lab.runs.cancel(quick.id).state is JobState.COMPLETED  # its own record stands


def test_a_wrapper_started_after_the_booking_ended_runs_nothing(lab: RunLab) -> None:
    group_id = lab.book(S, timedelta(hours=1), count=1)
    plan = lab.bookings.use(group_id)
    now = datetime.now(UTC)
    job = lab.store.lab_jobs.add(
        LabJob(
            0, "run-labuser-late-000001", group_id, "gpu-r", REMOTE_USER, JobState.RUNNING,
            "echo should-not-run", "", "", ".labgpu/jobs/run-labuser-late-000001",
            now, now - timedelta(hours=2), now - timedelta(hours=1),
        )
    )  # fmt: skip
    wrapper = wrapper_script(job, plan.servers[0].environment, 10 * S, 5 * S)
    lab.runs._server(job).start(job.job_dir, wrapper, job.command)
    ended_job = lab.wait(job, ended)
    assert ended_job.exit_code == 125
    assert "should-not-run" not in lab.runs.tail(job.id)
    assert "not started" in lab.runs.tail(job.id)
