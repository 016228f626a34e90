"""Offloading to a real single-node Slurm through a real sshd login node (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labgpu.core.errors import LabgpuError
from labgpu.core.offload.jobs import JobRequest, JobState
from labgpu.remote.cluster import SubmitRejected
from labgpu.services.offload.service import OffloadService
from tests.helpers.offload import ended, offload_service, running, wait_for
from tests.helpers.slurm import SlurmCluster

pytestmark = pytest.mark.slow


@pytest.fixture
def service(slurm_cluster: SlurmCluster, tmp_path: Path) -> Iterator[OffloadService]:
    with offload_service(slurm_cluster, tmp_path, f"sqlite:///{tmp_path / 'lab.db'}") as svc:
        yield svc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "input.txt").write_text("hello from the lab\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    return root


def _request(project: Path, command: str, gpus: int = 1, **kw: object) -> JobRequest:
    return JobRequest("neuron", str(project), command, gpus, 1.0, "a100", **kw)  # type: ignore[arg-type]


def test_submit_run_complete_and_fetch_results(service: OffloadService, project: Path) -> None:
    command = (
        "mkdir -p out && tr a-z A-Z < data/input.txt > out/result.txt && "
        'echo "gpus=$CUDA_VISIBLE_DEVICES" && ls -a'
    )
    draft = service.prepare(_request(project, command, results=("out",)))
    assert "#SBATCH --gres=gpu:a100:1" in draft.script
    assert "#SBATCH --comment=pytorch" in draft.script
    assert f"#SBATCH --job-name={draft.name}" in draft.script
    seen: list[tuple[int, int]] = []
    job = service.submit(draft, progress=lambda done, total: seen.append((done, total)))
    assert job.remote_id
    assert job.remote_id.isdigit()
    assert seen[-1][0] == seen[-1][1] > 0
    job = wait_for(service, job.id, ended)
    assert (job.state, job.exit_code) == (JobState.COMPLETED, 0)
    assert job.raw_state == "COMPLETED"
    dest, report = service.fetch(job.id)
    assert dest == project / "labgpu-results" / job.name
    assert (dest / "out" / "result.txt").read_text() == "HELLO FROM THE LAB\n"
    stdout = (dest / "labgpu-stdout.txt").read_text()
    assert "gpus=0" in stdout
    assert ".git" not in stdout.split()
    assert "__pycache__" not in stdout.split()
    assert report.files_copied >= 3
    _, again = service.fetch(job.id)  # incremental: nothing changed, nothing copied
    assert again.files_copied == 0
    assert service.job(job.id).fetched_at is not None
    usage = service.usage()
    assert [(u.user_name, u.cluster, u.jobs) for u in usage] == [("tester", "neuron", 1)]


def test_failing_job_keeps_its_exit_code(service: OffloadService, project: Path) -> None:
    job = service.submit(service.prepare(_request(project, "echo oops >&2; exit 3", gpus=0)))
    job = wait_for(service, job.id, ended)
    assert (job.state, job.exit_code, job.raw_state) == (JobState.FAILED, 3, "FAILED")
    out, err = service.tail(job.id)
    assert "oops" in err
    again = service.resubmit(job.id)
    assert again.name != job.name
    assert f"--job-name={again.name}" in again.script
    assert job.name not in again.script
    again = wait_for(service, again.id, ended)
    assert (again.state, again.exit_code) == (JobState.FAILED, 3)


def test_cancel_a_running_job(service: OffloadService, project: Path) -> None:
    job = service.submit(service.prepare(_request(project, "sleep 120", gpus=0)))
    wait_for(service, job.id, running)
    job = service.cancel(job.id)
    job = wait_for(service, job.id, ended)
    assert job.state is JobState.CANCELLED
    assert job.raw_state.startswith("CANCELLED")


def test_job_waits_on_resources(service: OffloadService, project: Path) -> None:
    blocker = service.submit(service.prepare(_request(project, "sleep 120", gpus=2)))
    waiting = service.submit(service.prepare(_request(project, "true", gpus=1)))
    try:
        wait_for(service, blocker.id, running)
        job = wait_for(service, waiting.id, lambda j: j.reason == "Resources", timeout=30)
        assert job.state is JobState.QUEUED
        assert job.raw_state == "PENDING"
    finally:
        service.cancel(blocker.id)
        service.cancel(waiting.id)


def test_rejected_request_records_nothing(service: OffloadService, project: Path) -> None:
    draft = service.prepare(_request(project, "true", gpus=3))
    with pytest.raises(SubmitRejected, match="Requested node configuration is not available"):
        service.submit(draft)
    assert service.jobs() == []


def test_crash_after_sbatch_is_reattached_on_restart(
    slurm_cluster: SlurmCluster, tmp_path: Path, project: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"

    class Killed(BaseException):
        pass

    def die() -> None:
        raise Killed

    with offload_service(slurm_cluster, tmp_path, url) as first:
        first.after_submit_hook = die
        with pytest.raises(Killed):
            first.submit(first.prepare(_request(project, "echo survived", gpus=0)))
        (lost,) = first.jobs()
        assert (lost.state, lost.remote_id) == (JobState.SUBMITTING, None)
    with offload_service(slurm_cluster, tmp_path, url) as restarted:
        report = restarted.refresh()
        assert not report.errors
        job = restarted.job(lost.id)
        assert job.remote_id is not None
        job = wait_for(restarted, job.id, ended)
        assert (job.state, job.exit_code) == (JobState.COMPLETED, 0)
        assert len(restarted.jobs()) == 1


def test_unreachable_cluster_keeps_state_and_resumes(
    slurm_cluster: SlurmCluster, service: OffloadService, project: Path
) -> None:
    job = service.submit(service.prepare(_request(project, "sleep 6", gpus=0)))
    job = wait_for(service, job.id, running)
    slurm_cluster.stop_login()
    try:
        service.pool.close(service.cluster("neuron").target)  # the network drops
        report = service.refresh()
        assert "neuron" in report.errors
        assert "connection refused" in report.errors["neuron"]
        assert service.job(job.id).state is job.state
    finally:
        slurm_cluster.start_login()
    job = wait_for(service, job.id, ended)
    assert job.state is JobState.COMPLETED


def test_start_estimate_from_test_only(service: OffloadService, project: Path) -> None:
    estimate = service.estimate_start(service.prepare(_request(project, "true")))
    assert estimate is not None


def test_overflow_estimate_for_a_request(service: OffloadService) -> None:
    assert service.estimate("neuron", 1, 2.0, "a100") is not None
    with pytest.raises(LabgpuError, match="at most 48 hours"):
        service.estimate("neuron", 1, 72.0)
