"""The demo lab as a pure, seeded model: who works when, on which GPUs, booked or not.

``generate_lab(seed, now)`` plans 90 days of work (and two weeks of future bookings) for the
reference lab; ``gpu_point(lab, gpu, ts)`` says what one GPU shows at any moment of that span,
without state, so any step and any slice of history can be computed on its own (the demo fills
the recent window; the rollup path can be fed the whole 90 days). Stdlib only.

The plan respects the default booking rules (no overlap, at most 72 h and 4 GPUs per booking,
one live booking per member at a time, start within the 14-day horizon of the request, no
booking across a maintenance window), so the real booking code accepts every generated booking.
"""

from __future__ import annotations

import bisect
import enum
import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from labgpu.core.inventory import GpuProcess, GpuReading, ProbeResult

#: Bump when the model changes: a demo database built by another version is rebuilt.
GENERATOR_VERSION = 1
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

    @property
    def use_end(self) -> datetime:
        """When its processes stop (the release time of a released booking)."""
        return self.released_at or self.end


@dataclass(frozen=True, slots=True)
class UnmetRequest:
    """Work a member wanted to start at ``wanted_at`` that found no free GPUs for 48 hours.

    The lab's unmet demand, and the jobs a member would have sent to a shared cluster: the
    source for the demo's offloaded jobs once the offload tables exist.
    """

    member: str
    model: str
    count: int
    hours: int
    wanted_at: datetime


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
    unmet: tuple[UnmetRequest, ...] = ()
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

    def member(self, name: str) -> DemoMember:
        """The member called ``name``."""
        return next(m for m in self.members if m.name == name)


# -- the reference lab ----------------------------------------------------------------------

