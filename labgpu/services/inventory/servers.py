"""The lab's servers and GPUs (``lab.inventory``): discover a server over SSH, register it,
list and forget servers, read every GPU's latest state, and run the collector that probes them.

In the lab-database shape a manager also pins each server's host key in the database
(``LabHostKeys``); every member's connections then verify against it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labgpu.core.errors import AuthFailedError, ConfigError, HostKeyChangedError, LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.containers import DEFAULT_OWNER_LABEL, valid_label_name
from labgpu.core.inventory.servers import Gpu, GpuStatus, ProbeResult, Server, SshTarget
from labgpu.services.inventory.collector import Collector, SweepOutcome

if TYPE_CHECKING:
    from labgpu.remote import SshPool
    from labgpu.services.inventory.host_keys import LabHostKeys
    from labgpu.storage import Store

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0

#: Seconds between the collector's minute jobs (rollups, the idle rule, notifications) when
#: set: for tests and benchmarks that cannot wait a minute. A service leaves it unset.
HOUSEKEEPING_ENV = "LABGPU_HOUSEKEEPING_S"


def housekeeping_seconds() -> float:
    """60, or ``LABGPU_HOUSEKEEPING_S`` where it is set (a number of seconds above 0)."""
    text = os.environ.get(HOUSEKEEPING_ENV, "").strip()
    try:
        seconds = float(text) if text else 60.0
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(
            _("{name} must be a number of seconds above 0, not {text}").format(
                name=HOUSEKEEPING_ENV, text=repr(text)
            )
        )
    return seconds


@dataclass(frozen=True, slots=True)
class RegisterReport:
    """What registering a server did."""

    server: Server
    gpus: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    retired: tuple[str, ...]


class InventoryService:
    """Servers and GPUs of one lab, as one user (``store`` and ``pool`` shared, thread-safe)."""

    def __init__(
        self,
        store: Store,
        pool: Callable[[], SshPool],
        user: str,
        pins: LabHostKeys | None = None,
        housekeeping: Callable[[], list[str]] | None = None,
    ) -> None:
        """``pool``: the lab's SSH connections, opened on first use (paramiko loads then);
        ``pins``: the lab database's pinned host keys (None in the single-seat shape);
        ``housekeeping``: the collector's minute job (rollups, the idle rule)."""
        self.store = store
        self._pool = pool
        self.user = user
        self._pins = pins
        self._housekeeping = housekeeping
        self._collector: Collector | None = None
        self._lock = threading.Lock()
        self._owner_label: str | None = None

    @property
    def pool(self) -> SshPool:
        """The SSH connections, one persistent transport per host."""
        return self._pool()

    def pins_host_keys(self) -> bool:
        """True in the lab-database shape: servers' host keys are pinned in the database."""
        return self._pins is not None and self._pins.active()

    # -- servers ----------------------------------------------------------------------------

    def discover(self, target: SshTarget, trust_fingerprint: str | None = None) -> ProbeResult:
        """Connect to a server and list its GPUs, without storing anything.

        An unknown host key raises ``HostKeyUnknownError`` carrying the fingerprint; ask the
        person, then call again with ``trust_fingerprint`` set to it (``HostKeyNotPinnedError``:
        only a lab manager may, so do not ask).
        """
        if trust_fingerprint:
            self.pool.trust_host_key(target, trust_fingerprint)
        return self.probe(target)

    def register_server(self, name: str, target: SshTarget, result: ProbeResult) -> RegisterReport:
        """Store a discovered server and its GPUs (again: update, noticing replaced GPUs).

        In the lab-database shape a manager also pins the server's host key: the key of the
        pooled connection discovery used (verified when it was opened), whether that
        connection was opened by this discovery or was already open.
        """
        name = name.strip()
        if not name:
            raise LabgpuError(_("a server needs a name; leave it empty to use the host name"))
        pins = self._pins
        pin = pins is not None and pins.active() and pins.may_pin()
        key = self.pool.host_key(target, timeout=PROBE_TIMEOUT_S) if pin else None
        server, report = self.store.inventory.register_server(name, target, result.gpus, self.user)
        if pins is not None and key is not None:
            pins.pin_server(name, key)
        self.store.inventory.store_probe(name, result)
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
        try:
            result = self.discover(target, trust_fingerprint)
        except HostKeyChangedError as exc:  # name the registered server's real command
            known = self.store.inventory.get_server((name or target.host).strip())
            if known is None:
                raise
            raise exc.for_server(known.name) from exc
        return result, self.register_server(name or target.host, target, result)

    def add_server_unprobed(self, target: SshTarget, name: str | None = None) -> Server:
        """Register a server without connecting (``servers add --no-probe``: it may be down
        now); its GPUs are registered by the first sweep that reaches it."""
        name = (name or target.host).strip()
        if not name:
            raise LabgpuError(_("a server needs a name; leave it empty to use the host name"))
        return self.store.inventory.upsert_server(name, target, self.user)

    def list_servers(self) -> list[Server]:
        """Every registered server with its last known state."""
        return self.store.inventory.list_servers()

    def remove_server(self, name: str) -> None:
        """Forget a server, its GPUs and their history."""
        self.store.inventory.remove_server(name, self.user)

    def forget_host_key(self, name: str) -> int:
        """Forget the known host key of a registered server; returns how many were removed.

        In the lab-database shape the pinned key is deleted (a manager only; audited), and
        this account's own copy in labgpu's known_hosts with it.
        """
        server = self.store.inventory.get_server(name)
        if server is None:
            raise LabgpuError(
                _("no server named {name}; see `labgpu servers list`").format(name=repr(name))
            )
        if self.pins_host_keys():
            removed = self.store.host_keys.forget(name, self.user)
            self.pool.forget_host_key(server.target)
            return removed
        removed = self.pool.forget_host_key(server.target)
        self.store.audit(self.user, "server.forget_key", name, f"{removed} key(s)")
        return removed

    def has_servers(self) -> bool:
        """False on a fresh database (the app then shows its welcome screen)."""
        return self.store.inventory.has_servers()

    def list_gpus(self) -> list[Gpu]:
        """Every current GPU (with its id and whether it is bookable)."""
        return self.store.inventory.list_gpus()

    def status(self, probe_first: bool = False) -> list[GpuStatus]:
        """Every GPU with its latest reading; ``probe_first`` sweeps the servers before."""
        if probe_first:
            self.sweep()
        return self.store.inventory.latest_status()

    # -- probing ----------------------------------------------------------------------------

    def probe(self, target: SshTarget) -> ProbeResult:
        """One reading of one server over SSH (one round trip)."""
        from labgpu.remote import probe

        try:
            return probe(self.pool, target, timeout=PROBE_TIMEOUT_S, owner_label=self.owner_label())
        except AuthFailedError:
            # The pool refuses to retry a failed login by itself; a lab server with key
            # auth may be fixed (authorized_keys) meanwhile, so the next sweep (after the
            # collector's back-off) tries afresh.
            self.pool.close(target)
            raise

    def owner_label(self) -> str:
        """The container label that names a GPU process's owner (``labgpu.user`` unless
        config.toml's ``[monitoring] owner_label`` says otherwise); read once."""
        if self._owner_label is None:
            from labgpu.services.platform.paths import load_config

            section = load_config().get("monitoring")
            label = section.get("owner_label") if isinstance(section, dict) else None
            if label is None:
                label = DEFAULT_OWNER_LABEL
            if not isinstance(label, str) or not valid_label_name(label):
                raise ConfigError(
                    _(
                        "config.toml: [monitoring] owner_label must be a container label name "
                        "(letters, digits and . _ / - only), got {label}"
                    ).format(label=repr(label))
                )
            self._owner_label = label
        return self._owner_label

    def make_collector(self, interval_s: float = 5.0) -> Collector:
        """A collector over this lab's servers (not started); it also runs the housekeeping,
        every ``housekeeping_seconds()``."""
        return Collector(
            self.store,
            self.probe,
            interval_s,
            housekeeping=self._housekeeping,
            housekeeping_interval_s=housekeeping_seconds(),
        )

    def sweep(self) -> list[SweepOutcome]:
        """Probe every server once, in parallel, and store the results."""
        collector = self.make_collector()
        try:
            return collector.sweep_once(timeout_s=PROBE_TIMEOUT_S * 3)
        finally:
            collector.stop()

    def start_collector(self, interval_s: float = 5.0) -> None:
        """Run the collector on a background thread (single-seat mode)."""
        with self._lock:
            if self._collector is None:
                self._collector = self.make_collector(interval_s)
                self._collector.start()

    def collecting(self) -> bool:
        """True while the background collector runs."""
        with self._lock:
            return self._collector is not None

    def request_stop(self) -> None:
        """Tell a running collector to stop storing what probes in flight still see."""
        with self._lock:
            collector = self._collector
        if collector is not None:
            collector.request_stop()

    def stop_collector(self) -> None:
        """Stop the background collector if it runs (waits for its probes in flight)."""
        with self._lock:
            collector, self._collector = self._collector, None
        if collector is not None:
            collector.stop()
