"""Usage history as values: rollup levels, retention, buckets, and the PI's per-member figures.

Pure: the storage layer fills these from its rollup tables, the services combine them, the GUI
and the CLI show them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from labgpu.core.i18n import N_, _


@dataclass(frozen=True, slots=True)
class Level:
    """A resolution of the history: raw samples, or rollups of ``seconds``-long buckets."""

    name: str
    seconds: int

    def __str__(self) -> str:
        return self.name


RAW = Level("raw", 0)
MINUTE = Level("minute", 60)
HOUR = Level("hour", 3600)
DAY_S = 86400

#: Graphs over more than this many seconds read hours, shorter ones minutes.
MINUTE_SPAN_MAX_S = 2 * DAY_S
#: A single GPU's graph reads raw samples up to this span.
RAW_SPAN_MAX_S = DAY_S
#: At most about this many points per line: longer ranges merge buckets (step).
MAX_POINTS = 2000
#: A request whose earliest slot starts this much after the wanted time counts as unmet.
UNMET_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each level is kept, in days (``hour_days`` None: for ever)."""

    raw_days: float = 7.0
    minute_days: float = 30.0
    hour_days: float | None = None

    def __post_init__(self) -> None:
        if not self.raw_days > 0:
            raise ValueError(_("raw samples must be kept for more than 0 days"))
        if not self.minute_days > 0:
            raise ValueError(_("minute samples must be kept for more than 0 days"))
        if self.hour_days is not None and self.hour_days < self.minute_days:
            raise ValueError(_("hourly history must be kept at least as long as minutes"))
        if self.minute_days < self.raw_days:
            raise ValueError(_("minute history must be kept at least as long as raw samples"))


def pick_level(span_s: float, single_gpu: bool = False) -> Level:
    """The resolution a graph over ``span_s`` seconds reads."""
    if single_gpu and span_s <= RAW_SPAN_MAX_S:
        return RAW
    return MINUTE if span_s <= MINUTE_SPAN_MAX_S else HOUR


def pick_step(level: Level, span_s: float, max_points: int = MAX_POINTS) -> int:
    """Bucket length (a multiple of the level's) keeping a line under ``max_points``."""
    base = max(level.seconds, 1)
    for factor in (1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440):
        if span_s / (base * factor) <= max_points:
            return base * factor
    return base * 1440


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """One bucket ``[start, start + length)`` (epoch seconds) of one GPU or summed over GPUs."""

    start: int
    length: int
    gpu_id: int | None
    samples: int
    util_n: int
    util_sum: float
    util_max: float | None
    mem_n: int
    mem_sum: float
    mem_max: int | None
    observed_s: float
    busy_s: float
    gpus: int = 1

    @property
    def util_mean(self) -> float | None:
        """Mean utilisation % over the samples (None: none had a value)."""
        return self.util_sum / self.util_n if self.util_n else None

    @property
    def mem_mean_mb(self) -> float | None:
        return self.mem_sum / self.mem_n if self.mem_n else None

    @property
    def busy_gpus(self) -> float:
        """Mean number of busy GPUs over the bucket (GPU-seconds busy / bucket length)."""
        return self.busy_s / self.length if self.length else 0.0

    @property
    def busy_pct(self) -> float | None:
        """Share of the observed GPU-time that was busy, % (None: no readings)."""
        return 100.0 * self.busy_s / self.observed_s if self.observed_s else None

    def clipped(self, length: int) -> UsageBucket:
        """This bucket as ``length`` seconds long (a last bucket that is not over yet), with
        its sums as they are: the readings it has cover only that part."""
        return replace(self, length=length)

    @property
    def observed_gpus(self) -> float:
        """Mean number of GPUs with readings over the bucket."""
        return self.observed_s / self.length if self.length else 0.0


