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

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult
from labgpu.demo.planner import Planner, plan_maintenance
from labgpu.demo.reference import (
    A40,
    A4000,
    AHEAD_DAYS,
    BOOKED,
    DEFAULT_SEED,
    DEMO_USER,
    GENERATOR_VERSION,
    HISTORY_DAYS,
    HOUR,
    IDLE_POWER_W,
    MAX_POWER_W,
    RUNNING,
    DemoGpu,
    DemoJob,
    DemoLab,
    DemoMaintenance,
    DemoMember,
    GpuPoint,
    JobKind,
    SlotRequest,
    reference_gpus,
    reference_members,
)

__all__ = [
    "A40",
    "A4000",
    "AHEAD_DAYS",
    "BOOKED",
    "DEFAULT_SEED",
    "DEMO_USER",
    "GENERATOR_VERSION",
    "HISTORY_DAYS",
    "RUNNING",
    "DemoGpu",
    "DemoJob",
    "DemoLab",
    "DemoMaintenance",
    "DemoMember",
    "GpuPoint",
    "JobKind",
    "SlotRequest",
    "booked_jobs",
    "generate_lab",
    "gpu_point",
    "iter_points",
    "iter_probes",
    "probe_at",
    "reference_gpus",
    "reference_members",
    "servers_of",
]


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
    maintenance = plan_maintenance(gpus, now)
    planner = Planner(random.Random(f"plan-{seed}"), now, end, gpus, maintenance)
    jobs = planner.plan(members, start)
    unmet = tuple(planner.unmet)
    return DemoLab(seed, now, start, end, members, gpus, tuple(jobs), maintenance, unmet)


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
    return sorted((j for j in lab.jobs if j.kind in BOOKED), key=lambda j: (j.requested_at, j.key))


def servers_of(lab: DemoLab) -> dict[str, list[int]]:
    """Server name -> positions of its GPUs in ``lab.gpus``, in inventory order."""
    servers: dict[str, list[int]] = {}
    for i, gpu in enumerate(lab.gpus):
        servers.setdefault(gpu.server, []).append(i)
    return servers


#: Jobs the demo's members run in Docker, labelled with their owner (``labgpu.user``), so the
#: Live view shows ``lee.seoyeon (container lora-ft)``.
CONTAINERS = {"python finetune.py": "lora-ft", "python run_diffusion.py": "diffusion"}


def _container_of(command: str | None) -> str | None:
    return next((name for cmd, name in CONTAINERS.items() if (command or "").startswith(cmd)), None)


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
                    container=_container_of(point.command),
                    container_runtime="docker" if _container_of(point.command) else None,
                )
            )
            guest = _guest(point.owner, point.pid, info.uuid, ts)
            if guest is not None:
                processes.append(guest)
    return ProbeResult(f"{server}.lab.example", ts, tuple(readings), tuple(processes))