_MEMBERS = (
    # name, display name, role, jobs/week, weekend, books, idles, a40, max GPUs, deadline day
    ("park.jiwon", "Park Jiwon", "pi", 1.0, 0.1, 1.0, 0.3, 0.5, 2, 40),
    ("lee.seungho", "Lee Seungho", "manager", 4.0, 0.2, 0.9, 0.1, 0.3, 3, 20),
    ("kim.minjun", "Kim Minjun", "student", 9.0, 0.5, 0.85, 0.15, 0.25, 4, 6),
    ("choi.yuna", "Choi Yuna", "student", 8.0, 0.3, 0.95, 0.05, 0.2, 4, 25),
    ("jung.hyunwoo", "Jung Hyunwoo", "student", 7.0, 0.6, 0.6, 0.2, 0.1, 4, 50),
    ("kang.seoyeon", "Kang Seoyeon", "student", 7.0, 0.2, 0.9, 0.1, 0.2, 4, 6),
    ("yoon.jaehyun", "Yoon Jaehyun", "student", 6.0, 0.4, 0.7, 0.3, 0.1, 3, 70),
    ("han.jisoo", "Han Jisoo", "student", 7.0, 0.3, 0.9, 0.1, 0.15, 4, 25),
    ("lim.dohyun", "Lim Dohyun", "student", 5.0, 0.7, 0.5, 0.2, 0.0, 3, 60),
    ("shin.haeun", "Shin Haeun", "student", 6.0, 0.2, 0.95, 0.05, 0.2, 4, 6),
    ("oh.taeyang", "Oh Taeyang", "student", 4.0, 0.3, 0.8, 0.4, 0.1, 3, 80),
    ("ana.silva", "Ana Silva", "student", 6.0, 0.2, 0.9, 0.1, 0.2, 4, 25),
    ("rahul.mehta", "Rahul Mehta", "student", 7.0, 0.5, 0.75, 0.15, 0.15, 4, 50),
    ("li.wei", "Li Wei", "student", 6.0, 0.3, 0.9, 0.1, 0.3, 3, 6),
    ("emma.novak", "Emma Novak", "student", 3.0, 0.1, 0.9, 0.2, 0.0, 2, 35),
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


# -- planning ---------------------------------------------------------------------------------


def generate_lab(
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    days: int = HISTORY_DAYS,
    ahead_days: int = AHEAD_DAYS,
) -> DemoLab:
    """Plan ``days`` of history before ``now`` and ``ahead_days`` of bookings after it.

    The same ``seed`` and ``now`` give the same lab, to the byte.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    start = (now - timedelta(days=days)).replace(minute=0)
    end = now + timedelta(days=ahead_days)
    members, gpus = reference_members(), reference_gpus(seed)
    maintenance = _maintenance(gpus, now)
    planner = _Planner(random.Random(f"plan-{seed}"), now, end, gpus, maintenance)
    jobs = planner.plan(members, start)
    unmet = tuple(planner.unmet)
    return DemoLab(seed, now, start, end, members, gpus, tuple(jobs), maintenance, unmet)


def _maintenance(gpus: Sequence[DemoGpu], now: datetime) -> tuple[DemoMaintenance, ...]:
    day = now.replace(hour=0, minute=0)

    def server(name: str) -> tuple[int, ...]:
        return tuple(i for i, g in enumerate(gpus) if g.server == name)

    return (
        DemoMaintenance(
            server("gpu07"),
            day - timedelta(days=33, hours=-1),
            day - timedelta(days=32, hours=-1),
            "driver and CUDA upgrade",
        ),
        DemoMaintenance(
            server("gpu03"),
            day + timedelta(days=4, hours=1),
            day + timedelta(days=4, hours=7),
            "power supply replacement",
        ),
    )


class _Planner:
    """Places members' work, in time order, on GPUs that are free (first fit)."""

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        end: datetime,
        gpus: Sequence[DemoGpu],
        maintenance: Sequence[DemoMaintenance],
    ) -> None:
        self.rng, self.now, self.end, self.gpus = rng, now, end, gpus
        self.busy: list[list[tuple[datetime, datetime]]] = [[] for _ in gpus]
        for block in maintenance:
            for gpu in block.gpus:
                self.busy[gpu].append((block.start, block.end))
        self.jobs: list[DemoJob] = []
        self.unmet: list[UnmetRequest] = []

    def plan(self, members: Sequence[DemoMember], start: datetime) -> list[DemoJob]:
        queue = [(start + self._gap(m, start), n, m) for n, m in enumerate(members)]
        heapq.heapify(queue)
        while queue:
            at, n, member = heapq.heappop(queue)
            if at >= self.end:
                continue
            finished = self._place(member, at)
            heapq.heappush(queue, (finished + self._gap(member, finished), n, member))
        return sorted(self.jobs, key=lambda j: (j.start, j.key))

    def _gap(self, member: DemoMember, after: datetime) -> timedelta:
        """Time until the member's next piece of work: shorter near their deadline."""
        rate = 1.5 * member.jobs_per_week / (7 * 24)
        deadline = self.now - timedelta(days=member.deadline_day)
        if timedelta(0) <= deadline - after <= timedelta(days=14):
            rate *= 2.5
        hours = self.rng.expovariate(rate) if rate else 1e6
        moment = after + timedelta(hours=max(1.0, hours))
        return _working_hour(self.rng, member, moment) - after

    def _place(self, member: DemoMember, at: datetime) -> datetime:
        """Plan one job from ``at`` (or a little later); returns when the member is free again."""
        wants_a40 = self.rng.random() < member.a40
        model = A40 if wants_a40 else A4000
        count = self.rng.randint(1, 2) if wants_a40 else self.rng.randint(2, member.max_gpus)
        hours = min(MAX_HOURS, max(2, round(self.rng.lognormvariate(3.2, 0.6))))
        for shift in range(0, 48, 3):
            start = at + timedelta(hours=shift)
            window = (start, start + timedelta(hours=hours))
            chosen = self._free(model, count, window)
            if chosen is not None and window[1] <= self.end:
                self._add(member, chosen, window, model)
                return window[1]
        if at < self.end:
            self.unmet.append(UnmetRequest(member.name, model, count, hours, at))
        return at + timedelta(hours=12)  # the lab was full: try again later

    def _free(
        self, model: str, count: int, window: tuple[datetime, datetime]
    ) -> tuple[int, ...] | None:
        """``count`` free GPUs of ``model``, on as few servers as possible."""
        free = [
            i
            for i, g in enumerate(self.gpus)
            if g.model == model
            and not any(a < window[1] and window[0] < b for a, b in self.busy[i])
        ]
        by_server: dict[str, list[int]] = {}
        for i in free:
            by_server.setdefault(self.gpus[i].server, []).append(i)
        servers = sorted(by_server.values(), key=lambda ids: (-len(ids), self.rng.random()))
        picked = [i for ids in servers for i in ids][:count]
        return tuple(sorted(picked)) if len(picked) == count else None

    def _add(
        self, member: DemoMember, gpus: tuple[int, ...], window: tuple[datetime, datetime], m: str
    ) -> None:
        start, end = window
        kind = self._kind(member, start, m)
        released = None
        if kind is JobKind.RELEASED:
            used = (end - start) * self.rng.uniform(0.3, 0.8)
            released = (start + used).replace(second=0, microsecond=0)
            if released <= start or (start <= self.now and released > self.now):
                kind, released = JobKind.USED, None
        if kind in BOOKED or kind is JobKind.UNBOOKED:
            for gpu in gpus:
                self.busy[gpu].append(window)
        lead = timedelta(hours=self.rng.uniform(0.1, 72))
        requested = max(start - lead, start - timedelta(days=13))
        requested = min(requested, self.now - timedelta(minutes=5))
        task = self.rng.randrange(len(SCRIPTS))
        script = SCRIPTS[task].format(n=len(gpus), k=self.rng.randint(1, 40))
        self.jobs.append(
            DemoJob(
                key=len(self.jobs) + 1,
                member=member.name,
                gpus=gpus,
                start=start,
                end=end,
                kind=kind,
                requested_at=requested.replace(microsecond=0),
                released_at=released,
                util=self.rng.uniform(55, 98),
                mem=self.rng.uniform(0.35, 0.95),
                script=script,
                note=NOTES[task] if self.rng.random() < 0.7 else "",
            )
        )

    def _kind(self, member: DemoMember, start: datetime, model: str) -> JobKind:
        roll = self.rng.random()
        future = start > self.now
        if model == A40:
            if future and roll < 0.5:
                return JobKind.PENDING
            if roll > 0.85:
                return JobKind.REJECTED
        elif self.rng.random() > member.books and not future:
            return JobKind.UNBOOKED
        roll = self.rng.random()
        if roll < 0.05:
            return JobKind.CANCELLED
        if roll < 0.05 + member.idles:
            return JobKind.IDLE
        if roll < 0.15 + member.idles and not future:
            return JobKind.RELEASED
        return JobKind.USED


