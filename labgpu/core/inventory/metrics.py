"""What the lab's metrics endpoint says (``labgpu collect --metrics-port``), as plain values.

One family per figure, one sample per GPU, labelled with what a lab's Grafana groups by: the
server, the GPU's index and uuid, its model, who holds it now (the booking's member, empty when
none) and the members whose processes run on it (comma-joined, sorted). A GPU with no reading
yet, or whose server is not online, has no utilisation, memory, temperature or power sample:
a gap in the graph, never a zero that did not happen. ``services/inventory/metrics`` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from labgpu.core.inventory.servers import GpuStatus, ServerState

#: The labels of every per-GPU sample, in order.
GPU_LABELS = ("server", "gpu", "uuid", "model", "holder", "users")


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric: its name (without the ``labgpu_`` prefix added when served), what it means,
    and its samples as ``(labels, value)``."""

    name: str
    help: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


def gpu_families(
    gpus: Sequence[GpuStatus], holders: Mapping[str, str], now: datetime
) -> list[MetricFamily]:
    """The per-GPU and per-server families for one scrape; ``holders`` maps a GPU's uuid to
    the member holding it now."""
    util = MetricFamily(
        "gpu_utilization_percent", "GPU utilisation (nvidia-smi), percent", GPU_LABELS
    )
    used = MetricFamily("gpu_memory_used_bytes", "GPU memory in use", GPU_LABELS)
    total = MetricFamily("gpu_memory_total_bytes", "GPU memory in all", GPU_LABELS)
    temp = MetricFamily("gpu_temperature_celsius", "GPU temperature", GPU_LABELS)
    power = MetricFamily("gpu_power_watts", "GPU power draw", GPU_LABELS)
    booked = MetricFamily("gpu_booked", "1 while a booking holds the GPU", GPU_LABELS)
    procs = MetricFamily("gpu_processes", "compute processes on the GPU", GPU_LABELS)
    age = MetricFamily("gpu_sample_age_seconds", "how old the GPU's latest sample is", GPU_LABELS)
    up = MetricFamily("server_up", "1 while the server answers the collector", ("server", "state"))
    servers: dict[str, ServerState] = {}
    for gpu in gpus:
        servers.setdefault(gpu.server, gpu.server_state)
        holder = holders.get(gpu.uuid, "")
        users = ",".join(sorted(gpu.owners))
        labels = (gpu.server, str(gpu.index), gpu.uuid, gpu.model, holder, users)
        booked.samples.append((labels, 1.0 if holder else 0.0))
        if gpu.memory_total_mb is not None:
            total.samples.append((labels, gpu.memory_total_mb * 1024.0 * 1024.0))
        if gpu.sampled_at is not None:
            age.samples.append((labels, max(0.0, (now - gpu.sampled_at).total_seconds())))
        if gpu.server_state is not ServerState.ONLINE or gpu.sampled_at is None:
            continue
        procs.samples.append((labels, float(len(gpu.processes))))
        for family, value in (
            (util, gpu.utilization_pct),
            (temp, gpu.temperature_c),
            (power, gpu.power_w),
            (used, None if gpu.memory_used_mb is None else gpu.memory_used_mb * 1024.0 * 1024.0),
        ):
            if value is not None:
                family.samples.append((labels, float(value)))
    for name, state in sorted(servers.items()):
        up.samples.append(((name, state.value), 1.0 if state is ServerState.ONLINE else 0.0))
    return [util, used, total, temp, power, booked, procs, age, up]
