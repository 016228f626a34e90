"""Which hours each GPU model was wholly taken (``core/usage/evidence.py`` defines it): held
bookings as runs of taken hours per GPU, and one pass over the hours that combines them with
the rollups' busy GPUs. Pure, and linear in hours plus bookings, so that a year of a 52-GPU lab
never becomes a Python object per GPU-hour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labgpu.core.usage.evidence import HOUR_S, TAKEN_S, ModelHour

#: Hour runs ``[first, end)`` (hour starts, epoch seconds) of one GPU.
Runs = list[tuple[int, int]]


def booked_runs(spans: Iterable[tuple[int, int, int]]) -> dict[int, Runs]:
    """``{gpu id: runs of hours booked for at least TAKEN_S}`` of held ``(gpu id, start, end)``
    spans (epoch seconds); spans of one GPU that meet or overlap are merged first, so back to
    back bookings sharing an hour add up."""
    per_gpu: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for gpu, start, end in spans:
        if end > start:
            per_gpu[gpu].append((start, end))
    runs: dict[int, Runs] = {}
    for gpu, spans_of in per_gpu.items():
        partial: dict[int, int] = defaultdict(int)  # booked seconds of hours partly booked
        full: Runs = []
        merged: list[list[int]] = []
        for start, end in sorted(spans_of):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            first_full = -(-start // HOUR_S) * HOUR_S
            last_full = end // HOUR_S * HOUR_S
            if first_full < last_full:
                full.append((first_full, last_full))
                if start < first_full:
                    partial[first_full - HOUR_S] += first_full - start
                if end > last_full:
                    partial[last_full] += end - last_full
            else:  # within one hour, or across one hour's boundary
                hour = start // HOUR_S * HOUR_S
                while hour < end:
                    partial[hour] += min(end, hour + HOUR_S) - max(start, hour)
                    hour += HOUR_S
        hours = full + [(h, h + HOUR_S) for h, sec in partial.items() if sec >= TAKEN_S]
        runs[gpu] = _joined(hours)
    return runs


def _joined(runs: Runs) -> Runs:
    out: Runs = []
    for first, end in sorted(runs):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((first, end))
    return out


@dataclass(frozen=True, slots=True)
class BookableGpu:
    """A bookable GPU as saturation counts it: in its model's hours from ``first`` (its first
    hourly rollup) until ``retired`` (epoch seconds; None: still in the lab)."""

    gpu_id: int
    model: str
    first: int
    retired: int | None = None


#: One hour from the rollups: (hour start, GPUs with readings, GPUs busy for at least TAKEN_S),
#: each set of GPUs a bit mask (bit ``bits[gpu id]`` of ``model_hours``).
HourRow = tuple[int, int, int]


def model_hours(
    rows: Iterable[HourRow],
    gpus: Sequence[BookableGpu],
    booked: dict[int, Runs],
    bits: dict[int, int],
) -> list[ModelHour]:
    """Every (hour, model) of ``rows`` (ascending hours) in which a GPU of the model had
    readings, with how many of the model's bookable GPUs counted then
    (arrived and not retired) and how many of those were taken: busy for half the hour, or
    booked for half of it (``booked``, from ``booked_runs``). Sets of GPUs are bit masks, so an
    hour costs a few integer operations per model whatever the number of GPUs."""
    models: dict[str, int] = defaultdict(int)
    events: list[tuple[int, int, int]] = []  # (hour, 0 leaves / 1 arrives, bit): roster
    for gpu in gpus:
        bit = 1 << bits[gpu.gpu_id]
        models[gpu.model] |= bit
        events.append((gpu.first, 1, bit))
        if gpu.retired is not None:
            events.append((gpu.retired, 0, bit))
    runs: list[tuple[int, int, int]] = []  # (hour, 0 ends / 1 starts, bit): bookings
    for gpu_id, gpu_runs in booked.items():
        if gpu_id in bits:
            for first, end in gpu_runs:
                runs += [(first, 1, 1 << bits[gpu_id]), (end, 0, 1 << bits[gpu_id])]
    roster, held = _Masks(events), _Masks(runs)
    order = sorted(models.items())
    found: list[ModelHour] = []
    for hour, observed, busy in rows:
        counted = roster.at(hour)
        taken = (busy | held.at(hour)) & counted
        for model, mask in order:
            if observed & mask:
                gpus_now = (counted & mask).bit_count()
                found.append(ModelHour(model, hour, gpus_now, (taken & mask).bit_count()))
    return found


class _Masks:
    """A set of GPUs (a bit mask) that bits join and leave at given hours, read at ascending
    hours: a bit leaving and joining at the same hour is in from then on."""

    def __init__(self, events: list[tuple[int, int, int]]) -> None:
        self._events = sorted(events)
        self._next = 0
        self.mask = 0

    def at(self, hour: int) -> int:
        events = self._events
        while self._next < len(events) and events[self._next][0] <= hour:
            _hour, joins, bit = events[self._next]
            self.mask = self.mask | bit if joins else self.mask & ~bit
            self._next += 1
        return self.mask