@dataclass(frozen=True, slots=True)
class UserSeconds:
    """GPU-seconds of ``gpu_id``'s bucket ``start`` attributed to ``user_name``."""

    start: int
    gpu_id: int
    user_name: str
    gpu_s: float


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """A slot search or ``book --earliest`` as a member asked it, and the lab's answer.

    ``wanted_at`` is the earliest start the member asked for (now, or a later start they chose:
    booking next Monday by choice is no wait); ``earliest_at`` the earliest start the lab
    offered (None: none within the booking horizon). ``refused_rule`` None: the lab answered;
    otherwise the lab's rule that refused it (``max_hours``, ``weekly_quota``, ...): demand the
    lab's own rules turn away, not missing GPUs. ``project`` is the project it was asked for.
    """

    user_name: str
    model: str
    count: int
    hours: float
    asked_at: datetime
    wanted_at: datetime
    earliest_at: datetime | None
    refused_rule: str | None = None
    project: str | None = None

    @property
    def wait(self) -> timedelta | None:
        """How much later than wanted the lab could start it (None: not within the horizon)."""
        if self.earliest_at is None:
            return None
        return max(timedelta(0), self.earliest_at - self.wanted_at)

    @property
    def no_capacity(self) -> bool:
        """True if the lab answered (not refused by a rule); with ``unmet``: lacked GPUs."""
        return self.refused_rule is None

    @property
    def unmet(self) -> bool:
        """True if the lab lacked GPUs when wanted: no slot within the horizon, or none before
        ``UNMET_AFTER`` past the wanted start (a rule's refusal is not unmet demand)."""
        if self.refused_rule is not None:
            return False
        return self.earliest_at is None or self.earliest_at - self.wanted_at >= UNMET_AFTER

    @property
    def gpu_hours(self) -> float:
        """GPU-hours asked for."""
        return self.count * self.hours


@dataclass(frozen=True, slots=True)
class BookedSpan:
    """One GPU booked by a member over ``[start, end)`` (epoch seconds)."""

    user_name: str
    gpu_id: int
    start: int
    end: int


#: What each figure of a member's usage means, for the page, the CLI and the report alike
#: (marked with ``N_``: translate where shown).
MEMBER_FIGURES = {
    "booked_gpu_hours": N_("GPU-hours booked (pending requests not counted)"),
    "process_gpu_hours": N_(
        "GPU-hours a process of theirs sat on a GPU, busy or not, booked or not"
    ),
    "idle_booked_gpu_hours": N_("booked GPU-hours in which the GPU was idle"),
    "unbooked_process_gpu_hours": N_("process GPU-hours outside their own bookings"),
    "offloaded_gpu_hours": N_("GPU-hours of jobs they sent to clusters"),
    "unmet_requests": N_("slot searches the lab had no GPUs for when wanted"),
    "refused_requests": N_("slot searches a lab rule refused (longest booking, quota, ...)"),
    "pending_requests": N_("requests asked in the range still waiting for a decision at its end"),
    "rejected_requests": N_("requests rejected in the range"),
}


@dataclass(slots=True)
class MemberUsage:
    """A member's GPU-hours over a range: what they booked, what their processes held, and
    the gaps between the two (``MEMBER_FIGURES`` says what each means)."""

    user_name: str
    booked_h: float = 0.0
    process_h: float = 0.0
    idle_booked_h: float = 0.0
    unbooked_h: float = 0.0
    offloaded_h: float = 0.0
    unmet: int = 0
    refused: int = 0
    pending: int = 0
    rejected: int = 0

    def as_row(self) -> dict[str, object]:
        return {
            "user": self.user_name,
            "booked_gpu_hours": round(self.booked_h, 3),
            "process_gpu_hours": round(self.process_h, 3),
            "idle_booked_gpu_hours": round(self.idle_booked_h, 3),
            "unbooked_process_gpu_hours": round(self.unbooked_h, 3),
            "offloaded_gpu_hours": round(self.offloaded_h, 3),
            "unmet_requests": self.unmet,
            "refused_requests": self.refused,
            "pending_requests": self.pending,
            "rejected_requests": self.rejected,
        }


@dataclass(frozen=True, slots=True)
class GpuBucketState:
    """Busy and observed seconds of one GPU in one bucket (from the usage rollups)."""

    busy_s: float
    observed_s: float


