"""What more (or fewer) GPUs would have changed: a period's slot requests replayed on the lab
with GPUs added or removed, beside what really happened (issue 16, point 6).

The replay itself is ``what_if_replay.py`` (its docstring says what it keeps fixed, what it
places again, and why the replay with GPUs added is monotone by construction), the change's
grammar ``what_if_change.py``. This module runs the replays and sums them up the way the
evidence counts a request (``core/usage/figures.SlotRequest``):

- the requests counted are those the lab answered (a rule's refusal or delay is the rule's
  doing, counted apart as ``refused``), as in ``core/usage/evidence.py``;
- a wait is offered start - wanted start; median and 90th percentile are evidence's nearest-rank
  ``percentile`` over requests with a slot within the horizon, those without counted apart
  (``no_slot``). So a request the change newly serves, late, can raise a percentile while no
  single wait grows (the property test's promise is per request);
- unmet: no slot before ``UNMET_AFTER`` past the wanted start (``SlotRequest.unmet``);
  unmet GPU-hours = GPUs x hours asked, offloaded or not (as ``lab.usage.summary``);
- offloaded GPU-hours that would have stayed home: each job a member sent to a cluster follows
  the member's latest unmet request within ``OFFLOAD_FOLLOW`` before it (evidence's rule); it
  stays home when the replay serves that request in time;
- the replay is trusted only where it reproduces what happened: a request the replay as is
  answers worse than the lab did (a longer wait, or no slot where the lab had one) met what the
  replay cannot know (a server down, unbooked use, a cancelled booking). With GPUs only added,
  such a request keeps what really happened in the "with the change" column unless the replay
  with the change serves it sooner (more GPUs cannot take its real booking away), so no
  request's wait there exceeds its real wait. The "replayed as is" column is left as the replay
  gives it: it shows how faithful the replay is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from labgpu.core.usage.evidence import OFFLOAD_FOLLOW, percentile
from labgpu.core.usage.figures import UNMET_AFTER, SlotRequest
from labgpu.core.usage.what_if_change import GpuChange, changed_gpus, parse_change, resolve
from labgpu.core.usage.what_if_replay import Answer, History, Replay

__all__ = ["Figures", "OffloadedJob", "WhatIf", "what_if"]


@dataclass(frozen=True, slots=True)
class OffloadedJob:
    """A job a member sent to a cluster: when, and the GPU-hours it ran there."""

    user_name: str
    submitted_at: datetime
    gpu_hours: float


@dataclass(frozen=True, slots=True)
class Figures:
    """One column of the comparison: what happened, or a replay."""

    requests: int  # answered by the lab (rule refusals apart)
    no_slot: int  # of them, with no slot within the horizon
    wait_median_h: float | None  # of those with a slot (None: none had one)
    wait_p90_h: float | None
    unmet_requests: int
    unmet_gpu_h: float
    offloaded_gpu_h: float
    stayed_home_gpu_h: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "no_slot": self.no_slot,
            "wait_median_h": _round(self.wait_median_h),
            "wait_p90_h": _round(self.wait_p90_h),
            "unmet_requests": self.unmet_requests,
            "unmet_gpu_hours": round(self.unmet_gpu_h, 3),
            "offloaded_gpu_hours": round(self.offloaded_gpu_h, 3),
            "stayed_home_gpu_hours": round(self.stayed_home_gpu_h, 3),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A what-if's answer: the period, the change, and three columns — what happened (the
    recorded answers), the replay of the lab as it is (how closely the replay follows the
    record), and the replay with the change."""

    change: str
    changes: tuple[GpuChange, ...]
    start: datetime
    end: datetime
    gpus_before: int
    gpus_after: int
    method: str  # "monotone" (only GPUs added) or "greedy"
    refused: int  # requests a rule refused or held back: not counted
    happened: Figures
    replayed: Figures
    changed: Figures
    waits_before: tuple[float | None, ...] = ()  # per counted request, hours (None: no slot)
    waits_after: tuple[float | None, ...] = ()
    waits_happened: tuple[float | None, ...] = ()
    not_reproduced: int = 0  # counted requests the replay as is answered worse than the lab

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` object (README *Using it*)."""
        return {
            "change": self.change,
            "changes": [{"count": c.count, "model": c.model} for c in self.changes],
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "gpus_before": self.gpus_before,
            "gpus_after": self.gpus_after,
            "method": self.method,
            "refused_requests": self.refused,
            "not_reproduced": self.not_reproduced,
            "unmet_after_minutes": int(UNMET_AFTER / timedelta(minutes=1)),
            "happened": self.happened.as_dict(),
            "replayed": self.replayed.as_dict(),
            "with_change": self.changed.as_dict(),
        }


def counted(request: SlotRequest) -> bool:
    """True if ``request`` counts in the figures: the lab answered it, no rule held it back."""
    return request.refused_rule is None


def _unmet(request: SlotRequest, start: datetime | None) -> bool:
    """``SlotRequest.unmet`` for an answer ``start``."""
    if request.refused_rule is not None:
        return False
    return start is None or start - request.wanted_at >= UNMET_AFTER


def _hours(request: SlotRequest, start: datetime | None) -> float | None:
    if start is None:
        return None
    return max(timedelta(0), start - request.wanted_at) / timedelta(hours=1)


def figures(
    requests: Sequence[SlotRequest],
    starts: Sequence[datetime | None],
    jobs: dict[int, list[OffloadedJob]],
    offloaded_h: float,
    stays_home: bool,
) -> Figures:
    """The column of ``starts`` (one per request; only ``counted`` requests count).
    ``jobs``: request index -> the jobs that followed it; ``stays_home``: whether a job whose
    request is now served in time counts as staying home (not for what happened)."""
    waits: list[float] = []
    unmet = no_slot = total = 0
    unmet_h = home_h = 0.0
    for i, (request, start) in enumerate(zip(requests, starts, strict=True)):
        if not counted(request):
            continue
        total += 1
        wait = _hours(request, start)
        if wait is None:
            no_slot += 1
        else:
            waits.append(wait)
        if _unmet(request, start):
            unmet += 1
            unmet_h += request.gpu_hours
        elif stays_home and request.unmet:
            home_h += sum(j.gpu_hours for j in jobs.get(i, ()))
    return Figures(
        requests=total,
        no_slot=no_slot,
        wait_median_h=percentile(waits, 50),
        wait_p90_h=percentile(waits, 90),
        unmet_requests=unmet,
        unmet_gpu_h=unmet_h,
        offloaded_gpu_h=offloaded_h - home_h,
        stayed_home_gpu_h=home_h,
    )


def match_jobs(
    requests: Sequence[SlotRequest], jobs: Sequence[OffloadedJob]
) -> dict[int, list[OffloadedJob]]:
    """Request index -> the jobs that followed it: each job to its member's latest request
    the lab could not serve in time, asked within ``OFFLOAD_FOLLOW`` before it."""
    unmet: dict[str, list[int]] = {}
    for i, request in enumerate(requests):
        if counted(request) and request.unmet:
            unmet.setdefault(request.user_name, []).append(i)
    found: dict[int, list[OffloadedJob]] = {}
    for job in jobs:
        best = None
        for i in unmet.get(job.user_name, ()):
            asked = requests[i].asked_at
            if asked <= job.submitted_at < asked + OFFLOAD_FOLLOW:
                best = i
        if best is not None:
            found.setdefault(best, []).append(job)
    return found


def what_if(
    history: History,
    change: str,
    start: datetime,
    end: datetime,
    jobs: Sequence[OffloadedJob] = (),
) -> WhatIf:
    """Replay ``history`` on the lab as it is and with ``change`` (``"+8 A40"``); a bad
    change is a ``UsageError`` (exit 2) saying the grammar."""
    changes = resolve(parse_change(change), history.gpus)
    after = changed_gpus(history.gpus, changes)
    base_replay = Replay(history, history.gpus)
    base = base_replay.greedy()
    changed_replay = Replay(history, after, base_replay.matched)
    if all(c.count > 0 for c in changes):
        method, answers = "monotone", changed_replay.monotone(base)
    else:
        method, answers = "greedy", changed_replay.greedy()
    requests = history.requests
    offloaded_h = sum(j.gpu_hours for j in jobs)
    by_request = match_jobs(requests, jobs)
    happened = [r.earliest_at for r in requests]
    before = _starts(base)
    worse = [_worse(r, b, h) for r, b, h in zip(requests, before, happened, strict=True)]
    changed = _starts(answers)
    if method == "monotone":
        changed = [
            _sooner(r, a, h) if w else a
            for r, a, h, w in zip(requests, changed, happened, worse, strict=True)
        ]
    return WhatIf(
        change=change.strip(),
        changes=changes,
        start=start,
        end=end,
        gpus_before=len(history.gpus),
        gpus_after=len(after),
        method=method,
        refused=sum(not counted(r) for r in requests),
        happened=figures(requests, happened, by_request, offloaded_h, stays_home=False),
        replayed=figures(requests, before, by_request, offloaded_h, stays_home=True),
        changed=figures(requests, changed, by_request, offloaded_h, stays_home=True),
        waits_before=_waits(requests, before),
        waits_after=_waits(requests, changed),
        waits_happened=_waits(requests, happened),
        not_reproduced=sum(w and counted(r) for r, w in zip(requests, worse, strict=True)),
    )


def _worse(request: SlotRequest, replayed: datetime | None, happened: datetime | None) -> bool:
    """True if the replay answered ``request`` worse than the lab did: a longer wait, or no
    slot where the lab offered one."""
    real, wait = _hours(request, happened), _hours(request, replayed)
    if real is None:
        return False
    return wait is None or wait > real


def _sooner(request: SlotRequest, one: datetime | None, other: datetime | None) -> datetime | None:
    """The answer of the two that gives ``request`` the shorter wait (a slot before none)."""
    a, b = _hours(request, one), _hours(request, other)
    if a is None:
        return other
    return one if b is None or a <= b else other


def _starts(answers: Sequence[Answer]) -> list[datetime | None]:
    return [a.start for a in answers]


def _waits(
    requests: Sequence[SlotRequest], starts: Sequence[datetime | None]
) -> tuple[float | None, ...]:
    return tuple(_hours(r, s) for r, s in zip(requests, starts, strict=True) if counted(r))
