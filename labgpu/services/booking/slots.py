"""Finding slots: the earliest windows in which GPUs are free together and the member may book
them, and booking such a window (``BookingService.find_slots``, ``book_earliest``,
``book_model``).

A search reads the lab once (one transaction, one busy map of the horizon), then searches in
memory (``labgpu.core.booking.slots``). Servers that are down and GPUs running another member's
unbooked work are not offered. What the lab could not serve is recorded for the PI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import BookingConflictError, BookingStatus, Window, as_utc
from labgpu.core.booking.checks import check_pool
from labgpu.core.booking.rules import (
    BookingGroupView,
    BookingRules,
    RuleRefusedError,
    check_at_once,
    check_length,
    check_quota,
    check_window,
    hours_text,
    weeks_of,
)
from labgpu.core.booking.slots import SlotGpu, SlotOption, find_earliest_slots, select_gpus
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import ServerState
from labgpu.services.usage.projects import ProjectsService

if TYPE_CHECKING:
    from labgpu.services.booking.service import BookingService
    from labgpu.storage import Store
    from labgpu.storage.busy_cache import SearchBasis

#: Statuses stored in the database that hold a GPU (``active`` is only ever derived).
HELD = (BookingStatus.PENDING, BookingStatus.BOOKED)
#: Statuses whose hours count toward the weekly quota (a released booking counts until release).
COUNTED = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.RELEASED)
#: How often ``book_earliest`` looks again when someone else took the slot it found.
EARLIEST_TRIES = 3
#: Servers in these states are not offered by the slot search (their GPUs may be down).
UNREACHABLE = frozenset(
    {
        ServerState.OFFLINE,
        ServerState.PROBE_ERROR,
        ServerState.AUTH_FAILED,
        ServerState.HOST_KEY_UNKNOWN,
        ServerState.HOST_KEY_CHANGED,
    }
)
#: A GPU running another member's process without a booking is not offered for a window that
#: starts within this long (a window starting now would share it with that process).
UNBOOKED_BLOCK = timedelta(minutes=30)

log = logging.getLogger(__name__)


class SlotFinder:
    """Slot searches (and bookings of what they find) as one member of the lab."""

    def __init__(self, service: BookingService) -> None:
        self.service = service
        self._basis: SearchBasis | None = None
        self._project: str | None = None  # the project the search is for

    def _lab(self) -> SearchBasis:
        """The rules, GPUs and blocked windows of this search, read once (kept per process
        by the store while the lab has not changed)."""
        if self._basis is None:
            self._basis = self.store.bookings.search_basis()
        return self._basis

    @property
    def store(self) -> Store:
        return self.service.store

    @property
    def user(self) -> str:
        return self.service.user

    def clock(self) -> datetime:
        return self.service.clock()

    def find_slots(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        *,
        min_memory_mb: int | None = None,
        after: datetime | None = None,
        deadline: datetime | None = None,
        same_server: bool = False,
        alternatives: int = 3,
        project: str | None = None,
    ) -> list[SlotOption]:
        """The earliest windows in which ``count`` bookable GPUs are free together and this
        member may book (GPUs held at once, weekly quota, length), for ``project``.

        GPUs of servers that are offline or in error are not offered, nor, for a window
        starting within ``UNBOOKED_BLOCK``, GPUs running another member's unbooked process.
        When the member's own rules refuse every window that is free, the refusal of the
        latest one is raised (``RuleRefusedError``): it says why nothing is offered.

        The PI's evidence is recorded as a side effect: every search, with the earliest start
        offered (its wait; none within ``UNMET_AFTER`` of the wanted time is unmet demand); one a
        lab rule refuses (exit 3, not malformed input) is recorded with that rule, apart.
        """
        self._basis = None  # a new search reads the lab as it is now
        self._project = ProjectsService(self.service).check(project)  # recorded with it
        wanted = self.clock() if after is None else max(as_utc(after, "after"), self.clock())
        try:
            with self.store.reading():  # one transaction for the search's many reads
                search = self._find_slots(
                    model,
                    count,
                    duration,
                    min_memory_mb,
                    after,
                    deadline,
                    same_server,
                    alternatives,
                )
        except RuleRefusedError as exc:
            if exc.exit_code == RefusedError.exit_code:  # a lab rule, not malformed input
                name = self._model_name(model)
                self._note_request(name, count, duration, wanted, [], refused_rule=exc.rule)
            raise
        self._note_request(
            search.model, count, duration, wanted, search.options, refused_rule=search.delayed_by
        )
        return search.options

    def _model_name(self, model: str | None) -> str:
        """The model a request names as ``nvidia-smi`` calls it (``A4000`` and ``RTX A4000``
        are one request), or what was typed when it matches none or several."""
        if model is None:
            return "any"
        gpus = self._lab().gpus
        pool = [SlotGpu(g.id or 0, g.server_name, g.model, g.memory_mb) for g in gpus]
        return _one_model(select_gpus(pool, model, None), model)

    def _find_slots(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        min_memory_mb: int | None,
        after: datetime | None,
        deadline: datetime | None,
        same_server: bool,
        alternatives: int,
    ) -> _Search:
        rules, now = self._lab().rules, self.clock()
        check_length(rules, duration)
        if duration <= timedelta(0):
            raise RuleRefusedError(
                "duration",
                "longer than 0 h",
                hours_text(duration / timedelta(hours=1)),
                _("a booking must last longer than zero; give a positive duration"),
                exit_code=2,
            )
        pool = self._slot_pool(model, count, min_memory_mb, same_server, rules)
        start = now if after is None else max(as_utc(after, "after"), now)
        start = _ceil_minute(start)
        latest_end = start_limit(rules, now) + duration
        deadline = latest_end if deadline is None else min(as_utc(deadline, "deadline"), latest_end)
        limit = _MemberLimit(self.service, rules, pool, start, deadline)
        options = self._search(
            pool, count, duration, start, deadline, same_server, alternatives, limit
        )
        if not options and limit.refusal is not None:
            raise limit.refusal
        # Free GPUs the member's own rules kept them from (held at once, quota) before the
        # first option: their wait is the rule's doing, not the lab's lack of GPUs.
        first = options[0].start if options else None
        refused_at = limit.first_refused_at
        delayed = refused_at is not None and (first is None or refused_at < first)
        return _Search(
            options,
            _one_model(pool, model or "any") if model is not None else "any",
            limit.refusal.rule if delayed and limit.refusal is not None else None,
        )

    def _note_request(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        wanted: datetime,
        options: Sequence[SlotOption],
        refused_rule: str | None = None,
    ) -> None:
        """Remember the request and the lab's answer, the PI's evidence: its wait (the
        earliest start offered), unmet demand when that is too late or none, or the lab rule
        that refused it (``refused_rule``)."""
        from labgpu.core.usage.figures import SlotRequest
        from labgpu.services.usage.service import UsageService

        earliest = options[0].start if options else None
        request = SlotRequest(
            user_name=self.user,
            model=model or "any",
            count=count,
            hours=round(duration / timedelta(hours=1), 2),
            asked_at=self.clock(),
            wanted_at=wanted,
            earliest_at=earliest,
            refused_rule=refused_rule,
            project=self._project,
        )
        try:
            UsageService(self.store, self.clock).record_request(request)
        except LabgpuError as exc:  # the search's answer matters more than the record
            log.warning("could not record an unmet request: %s", exc)

    def _search(
        self,
        pool: Sequence[SlotGpu],
        count: int,
        duration: timedelta,
        start: datetime,
        deadline: datetime,
        same_server: bool,
        alternatives: int,
        limit: _MemberLimit | None = None,
    ) -> list[SlotOption]:
        """Search the horizon: its busy map is read at once (one query of a few hundred rows
        costs less than a second round trip and a second search over a growing span)."""
        busy = self._lab().busy_windows(start, deadline)
        for gpu_id, windows in self._unbooked_blocks(pool, self.clock()).items():
            busy.setdefault(gpu_id, []).extend(windows)
        return find_earliest_slots(
            pool,
            busy,
            count,
            duration,
            start,
            deadline,
            same_server,
            alternatives,
            allowed=None if limit is None else limit.allows,
            extra_starts=() if limit is None else limit.starts,
        )

    def _slot_pool(
        self,
        model: str | None,
        count: int,
        min_memory_mb: int | None,
        same_server: bool,
        rules: BookingRules,
    ) -> list[SlotGpu]:
        if count < 1:
            raise RuleRefusedError(
                "count",
                "at least 1 GPU",
                f"{count} GPUs",
                _("ask for at least one GPU"),
                exit_code=2,
            )
        if count > rules.max_gpus_at_once:
            raise RuleRefusedError(
                "max_gpus_at_once",
                f"{rules.max_gpus_at_once} GPUs",
                f"{count} GPUs",
                _(
                    "{count} GPUs is more than the {limit} a member may hold at once; ask for fewer"
                ).format(count=count, limit=rules.max_gpus_at_once),
            )
        bookable = [
            SlotGpu(g.id, g.server_name, g.model, g.memory_mb)
            for g in self._lab().gpus
            if g.bookable and g.id is not None
        ]
        pool = check_pool(
            select_gpus(bookable, model, min_memory_mb),
            bookable,
            model,
            min_memory_mb,
            count,
            same_server,
        )
        return self._reachable(pool, count, same_server, model)

    def _reachable(
        self, pool: Sequence[SlotGpu], count: int, same_server: bool, model: str | None
    ) -> list[SlotGpu]:
        """The pool without GPUs of servers that are offline or in error; a ``LabgpuError``
        (the lab cannot serve it now) when too few are left for ``count``."""
        down = {s.name: s for s in self.store.inventory.list_servers() if s.state in UNREACHABLE}
        left = [g for g in pool if g.server not in down]
        largest = len(left)
        if same_server:
            per_server: dict[str, int] = {}
            for g in left:
                per_server[g.server] = per_server.get(g.server, 0) + 1
            largest = max(per_server.values(), default=0)
        if count > largest:
            names = sorted({g.server for g in pool if g.server in down})
            states = ", ".join(f"{n} ({down[n].state.value.replace('_', ' ')})" for n in names)
            message = (
                _(
                    "only {largest} x {model} on one server are on servers that answer now; "
                    "not offered: {states}; ask for fewer GPUs or try again when they are back"
                )
                if same_server
                else _(
                    "only {largest} x {model} are on servers that answer now; "
                    "not offered: {states}; ask for fewer GPUs or try again when they are back"
                )
            )
            raise LabgpuError(
                message.format(largest=largest, model=model or _("GPU"), states=states)
            )
        return left

    def _unbooked_blocks(self, pool: Sequence[SlotGpu], now: datetime) -> dict[int, list[Window]]:
        """GPUs of ``pool`` running another member's process without a booking: busy for the
        next ``UNBOOKED_BLOCK`` (a window starting now would share the GPU)."""
        ids = {g.id for g in pool}
        running = {  # GPU -> other members running processes on it now
            gpu_id: users - {self.user}
            for gpu_id, users in self.store.inventory.current_users().items()
            if gpu_id in ids and users - {self.user}
        }
        if not running:  # most searches: nobody else runs anything there, nothing more to read
            return {}
        held = {
            (b.gpu_id, b.user_name)
            for b in self.store.bookings.list_bookings(
                start=now, end=now + timedelta(seconds=1), statuses=[BookingStatus.BOOKED]
            )
        }
        return {
            gpu_id: [Window(now, now + UNBOOKED_BLOCK)]
            for gpu_id, users in running.items()
            if any((gpu_id, u) not in held for u in users)
        }

    def book_earliest(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        *,
        same_server: bool = False,
        after: datetime | None = None,
        note: str = "",
        project: str | None = None,
    ) -> BookingGroupView:
        """Book the earliest slot; if someone takes it first, look again (a few times)."""
        for attempt in range(EARLIEST_TRIES):
            options = self.find_slots(
                model,
                count,
                duration,
                after=after,
                same_server=same_server,
                alternatives=1,
                project=project,
            )
            if not options:  # the lab cannot serve it: exit 1, not a rule (README *Using it*)
                raise LabgpuError(
                    _(
                        "no {count} x {model} free together for {hours} within the booking "
                        "horizon; try fewer GPUs, a shorter time or another model"
                    ).format(
                        count=count,
                        model=model or _("GPU"),
                        hours=hours_text(duration / timedelta(hours=1)),
                    )
                )
            slot = options[0]
            try:
                return self.service.book(slot.gpu_ids, slot.start, slot.end, note, project)
            except BookingConflictError:
                if attempt == EARLIEST_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def book_model(
        self,
        model: str | None,
        count: int,
        start: datetime,
        end: datetime,
        *,
        same_server: bool = False,
        note: str = "",
        project: str | None = None,
    ) -> BookingGroupView:
        """Book ``count`` GPUs of ``model`` free over exactly ``[start, end)`` (fewest servers)."""
        rules = self.service.rules()
        window = check_window(rules, start, end, self.clock())
        pool = self._slot_pool(model, count, None, same_server, rules)
        in_use = self._unbooked_blocks(pool, self.clock())
        for attempt in range(EARLIEST_TRIES):
            busy = self.service.busy_map(window.start, window.end)
            for gpu_id, windows in in_use.items():
                busy.setdefault(gpu_id, []).extend(windows)
            options = find_earliest_slots(
                pool, busy, count, window.duration, window.start, window.end, same_server, 1
            )
            if not options:
                raise RefusedError(
                    _(
                        "no {count} x {model} free together from {window}; "
                        "`labgpu slots` shows when they are, or book with --earliest"
                    ).format(count=count, model=model or _("GPU"), window=window.text())
                )
            try:
                return self.service.book(
                    options[0].gpu_ids, window.start, window.end, note, project
                )
            except BookingConflictError:
                if attempt == EARLIEST_TRIES - 1:
                    raise
        raise AssertionError("unreachable")


class _MemberLimit:
    """What this member may book on top of what they hold: GPUs at once and the weekly quota,
    checked per option from their bookings read once; the latest refusal is kept (the one
    that still holds at the end of the search says best why nothing is offered)."""

    def __init__(
        self,
        service: BookingService,
        rules: BookingRules,
        pool: Sequence[SlotGpu],
        start: datetime,
        deadline: datetime,
    ) -> None:
        self.service = service
        self.rules = rules
        self.models = {g.id: g.model for g in pool}
        mine = service.store.bookings.list_bookings(
            start=start - timedelta(days=7), end=deadline + timedelta(days=7), user=service.user
        )
        self.held = [b for b in mine if b.status in HELD]
        counted = [b for b in mine if b.status in COUNTED]
        models = dict(self.models)
        outside = any(b.gpu_id not in models for b in counted)
        if rules.weekly_quota_gpu_hours is not None and outside:
            # The quota weighs by model: the models of GPUs outside the pool, read only then.
            models.update({i: g.model for i, g in service.gpus().items()})
        self.used = [(b.window, models.get(b.gpu_id, "")) for b in counted]
        quota = rules.weekly_quota_gpu_hours is not None and deadline > start
        weeks = weeks_of(Window(start, deadline)) if quota else []
        self.starts = sorted({b.window.end for b in self.held} | {w.start for w in weeks[1:]})
        self.refusal: RuleRefusedError | None = None
        self.first_refused_at: datetime | None = None  # the earliest free window refused

    def allows(self, option: SlotOption) -> bool:
        """True if the member may book ``option``; else remember why not."""
        models = [self.models.get(i, "") for i in option.gpu_ids]
        try:
            check_at_once(self.rules, self.service.user, option.window, len(models), self.held)
            check_quota(self.rules, self.service.user, option.window, models, self.used)
        except RuleRefusedError as exc:
            self.refusal = exc
            if self.first_refused_at is None or option.start < self.first_refused_at:
                self.first_refused_at = option.start
            return False
        return True


@dataclass(frozen=True, slots=True)
class _Search:
    """A slot search's answer: the options, the model asked for as the lab names it, and the
    member's rule that kept free GPUs from them first (None: none did)."""

    options: list[SlotOption]
    model: str
    delayed_by: str | None


def _one_model(pool: Sequence[SlotGpu], asked: str) -> str:
    """The one model name of ``pool``, or ``asked`` when it holds none or several."""
    names = {g.model for g in pool}
    return names.pop() if len(names) == 1 else asked


def _ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def start_limit(rules: BookingRules, now: datetime) -> datetime:
    """The latest start the booking horizon allows."""
    return now + timedelta(days=rules.horizon_days)
