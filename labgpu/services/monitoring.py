"""The collector: sweeps every server in parallel and stores what it sees.

One slow or dead host never delays the others: each host is probed on its own worker, a host
whose previous probe is still running is skipped, and failing hosts back off exponentially.
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

from labgpu.core.backoff import retry_delay
from labgpu.core.errors import (
    AuthFailedError,
    DatabaseError,
    HostKeyChangedError,
    HostKeyUnknownError,
    LabgpuError,
    ProbeError,
    RemoteError,
)
from labgpu.core.inventory import ProbeResult, Server, ServerState, SshTarget

if TYPE_CHECKING:
    from labgpu.storage import Store

log = logging.getLogger(__name__)

ProbeFn = Callable[[SshTarget], ProbeResult]

STOPPED = "the collector stopped before this probe ended"


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """What happened to one server in one sweep."""

    server: str
    state: ServerState
    reason: str = ""
    samples: int = 0


def classify_error(exc: BaseException) -> tuple[ServerState, str]:
    """Map a probe failure to the server state and the reason shown in its row."""
    if isinstance(exc, HostKeyChangedError):
        return ServerState.HOST_KEY_CHANGED, str(exc)
    if isinstance(exc, HostKeyUnknownError):
        return ServerState.HOST_KEY_UNKNOWN, str(exc)
    if isinstance(exc, AuthFailedError):
        return ServerState.AUTH_FAILED, str(exc)
    if isinstance(exc, ProbeError):
        return ServerState.PROBE_ERROR, str(exc)
    if isinstance(exc, RemoteError | LabgpuError):
        return ServerState.OFFLINE, str(exc)
    return ServerState.PROBE_ERROR, f"internal error while probing: {exc!r} (see the log)"


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

    # -- one server -------------------------------------------------------------------------

    def probe_server(self, server: Server) -> SweepOutcome:
        """Probe one server and store the result or its failure state. Never raises.

        Once the collector is stopped, what a probe still in flight sees is not stored: its
        failure is most likely the closing of the SSH connections, not the server's fault.
        """
        try:
            result = self._probe(server.target)
            if self._stop.is_set():
                return SweepOutcome(server.name, ServerState.UNKNOWN, STOPPED)
            samples = self._store.store_probe(server.name, result)
        except DatabaseError as exc:  # not the server's fault: keep its state, try again later
            log.warning("could not store the probe of %s: %s", server.name, exc)
            self._failures[server.name] = self._failures.get(server.name, 0) + 1
            return SweepOutcome(server.name, ServerState.UNKNOWN, str(exc))
        except Exception as exc:  # noqa: BLE001 — every failure becomes the server's state
            if self._stop.is_set():
                return SweepOutcome(server.name, ServerState.UNKNOWN, STOPPED)
            state, reason = classify_error(exc)
            if state is ServerState.PROBE_ERROR and not isinstance(exc, LabgpuError):
                log.exception("probe of %s failed unexpectedly", server.name)
            self._record_failure(server.name, state, reason)
            return SweepOutcome(server.name, state, reason)
        self._failures.pop(server.name, None)
        return SweepOutcome(server.name, ServerState.ONLINE, "", samples)

    def _record_failure(self, name: str, state: ServerState, reason: str) -> None:
        self._failures[name] = self._failures.get(name, 0) + 1
        try:
            self._store.set_server_state(name, state, reason, None)
        except LabgpuError as exc:
            log.warning("could not record state of %s: %s", name, exc)

    # -- sweeps -----------------------------------------------------------------------------

    def sweep_once(self, timeout_s: float | None = None) -> list[SweepOutcome]:
        """Probe every registered server in parallel and wait for all of them."""
        servers = self._store.list_servers()
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
        if self._server_list is None or now - self._listed_at >= self.interval_s:
            self._server_list = self._store.list_servers()
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
        while not self._stop.is_set():
            try:
                self.tick()
                self._keep_house()
            except LabgpuError as exc:  # e.g. the database is briefly unreachable
                log.warning("collector: %s", exc)
            self._stop.wait(min(1.0, self.interval_s / 2))

    def _keep_house(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._housekeeping is None or now < self._housekeeping_due:
            return
        self._housekeeping_due = now + self._housekeeping_interval_s
        try:
            self._housekeeping()
        except LabgpuError as exc:
            log.warning("collector housekeeping: %s", exc)
        except Exception:  # noqa: BLE001 — a bug there must not stop the sweeps
            log.exception("collector housekeeping failed")

    def request_stop(self) -> None:
        """Stop the loop and start no more probes; probes in flight will store nothing."""
        with self._lock:  # no probe starts after this (the loop checks under the lock)
            self._stop.set()
        # Not under the lock: cancelling a queued probe calls ``_finished``, which takes it.
        self._executor.shutdown(wait=False, cancel_futures=True)

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop, and wait up to ``wait_s`` for the loop and the probes in flight to end.

        The database may be closed once this returns: nothing of this collector still uses it
        (unless a probe outlived ``wait_s``, which is logged).
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
