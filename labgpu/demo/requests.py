"""The slot searches behind the demo lab's bookings, and the wait each one was told.

A booking made on what a slot search offered (``DemoJob.searched``) was asked for when its
member booked it (``requested_at``) and starts where the search put it. Its wait is what the
demo's own calendar imposed, nothing more: from when its member wanted it, no start before
the booking's had as many GPUs of its model free for its whole length, counting only the
bookings made by the time it was asked and not given up by then (a cancelled booking is never
counted; a released one holds only up to its release, a rejected request until it was
decided). Most bookings therefore wait nothing; those asked while the A40s were taken wait
until enough came free. Pure and stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from labgpu.demo.reference import DemoJob, DemoLab, JobKind, SlotRequest, decided_at

#: Kinds whose bookings hold their GPUs to the end (a released one until it was given back),
#: and a rejected request until it was decided; a cancelled booking is left out (it was given
#: up at some point: never counted as what kept anyone waiting).
HOLDING = frozenset(
    {JobKind.USED, JobKind.IDLE, JobKind.RELEASED, JobKind.PENDING, JobKind.REJECTED}
)


class Hold:
    """A booking holding one GPU over ``[start, end)``, made at ``made``, given up at ``gone``
    (None: never), by the job ``key``."""

    __slots__ = ("end", "gone", "key", "made", "start")

    def __init__(
        self, start: datetime, end: datetime, made: datetime, gone: datetime | None, key: int
    ) -> None:
        self.start, self.end, self.made, self.gone, self.key = start, end, made, gone, key

    def held_when(self, asked: datetime, key: int) -> bool:
        """True if it held its GPU when job ``key`` was asked for at ``asked`` (not itself)."""
        return self.key != key and self.made <= asked and (self.gone is None or self.gone > asked)


def booking_requests(lab: DemoLab) -> list[SlotRequest]:
    """One request per booking of ``lab`` made through a slot search, by time asked, wanted
    from when its member wanted it or, where later, from when no earlier start was free; the
    lab's earliest start is the booking's."""
    holds = _holds(lab)
    by_model: dict[str, list[int]] = {}
    for i, gpu in enumerate(lab.gpus):
        by_model.setdefault(gpu.model, []).append(i)
    requests = []
    jobs = sorted((j for j in lab.jobs if j.searched), key=lambda j: (j.requested_at, j.key))
    for job in jobs:
        model = lab.gpus[job.gpus[0]].model
        wanted = max(job.wanted_at or job.start, job.requested_at)
        if wanted < job.start:
            wanted = _waited_from(job, [holds[g] for g in by_model[model]], wanted)
        requests.append(
            SlotRequest(
                member=job.member,
                model=model,
                count=len(job.gpus),
                hours=round((job.end - job.start).total_seconds() / 3600),
                wanted_at=wanted,
                earliest_at=job.start,
                offloaded=False,
                project=job.project,
                asked_at=job.requested_at,
            )
        )
    return requests


def free_count(
    holds: Sequence[Sequence[Hold]], lo: datetime, hi: datetime, asked: datetime, key: int = 0
) -> int:
    """How many of the GPUs (one list of holds each) were free over ``[lo, hi)`` as the lab
    stood when job ``key`` was asked for at ``asked``."""
    return sum(
        not any(h.start < hi and lo < h.end and h.held_when(asked, key) for h in gpu)
        for gpu in holds
    )


def _waited_from(job: DemoJob, holds: Sequence[Sequence[Hold]], wanted: datetime) -> datetime:
    """The earliest moment from ``wanted`` after which no start before ``job``'s had enough
    GPUs free for its length. Free starts begin where a hold ends (or at ``wanted``), so those
    moments are all there is to try: the last free one found, the next moment tried is where
    the wait began (the job's start: no wait)."""
    length, asked = job.end - job.start, job.requested_at
    ends = {h.end for gpu in holds for h in gpu if wanted < h.end < job.start}
    tried = sorted({wanted, *ends})
    for n in range(len(tried) - 1, -1, -1):
        t = tried[n]
        if free_count(holds, t, t + length, asked, job.key) >= len(job.gpus):
            return tried[n + 1] if n + 1 < len(tried) else job.start
    return wanted


def _holds(lab: DemoLab) -> list[list[Hold]]:
    holds: list[list[Hold]] = [[] for _ in lab.gpus]
    for job in lab.jobs:
        if job.kind in HOLDING:
            rejected = job.kind is JobKind.REJECTED
            gone = decided_at(job.requested_at, job.start, lab.now) if rejected else None
            for gpu in job.gpus:
                holds[gpu].append(Hold(job.start, job.use_end, job.requested_at, gone, job.key))
    return holds
