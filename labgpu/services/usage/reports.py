"""What the usage service hands the graphs and the PI's report besides plain rows: the GPUs ×
time heatmap and the lab's totals over a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Mean utilisation per GPU (rows, ``labels``) and time step (columns from ``starts``)."""

    labels: list[str]
    starts: list[int]
    step: int
    values: list[list[float | None]]


@dataclass(frozen=True, slots=True)
class Summary:
    """The lab over a range, in GPU-hours: the figures at the top of the PI's report.

    Figures count time from ``start`` up to ``until``: the range's ``end``, or now for a
    range that runs into the future (``partial``). ``history_from``: the oldest usage kept.
    """

    start: datetime
    end: datetime
    until: datetime
    gpus: int
    capacity_h: float
    observed_h: float
    busy_h: float
    mean_util_pct: float | None
    booked_h: float
    process_h: float
    idle_booked_h: float
    unbooked_h: float
    offloaded_h: float
    offloaded_jobs: int
    unmet: int
    unmet_gpu_h: float
    refused: int
    refused_by_rule: dict[str, int]
    pending: int
    rejected: int
    history_from: datetime | None

    @property
    def busy_pct(self) -> float | None:
        """Busy share of the observed GPU-time."""
        return 100.0 * self.busy_h / self.observed_h if self.observed_h else None

    @property
    def booked_pct(self) -> float | None:
        """Booked GPU-hours as a share of capacity."""
        return 100.0 * self.booked_h / self.capacity_h if self.capacity_h else None

    @property
    def partial(self) -> bool:
        """True if the range runs past now: its figures stop at ``until``."""
        return self.until < self.end

    def as_dict(self) -> dict[str, object]:
        """The totals for ``labgpu usage --json`` (GPU-hours rounded to 3 decimals)."""

        def hours(value: float) -> float:
            return round(value, 3)

        return {
            "gpus": self.gpus,
            "capacity_gpu_hours": hours(self.capacity_h),
            "observed_gpu_hours": hours(self.observed_h),
            "busy_gpu_hours": hours(self.busy_h),
            "busy_pct": None if self.busy_pct is None else round(self.busy_pct, 1),
            "mean_util_pct": None if self.mean_util_pct is None else round(self.mean_util_pct, 1),
            "booked_gpu_hours": hours(self.booked_h),
            "booked_pct": None if self.booked_pct is None else round(self.booked_pct, 1),
            "process_gpu_hours": hours(self.process_h),
            "idle_booked_gpu_hours": hours(self.idle_booked_h),
            "unbooked_process_gpu_hours": hours(self.unbooked_h),
            "offloaded_gpu_hours": hours(self.offloaded_h),
            "offloaded_jobs": self.offloaded_jobs,
            "unmet_requests": self.unmet,
            "unmet_gpu_hours": hours(self.unmet_gpu_h),
            "refused_requests": self.refused,
            "refused_by_rule": dict(self.refused_by_rule),
            "pending_requests": self.pending,
            "rejected_requests": self.rejected,
        }

    @property
    def starts_late(self) -> bool:
        """True if the kept history starts after the range does (or there is none)."""
        return self.history_from is None or self.history_from > self.start
