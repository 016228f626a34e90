"""Bookings as operations inside a caller's session (transaction).

No double booking: ``check_free`` runs inside the writing transaction. On SQLite that
transaction began with ``BEGIN IMMEDIATE``, so no other writer can slip in between the check and
the insert. On PostgreSQL two transactions may both pass the check; the exclusion constraint
``ex_bookings_no_overlap`` then refuses the later one (SQLSTATE 23P01), which ``Store`` maps to
the same ``BookingConflictError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import (
    Booking,
    BookingStatus,
    Window,
    as_utc,
    check_no_conflicts,
)
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.notify import events as ev
from labgpu.storage.convert import gpu_label, to_booking
from labgpu.storage.inventory import add_audit, describe_changes
from labgpu.storage.models import (
    LIVE_STORED,
    STORED_STATUSES,
    BookingRow,
    GpuRow,
    MaintenanceGpuRow,
    MaintenanceRow,
    ServerRow,
)
from labgpu.storage.projects import require_usable


class MaintenanceClashError(RefusedError):
    """A requested GPU is in a maintenance window during the requested time; nothing was booked."""

    def __init__(self, clashes: Sequence[tuple[str, Window, str]]) -> None:
        self.clashes = tuple(clashes)  # (gpu label, maintenance window, reason)
        lines = "; ".join(
            _(_CLASH_WHY if why else _CLASH).format(gpu=label, window=window.text(), reason=why)
            for label, window, why in self.clashes
        )
        super().__init__(_("{clashes}; choose another time or GPU").format(clashes=lines))


_CLASH = N_("GPU {gpu} is in maintenance from {window}")
_CLASH_WHY = N_("GPU {gpu} is in maintenance from {window} ({reason})")


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """What ``create`` writes: one row per GPU of ``gpu_ids``, all in group ``group_id``."""

    group_id: str
    gpu_ids: tuple[int, ...]
    user: str
    window: Window
    status: BookingStatus
    note: str
    #: When it was asked (the booking service's clock; None: now). The lab database stamps
    #: members' bookings with its own clock whatever is given.
    created_at: datetime | None = None
    #: The project or grant it is for (None: none); refused unless it exists and is active.
    project: str | None = None


def stored_status(status: BookingStatus) -> str:
    """The value stored for ``status``; ``active`` is derived from the clock, never stored."""
    value = BookingStatus(status).value
    if value not in STORED_STATUSES:
        raise ValueError(
            f"status {value!r} is derived for display and cannot be stored; "
            f"store one of {', '.join(STORED_STATUSES)}"
        )
    return value


def labels_of(s: Session, gpu_ids: Iterable[int], include_retired: bool = False) -> dict[int, str]:
    """``{gpu id: "server:index"}`` for the GPUs among ``gpu_ids`` (current ones only unless
    ``include_retired``)."""
    query = (
        select(GpuRow.id, ServerRow.name, GpuRow.index)
        .join(ServerRow, GpuRow.server_id == ServerRow.id)
        .where(GpuRow.id.in_(list(gpu_ids)))
    )
    if not include_retired:
        query = query.where(GpuRow.retired_at.is_(None))
    return {gpu_id: gpu_label(server, index) for gpu_id, server, index in s.execute(query)}


def require_gpus(s: Session, gpu_ids: Sequence[int]) -> dict[int, str]:
    """``labels_of`` for ``gpu_ids``; a ``LabgpuError`` naming any unknown or retired id."""
    if not gpu_ids:
        raise LabgpuError(_("no GPU given; name at least one GPU"))
    labels = labels_of(s, gpu_ids)
    missing = sorted(set(gpu_ids) - labels.keys())
    if missing:
        ids = ", ".join(f"#{i}" for i in missing)
        raise LabgpuError(
            _("no current GPU with id {ids}; see `labgpu status` for the GPUs").format(ids=ids)
        )
    return labels


def _with_labels() -> Select[BookingRow, str, int]:
    return (
        select(BookingRow, ServerRow.name, GpuRow.index)
        .join(GpuRow, BookingRow.gpu_id == GpuRow.id)
        .join(ServerRow, GpuRow.server_id == ServerRow.id)
    )


def live_overlapping(s: Session, gpu_ids: Iterable[int], window: Window) -> list[Booking]:
    """Live bookings of ``gpu_ids`` that overlap ``window``."""
    query = _with_labels().where(
        BookingRow.gpu_id.in_(list(gpu_ids)),
        BookingRow.end_ts > window.start,
        BookingRow.start_ts < window.end,
        BookingRow.status.in_(LIVE_STORED),
    )
    return [to_booking(row, gpu_label(server, index)) for row, server, index in s.execute(query)]


def busy_windows(s: Session, start: datetime, end: datetime) -> dict[int, list[Window]]:
    """Per GPU, the windows of live bookings and maintenance overlapping ``[start, end)``.

    Only three columns are read (no ORM objects): the slot search reads a whole horizon of
    bookings for every question.
    """
    start, end = as_utc(start, "start"), as_utc(end, "end")
    bookings = select(BookingRow.gpu_id, BookingRow.start_ts, BookingRow.end_ts).where(
        BookingRow.end_ts > start, BookingRow.start_ts < end, BookingRow.status.in_(LIVE_STORED)
    )
    blocks = (
        select(MaintenanceGpuRow.gpu_id, MaintenanceRow.start_ts, MaintenanceRow.end_ts)
        .join(MaintenanceRow, MaintenanceRow.id == MaintenanceGpuRow.maintenance_id)
        .where(MaintenanceRow.end_ts > start, MaintenanceRow.start_ts < end)
    )
    busy: dict[int, list[Window]] = {}
    # One round trip for both; the rows come back as UTC (``UtcDateTime``) and ordered (the
    # tables' check constraints), so the windows need no second look.
    for gpu_id, lo, hi in s.execute(union_all(bookings, blocks)):
        busy.setdefault(gpu_id, []).append(Window.trusted(lo, hi))
    return busy


def check_maintenance(s: Session, labels: dict[int, str], window: Window) -> None:
    """Raise ``MaintenanceClashError`` if a maintenance window blocks a GPU of ``labels``."""
    query = (
        select(MaintenanceGpuRow.gpu_id, MaintenanceRow)
        .join(MaintenanceRow, MaintenanceRow.id == MaintenanceGpuRow.maintenance_id)
        .where(
            MaintenanceGpuRow.gpu_id.in_(list(labels)),
            MaintenanceRow.start_ts < window.end,
            MaintenanceRow.end_ts > window.start,
        )
        .order_by(MaintenanceGpuRow.gpu_id, MaintenanceRow.start_ts)
    )
    clashes = [
        (labels[gpu_id], Window(m.start_ts, m.end_ts), m.reason) for gpu_id, m in s.execute(query)
    ]
    if clashes:
        raise MaintenanceClashError(clashes)


def check_free(
    s: Session, labels: dict[int, str], window: Window, ignore_group_id: str | None = None
) -> None:
    """Refuse if maintenance or another live booking holds a GPU of ``labels`` in ``window``."""
    check_maintenance(s, labels, window)
    existing = live_overlapping(s, labels, window)
    check_no_conflicts(labels, window, existing, ignore_group_id=ignore_group_id)


def create(
    s: Session, request: BookingRequest, actor: str, hook: Callable[[], None] | None = None
) -> list[Booking]:
    """Check and insert a whole group; audited as ``booking.create``.

    Rows go in ascending GPU order, so concurrent PostgreSQL transactions wait on each other's
    rows in one global order and cannot deadlock. ``hook`` runs after the insert, before the
    commit (tests use it to hold the transaction open).
    """
    status = stored_status(request.status)
    require_usable(s, request.project)
    labels = require_gpus(s, request.gpu_ids)
    if status in LIVE_STORED:
        check_free(s, labels, request.window)
    rows = [
        BookingRow(
            group_id=request.group_id,
            gpu_id=gpu_id,
            user_name=request.user,
            start_ts=request.window.start,
            end_ts=request.window.end,
            status=status,
            note=request.note,
            project=request.project,
            created_by=actor,
            **({} if request.created_at is None else {"created_at": request.created_at}),
        )
        for gpu_id in sorted(request.gpu_ids)
    ]
    s.add_all(rows)
    detail = f"gpus {', '.join(labels[r.gpu_id] for r in rows)}; {request.window.describe()}; "
    detail += f"status {status}" + (f"; for {request.user}" if request.user != actor else "")
    detail += f"; project {request.project}" if request.project else ""
    add_audit(s, actor, "booking.create", request.group_id, detail)
    s.flush()
    _notify(s, request.group_id, ev.booking_change_kind(None, status, None, None, None))
    if hook is not None:
        hook()
    return [to_booking(r, labels[r.gpu_id]) for r in rows]


@dataclass(frozen=True, slots=True)
class GroupChange:
    """What ``update`` changes; ``None`` leaves a field as it is."""

    status: BookingStatus | None = None
    end: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None


def _group_rows(s: Session, group_id: str) -> list[BookingRow]:
    query = (
        select(BookingRow)
        .where(BookingRow.group_id == group_id)
        .order_by(BookingRow.gpu_id)
        .with_for_update()
    )
    rows = list(s.scalars(query))
    if not rows:
        raise LabgpuError(_("no booking group {id}; see `labgpu bookings`").format(id=group_id))
    return rows


def _fields(row: BookingRow) -> dict[str, object]:
    return {
        "status": row.status,
        "end": row.end_ts.isoformat(),
        "decided_by": row.decided_by,
        "decision_reason": row.decision_reason,
    }


def _new_window(row: BookingRow, end: datetime | None) -> Window:
    if end is None:
        return Window(row.start_ts, row.end_ts)
    end = as_utc(end, "end")
    if end <= row.start_ts:
        raise LabgpuError(
            _(
                "the new end {end} is not after the booking's start {start}; cancel the "
                "booking instead"
            ).format(end=end.isoformat(), start=row.start_ts.isoformat())
        )
    return Window(row.start_ts, end)


def update(
    s: Session,
    group_id: str,
    change: GroupChange,
    actor: str,
    action: str = "booking.update",
    why: str = "",
) -> list[Booking]:
    """Change every row of a group at once; audited as ``action`` (before → after, then
    ``why`` when given).

    A group that is (or becomes) live and grows, or comes back to life, is checked for
    conflicts and maintenance again, leaving itself out.
    """
    rows = _group_rows(s, group_id)
    first = rows[0]
    before = _fields(first)
    old_status, old_decided_by = first.status, first.decided_by
    status = first.status if change.status is None else stored_status(change.status)
    window = _new_window(first, change.end)
    grows = window.end > first.end_ts or first.status not in LIVE_STORED
    gpu_ids = [r.gpu_id for r in rows]
    if status in LIVE_STORED and grows:
        check_free(s, require_gpus(s, gpu_ids), window, group_id)
    labels = labels_of(s, gpu_ids, include_retired=True)
    for row in rows:
        row.status, row.end_ts = status, window.end
        if change.decided_by is not None:
            row.decided_by = change.decided_by
        if change.decision_reason is not None:
            row.decision_reason = change.decision_reason
        if change.decided_at is not None:
            row.decided_at = change.decided_at
    s.flush()
    kind = ev.booking_change_kind(
        old_status, status, old_decided_by, first.decided_by, first.decision_reason
    )
    _notify(s, group_id, kind)
    detail = describe_changes(before, _fields(first))
    if detail:
        add_audit(s, actor, action, group_id, f"{detail}; {why}" if why else detail)
    return [to_booking(r, labels[r.gpu_id]) for r in rows]


def _notify(s: Session, group_id: str, kind: str | None) -> None:
    """Write a booking event to the outbox in this transaction, on SQLite; the lab database's
    trigger writes it there (``labdb_notify``), where members cannot write the outbox."""
    if kind is not None and s.get_bind().dialect.name == "sqlite":
        from labgpu.storage.outbox import enqueue_booking_event  # it reads bookings through us

        enqueue_booking_event(s, group_id, kind)


def query_bookings(
    s: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    user: str | None = None,
    statuses: Iterable[BookingStatus] | None = None,
    group_id: str | None = None,
) -> list[Booking]:
    """Bookings overlapping ``[start, end)`` (either may be open), by start, server, index."""
    query = _with_labels()
    if start is not None:
        query = query.where(BookingRow.end_ts > as_utc(start, "start"))
    if end is not None:
        query = query.where(BookingRow.start_ts < as_utc(end, "end"))
    if user is not None:
        query = query.where(BookingRow.user_name == user)
    if statuses is not None:
        query = query.where(BookingRow.status.in_(_stored_filter(statuses)))
    if group_id is not None:
        query = query.where(BookingRow.group_id == group_id)
    query = query.order_by(BookingRow.start_ts, ServerRow.name, GpuRow.index, BookingRow.id)
    return [to_booking(row, gpu_label(server, index)) for row, server, index in s.execute(query)]


def _stored_filter(statuses: Iterable[BookingStatus]) -> list[str]:
    # ``active`` is shown for a booked booking inside its window: filter on the stored value.
    wanted = {BookingStatus(st) for st in statuses}
    if BookingStatus.ACTIVE in wanted:
        wanted.add(BookingStatus.BOOKED)
    return sorted(st.value for st in wanted if st.value in STORED_STATUSES)