def _guest(owner: str, pid: int, uuid: str, ts: datetime) -> GpuProcess | None:
    """Now and then someone else runs on a GPU in use — on about one GPU in five, every other
    hour: another member's debugging run, or a notebook container nobody labelled (owner
    unknown) — so the demo shows what labgpu flags on a held GPU."""
    if pid % 5 or (ts.hour + pid // 5) % 2:
        return None
    members = [m.name for m in reference_members() if m.name != owner]
    if (pid // 5) % 2:
        return GpuProcess(uuid, pid + 100_000, 1200, "python3", None, 900, "jupyter-lab",
                          f"notebook-{pid:x}", "docker")  # fmt: skip
    guest = members[(pid // 10) % len(members)]
    return GpuProcess(uuid, pid + 100_000, 1400, "python3", guest, 600, "python debug.py")


def iter_probes(
    lab: DemoLab, start: datetime, end: datetime, step: timedelta
) -> Iterator[tuple[str, ProbeResult]]:
    """``(server, probe)`` for every server at every ``step`` in ``[start, end)``, time-major:
    what the collector would have stored, ready for ``store.inventory.store_probe(s)`` or a
    rollup path.
    """
    servers = servers_of(lab)
    ts = start
    while ts < end:
        for server, positions in servers.items():
            yield server, probe_at(lab, server, positions, ts)
        ts += step


# -- rolled-up history ----------------------------------------------------------------------

#: Samples per hour the demo's hourly rollups stand for (the demo feed samples once a minute).
SAMPLES_PER_HOUR = 60
#: Utilisation from which a GPU counts as busy (the rollups' threshold).
BUSY_UTIL_PCT = 5.0
_DIP = 45 * 3 / 47  # mean utilisation lost to the evaluation dips (3 minutes in 47)
_NOISE_SPAN = 7.0  # utilisation noise is +-7 points around a job's mean


@dataclass(frozen=True, slots=True)
class HourUsage:
    """What the rollup of one GPU's hour would hold: busy seconds, utilisation and memory
    means and maxima over ``SAMPLES_PER_HOUR`` samples, and the seconds each member used."""

    gpu: int
    start: datetime
    util_mean: float
    util_max: float
    mem_mean_mb: float
    mem_max_mb: int
    busy_s: float
    users: tuple[tuple[str, float], ...]


def _job_level(job: DemoJob, info: DemoGpu, elapsed: timedelta) -> tuple[float, float, float]:
    """(mean util, max util, memory MB) of a running job ``elapsed`` after its start."""
    if job.kind is JobKind.IDLE and elapsed > HOUR:
        return 1.5, 3.0, info.memory_mb * job.mem * 0.6
    top = min(100.0, job.util + _NOISE_SPAN)
    return max(0.0, min(100.0, job.util) - _DIP), top, info.memory_mb * job.mem * 0.985


def hour_usage(lab: DemoLab, start: datetime, end: datetime) -> Iterator[HourUsage]:
    """The model's hourly usage of every GPU over whole hours in ``[start, end)``, computed
    from the planned jobs' overlaps with each hour (no per-minute points: fast enough for a
    90-day build). Means agree with what ``gpu_point`` shows minute by minute to within its
    noise."""
    first = start.replace(minute=0, second=0, microsecond=0)
    hours = int((end - first) // HOUR)
    for gpu, info in enumerate(lab.gpus):
        busy = [0.0] * hours
        held = [0.0] * hours  # seconds with a process on the GPU, busy or not
        util = [0.0] * hours
        util_max = [0.0] * hours
        mem = [0.0] * hours
        mem_max = [1] * hours
        users: list[dict[str, float]] = [{} for _ in range(hours)]
        for job in lab.jobs_on(gpu):
            lo, hi = max(job.start, first), min(job.use_end, first + hours * HOUR)
            if hi <= lo:
                continue
            n = int((lo - first) // HOUR)
            while n < hours:
                h0 = first + n * HOUR
                a, b = max(lo, h0), min(hi, h0 + HOUR)
                if b <= a:
                    break
                seconds = (b - a).total_seconds()
                # The level at the middle of the overlap (an idle kernel drops after an hour).
                mean, top, used = _job_level(job, info, a + (b - a) / 2 - job.start)
                held[n] += seconds
                if mean >= BUSY_UTIL_PCT:  # an idle kernel holds the GPU without using it
                    busy[n] += seconds
                util[n] += mean * seconds
                util_max[n] = max(util_max[n], top)
                mem[n] += used * seconds
                mem_max[n] = max(mem_max[n], int(used))
                users[n][job.member] = users[n].get(job.member, 0.0) + seconds
                n += 1
        for n in range(hours):
            idle = 3600.0 - min(held[n], 3600.0)
            yield HourUsage(
                gpu=gpu,
                start=first + n * HOUR,
                util_mean=util[n] / 3600.0,
                util_max=util_max[n],
                mem_mean_mb=(mem[n] + idle * 1) / 3600.0,
                mem_max_mb=mem_max[n],
                busy_s=min(busy[n], 3600.0),
                users=tuple(sorted(users[n].items())),
            )
