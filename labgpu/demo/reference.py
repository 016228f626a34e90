"""The demo lab's vocabulary and the reference lab itself: members, GPUs, planned work.

Plain values, standard library only; ``demo_model`` plans the work and says what GPUs show.
"""

from __future__ import annotations

import bisect
import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# 2: unmet requests are real ones, offloaded to a simulated cluster; 3: hourly usage history;
# 4: requests longer than the rules are refusals, asked again within them; decisions dated;
# 5: bookings found by a slot search are recorded as requests (with the wait the lab imposed),
# and carry the members' projects; a booking that waited starts when GPUs came free
GENERATOR_VERSION = 5
DEFAULT_SEED = 6
HISTORY_DAYS = 90
AHEAD_DAYS = 12  # future bookings start at most this far ahead (the horizon is 14 days)
MAX_HOURS = 72
HOUR = timedelta(hours=1)
A4000, A40 = "NVIDIA RTX A4000", "NVIDIA A40"
MEMORY_MB = {A4000: 16376, A40: 46068}
IDLE_POWER_W = {A4000: 12.0, A40: 32.0}
MAX_POWER_W = {A4000: 140.0, A40: 300.0}


class JobKind(enum.StrEnum):
    """What became of a planned piece of work."""

    USED = "used"  # booked and used
    IDLE = "idle"  # booked, then left idle (the waste the PI wants to see)
    RELEASED = "released"  # booked, used, ended early by its holder
    CANCELLED = "cancelled"  # booked, cancelled before it started: no use
    REJECTED = "rejected"  # an A40 request the PI turned down: no use
    PENDING = "pending"  # a future A40 request still waiting for approval
    UNBOOKED = "unbooked"  # used without a booking


#: Kinds that run processes on their GPUs (for some or all of their window).
RUNNING = frozenset({JobKind.USED, JobKind.IDLE, JobKind.RELEASED, JobKind.UNBOOKED})
#: Kinds written as bookings.
BOOKED = frozenset(JobKind) - {JobKind.UNBOOKED}


@dataclass(frozen=True, slots=True)
class DemoMember:
    """A lab member and their habits."""

    name: str  # the login name bookings are made under
    display_name: str
    role: str  # student, pi or manager
    jobs_per_week: float
    weekend: float  # 0..1: how likely they start work on a weekend
    books: float  # 0..1: how often work is booked (else used without a booking)
    idles: float  # 0..1: how often a booking is left idle
    a40: float  # 0..1: how often they ask for the A40s
    max_gpus: int
    deadline_day: int  # days before "now" of a paper deadline (busier the two weeks before)
    project: str  # the project or grant their work is usually for (``PROJECTS``)


@dataclass(frozen=True, slots=True)
class DemoGpu:
    """One GPU of the reference lab."""

    server: str
    index: int
    uuid: str
    model: str
    memory_mb: int


@dataclass(frozen=True, slots=True)
class DemoJob:
    """A planned piece of work on one or more GPUs over ``[start, end)`` (UTC)."""

    key: int
    member: str
    gpus: tuple[int, ...]  # positions in ``DemoLab.gpus``
    start: datetime
    end: datetime
    kind: JobKind
    requested_at: datetime  # when the booking was made (bookings only)
    released_at: datetime | None  # RELEASED: when its holder ended it
    util: float  # mean utilisation while running, percent
    mem: float  # share of the GPU's memory used while running
    script: str
    note: str
    project: str | None = None  # the project it was booked (or run) for; None: none named
    searched: bool = False  # booked on what a slot search offered (its request is recorded)
    wanted_at: datetime | None = None  # when its member wanted it to start (None: at ``start``)

    @property
    def use_end(self) -> datetime:
        """When its processes stop (the release time of a released booking)."""
        return self.released_at or self.end


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """A slot search: work a member wanted to start at ``wanted_at``. In ``DemoLab.unmet``,
    one the lab did not serve (before "now"): no free GPUs for 48 hours, or a slot more than a
    day away (six hours before their deadline) when they took the app's advice to use the
    cluster: the lab's unmet demand, and the demo's offloaded jobs (``demo.offload_model``).
    Or (``refused_rule``) a first ask longer than the lab's 72 hours, which the rules refuse;
    the member then runs it on the cluster (``offloaded``) or asks the lab again within the
    rules. From ``demo.requests``: one the lab served, booked at ``earliest_at``.
    """

    member: str
    model: str
    count: int
    hours: int
    wanted_at: datetime
    earliest_at: datetime | None = None  # the lab's slot they did not wait for, if any
    refused_rule: str | None = None  # a rule refused it: not missing capacity
    offloaded: bool = True  # the member ran it on the cluster (else asked the lab again)
    project: str | None = None  # the project it was asked for
    asked_at: datetime | None = None  # when it was asked (None: when wanted, or now if later)

    @property
    def no_capacity(self) -> bool:
        """True if the lab lacked GPUs (the request is unmet demand)."""
        return self.refused_rule is None

    @property
    def wait(self) -> timedelta | None:
        """How much later than wanted the lab could start it (None: no slot offered)."""
        return None if self.earliest_at is None else self.earliest_at - self.wanted_at