def member_usage(
    spans: Iterable[BookedSpan],
    used: Iterable[UserSeconds],
    states: dict[tuple[int, int], GpuBucketState],
    bucket_s: int,
    lo: int,
    hi: int,
) -> dict[str, MemberUsage]:
    """Per-member booked, process, idle-while-booked and process-without-booking GPU-hours.

    Works at the rollups' ``bucket_s`` resolution inside ``[lo, hi)``: a bucket's busy share
    is spread evenly over it, so *idle while booked* of a booked part of a bucket is that part
    times the bucket's idle fraction, and *without a booking* is the member's process GPU-time
    beyond the part of the bucket they had booked. Buckets without readings count as booked
    but neither idle nor held (nothing is known of them). ``used`` holds only the process
    time inside ``[lo, hi)``, keyed by the bucket it falls in (the first may start before
    ``lo``).
    """
    members: dict[str, MemberUsage] = {}

    def of(user: str) -> MemberUsage:
        found = members.get(user)
        if found is None:
            found = members[user] = MemberUsage(user)
        return found

    booked_in: dict[tuple[str, int, int], float] = defaultdict(float)
    for span in spans:
        start, end = max(span.start, lo), min(span.end, hi)
        if end <= start:
            continue
        member = of(span.user_name)
        member.booked_h += (end - start) / 3600
        first = start // bucket_s * bucket_s
        for bucket in range(first, end, bucket_s):
            part = min(end, bucket + bucket_s) - max(start, bucket)
            booked_in[(span.user_name, span.gpu_id, bucket)] += part
            state = states.get((span.gpu_id, bucket))
            if state is None or state.observed_s <= 0:
                continue
            idle_fraction = max(0.0, 1.0 - state.busy_s / state.observed_s)
            member.idle_booked_h += part * idle_fraction * (state.observed_s / bucket_s) / 3600
    for item in used:
        if item.start + bucket_s <= lo or item.start >= hi:
            continue
        member = of(item.user_name)
        member.process_h += item.gpu_s / 3600
        booked = booked_in.get((item.user_name, item.gpu_id, item.start), 0.0)
        member.unbooked_h += max(0.0, item.gpu_s - booked) / 3600
    return members


@dataclass(frozen=True, slots=True)
class Table:
    """Rows for CSV/JSON export: column names and values in that order."""

    columns: tuple[str, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()

    def as_dicts(self) -> list[dict[str, object]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def read_csv(text: str) -> Table:
    """A table written by ``Table.to_csv`` (every value a string)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValueError("empty CSV: no header line")
    rows = [tuple(r) for r in reader]
    for n, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"CSV line {n} has {len(row)} values, the header {len(header)}")
    return Table(tuple(header), list(rows))


def hours_label(hours: float) -> str:
    """``12.5`` -> ``"12.5"``; at least one decimal under 10, whole numbers above 100."""
    if hours >= 100:
        return f"{hours:,.0f}"
    return f"{hours:.1f}"


def merge(a: UsageBucket, b: UsageBucket) -> UsageBucket:
    """Two parts of one bucket (same start and GPU) as one."""
    maxima = [v for v in (a.util_max, b.util_max) if v is not None]
    mem_maxima = [v for v in (a.mem_max, b.mem_max) if v is not None]
    return UsageBucket(
        start=a.start,
        length=a.length,
        gpu_id=a.gpu_id,
        samples=a.samples + b.samples,
        util_n=a.util_n + b.util_n,
        util_sum=a.util_sum + b.util_sum,
        util_max=max(maxima) if maxima else None,
        mem_n=a.mem_n + b.mem_n,
        mem_sum=a.mem_sum + b.mem_sum,
        mem_max=max(mem_maxima) if mem_maxima else None,
        observed_s=a.observed_s + b.observed_s,
        busy_s=a.busy_s + b.busy_s,
        gpus=max(a.gpus, b.gpus),
    )


def merge_all(parts: Iterable[UsageBucket]) -> list[UsageBucket]:
    """Buckets with the same (start, GPU) merged, ordered by start then GPU."""
    merged: dict[tuple[int, int], UsageBucket] = {}
    for part in parts:
        key = (part.start, -1 if part.gpu_id is None else part.gpu_id)
        found = merged.get(key)
        merged[key] = part if found is None else merge(found, part)
    return [merged[k] for k in sorted(merged)]


def sum_buckets(parts: Sequence[UsageBucket], gpu_id: int | None = None) -> UsageBucket:
    """Buckets of different GPUs over the same time summed into one (``gpus``: how many)."""
    first = parts[0]
    total = UsageBucket(first.start, first.length, gpu_id, 0, 0, 0.0, None, 0, 0.0, None, 0.0, 0.0)
    for part in parts:
        total = merge(total, part)
    return UsageBucket(
        total.start,
        total.length,
        gpu_id,
        total.samples,
        total.util_n,
        total.util_sum,
        total.util_max,
        total.mem_n,
        total.mem_sum,
        total.mem_max,
        total.observed_s,
        total.busy_s,
        gpus=len({p.gpu_id for p in parts}) if all(p.gpu_id is not None for p in parts) else 0,
    )
