"""Replaying a period's slot requests on a lab, in their order, through the lab's own slot
search (``core/booking/slots.find_earliest_slots``) and member limits.

What a replay starts from (``History``): the lab's bookable GPUs, its rules, its maintenance
windows, and the period's booking groups. A request is matched to the group it produced
(``match_groups``: the member's latest request before the group, within ``within``, with the
same GPU count and hours, of the group's model, offered a start no later than the group's);
matched groups are taken out and placed again by the replay (on the GPUs really booked when
the replay finds the same start and they are free: the lab chose among equal GPUs by what the
replay cannot know), the others stay where they were, each blocking the requests asked after
it was made. A request that was never
booked is placed only if the lab had no slot for it in time (it was unmet) and the replay has
one within ``UNMET_AFTER`` (the member would have booked it then); a search that was served
but not booked was the member's choice and adds nothing. Requests a rule refused outright are
not replayed: the rules do not change with the GPUs.

Two replays (``Replay.greedy``, ``Replay.monotone``):

- *greedy* asks each request's search in turn, seeing what was booked when it was asked (the
  fixed groups made by then and the replay's own earlier placements): the real lab's order of
  events. With the lab unchanged it gives back the recorded answers (tests/usage).
- *monotone* (for GPUs added): greedy replay on more GPUs can make a member wait longer. The
  property test found the plainest case: two A40s, a request for three (unmet) and then one
  for one A40 served at once; with a third A40 the first is served and booked, takes all three,
  and the second now waits an hour. More served demand is real, but "more GPUs, longer waits"
  is no answer to give a committee, and greedy's choices among equal slots could do the same.
  So each request keeps the slot the unchanged replay gave it unless an earlier slot is free of
  every other placement, every fixed group and the answers later searches were given (so
  every base placement and answer stays free, and no wait grows); a request that held nothing
  gets the answer its search would have had when asked, never later than the unchanged one.
  It is a lower bound on what the GPUs would change, not a forecast of a cleverer lab.

Not replayed (no history of them): servers that were down, another member's unbooked
processes on a GPU, same-server searches, a member choosing a later option than the earliest,
and cancelled bookings (they blocked the lab until cancelled).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from labgpu.core.booking.bookings import Booking, Window
from labgpu.core.booking.rules import (
    BookingRules,
    RuleRefusedError,
    check_at_once,
    check_quota,
    week_start,
)
from labgpu.core.booking.slots import SlotGpu, SlotOption, find_earliest_slots, select_gpus
from labgpu.core.inventory.models import model_matches
from labgpu.core.usage.figures import UNMET_AFTER, SlotRequest

WEEK = timedelta(days=7)
#: How often (in requests) a replay forgets members' bookings no search can meet any more.
FORGET_EVERY = 200
_Key = tuple[str, object]  # ("g", group id) a fixed group, ("r", index) a replayed request


@dataclass(frozen=True, slots=True)
class BookedGroup:
    """A booking group as the lab holds it: its GPUs, window, member and when it was made."""

    group_id: str
    user_name: str
    gpu_ids: tuple[int, ...]
    window: Window
    created_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    """What a replay starts from (requests oldest first)."""

    gpus: tuple[SlotGpu, ...]  # the lab's bookable GPUs as it is
    rules: BookingRules
    requests: tuple[SlotRequest, ...]
    groups: tuple[BookedGroup, ...] = ()
    maintenance: Mapping[int, Sequence[Window]] = field(default_factory=dict)
    within: timedelta = timedelta(hours=1)  # a booking this soon after its request is its own


def replayed(request: SlotRequest) -> bool:
    """True if the replay asks ``request`` again: the lab answered it (a rule that refused it
    outright refuses it whatever the GPUs)."""
    return request.refused_rule is None or request.earliest_at is not None


def match_groups(history: History) -> dict[int, BookedGroup]:
    """Request index -> the booking group it produced: each group goes to its member's latest
    request before it (within ``within``) that asked for as many GPUs, as long, of its model,
    was offered a start no later than the group's, and has no group yet (a booking follows the
    search just before it, and books what it offered)."""
    models = {g.id: g.model for g in history.gpus}
    asked: dict[str, list[int]] = defaultdict(list)
    for i, request in enumerate(history.requests):
        if replayed(request) and request.earliest_at is not None:
            asked[request.user_name].append(i)
    times = {
        user: [history.requests[i].asked_at for i in indices] for user, indices in asked.items()
    }
    found: dict[int, BookedGroup] = {}
    for group in sorted(history.groups, key=lambda g: (g.created_at, g.group_id)):
        hours = round(group.window.duration / timedelta(hours=1), 2)
        indices = asked.get(group.user_name, [])
        last = bisect_right(times.get(group.user_name, []), group.created_at)
        for i in reversed(indices[:last]):  # asked by then, latest first
            request = history.requests[i]
            offered = request.earliest_at
            if i in found:
                continue
            if offered is None or group.window.start < offered:
                continue
            if request.asked_at + history.within < group.created_at:
                break
            same_model = request.model == "any" or all(
                model_matches(request.model, models.get(g, request.model)) for g in group.gpu_ids
            )
            if len(group.gpu_ids) == request.count and hours == request.hours and same_model:
                found[i] = group
                break
    return found


class _Load:
    """Blocked windows per GPU, by start, each with its owner's key."""

    def __init__(self) -> None:
        self._starts: dict[int, list[datetime]] = defaultdict(list)
        self._items: dict[int, list[tuple[Window, _Key]]] = defaultdict(list)
        self._longest: dict[int, timedelta] = defaultdict(timedelta)

    def add(self, gpu_id: int, window: Window, key: _Key) -> None:
        starts = self._starts[gpu_id]
        i = bisect_right(starts, window.start)
        starts.insert(i, window.start)
        self._items[gpu_id].insert(i, (window, key))
        self._longest[gpu_id] = max(self._longest[gpu_id], window.duration)

    def remove(self, gpu_id: int, key: _Key) -> None:
        items = self._items[gpu_id]
        i = next(n for n, item in enumerate(items) if item[1] == key)
        del items[i]
        del self._starts[gpu_id][i]

    def busy(
        self, gpu_ids: Iterable[int], lo: datetime, hi: datetime, skip: _Key | None = None
    ) -> dict[int, list[Window]]:
        """Per GPU, the windows overlapping ``[lo, hi)`` (but ``skip``'s)."""
        found: dict[int, list[Window]] = {}
        for gpu_id in gpu_ids:
            starts = self._starts.get(gpu_id)
            if not starts:
                continue
            first = bisect_left(starts, lo - self._longest[gpu_id])
            last = bisect_left(starts, hi)
            windows = [w for w, k in self._items[gpu_id][first:last] if w.end > lo and k != skip]
            if windows:
                found[gpu_id] = windows
        return found


