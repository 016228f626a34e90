"""Booking use cases: book, find a slot, cancel, end early, extend, approve, reminders.

The rules are checked here, from figures read in the store; the store alone guarantees that no
two live bookings of a GPU overlap (a check here would race). ``check`` is the same path as
``book`` without the write, so the app can show a refusal before anything is saved.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import (
    LIVE_STATUSES,
    Booking,
    BookingStatus,
    Window,
    as_utc,
    check_no_conflicts,
)
from labgpu.core.booking.checks import (
    check_gpus,
    check_maintenance,
    groups_of,
    may_change,
    not_a_decider,
    wrong_status,
)
from labgpu.core.booking.rules import (
    BookingGroupView,
    BookingRules,
    BookingView,
    RealityReport,
    Reminder,
    ReminderKind,
    RuleRefusedError,
    check_at_once,
    check_length,
    check_quota,
    check_window,
    effective_status,
    initial_status,
)
from labgpu.core.booking.slots import SlotOption
from labgpu.core.booking.use import UsePlan, plan_use
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import Gpu
from labgpu.services.booking.slots import COUNTED, HELD, SlotFinder

if TYPE_CHECKING:
    from labgpu.storage import Store

Clock = Callable[[], datetime]

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

    # -- rules ------------------------------------------------------------------------------

    def rules(self) -> BookingRules:
        """The lab's current rules (defaults until a manager saves some)."""
        return self.store.bookings.get_rules()

    # -- reading ----------------------------------------------------------------------------

    def gpus(self) -> dict[int, Gpu]:
        """Every GPU by id, retired ones too (old bookings still name them)."""
        return {
            g.id: g
            for g in self.store.inventory.list_gpus(include_retired=True)
            if g.id is not None
        }

    def between(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        mine: bool = False,
        statuses: Iterable[BookingStatus] | None = None,
    ) -> list[BookingView]:
        """Bookings overlapping ``[start, end)`` (all time if unset), by start then GPU."""
        found = self.store.bookings.list_bookings(
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
        bookings = self.store.bookings.list_bookings(group_id=self._group_id(group_id))
        if not bookings:
            raise LabgpuError(_("no booking {id}; see `labgpu bookings`").format(id=repr(group_id)))
        return groups_of(self.views(bookings))[0]

    def use(self, ref: str) -> UsePlan:
        """How to use booking ``ref``: per server, the member's own ``ssh`` line (their ssh
        config's name for it when they have one) and the environment for exactly its GPUs."""
        from labgpu.remote.ssh_config import alias_for  # paramiko: off the GUI's start
        from labgpu.services.platform.paths import ssh_config_path

        config = ssh_config_path()
        servers = self.store.inventory.list_servers()
        return plan_use(
            self.group(ref), self.gpus(), servers, lambda t: alias_for(t, config), self.user
        )

    def _group_id(self, ref: str) -> str:
        """A group id from a group id, a unique prefix of one (6+ characters) or a booking id."""
        ref = ref.strip()
        if len(ref) == 36:
            return ref
        every = self.store.bookings.list_bookings()
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
        live = self.store.bookings.list_bookings(start=window.start, end=window.end, statuses=HELD)
        check_no_conflicts(ids, window, live)
        blocks = self.store.bookings.list_maintenance(window.start, window.end)
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
        mine = self.store.bookings.list_bookings(
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
        self,
        gpu_ids: Sequence[int],
        start: datetime,
        end: datetime,
        note: str = "",
        project: str | None = None,
    ) -> BookingGroupView:
        """Book ``gpu_ids`` over ``[start, end)`` as one group for ``project``; all or nothing."""
        window, chosen, status = self._check_rules(gpu_ids, start, end)
        ids = [g.id for g in chosen if g.id is not None]
        created = self.store.bookings.create_bookings(
            str(uuid.uuid4()),
            ids,
            self.user,
            window,
            status,
            note.strip(),
            self.user,
            created_at=self.clock(),
            project=project or None,  # refused in the write unless it exists and is active
        )
        return groups_of(self.views(created))[0]

    # -- earliest slot (the search is in ``slots``) ------------------------------------------

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
        """Earliest windows this member may book (``SlotFinder.find_slots``); books nothing."""
        return SlotFinder(self).find_slots(
            model,
            count,
            duration,
            min_memory_mb=min_memory_mb,
            after=after,
            deadline=deadline,
            same_server=same_server,
            alternatives=alternatives,
            project=project,
        )

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
        return SlotFinder(self).book_earliest(
            model, count, duration, same_server=same_server, after=after, note=note, project=project
        )

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
        return SlotFinder(self).book_model(
            model, count, start, end, same_server=same_server, note=note, project=project
        )

    def busy_map(self, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Every GPU's blocked windows (live bookings, maintenance) overlapping the span."""
        return self.store.bookings.busy_windows(start, end)

    # -- changing a group -------------------------------------------------------------------

    def cancel(self, ref: str) -> BookingGroupView:
        """Cancel a booking that has not started; one that has started is ended now."""
        group = self._own_group(ref, "cancel")
        if group.status is BookingStatus.ACTIVE:
            return self.end_early(group.group_id)
        self._require_status(group, (BookingStatus.PENDING, BookingStatus.BOOKED), "cancel")
        updated = self.store.bookings.update_group(
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
        updated = self.store.bookings.update_group(
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
        updated = self.store.bookings.update_group(group.group_id, actor=self.user, end=new_end)
        return groups_of(self.views(updated))[0]

    def approve(self, ref: str) -> BookingGroupView:
        """Approve a pending request: it becomes booked."""
        group = self._pending(ref, "approve")
        updated = self.store.bookings.update_group(
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
        updated = self.store.bookings.update_group(
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
        pending = self.between(statuses=[BookingStatus.PENDING])
        return groups_of(pending)

    def _pending(self, ref: str, verb: str) -> BookingGroupView:
        if not self.can_approve():
            raise RefusedError(not_a_decider(self.user, verb))
        group = self.group(ref)
        self._require_status(group, (BookingStatus.PENDING,), verb)
        return group

    def _own_group(self, ref: str, verb: str) -> BookingGroupView:
        """The group, if this user may ``verb`` it (``checks.may_change``)."""
        group = self.group(ref)
        if group.user != self.user:
            may_change(group, self.role(), verb)
        return group

    @staticmethod
    def _require_status(
        group: BookingGroupView, allowed: Sequence[BookingStatus], verb: str
    ) -> None:
        if group.status not in allowed:
            raise RefusedError(wrong_status(group, allowed, verb))

    # -- reminders --------------------------------------------------------------------------

    def upcoming_reminders(self, now: datetime, lead: timedelta) -> list[Reminder]:
        """This user's bookings starting or ending within ``lead`` of ``now``, warnings that
        an idle booking is about to be released, and who else uses a GPU they hold."""
        from labgpu.services.booking.intruders import intrusion_reminders
        from labgpu.services.booking.reality import release_reminders

        now = as_utc(now, "now")
        horizon = now + lead
        reminders = release_reminders(self, now, lead) + intrusion_reminders(self, now)
        for group in groups_of(self.between(now, horizon + timedelta(seconds=1), mine=True)):
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

    # -- bookings meet reality ----------------------------------------------------------------

    def holders_now(self) -> dict[str, BookingView]:
        """GPU uuid → the live booking holding it at this moment (``status`` "booked by")."""
        now = utc_now()
        uuids = {g.id: g.uuid for g in self.store.inventory.list_gpus()}
        return {
            uuids[b.gpu_id]: b
            for b in self.between(now, now + timedelta(seconds=1))
            if b.status in LIVE_STATUSES and b.gpu_id in uuids
        }

    def reality(self, now: datetime | None = None) -> RealityReport:
        """Unbooked use and booked-but-idle GPUs, from the latest monitoring data."""
        from labgpu.services.booking.reality import check_reality

        return check_reality(self, now)

    def export_ics(
        self,
        path: Path,
        mine: bool,
        start: datetime | None = None,
        end: datetime | None = None,
        reminder_lead: timedelta | None = None,
    ) -> int:
        """Write the bookings (mine or the lab's) to an .ics file; returns the event count.

        The lab's bookings from the current week on unless ``start`` is given; alarms
        ``reminder_lead`` before each start (the default lead if None)."""
        from labgpu.services.booking.calendar_export import DEFAULT_REMINDER_LEAD, export_ics

        lead = DEFAULT_REMINDER_LEAD if reminder_lead is None else reminder_lead
        return export_ics(self, Path(path), mine, start, end, lead)
