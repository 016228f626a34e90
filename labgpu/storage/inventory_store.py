"""Servers, GPUs and their samples (``store.inventory``): rows in, ``labgpu.core`` values out,
one short session per call (the store's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import (
    as_utc,
)
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import (
    Gpu,
    GpuReading,
    GpuStatus,
    ProbeResult,
    Server,
    ServerState,
    SshTarget,
)
from labgpu.storage import inventory, samples, usage
from labgpu.storage.convert import to_server
from labgpu.storage.inventory import GpuSyncReport
from labgpu.storage.models import GpuRow, ServerRow

Sessions = Callable[[], AbstractContextManager[Session]]


class InventoryStore:
    """The servers, GPUs and samples of the store that made it."""

    def __init__(self, read: Sessions, write: Sessions) -> None:
        self._read = read
        self._write = write

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
        with self._read() as s:
            return inventory.list_gpus(s, server_name, include_retired)

    def set_server_state(
        self, name: str, state: ServerState, reason: str, seen_at: datetime | None
    ) -> None:
        """Record how the last contact went; ``last_seen`` moves only when ``seen_at`` is given."""
        with self._write() as s:
            inventory.set_state(inventory.require_server(s, name), state, reason, seen_at)

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

    def gpu_utilization(
        self, gpu_ids: Sequence[int], since: datetime
    ) -> dict[int, list[tuple[datetime, float | None]]]:
        """Utilisation samples per GPU since ``since``, oldest first (for idle detection)."""
        with self._read() as s:
            return samples.gpu_utilization(s, gpu_ids, as_utc(since, "since"))
