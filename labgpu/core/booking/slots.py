"""Earliest-slot search: when can K GPUs be held together for a given duration?

Exact, not heuristic. For a fixed set of GPUs the feasible start times form a union of closed
intervals, and each interval begins at ``after`` or at the end of some busy window (just before
such a start one of the GPUs is still busy). So the earliest feasible start, overall or on one
server, is always one of those candidates, rounded up to the ``step`` grid when one is given;
scanning them in order and stopping at the first that fits is both correct and fast.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain, islice

from labgpu.core.booking.bookings import Window, as_utc
from labgpu.core.inventory.models import model_matches


@dataclass(frozen=True, slots=True)
class SlotGpu:
    """A GPU that could be booked: what the search needs to know of it."""

    id: int
    server: str
    model: str
    memory_mb: int | None = None


@dataclass(frozen=True, slots=True)
class SlotOption:
    """A feasible booking: ``gpu_ids`` (ascending) are all free over ``[start, end)``."""

    start: datetime
    end: datetime
    gpu_ids: tuple[int, ...]
    servers: tuple[str, ...]

    @property
    def window(self) -> Window:
        """The option's time span as a ``Window``."""
        return Window(self.start, self.end)


def select_gpus(
    gpus: Iterable[SlotGpu], model: str | None = None, min_memory_mb: int | None = None
) -> list[SlotGpu]:
    """The GPUs of ``model`` (whole words, case-insensitive) with at least ``min_memory_mb``.

    A GPU whose memory is unknown never satisfies a memory minimum.
    """
    chosen = []
    for gpu in gpus:
        if model is not None and not model_matches(model, gpu.model):
            continue
        if min_memory_mb is not None and (gpu.memory_mb is None or gpu.memory_mb < min_memory_mb):
            continue
        chosen.append(gpu)
    return chosen


class _Timeline:
    """The busy time of one GPU: disjoint, sorted windows, so starts and ends both ascend."""

    __slots__ = ("ends", "starts")

    def __init__(self, windows: Iterable[Window], after: datetime) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        # Windows over before the search starts can never block a slot: skip them unsorted.
        for w in sorted((w for w in windows if w.end > after), key=lambda w: w.start):
            if self.ends and w.start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], w.end)  # overlapping or touching: merge
            else:
                self.starts.append(w.start)
                self.ends.append(w.end)

    def is_free(self, start: datetime, end: datetime) -> bool:
        """True if no busy window overlaps ``[start, end)``."""
        i = bisect_right(self.ends, start)  # first busy window ending after ``start``
        return i == len(self.ends) or self.starts[i] >= end

    def ends_from(self, moment: datetime) -> Iterator[datetime]:
        """Busy-window ends at or after ``moment``, ascending."""
        return islice(self.ends, bisect_left(self.ends, moment), None)


