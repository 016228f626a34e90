"""The collector: sweeps every server in parallel and stores what it sees.

One slow or dead host never delays the others: each host is probed on its own worker, a host
whose previous probe is still running is skipped, and failing hosts back off exponentially.

A database that goes away (restart, network) does not stop the loop: it sweeps on and keeps what
it could not store in memory (``Backlog``, bounded: the oldest go first; ``backlog.py``), then a
writer thread stores it, oldest first and never twice, once the database is back. What it tells
the log is written in ``collect_log.py``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labgpu.core.errors import (
    AuthFailedError,
    DatabaseError,
    HostKeyChangedError,
    HostKeyUnknownError,
    LabgpuError,
    ProbeError,
    RemoteError,
)
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.backoff import retry_delay
from labgpu.core.inventory.servers import ProbeResult, Server, ServerState, SshTarget
from labgpu.services.inventory.backlog import BACKLOG_SAMPLES, Backlog, PendingWrite
from labgpu.services.inventory.collect_log import (
    Outage,
    Tally,
    log_backlog_full,
    log_database_back,
    log_database_lost,
    log_started,
    log_stopped,
    log_sweep,
)

if TYPE_CHECKING:
    from labgpu.storage import Store

log = logging.getLogger(__name__)

ProbeFn = Callable[[SshTarget], ProbeResult]

STOPPED = N_("the collector stopped before this probe ended")


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """What happened to one server in one sweep (``kept``: probed, not stored yet)."""

    server: str
    state: ServerState
    reason: str = ""
    samples: int = 0
    kept: bool = False


def classify_error(exc: BaseException, server: str | None = None) -> tuple[ServerState, str]:
    """Map a probe failure to the server state and the reason shown in its row (which names
    ``server``'s own commands)."""
    if isinstance(exc, HostKeyChangedError):
        return ServerState.HOST_KEY_CHANGED, str(exc.for_server(server) if server else exc)
    if isinstance(exc, HostKeyUnknownError):
        return ServerState.HOST_KEY_UNKNOWN, str(exc)
    if isinstance(exc, AuthFailedError):
        return ServerState.AUTH_FAILED, str(exc)
    if isinstance(exc, ProbeError):
        return ServerState.PROBE_ERROR, str(exc)
    if isinstance(exc, RemoteError | LabgpuError):
        return ServerState.OFFLINE, str(exc)
    return ServerState.PROBE_ERROR, _("internal error while probing: {error} (see the log)").format(
        error=repr(exc)
    )


class Collector:
    """Probes servers and stores samples; usable once (``sweep_once``) or as a loop."""

    def __init__(
        self,
        store: Store,
        probe: ProbeFn,
        interval_s: float = 5.0,
        *,
        max_workers: int = 32,
        max_backoff_s: float = 300.0,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_interval_s: float = 60.0,
        backlog_samples: int = BACKLOG_SAMPLES,
    ) -> None:
        self._store = store
        self._probe = probe
        self.interval_s = interval_s
        self._max_backoff_s = max_backoff_s
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="probe")
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[SweepOutcome]] = {}  # server name → its probe
        self._failures: dict[str, int] = {}
        self._next_due: dict[str, float] = {}
        self._server_list: list[Server] | None = None
        self._listed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Work the loop does besides probing (the idle-booking rule), at most once per interval.
        self._housekeeping = housekeeping
        self._housekeeping_interval_s = housekeeping_interval_s
        self._housekeeping_due = 0.0
        # While the loop runs, what the database cannot take is kept here and stored later by
        # the writer thread (``flush``); ``sweep_once`` reports it as not stored instead.
        self.backlog = Backlog(backlog_samples)
        self._keeping = False
        self._outage: Outage | None = None
        self._outage_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake_writer = threading.Event()
        self._writer: threading.Thread | None = None
        self._tally = Tally()
        self._tally_lock = threading.Lock()
        self._sweep_line_due = 0.0
        self._ran = False

    @property
    def database_unreachable(self) -> bool:
        """True from a failed write until everything kept meanwhile is stored."""
        return self._outage is not None

    # -- one server -------------------------------------------------------------------------

    def probe_server(self, server: Server) -> SweepOutcome:
        """Probe one server and store the result or its failure state. Never raises.

        Once the collector is stopped, what a probe still in flight sees is not stored: its
        failure is most likely the closing of the SSH connections, not the server's fault.
        """
        try:
            result = self._probe(server.target)
            if self._stop.is_set():
                return SweepOutcome(server.name, ServerState.UNKNOWN, _(STOPPED))
            outcome = self._save_probe(server.name, result)
        except DatabaseError as exc:  # not the server's fault: keep its state, try again later
            log.warning("could not store the probe of %s: %s", server.name, exc)
            self._failures[server.name] = self._failures.get(server.name, 0) + 1
            return SweepOutcome(server.name, ServerState.UNKNOWN, str(exc))
        except Exception as exc:  # noqa: BLE001 — every failure becomes the server's state
            if self._stop.is_set():
                return SweepOutcome(server.name, ServerState.UNKNOWN, _(STOPPED))
            state, reason = classify_error(exc, server.name)
            if state is ServerState.PROBE_ERROR and not isinstance(exc, LabgpuError):
                log.exception("probe of %s failed unexpectedly", server.name)
            self._record_failure(server.name, state, reason)
            outcome = SweepOutcome(server.name, state, reason)
            self._count(outcome)
            return outcome
        self._failures.pop(server.name, None)
        self._count(outcome)
        return outcome

    def _save_probe(self, name: str, result: ProbeResult) -> SweepOutcome:
        stored = self._save(PendingWrite(name, result))
        if stored is None:
            reason = _("not stored yet, kept in memory: {error}").format(error=self._outage_error())
            return SweepOutcome(name, ServerState.ONLINE, reason, len(result.gpus), kept=True)
        return SweepOutcome(name, ServerState.ONLINE, "", stored)

    def _record_failure(self, name: str, state: ServerState, reason: str) -> None:
        self._failures[name] = self._failures.get(name, 0) + 1
        try:
            self._save(PendingWrite(name, None, state, reason))
        except LabgpuError as exc:
            log.warning("could not record state of %s: %s", name, exc)

    # -- storing, or keeping until the database is back --------------------------------------

    def _save(self, item: PendingWrite) -> int | None:
        """Store ``item`` now (the samples stored), or keep it for later (None).

        While anything is kept, new writes queue behind it: they are stored in order.
        Raises ``DatabaseError`` only when not keeping (``sweep_once``).
        """
        if self._keeping and (self._outage is not None or len(self.backlog)):
            self._keep(item)
            return None
        try:
            return self._write(item, replay=False)
        except DatabaseError as exc:
            if not self._keeping:
                raise
            self._database_lost(exc)
            self._keep(item)
            return None

    def _write(self, item: PendingWrite, *, replay: bool) -> int:
        if item.probe is not None:
            return self._store.inventory.store_probe(item.server, item.probe, replay=replay)
        self._store.inventory.set_server_state(item.server, item.state, item.reason, None)
        return 0

    def _keep(self, item: PendingWrite) -> None:
        dropped = sum(d.samples for d in self.backlog.add(item))
        if dropped:
            with self._outage_lock:
                first = self._outage is None or self._outage.dropped == 0
                if self._outage is not None:
                    self._outage.dropped += dropped
            with self._tally_lock:
                self._tally.total_dropped += dropped
            if first:
                log_backlog_full(self.backlog.limit)
        self._wake_writer.set()

    def _database_lost(self, exc: DatabaseError) -> None:
        with self._outage_lock:
            if self._outage is not None:
                self._outage.error = str(exc)
                return
            self._outage = Outage(time.monotonic(), str(exc))
        log_database_lost(str(exc), self.backlog.limit)

    def _outage_error(self) -> str:
        outage = self._outage
        return outage.error if outage is not None else "the database is unreachable"

    def flush(self, deadline: float | None = None) -> int:
        """Store what was kept, oldest first, until none is left, the database fails again or
        ``deadline`` (monotonic) passes (one write is always tried); returns the samples stored.

        A kept probe is stored as a replay: whatever of it a write cut off at its commit did
        store is left out, so nothing is stored twice, and usage rollups are reopened for it.
        """
        written = 0
        with self._flush_lock:
            while (item := self.backlog.hold()) is not None:
                try:
                    stored = self._write(item, replay=True)
                except DatabaseError as exc:
                    self.backlog.release()
                    self._database_lost(exc)
                    break
                except LabgpuError as exc:  # e.g. the server was removed meanwhile
                    log.warning("dropped a kept write for %s: %s", item.server, exc)
                    stored = 0
                except Exception:  # noqa: BLE001 — a bug must not block what follows
                    log.exception("dropped a kept write for %s", item.server)
                    stored = 0
                self.backlog.done(item)
                written += stored
                with self._outage_lock:
                    if self._outage is not None:
                        self._outage.stored += stored
                with self._tally_lock:
                    self._tally.total_stored += stored
                if deadline is not None and time.monotonic() >= deadline:
                    break
            if self.backlog.peek() is None:
                self._database_back()
        return written

    def _database_back(self) -> None:
        with self._outage_lock:
            outage, self._outage = self._outage, None
        if outage is not None:
            log_database_back(outage)

    def _write_loop(self) -> None:
        # Retry a lost database about once per interval (at most every 5 s).
        retry_s = min(self.interval_s, 5.0)
        while not self._stop.is_set():
            self._wake_writer.wait(retry_s)
            self._wake_writer.clear()
            if self._stop.is_set():
                break
            if self.backlog.peek() is not None:
                self.flush()
            elif self._outage is not None:  # lost while reading: nothing kept to try it with
                self._check_database()

    def _check_database(self) -> None:
        try:
            servers = self._store.inventory.list_servers()
        except DatabaseError as exc:
            self._database_lost(exc)
            return
        self._server_list, self._listed_at = servers, time.monotonic()
        with self._flush_lock:  # a probe kept meanwhile goes first
            if self.backlog.peek() is None:
                self._database_back()

    # -- what happened: a line per sweep ------------------------------------------------------

    def _count(self, outcome: SweepOutcome) -> None:
        with self._tally_lock:
            tally = self._tally
            if outcome.state is ServerState.ONLINE:
                tally.ok += 1
                tally.sampled += outcome.samples
                tally.total_sampled += outcome.samples
                if not outcome.kept:
                    tally.total_stored += outcome.samples
            elif outcome.reason != _(STOPPED):
                tally.failed.append(outcome.server)

    def _sweep_line(self, now: float) -> None:
        """Log what happened since the last line, once per interval (``collect -v``)."""
        if now < self._sweep_line_due:
            return
        self._sweep_line_due = now + self.interval_s
        with self._tally_lock:
            ok, failed, sampled = self._tally.take_sweep()
        if ok or failed:
            log_sweep(ok, failed, sampled, self.backlog.samples)

    def totals(self) -> tuple[int, int, int]:
        """Since the start: samples taken, stored, and dropped from a full backlog."""
        with self._tally_lock:
            t = self._tally
            return t.total_sampled, t.total_stored, t.total_dropped

    # -- sweeps -----------------------------------------------------------------------------

    def sweep_once(self, timeout_s: float | None = None) -> list[SweepOutcome]:
        """Probe every registered server in parallel and wait for all of them."""
        servers = self._store.inventory.list_servers()
        with self._lock:
            futures = [self._submit(s) for s in servers]
        for server, fut in zip(servers, futures, strict=True):
            fut.add_done_callback(functools.partial(self._finished, server.name))
        done, _ = wait(futures, timeout=timeout_s)
        outcomes = []
        for server, fut in zip(servers, futures, strict=True):
            if fut in done:
                outcomes.append(fut.result())
            else:
                outcomes.append(
                    SweepOutcome(server.name, ServerState.OFFLINE, "probe still running")
                )
        return outcomes

    def tick(self, now: float | None = None) -> int:
        """Start a probe for every server that is due and not already being probed."""
        now = time.monotonic() if now is None else now
        started = 0
        for server in self._servers(now):
            with self._lock:
                if self._stop.is_set():
                    break
                if server.name in self._in_flight or now < self._next_due.get(server.name, 0.0):
                    continue
                fut = self._submit(server)
            # Outside the lock: a future already done calls back at once, and that takes it.
            fut.add_done_callback(functools.partial(self._finished, server.name))
            started += 1
        return started

    def _submit(self, server: Server) -> Future[SweepOutcome]:
        """Start one probe; the caller holds ``_lock`` (``request_stop`` takes it too)."""
        fut = self._executor.submit(self.probe_server, server)
        self._in_flight[server.name] = fut
        return fut

    def _servers(self, now: float) -> list[Server]:
        # The list changes rarely (a manager adds a server); re-read it once per interval.
        # Without a database, sweep the servers known: a failed read would stall every sweep
        # (up to the connect timeout), so it is not tried again until the database is back.
        known = self._server_list
        fresh = now - self._listed_at < self.interval_s
        if known is not None and (fresh or self._outage is not None):
            return known
        try:
            self._server_list = self._store.inventory.list_servers()
        except DatabaseError as exc:
            if not self._keeping:
                raise
            self._database_lost(exc)
            self._wake_writer.set()  # the writer notices when it is back
            return known or []
        self._listed_at = now
        return self._server_list

    def _finished(self, name: str, fut: Future[SweepOutcome]) -> None:
        delay = retry_delay(self.interval_s, self._failures.get(name, 0), self._max_backoff_s)
        with self._lock:
            if self._in_flight.get(name) is fut:
                del self._in_flight[name]
            self._next_due[name] = time.monotonic() + delay

    # -- loop -------------------------------------------------------------------------------

    def start(self) -> None:
        """Sweep in a background thread until ``stop``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self._thread.start()

    def run_forever(self) -> None:
        """Sweep in the calling thread until ``stop`` (used by ``labgpu collect``)."""
        self._run()

    def _run(self) -> None:
        self._keeping = self._ran = True
        servers = self._servers(time.monotonic())
        log_started(self._store.display_url, len(servers), self.interval_s)
        self._writer = threading.Thread(target=self._write_loop, name="collector-writer")
        self._writer.daemon = True
        self._writer.start()
        while not self._stop.is_set():
            try:
                self.tick()
                self._sweep_line(time.monotonic())
                self._keep_house()
            except LabgpuError as exc:  # e.g. the database is briefly unreachable
                log.warning("collector: %s", exc)
            self._stop.wait(min(1.0, self.interval_s / 2))
        self._wake_writer.set()

    def _keep_house(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._housekeeping is None or now < self._housekeeping_due:
            return
        if self._outage is not None or len(self.backlog):
            # Rollups wait for the kept samples (and would only fail without the database).
            return
        self._housekeeping_due = now + self._housekeeping_interval_s
        try:
            self._housekeeping()
        except DatabaseError as exc:  # the next write would fail too: keep from now on
            self._database_lost(exc)
            self._wake_writer.set()
        except LabgpuError as exc:
            log.warning("collector housekeeping: %s", exc)
        except Exception:  # noqa: BLE001 — a bug there must not stop the sweeps
            log.exception("collector housekeeping failed")

    def request_stop(self) -> None:
        """Stop the loop and start no more probes; probes in flight will store nothing."""
        with self._lock:  # no probe starts after this (the loop checks under the lock)
            self._stop.set()
        self._wake_writer.set()
        # Not under the lock: cancelling a queued probe calls ``_finished``, which takes it.
        self._executor.shutdown(wait=False, cancel_futures=True)

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop, and wait up to ``wait_s`` for the loop and the probes in flight to end.

        What is still kept in memory is stored if the database takes it within ``wait_s``
        (else it is lost, and the log says how much). The database may be closed once this
        returns: nothing of this collector still uses it (unless a probe or a write outlived
        ``wait_s``, which is logged).
        """
        deadline = time.monotonic() + wait_s
        self.request_stop()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            if self._thread.is_alive():
                log.warning("the collector loop did not stop within %.0f s", wait_s)
            self._thread = None
        with self._lock:
            pending = list(self._in_flight.values())
        _, not_done = wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        if not_done:
            log.warning("%d probe(s) still running after the collector stopped", len(not_done))
        if self._writer is not None:
            self._writer.join(max(0.0, deadline - time.monotonic()))
            if self._writer.is_alive():
                log.warning("the collector's writer did not stop within %.0f s", wait_s)
                return
            self._writer = None
        self._last_flush(deadline)

    def _last_flush(self, deadline: float) -> None:
        if not self._ran:
            return
        if self.backlog.peek() is not None:
            self.flush(deadline)
        self._ran = False
        log_stopped(self.totals(), self.backlog.samples, self._outage_error())
