"""Bookings, booking rules, maintenance windows and bookable GPUs (``store.bookings``): rows
in, ``labgpu.core`` values out, one short session per call (the store's).

No two live bookings of a GPU overlap, on either backend: SQLite serialises writers
(``BEGIN IMMEDIATE``) around ``check_free``; PostgreSQL's exclusion constraint refuses the later
of two racing transactions, and ``_no_double_booking`` names the winner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import (
    Booking,
    BookingConflict,
    BookingConflictError,
    BookingStatus,
    Window,
    as_utc,
)
from labgpu.core.booking.rules import BookingRules, Maintenance
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.storage import bookings, policies
from labgpu.storage.bookings import BookingRequest, GroupChange
from labgpu.storage.busy_cache import BusyCache, SearchBasis

Sessions = Callable[[], AbstractContextManager[Session]]

#: PostgreSQL's SQLSTATE for a row refused by an exclusion constraint.
EXCLUSION_VIOLATION = "23P01"
GROUP_ID_MAX = 36  # a UUID's text


class BookingStore:
    """The bookings, rules and maintenance of the store that made it."""

    def __init__(
        self,
        read: Sessions,
        write: Sessions,
        hook: Callable[[], Callable[[], None] | None],
        busy: BusyCache,
    ) -> None:
        """``hook``: the store's ``booking_hook`` (tests hold a booking's transaction open);
        ``busy``: the store's busy map, kept per process."""
        self._read = read
        self._write = write
        self._hook = hook
        self._busy = busy

    def create_bookings(
        self,
        group_id: str,
        gpu_ids: Sequence[int],
        user: str,
        window: Window,
        status: BookingStatus,
        note: str,
        actor: str,
        created_at: datetime | None = None,
        project: str | None = None,
    ) -> list[Booking]:
        """Book ``gpu_ids`` over ``window`` as one group, all or nothing (audited); for
        ``project`` if given (``UsageError`` unless it exists and is active).

        Raises ``BookingConflictError`` naming every live booking in the way,
        ``MaintenanceClashError`` (a ``RefusedError``) for a maintenance window, ``LabgpuError``
        for an unknown GPU. Safe against concurrent writers on both backends.
        """
        if not 0 < len(group_id) <= GROUP_ID_MAX:
            raise LabgpuError(
                _("booking group id {id} must be 1 to 36 characters (a UUID)").format(
                    id=repr(group_id)
                )
            )
        if len(set(gpu_ids)) != len(gpu_ids):
            raise LabgpuError(
                _("a GPU is listed twice in {gpus}; list each GPU once").format(gpus=list(gpu_ids))
            )
        request = BookingRequest(
            group_id, tuple(gpu_ids), user, window, status, note, created_at, project
        )
        try:
            with self._no_double_booking(lambda: (list(gpu_ids), window), None), self._write() as s:
                return bookings.create(s, request, actor, self._hook())
        finally:
            self._busy.drop()

    def list_bookings(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        user: str | None = None,
        statuses: Iterable[BookingStatus] | None = None,
        group_id: str | None = None,
    ) -> list[Booking]:
        """Bookings overlapping ``[start, end)``, ordered by start, then GPU.

        Statuses are the stored ones; asking for ``active`` gives the ``booked`` ones.
        """
        with self._read() as s:
            return bookings.query_bookings(
                s, start=start, end=end, user=user, statuses=statuses, group_id=group_id
            )

    def update_group(
        self,
        group_id: str,
        *,
        actor: str,
        status: BookingStatus | None = None,
        end: datetime | None = None,
        decided_by: str | None = None,
        decision_reason: str | None = None,
        decided_at: datetime | None = None,
        why: str = "",
    ) -> list[Booking]:
        """Change a whole group in one transaction (audited ``booking.update``, before → after;
        with ``why``, a release by a job's end: ``booking.release_by_job`` and the reason).

        A longer window (or a group coming back to life) is checked for conflicts and
        maintenance like a new booking, the group itself left out.
        """
        change = GroupChange(status, end, decided_by, decision_reason, decided_at)
        span = partial(self._span, group_id, end)
        try:
            with self._no_double_booking(span, group_id), self._write() as s:
                if why:
                    return bookings.update(
                        s, group_id, change, actor, "booking.release_by_job", why
                    )
                return bookings.update(s, group_id, change, actor)
        finally:
            self._busy.drop()

    def _span(self, group_id: str, end: datetime | None) -> tuple[list[int], Window]:
        """The GPUs of a group and the window it asked for (the new ``end``, if any)."""
        with self._read() as s:
            group = bookings.query_bookings(s, group_id=group_id)
        window = group[0].window
        return [b.gpu_id for b in group], Window(window.start, end or window.end)

    @contextmanager
    def _no_double_booking(
        self, span: Callable[[], tuple[list[int], Window]], ignore_group_id: str | None
    ) -> Iterator[None]:
        # PostgreSQL's exclusion constraint refused a row because another transaction committed
        # an overlapping one after our check: read the winners in a fresh transaction (``span``
        # says which GPUs and window were asked for) and name them, as the check would have.
        try:
            yield
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
                raise
            gpu_ids, window = span()
            with self._read() as s:
                existing = bookings.live_overlapping(s, gpu_ids, window)
            clashes = [b for b in existing if b.group_id != ignore_group_id]
            if clashes:
                conflicts = [BookingConflict.from_booking(b) for b in clashes]
                raise BookingConflictError(conflicts) from exc
            raise RefusedError(
                _(
                    "another booking took one of these GPUs during {window} at the same "
                    "moment and has already been released; try again"
                ).format(window=window.text())
            ) from exc

    def get_rules(self) -> BookingRules:
        """The lab's booking rules (the defaults if none were ever set)."""
        with self._read() as s:
            return policies.get_rules(s)

    def set_rules(self, rules: BookingRules, actor: str) -> None:
        """Store the booking rules; audited ``rules.update`` with each change before → after."""
        with self._write() as s:
            policies.set_rules(s, rules, actor)

    def add_maintenance(
        self, gpu_ids: Sequence[int], window: Window, reason: str, actor: str
    ) -> Maintenance:
        """Block ``gpu_ids`` during ``window`` (existing bookings are left alone; audited)."""
        with self._write() as s:
            return policies.add_maintenance(s, gpu_ids, window, reason, actor)

    def search_basis(self) -> SearchBasis:
        """What a slot search reads of the lab — rules, current GPUs, blocked windows — kept
        per process while the lab has not changed (``busy_cache``)."""
        with self._read() as s:
            return self._busy.basis(s)

    def busy_windows(self, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Per GPU, the live-booking and maintenance windows overlapping ``[start, end)``,
        from the map kept per process while the lab has not changed (``busy_cache``)."""
        start, end = as_utc(start, "start"), as_utc(end, "end")
        with self._read() as s:
            return self._busy.busy_windows(s, start, end)

    def list_maintenance(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Maintenance]:
        """Maintenance windows overlapping ``[start, end)``, by start."""
        with self._read() as s:
            return policies.list_maintenance(s, start, end)

    def remove_maintenance(self, id: int, actor: str) -> None:
        """Delete maintenance window ``id`` (audited)."""
        with self._write() as s:
            policies.remove_maintenance(s, id, actor)

    def set_gpu_bookable(self, gpu_id: int, bookable: bool, actor: str) -> None:
        """Make a GPU bookable, or first-come when ``bookable`` is false (audited)."""
        with self._write() as s:
            policies.set_gpu_bookable(s, gpu_id, bookable, actor)
