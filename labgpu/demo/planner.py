"""Planning the demo lab's work: members' jobs placed, in time order, on free GPUs.

Deterministic for a given ``random.Random``; used by ``demo_model.generate_lab``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from labgpu.core.offload.jobs import should_offer_cluster
from labgpu.demo.reference import (
    A40,
    A4000,
    HOUR,
    INTERNAL,
    MAX_HOURS,
    NOTES,
    SCRIPTS,
    DemoGpu,
    DemoJob,
    DemoMaintenance,
    DemoMember,
    JobKind,
    SlotRequest,
    cancelled_at,
    decided_at,
)

#: A GPU taken over ``[start, end)``, and when that was given up (None: never).
Held = tuple[datetime, datetime, datetime | None]
#: The share of bookings made on what a slot search offered (the rest picked on the calendar);
#: every booking that waited for GPUs was.
SEARCHED = 0.7


def plan_maintenance(gpus: Sequence[DemoGpu], now: datetime) -> tuple[DemoMaintenance, ...]:
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


class Planner:
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
        self.busy: list[list[Held]] = [[] for _ in gpus]
        for block in maintenance:
            for gpu in block.gpus:
                self.busy[gpu].append((block.start, block.end, None))
        self._of_model: dict[str, list[int]] = {}
        for i, info in enumerate(gpus):
            self._of_model.setdefault(info.model, []).append(i)
        self.jobs: list[DemoJob] = []
        self.unmet: list[SlotRequest] = []

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
        wants_a40 = self.rng.random() < member.a40 * (3 if self._rushed(member, at) else 1)
        model = A40 if wants_a40 else A4000
        count = self.rng.randint(1, 2) if wants_a40 else self.rng.randint(2, member.max_gpus)
        wanted = max(2, round(self.rng.lognormvariate(3.2, 0.6)))
        project = self._project(member)
        if wanted > MAX_HOURS and at <= self.now:  # the rules refuse it
            cluster = self.rng.random() < 0.5  # run it whole elsewhere, or ask again, shorter
            self.unmet.append(
                SlotRequest(
                    member.name, model, count, wanted, at, None, "max_hours", cluster, project
                )
            )
            if cluster:
                return at + timedelta(hours=12)
        hours = min(MAX_HOURS, wanted)
        earliest: datetime | None = None
        for start in self._starts(model, at):
            window = (start, start + timedelta(hours=hours))
            chosen = self._free(model, count, window, at)
            if chosen is not None and window[1] <= self.end:
                if self._offloads(member, at, window):
                    earliest = start  # the lab's slot, too late for them
                    break
                self._add(member, chosen, window, model, at, project)
                return window[1]
        # Past the plan's end no window fits: that is the horizon, not a full lab.
        if at <= self.now:
            self.unmet.append(
                SlotRequest(member.name, model, count, hours, at, earliest, project=project)
            )
        return at + timedelta(hours=12)  # the lab was full: try again later

    def _starts(self, model: str, at: datetime) -> Iterator[datetime]:
        """Where a slot search from ``at`` looks within 48 hours: ``at``, then every three
        hours and each moment a GPU of ``model`` comes free (so work that waits starts when
        GPUs do; worked out only when ``at`` itself is taken, as it seldom is)."""
        yield at
        limit = at + timedelta(hours=48)
        starts = {at + timedelta(hours=shift) for shift in range(3, 48, 3)}
        for i in self._of_model[model]:
            starts.update(end for _, end, _gone in self.busy[i] if at < end < limit)
        yield from sorted(starts)

    def _project(self, member: DemoMember) -> str | None:
        """The project a piece of work is for: the member's usual one as a rule, now and then
        the lab's internal one (a pilot, a course), at times none named."""
        roll = self.rng.random()
        if roll < 0.85:
            return member.project
        return INTERNAL if roll < 0.95 else None

    def _offloads(
        self, member: DemoMember, at: datetime, window: tuple[datetime, datetime]
    ) -> bool:
        """True if the member takes the app's advice to use the cluster instead of waiting:
        the lab's slot starts more than a day away (6 hours in the two weeks before their
        deadline), and most members then offload."""
        if at > self.now:
            return False
        wait = timedelta(hours=6 if self._rushed(member, at) else 24)
        return should_offer_cluster(window, at, max_wait=wait) and self.rng.random() < 0.7

    def _rushed(self, member: DemoMember, at: datetime) -> bool:
        """True in the two weeks before the member's deadline (they ask for the A40s twice as
        often, and would rather offload than wait long)."""
        deadline = self.now - timedelta(days=member.deadline_day)
        return timedelta(0) <= deadline - at <= timedelta(days=14)

    def _asked_by(self, at: datetime) -> datetime:
        """When work that comes up at ``at`` is asked for at the latest (bookings are all
        made by five minutes before now)."""
        return min(at, self.now - timedelta(minutes=5))

    def _free(
        self, model: str, count: int, window: tuple[datetime, datetime], at: datetime
    ) -> tuple[int, ...] | None:
        """``count`` GPUs of ``model`` free over ``window`` as the lab stood when asked from
        ``at`` (a booking cancelled, rejected or given back by then holds nothing), on as few
        servers as possible."""
        asked = self._asked_by(at)
        free = [
            i
            for i in self._of_model[model]
            if not any(
                a < window[1] and window[0] < b and (gone is None or gone > asked)
                for a, b, gone in self.busy[i]
            )
        ]
        by_server: dict[str, list[int]] = {}
        for i in free:
            by_server.setdefault(self.gpus[i].server, []).append(i)
        servers = sorted(by_server.values(), key=lambda ids: (-len(ids), self.rng.random()))
        picked = [i for ids in servers for i in ids][:count]
        return tuple(sorted(picked)) if len(picked) == count else None

    def _add(
        self,
        member: DemoMember,
        gpus: tuple[int, ...],
        window: tuple[datetime, datetime],
        m: str,
        at: datetime,
        project: str | None,
    ) -> None:
        """Plan the job on ``gpus`` over ``window``, wanted from ``at``: work that waited was
        asked for with a slot search when it came up (``at``), the rest booked ahead or on
        the spot, most of it through a slot search too."""
        start, end = window
        kind = self._kind(member, start, m)
        released = None
        if kind is JobKind.RELEASED:
            used = (end - start) * self.rng.uniform(0.3, 0.8)
            released = (start + used).replace(second=0, microsecond=0)
            if released <= start or (start <= self.now and released > self.now):
                kind, released = JobKind.USED, None
        lead = timedelta(hours=self.rng.uniform(0.1, 72))
        requested = max(start - lead, start - timedelta(days=13))
        searched = self.rng.random() < SEARCHED
        if start > at:  # it waited: asked when it came up, and booked on the earliest slot
            requested, searched = at, True
        # Never before what it takes was given up: it was free when booked.
        requested = max(requested, self._freed_by(gpus, window, at) or requested)
        requested = min(requested, self.now - timedelta(minutes=5)).replace(microsecond=0)
        self._hold(gpus, window, kind, requested, released)
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
                requested_at=requested,
                released_at=released,
                util=self.rng.uniform(55, 98),
                mem=self.rng.uniform(0.35, 0.95),
                script=script,
                note=NOTES[task] if self.rng.random() < 0.7 else "",
                project=project,
                searched=searched and kind is not JobKind.UNBOOKED,
                wanted_at=at,
            )
        )

    def _freed_by(
        self, gpus: tuple[int, ...], window: tuple[datetime, datetime], at: datetime
    ) -> datetime | None:
        """When the last booking that held part of ``window`` on ``gpus`` was given up (None:
        none did)."""
        asked = self._asked_by(at)
        gone = [
            g
            for gpu in gpus
            for a, b, g in self.busy[gpu]
            if g is not None and g <= asked and a < window[1] and window[0] < b
        ]
        return max(gone, default=None)

    def _hold(
        self,
        gpus: tuple[int, ...],
        window: tuple[datetime, datetime],
        kind: JobKind,
        requested: datetime,
        released: datetime | None,
    ) -> None:
        """Mark ``gpus`` taken over ``window``: until the end, or until the booking is given
        up (cancelled, rejected, or released early: its tail is free from then)."""
        start, end = window
        held: list[Held] = [(start, end, None)]
        if kind is JobKind.CANCELLED:
            held = [(start, end, cancelled_at(requested, start))]
        elif kind is JobKind.REJECTED:
            held = [(start, end, decided_at(requested, start, self.now))]
        elif kind is JobKind.RELEASED and released is not None:
            held = [(start, released, None), (released, end, released)]
        for gpu in gpus:
            self.busy[gpu].extend(held)

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
