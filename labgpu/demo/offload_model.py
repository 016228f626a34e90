"""The demo lab's offloaded jobs: its unmet requests, sent to a simulated KISTI *Neuron*.

Pure and seeded: ``plan_offload(lab)`` says of each ``lab.unmet`` request when it was
submitted, how long it waited in the queue, how long it ran and how it ended; ``status_at``
is what the scheduler would say of it at any moment. The demo stores the status at
``lab.now`` and its refresh moves jobs on from this plan, never asking a cluster. Stdlib only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from labgpu.core.offload.jobs import Cluster, JobState, JobStatus, new_job_name
from labgpu.demo.reference import A40, DEMO_USER, DemoLab, SlotRequest

#: Modelled on KISTI's Neuron (Slurm, OTP login); the host is not a real one.
DEMO_CLUSTER = Cluster(
    name="neuron",
    host="neuron.example.org",
    user=DEMO_USER,
    scheduler="slurm",
    partition="cas_v100_4",
    gpu_request="--gres=gpu:{count}",
    directives=("--comment=pytorch",),
    base_dir="/scratch/$USER/labgpu",
    modules=("cuda/11.4",),
    max_hours=48.0,
    login="interactive",
)
#: Where work that wanted the A40s goes: the A100 nodes (the member edits the partition line).
A100_PARTITION = "amd_a100nv_8"
#: Batch work only (no notebooks on a shared cluster): (project folder, command).
COMMANDS = (
    ("vit-ablations", "python train.py --config configs/vit_base.yaml"),
    ("llm-pretrain", "torchrun --nproc_per_node={n} train_llm.py --config configs/small.yaml"),
    ("lora", "python finetune.py --model llama-3-8b --lora"),
    ("diffusion", "python run_diffusion.py --steps 200000"),
    ("sweep", "python sweep.py --trial {k}"),
)
#: Slurm job ids: Neuron's counter when the demo's history starts, and jobs per minute since.
FIRST_JOB_ID, JOBS_PER_MINUTE = 3_812_000, 3


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """An offloaded job's whole life, decided in advance (``started_at`` None: never ran)."""

    name: str
    member: str
    gpus: int
    hours: float  # walltime asked for
    partition: str
    folder: str  # the project folder it was sent from
    project: str | None  # the project or grant it is for (the request's)
    command: str
    remote_id: str
    submitted_at: datetime
    started_at: datetime | None
    ended_at: datetime
    final: JobState
    raw_final: str
    exit_code: int
    reason: str  # why it waits while queued: Priority or Resources

    @property
    def elapsed_s(self) -> int:
        """Seconds it ran in all."""
        if self.started_at is None:
            return 0
        return int((self.ended_at - self.started_at).total_seconds())


def plan_offload(lab: DemoLab) -> list[PlannedJob]:
    """One job per request of ``lab`` its member took to the cluster (all the unmet ones, and
    some the rules refused), by submission time (same lab, same jobs)."""
    rng = random.Random(f"offload-{lab.seed}")
    jobs = [_plan_one(rng, lab, request) for request in lab.unmet if request.offloaded]
    return sorted(jobs, key=lambda j: (j.submitted_at, j.name))


def _plan_one(rng: random.Random, lab: DemoLab, request: SlotRequest) -> PlannedJob:
    delay = timedelta(minutes=rng.randint(8, 90), seconds=rng.randint(0, 59))
    latest = max(request.wanted_at, lab.now - timedelta(minutes=2))
    submitted = min(request.wanted_at + delay, latest)
    # "You use it two days, then wait a week": a day as a rule, hours or days at times.
    wait_h = min(144.0, rng.lognormvariate(math.log(24.0), 1.0))
    walltime = float(min(request.hours, DEMO_CLUSTER.max_hours or request.hours))
    folder, command = COMMANDS[rng.randrange(len(COMMANDS))]
    start = (submitted + timedelta(hours=wait_h)).replace(microsecond=0)
    started, ended, final, raw, code = _outcome(rng, start, walltime, submitted)
    minutes = int((submitted - lab.start).total_seconds() // 60)
    return PlannedJob(
        name=new_job_name(request.member, submitted, f"{rng.getrandbits(24):06x}"),
        member=request.member,
        gpus=request.count,
        hours=walltime,
        partition=A100_PARTITION if request.model == A40 else DEMO_CLUSTER.partition,
        folder=folder,
        project=request.project,
        command=command.format(n=request.count, k=rng.randint(1, 40)),
        remote_id=str(FIRST_JOB_ID + minutes * JOBS_PER_MINUTE + rng.randrange(JOBS_PER_MINUTE)),
        submitted_at=submitted.replace(microsecond=0),
        started_at=started,
        ended_at=ended,
        final=final,
        raw_final=raw,
        exit_code=code,
        reason="Priority" if wait_h > 24 else "Resources",
    )


def _outcome(
    rng: random.Random, start: datetime, walltime: float, submitted: datetime
) -> tuple[datetime | None, datetime, JobState, str, int]:
    """(started, ended, state, Slurm's word, exit code) of a job that may start at ``start``."""
    wall = timedelta(hours=walltime)
    roll = rng.random()
    if roll < 0.62:
        ran = wall * rng.uniform(0.45, 0.95)
        return start, _s(start + ran), JobState.COMPLETED, "COMPLETED", 0
    if roll < 0.77:
        ran = wall * rng.uniform(0.02, 0.4)
        code = rng.choice((1, 1, 2, 137))  # 137: killed for memory
        return start, _s(start + ran), JobState.FAILED, "FAILED", code
    if roll < 0.87:
        return start, _s(start + wall + timedelta(seconds=47)), JobState.TIMEOUT, "TIMEOUT", 0
    if rng.random() < 0.5:  # cancelled while it waited (the lab had GPUs again)
        gave_up = _s(submitted + (start - submitted) * rng.uniform(0.2, 0.9))
        return None, gave_up, JobState.CANCELLED, "CANCELLED by 51204", 0
    ran = wall * rng.uniform(0.1, 0.6)
    return start, _s(start + ran), JobState.CANCELLED, "CANCELLED by 51204", 128 + 15


def _s(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def status_at(job: PlannedJob, ts: datetime) -> JobStatus:
    """What Slurm says of ``job`` at ``ts`` (queued, running, or how it ended)."""
    if ts >= job.ended_at:
        return JobStatus(
            job.remote_id, job.final, job.raw_final, "", job.exit_code, job.elapsed_s,
            job.name, job.started_at, job.ended_at,
        )  # fmt: skip
    if job.started_at is None or ts < job.started_at:
        return JobStatus(job.remote_id, JobState.QUEUED, "PENDING", job.reason, None, 0, job.name)
    ran = int((ts - job.started_at).total_seconds())
    return JobStatus(
        job.remote_id, JobState.RUNNING, "RUNNING", "", None, ran, job.name, job.started_at
    )