def decided_at(requested: datetime, start: datetime, now: datetime) -> datetime:
    """When the PI decided on a request (an A40 one) made at ``requested`` for ``start``: a
    while after it was asked, and never after ``now`` (a decision dated in the future would
    count it as waiting)."""
    decided = min(requested + (start - requested) / 4, now - timedelta(minutes=1))
    return max(decided, requested)


def cancelled_at(requested: datetime, start: datetime) -> datetime:
    """When its member cancelled a booking made at ``requested`` for ``start``: half-way."""
    return requested + (start - requested) / 2


@dataclass(frozen=True, slots=True)
class DemoMaintenance:
    """GPUs blocked over ``[start, end)``."""

    gpus: tuple[int, ...]
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GpuPoint:
    """What one GPU shows at one moment; ``owner`` runs a process there (None: nobody)."""

    ts: datetime
    util: float
    mem_used_mb: int
    owner: str | None
    temperature_c: float
    power_w: float
    pid: int | None = None
    command: str | None = None
    elapsed_s: int | None = None


@dataclass(slots=True)
class DemoLab:
    """The whole plan: inventory, members, work and maintenance between ``start`` and ``end``."""

    seed: int
    now: datetime
    start: datetime
    end: datetime
    members: tuple[DemoMember, ...]
    gpus: tuple[DemoGpu, ...]
    jobs: tuple[DemoJob, ...]
    maintenance: tuple[DemoMaintenance, ...]
    unmet: tuple[SlotRequest, ...] = ()
    _starts: list[list[datetime]] = field(default_factory=list, repr=False)
    _jobs_on: list[list[DemoJob]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        on: list[list[DemoJob]] = [[] for _ in self.gpus]
        for job in self.jobs:
            if job.kind in RUNNING:
                for gpu in job.gpus:
                    on[gpu].append(job)
        for jobs in on:
            jobs.sort(key=lambda j: j.start)
        self._jobs_on = on
        self._starts = [[j.start for j in jobs] for jobs in on]

    def job_at(self, gpu: int, ts: datetime) -> DemoJob | None:
        """The job whose processes run on ``gpu`` at ``ts``, if any."""
        i = bisect.bisect_right(self._starts[gpu], ts) - 1
        if i < 0:
            return None
        job = self._jobs_on[gpu][i]
        return job if ts < job.use_end else None

    def jobs_on(self, gpu: int) -> list[DemoJob]:
        """The jobs running processes on ``gpu`` (by start)."""
        return self._jobs_on[gpu]

    def member(self, name: str) -> DemoMember:
        """The member called ``name``."""
        return next(m for m in self.members if m.name == name)


# -- the reference lab ----------------------------------------------------------------------

VISION, LLM, MEDICAL, INTERNAL = "nrf-vision-2025", "iitp-llm", "nrf-medical-2024", "internal"
#: The lab's projects and grants (name, title): made up, like the members.
PROJECTS = (
    (VISION, "Vision foundation models (NRF, 2025-2027)"),
    (LLM, "Efficient training of large language models (IITP)"),
    (MEDICAL, "Self-supervised medical imaging (NRF, 2024-2026)"),
    (INTERNAL, "Lab infrastructure, courses and pilot studies"),
)

_MEMBERS = (
    # name, display name, role, jobs/week, weekend, books, idles, a40, max GPUs, deadline day,
    # usual project
    ("park.jiwon", "Park Jiwon", "pi", 1.0, 0.1, 1.0, 0.3, 0.5, 2, 40, VISION),
    ("lee.seungho", "Lee Seungho", "manager", 4.0, 0.2, 0.9, 0.1, 0.3, 3, 20, INTERNAL),
    ("kim.minjun", "Kim Minjun", "student", 9.0, 0.5, 0.85, 0.15, 0.25, 4, 6, LLM),
    ("choi.yuna", "Choi Yuna", "student", 8.0, 0.3, 0.95, 0.05, 0.2, 4, 25, VISION),
    ("jung.hyunwoo", "Jung Hyunwoo", "student", 7.0, 0.6, 0.6, 0.2, 0.1, 4, 50, MEDICAL),
    ("kang.seoyeon", "Kang Seoyeon", "student", 7.0, 0.2, 0.9, 0.1, 0.2, 4, 6, LLM),
    ("yoon.jaehyun", "Yoon Jaehyun", "student", 6.0, 0.4, 0.7, 0.3, 0.1, 3, 70, MEDICAL),
    ("han.jisoo", "Han Jisoo", "student", 7.0, 0.3, 0.9, 0.1, 0.15, 4, 25, VISION),
    ("lim.dohyun", "Lim Dohyun", "student", 5.0, 0.7, 0.5, 0.2, 0.0, 3, 60, MEDICAL),
    ("shin.haeun", "Shin Haeun", "student", 6.0, 0.2, 0.95, 0.05, 0.2, 4, 6, LLM),
    ("oh.taeyang", "Oh Taeyang", "student", 4.0, 0.3, 0.8, 0.4, 0.1, 3, 80, INTERNAL),
    ("ana.silva", "Ana Silva", "student", 6.0, 0.2, 0.9, 0.1, 0.2, 4, 25, VISION),
    ("rahul.mehta", "Rahul Mehta", "student", 7.0, 0.5, 0.75, 0.15, 0.15, 4, 50, MEDICAL),
    ("li.wei", "Li Wei", "student", 6.0, 0.3, 0.9, 0.1, 0.3, 3, 6, LLM),
    ("emma.novak", "Emma Novak", "student", 3.0, 0.1, 0.9, 0.2, 0.0, 2, 35, VISION),
)
#: The student the demo runs as.
DEMO_USER = "kim.minjun"
NOTES = (
    "ViT ablations",
    "LLM pretraining, small config",
    "LoRA fine-tuning",
    "diffusion baseline",
    "evaluation runs",
    "debugging data loader",
    "hyperparameter sweep",
)
SCRIPTS = (
    "python train.py --config configs/vit_base.yaml",
    "python -m torch.distributed.run --nproc_per_node={n} train_llm.py",
    "python finetune.py --model llama-3-8b --lora",
    "python run_diffusion.py --steps 200000",
    "python eval.py --ckpt runs/latest.pt",
    "jupyter-lab --no-browser --port 8890",
    "python sweep.py --trial {k}",
)


def reference_members() -> tuple[DemoMember, ...]:
    """The 15 members of the reference lab: a PI, a manager and 13 students."""
    return tuple(DemoMember(*row) for row in _MEMBERS)


def reference_gpus(seed: int = DEFAULT_SEED) -> tuple[DemoGpu, ...]:
    """12 servers with 4 RTX A4000 each (gpu01..gpu12) and one with 4 A40 (a40-01)."""
    rng = random.Random(f"gpus-{seed}")
    hosts = [(f"gpu{n:02d}", A4000) for n in range(1, 13)] + [("a40-01", A40)]
    gpus = []
    for server, model in hosts:
        for index in range(4):
            uuid = "GPU-" + "-".join(
                f"{rng.getrandbits(bits):0{bits // 4}x}" for bits in (32, 16, 16, 16, 48)
            )
            gpus.append(DemoGpu(server, index, uuid, model, MEMORY_MB[model]))
    return tuple(gpus)
