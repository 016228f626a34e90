"""The slot searches behind the demo lab's bookings, and the wait each one was told.

A booking made on what a slot search offered (``DemoJob.searched``) was asked for when its
member booked it (``requested_at``) and starts where the search put it. Its wait is what the
demo's own calendar imposed, nothing more: the stretch before its start in which every GPU of
its model was held by a booking already made when it was asked (and not cancelled, rejected or
given back), from when its member wanted it. Most bookings therefore wait nothing; those asked
while the A40s were all taken wait until one came free. Pure and stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from labgpu.demo.reference import DemoLab, JobKind, SlotRequest, decided_at

#: Kinds whose bookings hold their GPUs to the end (a released one until it was given back),
#: and a rejected request until it was decided; a cancelled booking is left out (it was given
#: up at some point: never counted as what kept anyone waiting).
HOLDING = frozenset(
    {JobKind.USED, JobKind.IDLE, JobKind.RELEASED, JobKind.PENDING, JobKind.REJECTED}
)
#: One GPU's holds: (start, end, made at, let go at) of each booking that held it, by start.
Holds = list[tuple[datetime, datetime, datetime, datetime | None]]


def booking_requests(lab: DemoLab) -> list[SlotRequest]:
    """One request per booking of ``lab`` made through a slot search, by time asked: wanted
    from when its member wanted it or, where later, from when the model was last not all
    held; the lab's earliest start is the booking's."""
    holds = _holds(lab)
    by_model: dict[str, list[int]] = {}
    for i, gpu in enumerate(lab.gpus):
        by_model.setdefault(gpu.model, []).append(i)
    requests = []
    jobs = sorted((j for j in lab.jobs if j.searched), key=lambda j: (j.requested_at, j.key))
    for job in jobs:
        model = lab.gpus[job.gpus[0]].model
        asked = job.requested_at
        wanted = max(job.wanted_at or job.start, asked)
        if wanted < job.start:
            taken = _all_held_since(holds, by_model[model], job.start, asked)
            wanted = max(wanted, taken)
        requests.append(
            SlotRequest(
                member=job.member,
                model=model,
                count=len(job.gpus),
                hours=round((job.end - job.start).total_seconds() / 3600),
                wanted_at=min(wanted, job.start),
                earliest_at=job.start,
                offloaded=False,
                project=job.project,
                asked_at=asked,
            )
        )
    return requests


def _holds(lab: DemoLab) -> list[Holds]:
    holds: list[Holds] = [[] for _ in lab.gpus]
    for job in lab.jobs:
        if job.kind in HOLDING:
            rejected = job.kind is JobKind.REJECTED
            gone = decided_at(job.requested_at, job.start, lab.now) if rejected else None
            for gpu in job.gpus:
                holds[gpu].append((job.start, job.use_end, job.requested_at, gone))
    for spans in holds:
        spans.sort()
    return holds


def _all_held_since(
    holds: Sequence[Holds], gpus: Sequence[int], until: datetime, asked: datetime
) -> datetime:
    """The earliest moment from which every one of ``gpus`` was held without a gap up to
    ``until`` by bookings made by ``asked`` (``until`` itself: not all of them were)."""
    since: datetime | None = None
    for gpu in gpus:
        held = _held_since(holds[gpu], until, asked)
        if held >= until:
            return until  # this one was free just before: no wait at all
        since = held if since is None else max(since, held)
    return until if since is None else since


def _held_since(spans: Holds, until: datetime, asked: datetime) -> datetime:
    """The earliest moment from which ``spans`` (held when ``asked``) cover one GPU without a
    gap up to ``until``; ``until`` if it was free just before."""
    edge = until
    for start, end, made, gone in reversed(spans):
        if made > asked or (gone is not None and gone <= asked) or start >= edge:
            continue
        if end < edge:
            break
        edge = start
    return edge
