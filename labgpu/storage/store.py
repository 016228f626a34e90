"""The storage facade the services use: thread-safe, one short session per call.

Every method returns ``labgpu.core`` values, never ORM rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import partial

from sqlalchemy import delete, func, select
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
from labgpu.core.inventory.servers import (
    AuditEntry,
    Gpu,
    GpuReading,
    GpuStatus,
    LabUser,
    ProbeResult,
    Server,
    ServerState,
    SshTarget,
)
from labgpu.storage import bookings, db, inventory, labdb, policies, samples, usage
from labgpu.storage.bookings import BookingRequest, GroupChange
from labgpu.storage.convert import to_audit, to_gpu, to_server
from labgpu.storage.db_errors import known_errors
from labgpu.storage.host_keys import HostKeyStore
from labgpu.storage.inventory import GpuSyncReport
from labgpu.storage.lab_passwords import LabPasswords
from labgpu.storage.models import AuditRow, GpuRow, ServerRow, UserRow
from labgpu.storage.offload import OffloadStore
from labgpu.storage.usage import UsageStore

__all__ = ["GpuSyncReport", "Store"]

#: PostgreSQL's SQLSTATE for a row refused by an exclusion constraint.
EXCLUSION_VIOLATION = "23P01"
GROUP_ID_MAX = 36  # a UUID's text


class Store:
    """The lab's database at ``url`` (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = db.normalize_url(url)
        self._engine = db.make_engine(self.url)
        self._write_engine = self._engine.execution_options(**{db.WRITE_OPTION: True})
        #: For tests: called inside ``create_bookings``'s transaction after the insert, before
        #: the commit (to hold the transaction open, or to be killed in the middle of it).
        self.booking_hook: Callable[[], None] | None = None
        self._shared = threading.local()  # the session of ``reading()`` on this thread

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The database URL with its password hidden, fit for logs."""
        return db.display_url(self.url)

    # -- lifecycle --------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to this labgpu's revision; ``SchemaTooNewError`` if newer."""
        with self._known_errors():
            db.upgrade(self._engine)

    def connect(self) -> None:
        """Connect once: a missing or refused password fails here (``PasswordNeededError``,
        ``PasswordRefusedError``), before any work; the connection stays pooled."""
        with self._known_errors(), self._engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def check_schema(self) -> None:
        """Raise unless the schema is exactly this labgpu's (newer: ``SchemaTooNewError``)."""
        with self._known_errors():
            db.check_schema(self._engine)

    @property
    def lab(self) -> labdb.LabDatabase:
        """Roles, members and identity of a PostgreSQL lab database (``labgpu lab init``)."""
        return labdb.LabDatabase(self._engine, self._known_errors)

    @property
    def passwords(self) -> LabPasswords:
        """A manager resets a lab member's password (``labgpu users passwd NAME``)."""
        return LabPasswords(self._engine, self._known_errors)

    @property
    def offload(self) -> OffloadStore:
        """Clusters and offloaded jobs (issue 5)."""
        return OffloadStore(self._read, self._write)

    @property
    def host_keys(self) -> HostKeyStore:
        """Servers' host keys pinned in the lab database (issue 12)."""
        return HostKeyStore(self._read, self._write)

    @property
    def usage(self) -> UsageStore:
        """Usage rollups, retention and the PI's queries (issue 6)."""
        return UsageStore(self._engine, self._read, self._write)

    def close(self) -> None:
        """Close every pooled connection (the store can still be used afterwards)."""
        self._engine.dispose()

    def _known_errors(self) -> AbstractContextManager[None]:
        """Database errors as known errors, one line each (``db_errors.known_errors``)."""
        return known_errors(self.url)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        shared: Session | None = getattr(self._shared, "session", None)
        if shared is not None:  # inside ``reading()``: its transaction, no new round trips
            with self._known_errors():
                yield shared
            return
        with self._known_errors(), Session(self._engine) as s, s.begin():
            yield s

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every read on this thread inside shares one session and transaction: one
        connection checkout, one commit, one view of the data (a slot search reads rules,
        GPUs, servers, the latest status, the member's bookings and the busy map; on
        PostgreSQL each read would otherwise cost its own round trips). Writes are not
        affected; nested calls join the outer one."""
        if getattr(self._shared, "session", None) is not None:
            yield
            return
        with self._known_errors(), Session(self._engine) as s, s.begin():
            self._shared.session = s
            try:
                yield
            finally:
                self._shared.session = None

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._known_errors(), Session(self._write_engine) as s, s.begin():
            yield s

    # -- servers and GPUs -------------------------------------------------------------------

    def upsert_server(self, name: str, target: SshTarget, actor: str) -> Server:
        """Register a server or change how to reach it (audited)."""
        with self._write() as s:
            return to_server(inventory.upsert_server(s, name, target, actor))

    def sync_gpus(
        self, server_name: str, readings: Sequence[GpuReading], actor: str
    ) -> GpuSyncReport:
        """Make a server's GPUs those of ``readings`` (by uuid); missing ones are retired."""
        with self._write() as s:
            server = inventory.require_server(s, server_name)
            return inventory.sync_gpus(s, server, readings, actor)

    def register_server(
        self, name: str, target: SshTarget, readings: Sequence[GpuReading], actor: str
    ) -> tuple[Server, GpuSyncReport]:
        """``upsert_server`` and ``sync_gpus`` in one transaction."""
        with self._write() as s:
            row = inventory.upsert_server(s, name, target, actor)
            report = inventory.sync_gpus(s, row, readings, actor)
            return to_server(row), report

    def get_server(self, name: str) -> Server | None:
        """The server named ``name``, or ``None``."""
        with self._read() as s:
            row = inventory.find_server(s, name)
            return to_server(row) if row else None

    def list_servers(self) -> list[Server]:
        """Every server, by name."""
        with self._read() as s:
            return [to_server(r) for r in s.scalars(select(ServerRow).order_by(ServerRow.name))]

    def has_servers(self) -> bool:
        """True once at least one server is registered."""
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(ServerRow)) != 0

    def remove_server(self, name: str, actor: str) -> None:
        """Forget a server with its GPUs, samples and processes (audited)."""
        with self._write() as s:
            row = inventory.require_server(s, name)
            gpus = s.scalar(select(func.count()).where(GpuRow.server_id == row.id))
            detail = f"host {row.host}, {gpus} GPU(s) with their history"
            inventory.add_audit(s, actor, "server.remove", name, detail)
            s.execute(delete(ServerRow).where(ServerRow.id == row.id))

    def list_gpus(self, server_name: str | None = None, include_retired: bool = False) -> list[Gpu]:
        """GPUs by server name and index; retired ones only when asked."""
        query = select(GpuRow, ServerRow.name).join(ServerRow, GpuRow.server_id == ServerRow.id)
        if server_name is not None:
            query = query.where(ServerRow.name == server_name)
        if not include_retired:
            query = query.where(GpuRow.retired_at.is_(None))
        with self._read() as s:
            rows = s.execute(query.order_by(ServerRow.name, GpuRow.index, GpuRow.id))
            return [to_gpu(gpu, server) for gpu, server in rows]

    def set_server_state(
        self, name: str, state: ServerState, reason: str, seen_at: datetime | None
    ) -> None:
        """Record how the last contact went; ``last_seen`` moves only when ``seen_at`` is given."""
        with self._write() as s:
            inventory.set_state(inventory.require_server(s, name), state, reason, seen_at)

    # -- monitoring -------------------------------------------------------------------------

    def store_probe(self, server_name: str, probe: ProbeResult, *, replay: bool = False) -> int:
        """Store a probe's samples and processes in one transaction; returns samples stored.

        ``replay``: a probe kept while the database was unreachable; what of it is already
        stored is left out (never stored twice) and usage rollups will include it.
        """
        try:
            with self._write() as s:
                return samples.store_probe(s, server_name, probe, replay=replay)
        except IntegrityError as exc:
            raise LabgpuError(
                _(
                    "{server}: the probe taken at {time} repeats a "
                    "stored reading ({error}); nothing of it was stored"
                ).format(server=server_name, time=probe.taken_at.isoformat(), error=exc.orig)
            ) from exc

    def store_probes(self, server_name: str, probes: Sequence[ProbeResult]) -> int:
        """Store many probes of one server in one transaction (history, demo data)."""
        try:
            with self._write() as s:
                return samples.store_probes(s, server_name, probes)
        except IntegrityError as exc:
            raise LabgpuError(
                _(
                    "{server}: {count} probes repeat a stored reading ({error}); "
                    "nothing of them was stored"
                ).format(server=server_name, count=len(probes), error=exc.orig)
            ) from exc

    def latest_sample_time(self) -> datetime | None:
        """When the newest sample of any GPU was taken, or ``None`` before the first."""
        return self.sample_span()[1]

    def sample_span(self) -> tuple[datetime | None, datetime | None]:
        """When the oldest and the newest stored samples were taken (``None`` if there are none)."""
        with self._read() as s:
            return usage.sample_bounds(s)

    def sample_times(self, server_name: str) -> list[datetime]:
        """When a server's GPUs were sampled (distinct sweep times, oldest first)."""
        with self._read() as s:
            return samples.sample_times(s, server_name)

    def latest_status(self) -> list[GpuStatus]:
        """Every current GPU with its latest reading and processes, by server and index."""
        with self._read() as s:
            return samples.latest_status(s)

    def current_users(self) -> dict[int, set[str]]:
        """``{gpu id: users}`` with processes on each GPU of an online server now."""
        with self._read() as s:
            return samples.current_users(s)

    # -- users ----------------------------------------------------------------------------

    def add_user(self, user: LabUser, actor: str) -> None:
        """Add a member to the ``users`` table, or change their display name and role."""
        with self._write() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == user.name))
            if row is None:
                s.add(UserRow(name=user.name, display_name=user.display_name, role=user.role))
            else:
                row.display_name, row.role = user.display_name, user.role
            inventory.add_audit(s, actor, "user.add", user.name, f"role {user.role}")

    def list_users(self) -> list[LabUser]:
        """The ``users`` table, by name."""
        with self._read() as s:
            rows = s.scalars(select(UserRow).order_by(UserRow.name))
            return [LabUser(r.name, r.display_name, r.role) for r in rows]

    # -- audit ------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, subject: str, detail: str = "") -> None:
        """Append one line to the audit log."""
        with self._write() as s:
            inventory.add_audit(s, actor, action, subject, detail)

    def list_audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` audit lines, newest first."""
        query = select(AuditRow).order_by(AuditRow.ts.desc(), AuditRow.id.desc()).limit(limit)
        with self._read() as s:
            return [to_audit(r) for r in s.scalars(query)]

    # -- bookings ---------------------------------------------------------------------------

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
    ) -> list[Booking]:
        """Book ``gpu_ids`` over ``window`` as one group, all or nothing (audited).

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
        request = BookingRequest(group_id, tuple(gpu_ids), user, window, status, note, created_at)
        with self._no_double_booking(lambda: (list(gpu_ids), window), None), self._write() as s:
            return bookings.create(s, request, actor, self.booking_hook)

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
    ) -> list[Booking]:
        """Change a whole group in one transaction (audited ``booking.update``, before → after).

        A longer window (or a group coming back to life) is checked for conflicts and
        maintenance like a new booking, the group itself left out.
        """
        change = GroupChange(status, end, decided_by, decision_reason, decided_at)
        span = partial(self._span, group_id, end)
        with self._no_double_booking(span, group_id), self._write() as s:
            return bookings.update(s, group_id, change, actor)

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

    # -- rules, maintenance, bookable GPUs ---------------------------------------------------

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

    def busy_windows(self, start: datetime, end: datetime) -> dict[int, list[Window]]:
        """Per GPU, the live-booking and maintenance windows overlapping ``[start, end)``."""
        with self._read() as s:
            return bookings.busy_windows(s, start, end)

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

    def gpu_utilization(
        self, gpu_ids: Sequence[int], since: datetime
    ) -> dict[int, list[tuple[datetime, float | None]]]:
        """Utilisation samples per GPU since ``since``, oldest first (for idle detection)."""
        with self._read() as s:
            return samples.gpu_utilization(s, gpu_ids, as_utc(since, "since"))
