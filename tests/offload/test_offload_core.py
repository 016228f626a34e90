"""Pure offload rules: job scripts, scheduler output parsing, state mapping (issue 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from labgpu.core.errors import LabgpuError
from labgpu.core.offload import jobscript, scheduler
from labgpu.core.offload.jobs import (
    Cluster,
    JobRequest,
    JobState,
    check_cluster,
    check_request,
    hms,
    new_job_name,
    parse_duration,
    should_offer_cluster,
)

DATA = Path(__file__).parents[1] / "data"
PLAN = jobscript.ScriptPlan("labgpu-a-1", "/scratch/a/labgpu/work/p-1", "/scratch/a/labgpu/jobs/j")
NEURON = Cluster(
    "neuron", "neuron.ksc.re.kr", "a", partition="amd_a100nv_8",
    directives=("--comment=pytorch",), modules=("cuda/12.1",), max_hours=48,
)  # fmt: skip
PBS = Cluster("gadi", "gadi.nci.org.au", "a", scheduler="pbs", partition="gpuvolta")


def _request(command: str = "python train.py --lr 0.1", **kw: object) -> JobRequest:
    return JobRequest("neuron", "/home/a/p", command, 2, 1.5, "a100", **kw)  # type: ignore[arg-type]


def test_slurm_script_carries_the_site_settings_and_the_command() -> None:
    script = jobscript.job_script(NEURON, _request(), PLAN)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for expected in (
        "#SBATCH --job-name=labgpu-a-1",
        "#SBATCH --time=01:30:00",
        "#SBATCH --partition=amd_a100nv_8",
        "#SBATCH --gres=gpu:a100:2",
        "#SBATCH --comment=pytorch",
        "#SBATCH --output=/scratch/a/labgpu/jobs/j/labgpu-stdout.txt",
        "module load cuda/12.1",
        "cd /scratch/a/labgpu/work/p-1 || exit 1",
        "python train.py --lr 0.1",
    ):
        assert expected in lines
    assert not any("--mem" in line for line in lines)
    assert jobscript.script_job_name(script) == "labgpu-a-1"


def test_gpu_request_without_type_and_without_gpus() -> None:
    assert jobscript.gpu_request(NEURON, 2, "") == "--gres=gpu:2"
    assert jobscript.gpu_request(NEURON, 0, "a100") == ""
    custom = Cluster("c", "h", "u", gpu_request="--gpus-per-node={type}:{count}")
    assert jobscript.gpu_request(custom, 4, "v100") == "--gpus-per-node=v100:4"


def test_pbs_script() -> None:
    request = JobRequest("gadi", "/home/a/p", "./run.sh", 1, 2, "")
    script = jobscript.job_script(PBS, request, PLAN)
    lines = script.splitlines()
    for expected in (
        "#PBS -N labgpu-a-1",
        "#PBS -l walltime=02:00:00",
        "#PBS -q gpuvolta",
        "#PBS -l select=1:ngpus=1",
        "#PBS -o /scratch/a/labgpu/jobs/j/labgpu-stdout.txt",
        "./run.sh",
    ):
        assert expected in lines
    assert jobscript.script_job_name(script) == "labgpu-a-1"


def test_qstat_json_documented_output() -> None:
    text = (DATA / "pbs" / "qstat_f_json.json").read_text()
    jobs = scheduler.parse_qstat_json(text, ZoneInfo("UTC"))
    queued = jobs["1001.pbs-head"]
    assert (queued.state, queued.raw_state) == (JobState.QUEUED, "Q")
    assert queued.reason.startswith("Not Running: Insufficient amount of resource: ngpus")
    running = jobs["1002.pbs-head"]
    assert (running.state, running.elapsed_s) == (JobState.RUNNING, 302)
    assert running.started_at == datetime(2026, 11, 28, 4, 1, 10, tzinfo=UTC)
    states = {k: (v.state, v.exit_code) for k, v in jobs.items() if v.raw_state == "F"}
    assert states == {
        "1003.pbs-head": (JobState.COMPLETED, 0),
        "1004.pbs-head": (JobState.FAILED, 2),
        "1005.pbs-head": (JobState.CANCELLED, 271),
        "1006.pbs-head": (JobState.TIMEOUT, -29),
    }
    assert jobs["1003.pbs-head"].ended_at == datetime(2026, 11, 27, 22, 10, 5, tzinfo=UTC)
    found = scheduler.by_name(jobs.values(), "labgpu-alice-261128040100-d4e5f6")
    assert found is not None
    assert found.remote_id == "1002.pbs-head"


def test_qstat_garbage_is_a_clear_error() -> None:
    with pytest.raises(LabgpuError, match="cannot read qstat's JSON"):
        scheduler.parse_qstat_json("qstat: illegal -F")


def test_scontrol_lines_with_spaces_in_values() -> None:
    jobs = scheduler.parse_scontrol((DATA / "slurm_scontrol.txt").read_text())
    pending = jobs["17"]
    assert (pending.state, pending.reason, pending.raw_state) == (
        JobState.QUEUED, "Resources", "PENDING",
    )  # fmt: skip
    assert pending.started_at is None
    failed = jobs["18"]
    assert (failed.state, failed.exit_code, failed.elapsed_s) == (JobState.FAILED, 3, 65)
    cancelled = jobs["19"]
    assert (cancelled.state, cancelled.exit_code) == (JobState.CANCELLED, 128 + 15)
    assert cancelled.elapsed_s == 86400 + 2 * 3600 + 3 * 60 + 4
    fields = scheduler.scontrol_fields("JobId=1 WorkDir=/a b/c StdOut=/x")
    assert fields["WorkDir"] == "/a b/c"


def test_squeue_and_sacct_rows() -> None:
    rows = scheduler.parse_squeue("12|labgpu-x|PENDING|0:00|Priority\n13|y|RUNNING|1:02:03|None\n")
    assert (rows["12"].state, rows["12"].reason) == (JobState.QUEUED, "Priority")
    assert (rows["13"].state, rows["13"].elapsed_s, rows["13"].reason) == (
        JobState.RUNNING, 3723, "",
    )  # fmt: skip
    acct = scheduler.parse_sacct(
        "20|labgpu-x|TIMEOUT|0:0|01:00:01|2026-11-28T01:00:00|2026-11-28T02:00:01\n"
        "20.batch|batch|CANCELLED|0:15|01:00:01|2026-11-28T01:00:00|2026-11-28T02:00:01\n"
        "21|other|CANCELLED by 1001|0:0|00:00:00|None|2026-11-28T02:00:01\n"
    )
    assert set(acct) == {"20", "21"}
    assert acct["20"].state is JobState.TIMEOUT
    assert acct["21"].state is JobState.CANCELLED
    merged = scheduler.merge({"20": acct["21"]}, acct)
    assert merged["20"] is acct["21"]


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", JobState.QUEUED),
        ("RUNNING", JobState.RUNNING),
        ("COMPLETING", JobState.RUNNING),
        ("COMPLETED", JobState.COMPLETED),
        ("OUT_OF_MEMORY", JobState.FAILED),
        ("NODE_FAIL", JobState.FAILED),
        ("CANCELLED by 0", JobState.CANCELLED),
        ("TIMEOUT", JobState.TIMEOUT),
        ("SOMETHING_NEW", JobState.UNKNOWN),
    ],
)
def test_slurm_state_mapping(raw: str, state: JobState) -> None:
    assert scheduler.slurm_state(raw) is state


def test_submit_outputs_and_estimate() -> None:
    assert scheduler.parse_sbatch_id("42\n") == "42"
    assert scheduler.parse_sbatch_id("42;cluster\n") == "42"
    assert scheduler.parse_qsub_id("1001.pbs-head\n") == "1001.pbs-head"
    with pytest.raises(LabgpuError, match="no job id"):
        scheduler.parse_sbatch_id("sbatch: error: something\n")
    text = "sbatch: Job 3 to start at 2026-11-28T05:00:00 using 1 processors on nodes n1 in p"
    assert scheduler.parse_test_only(text) is not None
    assert scheduler.parse_test_only("allocation failure") is None


def test_durations_and_walltime() -> None:
    assert parse_duration("2-01:00:00") == 2 * 86400 + 3600
    assert parse_duration("05:30") == 330
    assert parse_duration("UNLIMITED") is None
    assert hms(1.5) == "01:30:00"
    assert hms(0.01) == "00:01:00"
    assert hms(48) == "48:00:00"


def test_cluster_and_request_checks() -> None:
    with pytest.raises(LabgpuError, match="unknown scheduler 'lsf'"):
        check_cluster(Cluster("c", "h", "u", scheduler="lsf"))
    with pytest.raises(LabgpuError, match="must contain \\{count\\}"):
        check_cluster(Cluster("c", "h", "u", gpu_request="--gres=gpu:a100"))
    with pytest.raises(LabgpuError, match="not usable"):
        check_cluster(Cluster("bad name", "h", "u"))
    with pytest.raises(LabgpuError, match="at most 48 hours"):
        check_request(replace(_request(), hours=72), NEURON)
    with pytest.raises(LabgpuError, match="relative"):
        check_request(_request(results=("../etc",)), NEURON)
    with pytest.raises(LabgpuError, match="give the command"):
        check_request(_request(command="  "), NEURON)


def test_when_to_offer_a_cluster() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    soon = (now + timedelta(hours=2), now + timedelta(hours=10))
    friday = (now + timedelta(days=3), now + timedelta(days=3, hours=8))
    assert should_offer_cluster(None, now)
    assert not should_offer_cluster(soon, now)
    assert should_offer_cluster(friday, now)
    assert not should_offer_cluster(friday, now, deadline=now + timedelta(days=4))
    assert should_offer_cluster(soon, now, deadline=now + timedelta(hours=6))


def test_job_names_are_unique_and_tidy() -> None:
    now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    names = {new_job_name("Kim Ji-woo", now) for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith("labgpu-KimJiwoo-261128040000-") for n in names)
