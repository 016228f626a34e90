"""The storage facade the services use: thread-safe, one short session per call.

Every method returns ``labgpu.core`` values, never ORM rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from labgpu.core.inventory.servers import (
    AuditEntry,
    LabUser,
)
from labgpu.storage import db, inventory, labdb
from labgpu.storage.booking_store import BookingStore
from labgpu.storage.busy_cache import BusyCache
from labgpu.storage.convert import to_audit
from labgpu.storage.db_errors import known_errors
from labgpu.storage.evidence_queries import EvidenceStore
from labgpu.storage.host_keys import HostKeyStore
from labgpu.storage.inventory import GpuSyncReport
from labgpu.storage.inventory_store import InventoryStore
from labgpu.storage.lab_jobs import LabJobStore
from labgpu.storage.lab_passwords import LabPasswords
from labgpu.storage.models import AuditRow, UserRow
from labgpu.storage.offload import OffloadStore
from labgpu.storage.outbox import NotifyStore
from labgpu.storage.prices import PriceStore
from labgpu.storage.projects import ProjectStore
from labgpu.storage.usage import UsageStore
from labgpu.storage.what_if_history import WhatIfStore

__all__ = ["GpuSyncReport", "Store"]


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
        self._busy = BusyCache()  # the slot search's busy map, while the lab has not changed

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
    def lab_jobs(self) -> LabJobStore:
        """Jobs run on bookings on the lab's servers (issue 15)."""
        return LabJobStore(self._read, self._write)

    @property
    def host_keys(self) -> HostKeyStore:
        """Servers' host keys pinned in the lab database (issue 12)."""
        return HostKeyStore(self._read, self._write)

    @property
    def inventory(self) -> InventoryStore:
        """Servers, GPUs and their samples."""
        return InventoryStore(self._read, self._write)

    @property
    def bookings(self) -> BookingStore:
        """Bookings, booking rules, maintenance windows and bookable GPUs."""
        return BookingStore(self._read, self._write, lambda: self.booking_hook, self._busy)

    @property
    def notify(self) -> NotifyStore:
        """Members' notification settings, the outbox and its deliveries (issue 17)."""
        return NotifyStore(self._read, self._write)

    @property
    def prices(self) -> PriceStore:
        """What GPU models cost elsewhere, as managers set it (issue 16)."""
        return PriceStore(self._read, self._write)

    @property
    def what_if(self) -> WhatIfStore:
        """Booking groups with when each was made, for the what-if replay (issue 16)."""
        return WhatIfStore(self._read)

    @property
    def projects(self) -> ProjectStore:
        """The lab's projects and grants (issue 16)."""
        return ProjectStore(self._read, self._write)

    @property
    def evidence(self) -> EvidenceStore:
        """The PI's evidence: saturated hours, booked GPU-time, offloaded jobs (issue 16)."""
        return EvidenceStore(self._read)

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