def _candidate_starts(
    after: datetime,
    timelines: Iterable[_Timeline],
    step: timedelta | None,
    extra: Sequence[datetime] = (),
) -> Iterator[datetime]:
    """``after``, every busy end and ``extra`` moment after it, ascending and distinct, on the
    step grid."""
    merged = heapq.merge(*(t.ends_from(after) for t in timelines), (m for m in extra if m > after))
    previous: datetime | None = None
    for moment in chain([after], merged):
        if step is not None:
            moment = after - ((after - moment) // step) * step  # round up onto the grid
        if moment != previous:
            previous = moment
            yield moment


def _by_server(gpus: Iterable[SlotGpu]) -> dict[str, list[SlotGpu]]:
    """GPUs grouped by server, keeping their order."""
    groups: dict[str, list[SlotGpu]] = {}
    for gpu in gpus:
        groups.setdefault(gpu.server, []).append(gpu)
    return groups


def _option(start: datetime, duration: timedelta, picked: Sequence[SlotGpu]) -> SlotOption:
    return SlotOption(
        start=start,
        end=start + duration,
        gpu_ids=tuple(sorted(g.id for g in picked)),
        servers=tuple(sorted({g.server for g in picked})),
    )


def _pick_fewest_servers(free: Sequence[SlotGpu], count: int) -> list[SlotGpu]:
    """``count`` GPUs spread over as few servers as possible (fullest servers first)."""
    groups = sorted(_by_server(free).items(), key=lambda item: (-len(item[1]), item[0]))
    picked: list[SlotGpu] = []
    for _, gpus in groups:
        picked.extend(gpus[: count - len(picked)])
        if len(picked) == count:
            break
    return picked


def _check_arguments(
    count: int, duration: timedelta, alternatives: int, step: timedelta | None
) -> None:
    if count < 1:
        raise ValueError(f"count must be at least 1 GPU, got {count}")
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")
    if alternatives < 1:
        raise ValueError(f"alternatives must be at least 1, got {alternatives}")
    if step is not None and step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")


@dataclass(frozen=True, slots=True)
class _Search:
    """One search's fixed inputs, already checked and in UTC."""

    timelines: Mapping[int, _Timeline]
    count: int
    duration: timedelta
    after: datetime
    latest: datetime | None  # the last allowed start, from the deadline
    step: timedelta | None
    extra_starts: Sequence[datetime] = ()  # sorted: where a caller's own limit may lift

    def free_sets(self, pool: Sequence[SlotGpu]) -> Iterator[tuple[datetime, list[SlotGpu]]]:
        """Each candidate start, ascending, at which ``count`` GPUs of ``pool`` are free."""
        if self.count > len(pool):
            return
        timelines = [self.timelines[g.id] for g in pool]
        for start in _candidate_starts(self.after, timelines, self.step, self.extra_starts):
            if self.latest is not None and start > self.latest:
                return
            end = start + self.duration
            free = [g for g, t in zip(pool, timelines, strict=True) if t.is_free(start, end)]
            if len(free) >= self.count:
                yield start, free


def find_earliest_slots(
    gpus: Sequence[SlotGpu],
    busy: Mapping[int, Iterable[Window]],
    count: int,
    duration: timedelta,
    after: datetime,
    deadline: datetime | None = None,
    same_server: bool = False,
    alternatives: int = 3,
    step: timedelta | None = None,
    allowed: Callable[[SlotOption], bool] | None = None,
    extra_starts: Iterable[datetime] = (),
) -> list[SlotOption]:
    """The earliest windows in which ``count`` of ``gpus`` are free together for ``duration``.

    ``busy`` maps a GPU id to the windows that block it (live bookings and maintenance, in any
    order, overlaps allowed). A slot starts at or after ``after``, ends by ``deadline`` if given,
    and with ``step`` starts only at ``after + n * step``. The first option is the earliest
    feasible one; nothing earlier fits. With ``same_server`` the options are the earliest slot of
    each server (up to ``alternatives``), else the earliest slot at each of the next distinct
    feasible start times, on as few servers as possible. Ties go to lower server names and ids.
    Returns an empty list when nothing fits (before the deadline).

    ``allowed`` is the caller's own limit on an option (the member's rules: GPUs held at once,
    quota); an option it refuses is skipped. ``extra_starts`` are the moments where that limit
    may lift (the end of a booking the member holds, a new quota week): candidates too, so an
    option is still the earliest the limit allows at those moments.
    """
    _check_arguments(count, duration, alternatives, step)
    after = as_utc(after, "search start")
    latest = None if deadline is None else as_utc(deadline, "deadline") - duration
    pool = sorted({g.id: g for g in gpus}.values(), key=lambda g: (g.server, g.id))
    timelines = {g.id: _Timeline(busy.get(g.id, ()), after) for g in pool}
    extra = sorted({as_utc(m, "extra start") for m in extra_starts})
    search = _Search(timelines, count, duration, after, latest, step, extra)
    if same_server:
        return _earliest_per_server(search, pool, alternatives, allowed)
    found = (
        _option(start, duration, _pick_fewest_servers(free, count))
        for start, free in search.free_sets(pool)
    )
    return list(islice((o for o in found if allowed is None or allowed(o)), alternatives))


def _earliest_per_server(
    search: _Search,
    pool: Sequence[SlotGpu],
    alternatives: int,
    allowed: Callable[[SlotOption], bool] | None = None,
) -> list[SlotOption]:
    """The earliest slot of each server on its own, earliest first (then by server name)."""
    options = []
    for gpus in _by_server(pool).values():
        found = (
            _option(start, search.duration, free[: search.count])
            for start, free in search.free_sets(gpus)
        )
        first = next((o for o in found if allowed is None or allowed(o)), None)
        if first is not None:
            options.append(first)
    options.sort(key=lambda o: (o.start, o.servers))
    return options[:alternatives]
