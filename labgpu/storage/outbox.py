"""Notifications in the database (issue 17): members' settings, the outbox, deliveries.

Events are written in the caller's transaction (``enqueue``), once per ``dedup_key``. In a lab
database the booking events come from the trigger in ``labdb_notify`` (members cannot write the
outbox); on SQLite ``storage/bookings.py`` calls ``enqueue_booking_event`` in its own session.
Job events likewise: the lab database's trigger on ``lab_jobs`` and ``offload_jobs``, else
``notify_job`` from the storage code that turns a job's row final.
The sender expands each event into deliveries, claims a few at a time (PostgreSQL: ``FOR UPDATE
SKIP LOCKED``, so two senders never take the same row), and marks each one in its own short
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, false, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Delivery, Event, InboxEntry, NotifySettings
from labgpu.storage.bookings import query_bookings
from labgpu.storage.labdb_notify import INBOX_MOST
from labgpu.storage.models import BookingRow, ServerRow, UserRow
from labgpu.storage.notify_rows import DeliveryRow, NotifySettingsRow, OutboxRow

SessionFactory = Callable[[], AbstractContextManager[Session]]


def enqueue(s: Session, event: Event, at: datetime | None = None) -> bool:
    """Write ``event`` unless one with its ``dedup_key`` exists; True if written. ``at``: when
    the change happened, where the caller knows it (default: now)."""
    values: dict[str, object] = {
        "kind": event.kind,
        "audience": event.audience,
        "user_name": event.user,
        "dedup_key": event.dedup_key,
        "payload": json.dumps(event.payload, sort_keys=True),
    }
    if at is not None:
        values["created_at"] = at
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxRow).values(**values).on_conflict_do_nothing()
    return s.execute(statement.returning(OutboxRow.id)).scalar() is not None


def booking_payload(s: Session, group_id: str) -> tuple[str, dict[str, object]]:
    """The member and the facts of a booking group, as the lab database's trigger writes them."""
    rows = query_bookings(s, group_id=group_id)
    first = rows[0]
    payload: dict[str, object] = {
        "group": group_id,
        "user": first.user_name,
        "gpus": sorted(b.gpu_label for b in rows),
        "start": ev.utc_text(first.window.start),
        "end": ev.utc_text(first.window.end),
    }
    return first.user_name, payload


def enqueue_booking_event(s: Session, group_id: str, kind: str) -> bool:
    """Write the event ``kind`` of a booking group (SQLite; the lab database's trigger there)."""
    user, payload = booking_payload(s, group_id)
    row = s.scalars(select(BookingRow).where(BookingRow.group_id == group_id).limit(1)).one()
    payload["reason"] = row.decision_reason or ""
    payload["by"] = row.decided_by or ""
    key = f"{kind}:{group_id}"
    # When it happened, by the booking service's clock (the demo writes months of history).
    at = row.created_at if kind == ev.REQUEST_PENDING else row.decided_at
    return enqueue(s, Event(kind, ev.audience_of(kind), user, key, payload), at)


_JOB_COLUMNS = (
    "id", "name", "server", "cluster", "user_name", "state", "exit_code", "started_at",
    "ended_at", "project", "reason",
)  # fmt: skip


def notify_job(s: Session, on: str, row: object, old_state: str | None) -> bool:
    """Write the event of a job row that turned final (``old_state`` None: inserted), on
    SQLite, in the caller's transaction; the lab database's trigger writes it there
    (``labdb_notify``). ``on``: ``lab`` or ``cluster``. True if written."""
    if s.get_bind().dialect.name != "sqlite":
        return False
    event = ev.job_event(on, {c: getattr(row, c, None) for c in _JOB_COLUMNS}, old_state)
    return event is not None and enqueue(s, event, getattr(row, "ended_at", None))


def _has_deciders(s: Session) -> bool:
    """True if the ``users`` table names a PI or a manager (a lab with roles)."""
    found = s.scalar(select(UserRow.name).where(UserRow.role.in_(("pi", "manager"))).limit(1))
    return found is not None


def _settings(row: NotifySettingsRow | None, user: str) -> NotifySettings:
    if row is None:
        return NotifySettings(user)
    return NotifySettings(
        row.user_name,
        row.email,
        row.webhook_url,
        ev.parse_muted(row.muted),
        row.lead_minutes,
        row.language,
    )


def _entry(outbox_id: int, kind: str, user: str, created_at: datetime, payload: str) -> InboxEntry:
    return InboxEntry(outbox_id, kind, user, created_at, json.loads(payload or "{}"))


