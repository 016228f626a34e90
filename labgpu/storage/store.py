"""The storage facade the services use: thread-safe, one short session per call.

Every method returns ``labgpu.core`` values, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from labgpu.core.errors import DatabaseError, LabgpuError
from labgpu.core.inventory import (
    AuditEntry,
    Gpu,
    GpuReading,
    GpuStatus,
    ProbeResult,
    Server,
    ServerState,
    SshTarget,
)
from labgpu.storage import db, inventory, samples
from labgpu.storage.convert import to_audit, to_gpu, to_server
from labgpu.storage.inventory import GpuSyncReport
from labgpu.storage.models import AuditRow, GpuRow, ServerRow

__all__ = ["GpuSyncReport", "Store"]


class Store:
    """The lab's database at ``url`` (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = db.normalize_url(url)
        self._engine = db.make_engine(self.url)
        self._write_engine = self._engine.execution_options(**{db.WRITE_OPTION: True})

    def __repr__(self) -> str:
        return f"Store({db.display_url(self.url)!r})"

    # -- lifecycle --------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to this labgpu's revision; ``SchemaTooNewError`` if newer."""
        with self._known_errors():
            db.upgrade(self._engine)

    def check_schema(self) -> None:
        """Raise unless the schema is exactly this labgpu's (newer: ``SchemaTooNewError``)."""
        with self._known_errors():
            db.check_schema(self._engine)

    def close(self) -> None:
        """Close every pooled connection (the store can still be used afterwards)."""
        self._engine.dispose()

    @contextmanager
    def _known_errors(self) -> Iterator[None]:
        # Unreachable server, lost connection, locked file: trouble of the environment, shown
        # as one line. Anything else from SQLAlchemy is a bug and keeps its traceback.
        try:
            yield
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise DatabaseError(
                f"the database at {db.display_url(self.url)} failed: {reason}; check that it is "
                "reachable and try again"
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._known_errors(), Session(self._engine) as s, s.begin():
            yield s

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

    def store_probe(self, server_name: str, probe: ProbeResult) -> int:
        """Store a probe's samples and processes in one transaction; returns samples stored."""
        try:
            with self._write() as s:
                return samples.store_probe(s, server_name, probe)
        except IntegrityError as exc:
            raise LabgpuError(
                f"{server_name}: the probe taken at {probe.taken_at.isoformat()} repeats a "
                f"stored reading ({exc.orig}); nothing of it was stored"
            ) from exc

    def sample_times(self, server_name: str) -> list[datetime]:
        """When a server's GPUs were sampled (distinct sweep times, oldest first)."""
        with self._read() as s:
            return samples.sample_times(s, server_name)

    def latest_status(self) -> list[GpuStatus]:
        """Every current GPU with its latest reading and processes, by server and index."""
        with self._read() as s:
            return samples.latest_status(s)

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