def _working_hour(rng: random.Random, member: DemoMember, moment: datetime) -> datetime:
    """Move ``moment`` into the member's working time: weekdays 9-23, weekends sometimes."""
    moment = moment.replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 8):
        weekend = moment.weekday() >= 5
        awake = 9 <= (moment.hour + 9) % 24 <= 23  # Korean local time (UTC+9)
        if awake and (not weekend or rng.random() < member.weekend):
            return moment
        moment += HOUR
    return moment


# -- what a GPU shows -----------------------------------------------------------------------


def _noise(seed: int, gpu: int, ts: datetime) -> float:
    """A deterministic value in [0, 1) for (seed, gpu, minute): no state, any order."""
    x = (seed * 0x9E3779B97F4A7C15 + gpu * 0xBF58476D1CE4E5B9 + int(ts.timestamp()) // 60) & (
        2**64 - 1
    )
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return ((x ^ (x >> 31)) & (2**53 - 1)) / 2**53


def gpu_point(lab: DemoLab, gpu: int, ts: datetime) -> GpuPoint:
    """What GPU number ``gpu`` of ``lab`` shows at ``ts`` (pure; any ``ts`` in the lab's span)."""
    info = lab.gpus[gpu]
    noise = _noise(lab.seed, gpu, ts)
    job = lab.job_at(gpu, ts)
    if job is None:
        return _idle_point(info, ts, noise)
    elapsed = ts - job.start
    if job.kind is JobKind.IDLE and elapsed > HOUR:
        # A notebook kernel keeps its memory and does nothing: booked, held, wasted.
        util = 3 * noise
        mem = int(info.memory_mb * job.mem * 0.6)
    else:
        dip = (elapsed // timedelta(minutes=1)) % 47 < 3  # evaluation every ~47 minutes
        util = min(100.0, max(0.0, job.util + (noise - 0.5) * 14 - (45 if dip else 0)))
        mem = int(info.memory_mb * job.mem * (0.97 + 0.03 * noise))
    return GpuPoint(
        ts=ts,
        util=round(util, 1),
        mem_used_mb=mem,
        owner=job.member,
        temperature_c=round(34 + util * 0.45 + 3 * noise, 1),
        power_w=round(_power(info.model, util), 1),
        pid=1000 + (job.key * 7919 + gpu) % 90000,
        command=job.script,
        elapsed_s=int(elapsed.total_seconds()),
    )


def _idle_point(info: DemoGpu, ts: datetime, noise: float) -> GpuPoint:
    return GpuPoint(
        ts=ts,
        util=0.0,
        mem_used_mb=1,
        owner=None,
        temperature_c=round(30 + 3 * noise, 1),
        power_w=round(IDLE_POWER_W[info.model] + 2 * noise, 1),
    )


def _power(model: str, util: float) -> float:
    idle, top = IDLE_POWER_W[model], MAX_POWER_W[model]
    return idle + (top - idle) * util / 100


def iter_points(
    lab: DemoLab, start: datetime, end: datetime, step: timedelta
) -> Iterator[tuple[int, GpuPoint]]:
    """``(gpu, point)`` for every GPU at every ``step`` in ``[start, end)``, time-major."""
    ts = start
    while ts < end:
        for gpu in range(len(lab.gpus)):
            yield gpu, gpu_point(lab, gpu, ts)
        ts += step


def booked_jobs(lab: DemoLab) -> list[DemoJob]:
    """The jobs that are bookings (every kind but use without a booking), by request time."""
    return sorted(
        (j for j in lab.jobs if j.kind in BOOKED), key=lambda j: (j.requested_at, j.key)
    )


def servers_of(lab: DemoLab) -> dict[str, list[int]]:
    """Server name -> positions of its GPUs in ``lab.gpus``, in inventory order."""
    servers: dict[str, list[int]] = {}
    for i, gpu in enumerate(lab.gpus):
        servers.setdefault(gpu.server, []).append(i)
    return servers


def probe_at(lab: DemoLab, server: str, gpus: Sequence[int], ts: datetime) -> ProbeResult:
    """What probing ``server`` (its GPUs at positions ``gpus``) at ``ts`` would have returned."""
    readings, processes = [], []
    for i in gpus:
        info, point = lab.gpus[i], gpu_point(lab, i, ts)
        readings.append(
            GpuReading(
                index=info.index,
                uuid=info.uuid,
                name=info.model,
                memory_total_mb=info.memory_mb,
                memory_used_mb=point.mem_used_mb,
                utilization_pct=point.util,
                temperature_c=point.temperature_c,
                power_w=point.power_w,
            )
        )
        if point.owner is not None and point.pid is not None:
            processes.append(
                GpuProcess(
                    gpu_uuid=info.uuid,
                    pid=point.pid,
                    used_memory_mb=point.mem_used_mb,
                    process_name="python3" if "python" in (point.command or "") else "jupyter",
                    user=point.owner,
                    elapsed_s=point.elapsed_s,
                    command=point.command,
                )
            )
    return ProbeResult(f"{server}.lab.example", ts, tuple(readings), tuple(processes))


def iter_probes(
    lab: DemoLab, start: datetime, end: datetime, step: timedelta
) -> Iterator[tuple[str, ProbeResult]]:
    """``(server, probe)`` for every server at every ``step`` in ``[start, end)``, time-major:
    what the collector would have stored, ready for ``Store.store_probe(s)`` or a rollup path.
    """
    servers = servers_of(lab)
    ts = start
    while ts < end:
        for server, positions in servers.items():
            yield server, probe_at(lab, server, positions, ts)
        ts += step