class NotifyStore:
    """Settings, outbox and deliveries, each call in its own short transaction."""

    def __init__(self, read: SessionFactory, write: SessionFactory) -> None:
        self._read = read
        self._write = write

    # -- members' settings -------------------------------------------------------------------

    def settings(self, user: str) -> NotifySettings:
        """``user``'s settings (the defaults where they saved none)."""
        with self._read() as s:
            return _settings(s.get(NotifySettingsRow, user), user)

    def all_settings(self) -> dict[str, NotifySettings]:
        """Every saved row the caller may read (a member: their own; collector, managers: all)."""
        with self._read() as s:
            rows = s.scalars(select(NotifySettingsRow))
            return {r.user_name: _settings(r, r.user_name) for r in rows}

    def save_settings(self, settings: NotifySettings, now: datetime) -> NotifySettings:
        """Write ``settings`` as the row of ``settings.user``."""
        with self._write() as s:
            row = s.get(NotifySettingsRow, settings.user)
            if row is None:
                row = NotifySettingsRow(user_name=settings.user)
                s.add(row)
            row.email, row.webhook_url = settings.email, settings.webhook_url
            row.muted = ",".join(settings.muted)
            row.lead_minutes, row.language = settings.lead_minutes, settings.language
            row.updated_at = now
            s.flush()
            return _settings(row, settings.user)

    # -- events ------------------------------------------------------------------------------

    def enqueue(self, events: Iterable[Event]) -> int:
        """Write the events not yet written, in one transaction; returns how many were new."""
        with self._write() as s:
            return sum(enqueue(s, event) for event in events)

    def enqueue_test(self, user: str, now: datetime) -> bool:
        """A test message to ``user`` (at most one a minute). In a lab database through
        ``labgpu_notify_test()``, which writes it for the login itself."""
        with self._write() as s:
            if s.get_bind().dialect.name == "postgresql":
                found = s.execute(text("SELECT to_regprocedure('public.labgpu_notify_test()')"))
                if found.scalar() is not None:
                    return bool(s.execute(text("SELECT public.labgpu_notify_test()")).scalar())
            key = f"test:{user}:{now:%Y%m%d%H%M}"
            return enqueue(s, Event(ev.TEST, ev.MEMBER, user, key, {"user": user}))

    def told_since(self, prefix: str, since: datetime) -> bool:
        """Whether an event was written whose dedup key is ``prefix`` then a UTC time at or
        after ``since`` (the collector asks before telling again what a restart made it
        forget, where the time in the key may move a little from sweep to sweep)."""
        with self._read() as s:
            keys = s.scalars(
                select(OutboxRow.dedup_key).where(
                    func.substr(OutboxRow.dedup_key, 1, len(prefix)) == prefix
                )
            )
            for key in keys:
                try:
                    at = datetime.fromisoformat(key[len(prefix) :])
                except ValueError:
                    continue
                if at.tzinfo is not None and at >= since:
                    return True
            return False

    def inbox(self, user: str, after_id: int = 0, limit: int = 200) -> list[InboxEntry]:
        """The newest ``limit`` events after ``after_id`` that ``user`` would be sent, oldest
        first (whatever they muted: that is for the channels). In a lab database through
        ``labgpu_notify_inbox``, which reads them for the login itself (``user`` unused)."""
        limit = max(0, min(limit, INBOX_MOST))
        with self._read() as s:
            if s.get_bind().dialect.name == "postgresql":
                found = s.execute(
                    text("SELECT to_regprocedure('public.labgpu_notify_inbox(bigint, integer)')")
                )
                if found.scalar() is not None:
                    rows = s.execute(
                        text(
                            "SELECT id, kind, user_name, created_at, payload "
                            "FROM public.labgpu_notify_inbox(:after, :lim)"
                        ),
                        {"after": after_id, "lim": limit},
                    )
                    return [_entry(*row) for row in rows]
        with self._read() as s:
            has_roles = _has_deciders(s)
        # Without roles (a single seat) its user manages it.
        deciders = self.role_members(("pi", "manager")) if has_roles else [user]
        managers = self.role_members(("manager",)) if has_roles else [user]
        o = OutboxRow
        mine = and_(o.audience == ev.MEMBER, o.user_name == user)
        to_decide = and_(o.audience == ev.DECIDERS, o.user_name != user)
        wanted = or_(
            mine,
            to_decide if user in deciders else false(),
            o.audience == ev.MANAGERS if user in managers else false(),
        )
        with self._read() as s:
            rows = s.execute(
                select(o.id, o.kind, o.user_name, o.created_at, o.payload)
                .where(o.id > after_id, wanted)
                .order_by(o.id.desc())
                .limit(limit)
            )
            return [_entry(*row) for row in reversed(list(rows))]

    def upcoming(
        self, now: datetime, horizon: timedelta
    ) -> list[tuple[str, str, dict[str, object]]]:
        """Booked groups starting, or ending, within ``horizon`` of ``now``:
        ``(group id, member, payload)``."""
        with self._read() as s:
            soon = now + horizon
            found = s.execute(
                select(BookingRow.group_id)
                .where(
                    BookingRow.status == "booked",
                    ((BookingRow.start_ts > now) & (BookingRow.start_ts <= soon))
                    | ((BookingRow.end_ts > now) & (BookingRow.end_ts <= soon)),
                )
                .distinct()
            )
            out = []
            for (group_id,) in found:
                user, payload = booking_payload(s, group_id)
                out.append((group_id, user, payload))
            return out

    def offline_servers(self, before: datetime) -> list[tuple[str, str, str, datetime]]:
        """Servers neither online nor unknown since ``before`` or earlier:
        ``(name, state, reason, since)``."""
        with self._read() as s:
            rows = s.execute(
                select(
                    ServerRow.name, ServerRow.state, ServerRow.state_reason, ServerRow.state_since
                )
                .where(
                    ServerRow.state.not_in(("online", "unknown")), ServerRow.state_since <= before
                )
                .order_by(ServerRow.name)
            )
            return [(n, st, why, since) for n, st, why, since in rows]

    # -- the sender --------------------------------------------------------------------------

    def unexpanded(self, limit: int = 200) -> list[tuple[int, str, str, str, datetime]]:
        """Events without deliveries yet, oldest first:
        ``(id, kind, audience, user, created_at)``."""
        with self._read() as s:
            rows = s.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.kind,
                    OutboxRow.audience,
                    OutboxRow.user_name,
                    OutboxRow.created_at,
                )
                .where(OutboxRow.expanded_at.is_(None))
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return [(i, k, a, u, at) for i, k, a, u, at in rows]

    def role_members(self, roles: tuple[str, ...]) -> list[str]:
        """Members in one of ``roles`` (``pi``, ``manager``): the lab database's login roles,
        else the ``users`` table; a database whose ``users`` name no PI or manager (a single
        seat: whoever uses it manages it) gives everyone with notification settings."""
        with self._read() as s:
            if s.get_bind().dialect.name == "postgresql":
                names = s.execute(
                    text(
                        "SELECT DISTINCT r.rolname FROM pg_catalog.pg_auth_members m "
                        "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
                        "JOIN pg_catalog.pg_roles r ON r.oid = m.member "
                        "WHERE g.rolname = ANY(:groups) AND r.rolcanlogin ORDER BY 1"
                    ),
                    {"groups": [f"labgpu_{r}" for r in roles]},
                ).scalars()
                found = list(names)
                if found:
                    return found
            rows = s.scalars(
                select(UserRow.name).where(UserRow.role.in_(roles)).order_by(UserRow.name)
            )
            found = list(rows)
            if found or _has_deciders(s):
                return found
            everyone = select(NotifySettingsRow.user_name).order_by(NotifySettingsRow.user_name)
            return list(s.scalars(everyone))

    def expand(
        self,
        events: Iterable[tuple[int, str, Iterable[str]]],
        settings: dict[str, NotifySettings],
        now: datetime,
    ) -> int:
        """For each ``(outbox id, kind, recipients)``, one delivery per recipient and channel
        they want ``kind`` on; the events marked expanded; all in one transaction. Returns the
        deliveries written."""
        rows: list[dict[str, object]] = []
        ids = []
        for outbox_id, kind, recipients in events:
            ids.append(outbox_id)
            for user in recipients:
                mine = settings.get(user, NotifySettings(user))
                if mine.wants(kind):
                    rows += [
                        {"outbox_id": outbox_id, "user_name": user, "channel": channel,
                         "address": address, "state": "pending", "attempts": 0, "next_at": now,
                         "last_error": ""}
                        for channel, address in mine.addresses()
                    ]  # fmt: skip
        with self._write() as s:
            dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
            written = 0
            for start in range(0, len(rows), 500):
                statement = dialect.insert(DeliveryRow).values(rows[start : start + 500])
                statement = statement.on_conflict_do_nothing().returning(DeliveryRow.id)
                written += len(list(s.scalars(statement)))
            if ids:
                s.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(expanded_at=now))
        return written

    def has_work(self, now: datetime) -> bool:
        """An event waits to be expanded or a delivery is due (pending, or claimed by a sender
        whose lease ran out): one read, so an idle sender's minute job costs one query."""
        with self._read() as s:
            unexpanded = select(OutboxRow.id).where(OutboxRow.expanded_at.is_(None)).exists()
            due = (
                select(DeliveryRow.id)
                .where(DeliveryRow.state.in_(("pending", "sending")), DeliveryRow.next_at <= now)
                .exists()
            )
            return bool(s.scalar(select(or_(unexpanded, due))))

    def recover(self, now: datetime) -> int:
        """Deliveries left ``sending`` whose claim ran out (their sender was killed) go back
        to pending, to be sent again under the same id; returns how many."""
        with self._write() as s:
            ids = s.scalars(
                update(DeliveryRow)
                .where(DeliveryRow.state == "sending", DeliveryRow.next_at <= now)
                .values(state="pending", next_at=now)
                .returning(DeliveryRow.id)
            )
            return len(list(ids))

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        """Take up to ``limit`` due deliveries, oldest first, as ``sending`` until
        ``now + lease`` (rows another sender holds are skipped). Each goes to the member's
        address as it is now (a retry follows a changed address); one whose address the member
        removed is given up, not sent."""
        with self._write() as s:
            ids = list(
                s.scalars(
                    select(DeliveryRow.id)
                    .where(DeliveryRow.state == "pending", DeliveryRow.next_at <= now)
                    .order_by(DeliveryRow.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .values(state="sending", next_at=now + lease)
            )
            rows = s.execute(
                select(DeliveryRow, OutboxRow.kind, OutboxRow.payload, NotifySettingsRow)
                .join(OutboxRow, OutboxRow.id == DeliveryRow.outbox_id)
                .outerjoin(NotifySettingsRow, NotifySettingsRow.user_name == DeliveryRow.user_name)
                .where(DeliveryRow.id.in_(ids))
                .order_by(DeliveryRow.id)
            )
            claimed, removed = [], []
            for d, kind, payload, mine in rows:
                address = d.address
                if mine is not None:
                    address = mine.email if d.channel == ev.EMAIL else mine.webhook_url
                if not address:
                    removed.append(d.id)
                    continue
                language = mine.language if mine is not None else ""
                claimed.append(
                    Delivery(
                        d.id,
                        d.channel,
                        address,
                        d.user_name,
                        kind,
                        json.loads(payload),
                        language or "",
                        d.attempts,
                    )  # fmt: skip
                )
            if removed:
                s.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id.in_(removed))
                    .values(state="failed", last_error="the member removed this address")
                )
            return claimed

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        """The channel took it: never send it again."""
        with self._write() as s:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(state="sent", sent_at=now, last_error="")
            )

    def mark_failed(self, delivery: Delivery, error: str, now: datetime, max_attempts: int) -> str:
        """A try failed: back off (``next_at``), or give up after ``max_attempts``; returns the
        new state."""
        attempts = delivery.attempts + 1
        state = "failed" if attempts >= max_attempts else "pending"
        with self._write() as s:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery.id)
                .values(
                    state=state,
                    attempts=attempts,
                    last_error=error[:500],
                    next_at=now + ev.backoff(attempts),
                )
            )
        return state

    def prune(self, before: datetime) -> int:
        """Forget events written before ``before`` whose deliveries are all done (sent or given
        up), with those deliveries; returns how many events went. The app's lists read only
        newer ones, and the dedup keys of such old events are never written again."""
        with self._write() as s:
            busy = select(DeliveryRow.outbox_id).where(
                DeliveryRow.state.in_(("pending", "sending"))
            )
            old = select(OutboxRow.id).where(
                OutboxRow.created_at < before,
                OutboxRow.expanded_at.is_not(None),
                OutboxRow.id.not_in(busy),
            )
            ids = list(s.scalars(old))
            for start in range(0, len(ids), 500):
                lot = ids[start : start + 500]
                s.execute(delete(DeliveryRow).where(DeliveryRow.outbox_id.in_(lot)))
                s.execute(delete(OutboxRow).where(OutboxRow.id.in_(lot)))
            return len(ids)

    def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        with self._read() as s:
            rows = s.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state))
            return {state: n for state, n in rows}
