"""Booking use cases: book, find a slot, cancel, end early, extend, approve, rules, maintenance.

The rules are checked here, from figures read in the store; the store alone guarantees that no
two live bookings of a GPU overlap (a check here would race). ``check`` is the same path as
``book`` without the write, so the app can show a refusal before anything is saved.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import (
    Booking,
    BookingConflictError,
    BookingStatus,
    Window,
    as_utc,
    check_no_conflicts,
)
from labgpu.core.booking.checks import (
    check_gpus,
    check_maintenance,
    check_pool,
    groups_of,
    not_a_decider,
    validate_rules,
    wrong_status,
)
from labgpu.core.booking.rules import (
    BookingGroupView,
    BookingRules,
    BookingView,
    Maintenance,
    Reminder,
    ReminderKind,
    RuleRefusedError,
    check_at_once,
    check_length,
    check_quota,
    check_window,
    effective_status,
    hours_text,
    initial_status,
    weeks_of,
)
from labgpu.core.booking.slots import SlotGpu, SlotOption, find_earliest_slots, select_gpus
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu, ServerState

if TYPE_CHECKING:
    from labgpu.storage import Store

Clock = Callable[[], datetime]

#: Statuses stored in the database that hold a GPU (``active`` is only ever derived).
HELD = (BookingStatus.PENDING, BookingStatus.BOOKED)
#: Statuses whose hours count toward the weekly quota (a released booking counts until release).
COUNTED = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.RELEASED)
#: The first span of the future an earliest-slot search reads (beyond the duration).
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


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class BookingService:
    """Bookings of one lab as seen by one user (``store`` shared, thread-safe)."""

    def __init__(
        self,
        store: Store,
        user: str,
        clock: Clock = utc_now,
        role: Callable[[], str] | None = None,
    ) -> None:
        """``role``: this user's lab role, if not the database's (the demo's members)."""
        self.store = store
        self.user = user
        self.clock = clock
        self._role = role

    # -- roles: the lab database's (single seat: the local user manages) -------------------

    def role(self) -> str:
        """``student``, ``pi``, ``manager`` or ``collector``; checked here as the lab database
        checks it, so a refusal comes before the write and says the same."""
        return self._role() if self._role is not None else self.store.lab.role()

    def can_approve(self) -> bool:
        """True if this user may approve or reject pending requests."""
        return self.role() in ("pi", "manager")

    def can_manage(self) -> bool:
        """True if this user may edit rules, maintenance and bookable GPUs."""
        return self.role() == "manager"

    def _require_manager(self, what: str) -> None:
        if not self.can_manage():
            raise RefusedError(
                _("permission denied: only a lab manager can {what}").format(what=_(what))
            )

    # -- rules ------------------------------------------------------------------------------

    def rules(self) -> BookingRules:
        """The lab's current rules (defaults until a manager saves some)."""
        return self.store.get_rules()

    def set_rules(self, rules: BookingRules) -> None:
        """Save new rules (audited). Existing bookings stay as they are."""
        self._require_manager(N_("change the booking rules"))
        validate_rules(rules)
        self.store.set_rules(rules, self.user)

    # -- reading ----------------------------------------------------------------------------

    def gpus(self) -> dict[int, Gpu]:
        """Every GPU by id, retired ones too (old bookings still name them)."""
        return {g.id: g for g in self.store.list_gpus(include_retired=True) if g.id is not None}

    def bookings(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        mine: bool = False,
        statuses: Iterable[BookingStatus] | None = None,
    ) -> list[BookingView]:
        """Bookings overlapping ``[start, end)`` (all time if unset), by start then GPU."""
        found = self.store.list_bookings(
            start=None if start is None else as_utc(start, "start"),
            end=None if end is None else as_utc(end, "end"),
            user=self.user if mine else None,
            statuses=statuses,
        )
        return self.views(found)

    def views(self, bookings: Iterable[Booking]) -> list[BookingView]:
        """Bookings with their display status, model and server."""
        gpus, now = self.gpus(), self.clock()
        return [self._view(b, gpus.get(b.gpu_id), now) for b in bookings]

    @staticmethod
    def _view(booking: Booking, gpu: Gpu | None, now: datetime) -> BookingView:
        label = booking.gpu_label or (f"{gpu.server_name}:{gpu.index}" if gpu else "?")
        return BookingView(
            booking=booking,
            status=effective_status(booking, now),
            gpu_label=label,
            model=gpu.model if gpu else "",
            server=gpu.server_name if gpu else label.partition(":")[0],
        )

    def group(self, group_id: str) -> BookingGroupView:
        """One booking group; ``group_id`` may also be the id of one of its bookings."""
        bookings = self.store.list_bookings(group_id=self._group_id(group_id))
        if not bookings:
            raise LabgpuError(_("no booking {id}; see `labgpu bookings`").format(id=repr(group_id)))
        return groups_of(self.views(bookings))[0]

    def _group_id(self, ref: str) -> str:
        """A group id from a group id, a unique prefix of one (6+ characters) or a booking id."""
        ref = ref.strip()
        if len(ref) == 36:
            return ref
        every = self.store.list_bookings()
        matches = {b.group_id for b in every if len(ref) >= 6 and b.group_id.startswith(ref)}
        if ref.isdigit():  # also a booking's number
            matches.update(b.group_id for b in every if b.id == int(ref))
        if len(matches) > 1:
            raise LabgpuError(
                _("{ref} names {count} bookings; give the whole id").format(
                    ref=repr(ref), count=len(matches)
                )
            )
        if not matches and ref.isdigit():
            raise LabgpuError(_("no booking with id {ref}; see `labgpu bookings`").format(ref=ref))
        return matches.pop() if matches else ref

    # -- booking ----------------------------------------------------------------------------

    def check(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime
    ) -> tuple[Window, list[Gpu], BookingStatus]:
        """Every rule and conflict ``book`` checks, writing nothing; raises the same refusals."""
        window, chosen, status = self._check_rules(gpu_ids, start, end)
        ids = [g.id for g in chosen if g.id is not None]
        live = self.store.list_bookings(start=window.start, end=window.end, statuses=HELD)
        check_no_conflicts(ids, window, live)
        blocks = self.store.list_maintenance(window.start, window.end)
        labels = {g.id: f"{g.server_name}:{g.index}" for g in chosen if g.id is not None}
        check_maintenance(ids, window, blocks, labels)
        return window, chosen, status

    def _check_rules(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime
    ) -> tuple[Window, list[Gpu], BookingStatus]:
        rules, now = self.rules(), self.clock()
        window = check_window(rules, start, end, now)
        chosen = check_gpus(gpu_ids, self.gpus())
        self._check_holdings(rules, window, [g.model for g in chosen], ignore_group=None)
        return window, chosen, initial_status(rules, [g.model for g in chosen])

    def _check_holdings(
        self, rules: BookingRules, window: Window, models: Sequence[str], ignore_group: str | None
    ) -> None:
        """Held-at-once and weekly quota for ``models`` more GPUs over ``window``.

        ``ignore_group`` is a group being extended by ``window``: its GPUs are the ones added
        at once, and its hours so far still count toward the quota.
        """
        mine = self.store.list_bookings(
            start=window.start - timedelta(days=7),
            end=window.end + timedelta(days=7),
            user=self.user,
        )
        others = [b for b in mine if b.group_id != ignore_group and b.status in HELD]
        check_at_once(rules, self.user, window, len(models), others)
        if rules.weekly_quota_gpu_hours is not None:
            gpus = self.gpus()
            used = [
                (b.window, gpus[b.gpu_id].model if b.gpu_id in gpus else "")
                for b in mine
                if b.status in COUNTED
            ]
            check_quota(rules, self.user, window, models, used)

    def book(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime, note: str = ""
    ) -> BookingGroupView:
        """Book ``gpu_ids`` over ``[start, end)`` as one group; all or nothing."""
        window, chosen, status = self._check_rules(gpu_ids, start, end)
        ids = [g.id for g in chosen if g.id is not None]
        created = self.store.create_bookings(
            str(uuid.uuid4()),
            ids,
            self.user,
            window,
            status,
            note.strip(),
            self.user,
            created_at=self.clock(),
        )
        return groups_of(self.views(created))[0]

    def book_model(
        self,
        model: str | None,
        count: int,
        start: datetime,
        end: datetime,
        *,
        same_server: bool = False,
        note: str = "",
    ) -> BookingGroupView:
        """Book ``count`` GPUs of ``model`` free over exactly ``[start, end)`` (fewest servers)."""
        rules = self.rules()
        window = check_window(rules, start, end, self.clock())
        pool = self._slot_pool(model, count, None, same_server, rules)
        in_use = self._unbooked_blocks(pool, self.clock())
        for attempt in range(EARLIEST_TRIES):
            busy = self.busy_map(window.start, window.end)
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
                return self.book(options[0].gpu_ids, window.start, window.end, note)
            except BookingConflictError:
                if attempt == EARLIEST_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- earliest slot ----------------------------------------------------------------------

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
    ) -> list[SlotOption]:
        """The earliest windows in which ``count`` bookable GPUs are free together and this
        member may book (GPUs held at once, weekly quota, length).

        GPUs of servers that are offline or in error are not offered, nor, for a window
        starting within ``UNBOOKED_BLOCK``, GPUs running another member's unbooked process.
        When the member's own rules refuse every window that is free, the refusal of the
        latest one is raised (``RuleRefusedError``): it says why nothing is offered.

        The PI's evidence is recorded as a side effect: a search the lab cannot serve within
        ``UNMET_AFTER`` of the wanted time is unmet demand; one a lab rule refuses (exit 3,
        not malformed input) is recorded with that rule, apart from it.
        """
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
                self._note_unmet(name, count, duration, wanted, [], refused_rule=exc.rule)
            raise
        self._note_unmet(
            search.model, count, duration, wanted, search.options, refused_rule=search.delayed_by
        )
        return search.options

    def _model_name(self, model: str | None) -> str:
        """The model a request names as ``nvidia-smi`` calls it (``A4000`` and ``RTX A4000``
        are one request), or what was typed when it matches none or several."""
        if model is None:
            return "any"
        gpus = self.store.list_gpus()
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
        rules, now = self.rules(), self.clock()
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
        limit = _MemberLimit(self, rules, pool, start, deadline)
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

    def _note_unmet(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        wanted: datetime,
        options: Sequence[SlotOption],
        refused_rule: str | None = None,
    ) -> None:
        """Remember a request the lab did not serve in time: no capacity when wanted (the
        PI's *unmet demand*), or refused by one of the lab's rules (``refused_rule``)."""
        from labgpu.core.usage.figures import UnmetRequest
        from labgpu.services.usage.service import UNMET_AFTER, UsageService

        earliest = options[0].start if options else None
        if earliest is not None and earliest - wanted < UNMET_AFTER:
            return
        request = UnmetRequest(
            user_name=self.user,
            model=model or "any",
            count=count,
            hours=round(duration / timedelta(hours=1), 2),
            asked_at=self.clock(),
            wanted_at=wanted,
            earliest_at=earliest,
            refused_rule=refused_rule,
        )
        try:
            UsageService(self.store, self.clock).record_unmet(request)
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
        busy = self.busy_map(start, deadline)
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
            for g in self.store.list_gpus()
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
        down = {s.name: s for s in self.store.list_servers() if s.state in UNREACHABLE}
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
            for gpu_id, users in self.store.current_users().items()
            if gpu_id in ids and users - {self.user}
        }
        if not running:  # most searches: nobody else runs anything there, nothing more to read
            return {}
        held = {
            (b.gpu_id, b.user_name)
            for b in self.store.list_bookings(
                start=now, end=now + timedelta(seconds=1), statuses=[BookingStatus.BOOKED]
            )
        }
        return {
            gpu_id: [Window(now, now + UNBOOKED_BLOCK)]
            for gpu_id, users in running.items()
            if any((gpu_id, u) not in held for u in users)
        }

    def busy_map(self, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Every GPU's blocked windows (live bookings, maintenance) overlapping the span."""
        return self.store.busy_windows(start, end)

    def book_earliest(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        *,
        same_server: bool = False,
        after: datetime | None = None,
        note: str = "",
    ) -> BookingGroupView:
        """Book the earliest slot; if someone takes it first, look again (a few times)."""
        for attempt in range(EARLIEST_TRIES):
            options = self.find_slots(
                model, count, duration, after=after, same_server=same_server, alternatives=1
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
                return self.book(slot.gpu_ids, slot.start, slot.end, note)
            except BookingConflictError:
                if attempt == EARLIEST_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- changing a group -------------------------------------------------------------------

    def cancel(self, ref: str) -> BookingGroupView:
        """Cancel a booking that has not started; one that has started is ended now."""
        group = self._own_group(ref, "cancel")
        if group.status is BookingStatus.ACTIVE:
            return self.end_early(group.group_id)
        self._require_status(group, (BookingStatus.PENDING, BookingStatus.BOOKED), "cancel")
        updated = self.store.update_group(
            group.group_id, actor=self.user, status=BookingStatus.CANCELLED
        )
        return groups_of(self.views(updated))[0]

    def end_early(self, ref: str) -> BookingGroupView:
        """Release an active booking now; one that has not started is refused (cancel it)."""
        group = self._own_group(ref, "end")
        if group.status in (BookingStatus.PENDING, BookingStatus.BOOKED):
            raise RefusedError(
                _("booking {id} has not started yet; use `labgpu cancel {id}`").format(
                    id=group.group_id
                )
            )
        self._require_status(group, (BookingStatus.ACTIVE,), "end")
        updated = self.store.update_group(
            group.group_id,
            actor=self.user,
            status=BookingStatus.RELEASED,
            end=max(self.clock(), group.window.start + timedelta(seconds=1)),
        )
        return groups_of(self.views(updated))[0]

    def extend(self, ref: str, new_end: datetime) -> BookingGroupView:
        """Move the end of a live booking later, if the GPUs stay free and the rules allow."""
        group = self._own_group(ref, "extend")
        live = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ACTIVE)
        self._require_status(group, live, "extend")
        if group.window.end <= self.clock():  # a request whose window passed, too
            raise RefusedError(
                _(
                    "booking {id} of {user} is finished; it ended at {end} UTC and cannot be "
                    "extended; book again"
                ).format(
                    id=group.group_id, user=group.user, end=f"{group.window.end:%Y-%m-%d %H:%M}"
                )
            )
        new_end = as_utc(new_end, "new end")
        if new_end <= group.window.end:
            raise RuleRefusedError(
                "extend_later",
                f"after {group.window.end:%Y-%m-%d %H:%M} UTC",
                f"{new_end:%Y-%m-%d %H:%M} UTC",
                _(
                    "the new end {new_end} UTC is not after the current end {end} UTC; "
                    "to shorten a booking, end it early"
                ).format(
                    new_end=f"{new_end:%Y-%m-%d %H:%M}", end=f"{group.window.end:%Y-%m-%d %H:%M}"
                ),
            )
        rules = self.rules()
        check_length(rules, new_end - group.window.start)
        extra = Window(group.window.end, new_end)
        models = [v.model for v in group.gpus]
        self._check_holdings(rules, extra, models, ignore_group=group.group_id)
        updated = self.store.update_group(group.group_id, actor=self.user, end=new_end)
        return groups_of(self.views(updated))[0]

    def approve(self, ref: str) -> BookingGroupView:
        """Approve a pending request: it becomes booked."""
        group = self._pending(ref, "approve")
        updated = self.store.update_group(
            group.group_id,
            actor=self.user,
            status=BookingStatus.BOOKED,
            decided_by=self.user,
            decided_at=self.clock(),
        )
        return groups_of(self.views(updated))[0]

    def reject(self, ref: str, reason: str) -> BookingGroupView:
        """Reject a pending request with a reason: it is stored as cancelled."""
        reason = reason.strip()
        if not reason:
            raise LabgpuError(_("a rejection needs a reason the member can read; give one"))
        group = self._pending(ref, "reject")
        updated = self.store.update_group(
            group.group_id,
            actor=self.user,
            status=BookingStatus.CANCELLED,
            decided_by=self.user,
            decision_reason=f"rejected by {self.user}: {reason}",
            decided_at=self.clock(),
        )
        return groups_of(self.views(updated))[0]

    def pending_approvals(self) -> list[BookingGroupView]:
        """Pending requests that have not started yet, oldest start first."""
        pending = self.bookings(statuses=[BookingStatus.PENDING])
        return groups_of(pending)

    def _pending(self, ref: str, verb: str) -> BookingGroupView:
        if not self.can_approve():
            raise RefusedError(not_a_decider(self.user, verb))
        group = self.group(ref)
        self._require_status(group, (BookingStatus.PENDING,), verb)
        return group

    def _own_group(self, ref: str, verb: str) -> BookingGroupView:
        """The group, if this user may ``verb`` it: their own; a PI may also cancel or end
        another member's (as the lab database allows), a manager change any."""
        group = self.group(ref)
        if group.user == self.user:
            return group
        role = self.role()
        if role == "pi" and verb != "extend":
            return group
        if role == "pi":
            raise RefusedError(
                _(
                    "permission denied: a PI decides on others' bookings but does not edit them "
                    "(this one is {user}'s)"
                ).format(user=group.user)
            )
        if role != "manager":
            raise RefusedError(
                _(
                    "permission denied: a {role} can only change their own bookings "
                    "(this one is {user}'s)"
                ).format(role=_("student") if role == "student" else role, user=group.user)
            )
        return group

    @staticmethod
    def _require_status(
        group: BookingGroupView, allowed: Sequence[BookingStatus], verb: str
    ) -> None:
        if group.status not in allowed:
            raise RefusedError(wrong_status(group, allowed, verb))

    # -- reminders --------------------------------------------------------------------------

    def upcoming_reminders(self, now: datetime, lead: timedelta) -> list[Reminder]:
        """This user's bookings starting or ending within ``lead`` of ``now``."""
        now = as_utc(now, "now")
        horizon = now + lead
        reminders = []
        for group in groups_of(self.bookings(now, horizon + timedelta(seconds=1), mine=True)):
            if group.status not in (BookingStatus.BOOKED, BookingStatus.ACTIVE):
                continue
            for kind, at in (
                (ReminderKind.STARTS, group.window.start),
                (ReminderKind.ENDS, group.window.end),
            ):
                if now < at <= horizon:
                    reminders.append(
                        Reminder(
                            group.group_id, kind, at, group.window, group.gpu_labels, group.note
                        )
                    )
        return sorted(reminders, key=lambda r: (r.at, r.group_id))

    # -- maintenance and bookable GPUs ------------------------------------------------------

    def maintenance(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Maintenance]:
        """Maintenance windows overlapping ``[start, end)``."""
        return self.store.list_maintenance(start, end)

    def add_maintenance(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime, reason: str
    ) -> Maintenance:
        """Block GPUs over a window (existing bookings are kept; talk to their holders)."""
        self._require_manager(N_("add maintenance windows"))
        start, end = as_utc(start, "start"), as_utc(end, "end")
        if end <= start:
            raise LabgpuError(_("a maintenance window must end after it starts; fix the times"))
        known = self.gpus()
        unknown = sorted(set(gpu_ids) - set(known))
        if not gpu_ids or unknown:
            raise LabgpuError(
                _("unknown GPU ids {ids}; see `labgpu status`").format(
                    ids=unknown or _("(none given)")
                )
            )
        return self.store.add_maintenance(
            sorted(set(gpu_ids)), Window(start, end), reason, self.user
        )

    def remove_maintenance(self, maintenance_id: int) -> None:
        """Delete a maintenance window."""
        self._require_manager(N_("remove maintenance windows"))
        self.store.remove_maintenance(maintenance_id, self.user)

    def set_gpu_bookable(self, gpu_id: int, bookable: bool) -> None:
        """Make a GPU bookable, or first-come (not bookable)."""
        self._require_manager(N_("change which GPUs are bookable"))
        self.store.set_gpu_bookable(gpu_id, bookable, self.user)


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
        mine = service.store.list_bookings(
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
