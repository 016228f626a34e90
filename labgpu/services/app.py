"""The facade the desktop app and the CLI use: one ``Labgpu`` per process.

Every method may block on SQL or SSH; the GUI calls them from worker threads only. The object
is thread-safe: the store opens one short session per call and the SSH pool keeps one
transport per host behind a per-host lock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labgpu.core.errors import AuthFailedError, LabgpuError
from labgpu.core.inventory import GpuStatus, ProbeResult, Server, SshTarget
from labgpu.services import paths
from labgpu.services.identity import current_user
from labgpu.services.monitoring import Collector, SweepOutcome

if TYPE_CHECKING:  # SQLAlchemy, Alembic and paramiko load on first use, off the GUI's start
    from labgpu.remote import SshPool
    from labgpu.storage import Store

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class RegisterReport:
    """What registering a server did."""

    server: Server
    gpus: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    retired: tuple[str, ...]


class Labgpu:
    """One lab, opened from one database URL, seen by one user."""

    def __init__(self, db_url: str | None = None) -> None:
        self.db_url = paths.resolve_database_url(db_url)
        self.user = current_user()
        self._store: Store | None = None
        self._pool: SshPool | None = None
        self._collector: Collector | None = None
        self._lock = threading.RLock()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The database, created on first use (no engine at import time)."""
        with self._lock:
            if self._store is None:
                from labgpu.storage import Store

                self._store = Store(self.db_url)
            return self._store

    @property
    def pool(self) -> SshPool:
        """The SSH connections, one persistent transport per host."""
        with self._lock:
            if self._pool is None:
                from labgpu.remote import SshPool

                self._pool = SshPool(
                    known_hosts=paths.known_hosts_path(),
                    ssh_config=paths.ssh_config_path(),
                )
            return self._pool

    @property
    def is_single_seat(self) -> bool:
        """True for the embedded SQLite shape, where the app runs the collector itself."""
        return self.db_url.startswith("sqlite")

    def open(self) -> None:
        """Bring the database to the current schema; refuse one newer than this program."""
        self.store.upgrade()

    def close(self) -> None:
        """Stop the collector, close SSH connections and the database."""
        self.stop_collector()
        with self._lock:
            if self._pool is not None:
                self._pool.close_all()
                self._pool = None
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- inventory --------------------------------------------------------------------------

    def discover(self, target: SshTarget, trust_fingerprint: str | None = None) -> ProbeResult:
        """Connect to a server and list its GPUs, without storing anything.

        An unknown host key raises ``HostKeyUnknownError`` carrying the fingerprint; ask the
        person, then call again with ``trust_fingerprint`` set to it.
        """
        if trust_fingerprint:
            self.pool.trust_host_key(target, trust_fingerprint)
        return self._probe(target)

    def register_server(self, name: str, target: SshTarget, result: ProbeResult) -> RegisterReport:
        """Store a discovered server and its GPUs (again: update, noticing replaced GPUs)."""
        name = name.strip()
        if not name:
            raise LabgpuError("a server needs a name; leave it empty to use the host name")
        server, report = self.store.register_server(name, target, result.gpus, self.user)
        self.store.store_probe(name, result)
        return RegisterReport(
            server=server,
            gpus=len(result.gpus),
            added=report.added,
            updated=report.updated,
            retired=report.retired,
        )

    def add_server(
        self, target: SshTarget, name: str | None = None, trust_fingerprint: str | None = None
    ) -> tuple[ProbeResult, RegisterReport]:
        """Discover and register in one go (``labgpu servers add``)."""
        result = self.discover(target, trust_fingerprint)
        return result, self.register_server(name or target.host, target, result)

    def list_servers(self) -> list[Server]:
        """Every registered server with its last known state."""
        return self.store.list_servers()

    def remove_server(self, name: str) -> None:
        """Forget a server, its GPUs and their history."""
        self.store.remove_server(name, self.user)

    def forget_host_key(self, name: str) -> int:
        """Forget the known host key of a registered server; returns how many were removed."""
        server = self.store.get_server(name)
        if server is None:
            raise LabgpuError(f"no server named {name!r}; see `labgpu servers list`")
        removed = self.pool.forget_host_key(server.target)
        self.store.audit(self.user, "server.forget_key", name, f"{removed} key(s)")
        return removed

    def has_servers(self) -> bool:
        """False on a fresh database (the app then shows its welcome screen)."""
        return self.store.has_servers()

    # -- monitoring -------------------------------------------------------------------------

    def _probe(self, target: SshTarget) -> ProbeResult:
        from labgpu.remote import probe

        try:
            return probe(self.pool, target, timeout=PROBE_TIMEOUT_S)
        except AuthFailedError:
            # The pool refuses to retry a failed login by itself; a lab server with key
            # auth may be fixed (authorized_keys) meanwhile, so the next sweep (after the
            # collector's back-off) tries afresh.
            self.pool.close(target)
            raise

    def make_collector(self, interval_s: float = 5.0) -> Collector:
        """A collector over this lab's servers (not started)."""
        return Collector(self.store, self._probe, interval_s)

    def sweep(self) -> list[SweepOutcome]:
        """Probe every server once, in parallel, and store the results."""
        collector = self.make_collector()
        try:
            return collector.sweep_once(timeout_s=PROBE_TIMEOUT_S * 3)
        finally:
            collector.stop()

    def status(self, probe_first: bool = False) -> list[GpuStatus]:
        """Every GPU with its latest reading; ``probe_first`` sweeps the servers before."""
        if probe_first:
            self.sweep()
        return self.store.latest_status()

    def start_collector(self, interval_s: float = 5.0) -> None:
        """Run the collector on a background thread (single-seat mode)."""
        with self._lock:
            if self._collector is None:
                self._collector = Collector(self.store, self._probe, interval_s)
                self._collector.start()

    def stop_collector(self) -> None:
        """Stop the background collector if it runs."""
        with self._lock:
            collector, self._collector = self._collector, None
        if collector is not None:
            collector.stop()