class _Members:
    """Each member's bookings in the replay, for their limits (GPUs at once, weekly quota)."""

    def __init__(self, models: Mapping[int, str]) -> None:
        self.models = models
        self._held: dict[str, dict[_Key, tuple[Window, list[Booking]]]] = defaultdict(dict)

    def add(self, user: str, key: _Key, gpu_ids: Sequence[int], window: Window) -> None:
        self._held[user][key] = (window, [Booking(None, "", g, user, window) for g in gpu_ids])

    def remove(self, user: str, key: _Key) -> None:
        self._held[user].pop(key, None)

    def forget(self, before: datetime) -> None:
        """Drop what ends by ``before``: requests come in order, so no later search's limits
        look back that far (a week for the quota)."""
        for held in self._held.values():
            for key in [k for k, (window, _group) in held.items() if window.end <= before]:
                del held[key]

    def limit(
        self, rules: BookingRules, user: str, count: int, lo: datetime, hi: datetime, skip: _Key
    ) -> tuple[Callable[[SlotOption], bool] | None, list[datetime]]:
        """Whether ``user`` may book ``count`` GPUs over a window in ``[lo, hi)`` besides
        ``skip``'s bookings (a request never limits itself), and where their limits lift;
        None when nothing they hold could refuse one (most searches: no check at all)."""
        quota = rules.weekly_quota_gpu_hours is not None
        reach = WEEK if quota else timedelta(0)
        near = [
            b
            for key, (window, group) in self._held[user].items()
            if key != skip and window.end > lo - reach and window.start < hi + reach
            for b in group
        ]
        if not quota and len(near) + count <= rules.max_gpus_at_once:
            return None, []
        used = [(b.window, self.models.get(b.gpu_id, "")) for b in near]

        def allows(option: SlotOption) -> bool:
            models = [self.models.get(i, "") for i in option.gpu_ids]
            try:
                check_at_once(rules, user, option.window, len(models), near)
                check_quota(rules, user, option.window, models, used)
            except RuleRefusedError:
                return False
            return True

        starts = {b.window.end for b in near if lo < b.window.end < hi}
        if quota:
            week = week_start(lo) + WEEK
            while week < hi:
                starts.add(week)
                week += WEEK
        return allows, sorted(starts)


@dataclass(frozen=True, slots=True)
class Answer:
    """One request in a replay: the earliest start it was given (None: none within the
    horizon, or not replayed) and whether it holds GPUs in the replay."""

    start: datetime | None
    placed: bool = False
    option: SlotOption | None = None


def _ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


class Replay:
    """The replays of one history on one set of GPUs."""

    def __init__(
        self,
        history: History,
        gpus: Sequence[SlotGpu],
        matched: dict[int, BookedGroup] | None = None,
    ) -> None:
        self.history = history
        self.gpus = list(gpus)
        self.matched = match_groups(history) if matched is None else matched
        taken = {g.group_id for g in self.matched.values()}
        self.fixed = sorted(
            (g for g in history.groups if g.group_id not in taken), key=lambda g: g.created_at
        )
        self.models = {g.id: g.model for g in self.gpus}
        self._server = {g.id: g.server for g in self.gpus}
        self._pools: dict[str, list[SlotGpu]] = {}

    def _pool(self, model: str) -> list[SlotGpu]:
        if model not in self._pools:
            self._pools[model] = select_gpus(self.gpus, None if model == "any" else model)
        return self._pools[model]

    def _wants_place(self, i: int, start: datetime | None) -> bool:
        """True if request ``i`` answered with ``start`` would hold GPUs: it was booked, or it
        was unmet and now has a slot within ``UNMET_AFTER`` (the member would book it)."""
        if start is None:
            return False
        if i in self.matched:
            return True
        request = self.history.requests[i]
        return request.unmet and start - request.wanted_at < UNMET_AFTER

    def _after(self, i: int) -> datetime:
        """The earliest start request ``i``'s search looks at (its wanted start)."""
        request = self.history.requests[i]
        return _ceil_minute(max(request.wanted_at, request.asked_at))

    def _search(
        self,
        i: int,
        load: _Load | _Union,
        members: _Members,
        skip: _Key,
        before: datetime | None = None,
    ) -> SlotOption | None:
        """Request ``i``'s earliest slot on ``load`` (without ``skip``'s own windows); with
        ``before``, only one starting before it (a replay looking for an earlier slot)."""
        request = self.history.requests[i]
        pool = self._pool(request.model)
        if len(pool) < request.count:
            return None
        duration = timedelta(hours=request.hours)
        after = self._after(i)
        deadline = request.asked_at + timedelta(days=self.history.rules.horizon_days) + duration
        if before is not None:
            deadline = min(deadline, before + duration - timedelta(microseconds=1))
        if deadline - duration < after:
            return None
        rules = self.history.rules
        allows, starts = members.limit(
            rules, request.user_name, request.count, after, deadline, skip
        )
        busy = load.busy((g.id for g in pool), after, deadline, skip)
        options = find_earliest_slots(
            pool,
            busy,
            request.count,
            duration,
            after,
            deadline,
            alternatives=1,
            allowed=allows,
            extra_starts=starts,
        )
        return options[0] if options else None

    def _kept(self, i: int, option: SlotOption | None, load: _Load) -> SlotOption | None:
        """``option``, or the GPUs request ``i`` really booked when it starts at that very
        start and they are free: the lab chose among equal GPUs by what the replay cannot
        know (a server down, someone's unbooked process), and what follows depends on it."""
        group = self.matched.get(i)
        if option is None or group is None or group.window != option.window:
            return option
        if load.busy(group.gpu_ids, option.start, option.end) or not all(
            g in self.models for g in group.gpu_ids
        ):
            return option
        ids = tuple(sorted(group.gpu_ids))
        servers = tuple(sorted({self._server[g] for g in ids}))
        return SlotOption(option.start, option.end, ids, servers)

    def _start(self) -> tuple[_Load, _Members]:
        load, members = _Load(), _Members(self.models)
        for gpu_id, windows in self.history.maintenance.items():
            for w in windows:
                load.add(gpu_id, w, ("m", id(w)))
        return load, members

    @staticmethod
    def _put(
        load: _Load, members: _Members, key: _Key, user: str, ids: Sequence[int], w: Window
    ) -> None:
        for gpu_id in ids:
            load.add(gpu_id, w, key)
        members.add(user, key, ids, w)

    @staticmethod
    def _take(load: _Load, members: _Members, key: _Key, user: str, ids: Sequence[int]) -> None:
        for gpu_id in ids:
            load.remove(gpu_id, key)
        members.remove(user, key)

    def greedy(self) -> list[Answer]:
        """Each request asked in turn on what was booked when it was asked."""
        load, members = self._start()
        answers: list[Answer] = []
        fixed = iter(self.fixed)
        pending = next(fixed, None)
        for i, request in enumerate(self.history.requests):
            if i % FORGET_EVERY == 0:
                members.forget(request.asked_at - 2 * WEEK)
            while pending is not None and pending.created_at <= request.asked_at:
                key = ("g", pending.group_id)
                self._put(load, members, key, pending.user_name, pending.gpu_ids, pending.window)
                pending = next(fixed, None)
            if not replayed(request):
                answers.append(Answer(None))
                continue
            option = self._kept(i, self._search(i, load, members, ("r", i)), load)
            start = None if option is None else option.start
            placed = option is not None and self._wants_place(i, start)
            if placed and option is not None:
                self._put(load, members, ("r", i), request.user_name, option.gpu_ids, option.window)
            answers.append(Answer(start, placed, option))
        return answers

    def monotone(self, base: Sequence[Answer]) -> list[Answer]:
        """Requests moved only to time no other placement, fixed group or later answer uses,
        from ``base`` (this history's greedy replay on GPUs that are all still here)."""
        full, members = self._start()  # every fixed group and placement, for moves
        seen, seen_members = self._start()  # what each search saw when asked (greedy's view)
        promised = _Load()  # later requests' base answers that hold nothing: kept free
        for g in self.fixed:
            self._put(full, members, ("g", g.group_id), g.user_name, g.gpu_ids, g.window)
        for i, answer in enumerate(base):
            user = self.history.requests[i].user_name
            if answer.option is not None and answer.placed:
                self._put(
                    full, members, ("r", i), user, answer.option.gpu_ids, answer.option.window
                )
            elif answer.option is not None:
                for gpu_id in answer.option.gpu_ids:
                    promised.add(gpu_id, answer.option.window, ("r", i))
        answers: list[Answer] = []
        fixed = iter(self.fixed)
        pending = next(fixed, None)
        for i, request in enumerate(self.history.requests):
            if i % FORGET_EVERY == 0:
                members.forget(request.asked_at - 2 * WEEK)
                seen_members.forget(request.asked_at - 2 * WEEK)
            while pending is not None and pending.created_at <= request.asked_at:
                key = ("g", pending.group_id)
                self._put(
                    seen, seen_members, key, pending.user_name, pending.gpu_ids, pending.window
                )
                pending = next(fixed, None)
            was = base[i]
            if was.option is not None and not was.placed:
                for gpu_id in was.option.gpu_ids:
                    promised.remove(gpu_id, ("r", i))
            if not replayed(request):
                answers.append(was)
                continue
            answer = self._monotone_one(i, was, full, members, seen, seen_members, promised)
            if answer.placed and answer.option is not None:
                ids, w = answer.option.gpu_ids, answer.option.window
                self._put(seen, seen_members, ("r", i), request.user_name, ids, w)
            answers.append(answer)
        return answers

    def _monotone_one(
        self,
        i: int,
        was: Answer,
        full: _Load,
        members: _Members,
        seen: _Load,
        seen_members: _Members,
        promised: _Load,
    ) -> Answer:
        request = self.history.requests[i]
        key = ("r", i)
        if was.start is not None and was.start <= self._after(i):
            return was  # no wait: nothing to gain
        if was.placed or i in self.matched or request.unmet:  # it books, or would
            move = self._search(i, _Union(full, promised), members, key, was.start)
            if move is None:
                return was
            if was.placed and was.option is not None:
                self._take(full, members, key, request.user_name, was.option.gpu_ids)
            if was.placed or self._wants_place(i, move.start):
                self._put(full, members, key, request.user_name, move.gpu_ids, move.window)
                return Answer(move.start, True, move)
            return Answer(move.start, False, move)  # earlier, still too late: books nothing
        # Held nothing: the answer it would have had when asked, never later than the base
        # one (that slot is still free then: moves keep off it).
        option = self._search(i, seen, seen_members, key, was.start)
        if option is None:
            return Answer(was.start, False, was.option)
        return Answer(option.start, False, option)


class _Union:
    """Two loads read as one (the search only reads ``busy``)."""

    def __init__(self, a: _Load, b: _Load) -> None:
        self.a, self.b = a, b

    def busy(
        self, gpu_ids: Iterable[int], lo: datetime, hi: datetime, skip: _Key | None = None
    ) -> dict[int, list[Window]]:
        ids = list(gpu_ids)
        found = self.a.busy(ids, lo, hi, skip)
        for gpu_id, windows in self.b.busy(ids, lo, hi, skip).items():
            found.setdefault(gpu_id, []).extend(windows)
        return found
