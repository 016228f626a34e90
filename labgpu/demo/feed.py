"""The demo's live data: a background thread storing what the model says every few seconds.

A separate source from the SSH collector, used only by the demo lab (``DemoInventory``). On start
it fills what is missing from the last ``HISTORY_WINDOW`` (the gap since the demo was last
open, and the older part a new demo database leaves out), so graphs of the recent past have
no hole.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.demo.model import DemoLab, probe_at, servers_of

if TYPE_CHECKING:
    from labgpu.storage import Store

log = logging.getLogger(__name__)

#: Raw samples the demo keeps of the recent past, and their spacing. A new demo database holds
#: only ``BUILD_HISTORY`` (enough for the idle rule), so it opens quickly; the feed fills the
#: rest of the window in the background.
HISTORY_WINDOW = timedelta(days=1)
BUILD_HISTORY = timedelta(hours=1)
HISTORY_STEP = timedelta(seconds=60)
#: The longest stretch the feed fills for the usage rollup to resume (the demo's MAX_AGE).
MAX_GAP = timedelta(days=3)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def write_history(
    store: Store, lab: DemoLab, start: datetime, end: datetime, step: timedelta = HISTORY_STEP
) -> int:
    """Store what every server showed each ``step`` over ``[start, end)`` (one transaction per
    server); returns the samples stored."""
    start = start.replace(second=0, microsecond=0)
    stored = 0
    for server, positions in servers_of(lab).items():
        probes = []
        ts = start
        while ts < end:
            probes.append(probe_at(lab, server, positions, ts))
            ts += step
        stored += store.inventory.store_probes(server, probes)
    return stored


class SimulatedFeed:
    """Stores one simulated probe of every demo server each ``interval_s`` (until ``stop``)."""

    def __init__(
        self,
        store: Store,
        lab: DemoLab,
        interval_s: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_interval_s: float = 60.0,
    ) -> None:
        """``housekeeping``: what the collector does besides probing (the idle-booking rule),
        run at most every ``housekeeping_interval_s``."""
        self._store = store
        self._lab = lab
        self.interval_s = interval_s
        self._clock = clock
        self._servers = servers_of(lab)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writing = threading.Lock()  # the loop and a caller (``sweep``) may both write
        self._last_tick: datetime | None = None
        self._housekeeping = housekeeping
        self._housekeeping_interval_s = housekeeping_interval_s
        self.ticks = 0

    def backfill(self, now: datetime | None = None) -> int:
        """Store the samples missing from the last ``HISTORY_WINDOW`` (one a minute): before
        the oldest stored one (a fresh demo holds only its last hour) and since the newest.
        Returns the samples stored."""
        now = now or self._clock()
        with self._writing:
            return self._backfill(now)

    def _backfill(self, now: datetime) -> int:
        oldest, newest = self._store.inventory.sample_span()
        first = (now - HISTORY_WINDOW).replace(second=0, microsecond=0)
        # Usage is rolled up from where it stopped: fill from there, so graphs have no hole
        # (at most MAX_GAP back: a demo older than that is rebuilt anyway).
        minute_done, _hour_done = self._store.usage.watermarks()
        if minute_done is not None:
            resume = datetime.fromtimestamp(minute_done, UTC)
            first = max(min(first, resume), now - MAX_GAP)
        end = now.replace(second=0, microsecond=0)
        if oldest is None or newest is None:
            return self._fill(first, end)
        stored = self._fill(first, oldest) if first < oldest else 0
        after = max(newest.replace(second=0, microsecond=0) + HISTORY_STEP, first)
        return stored + self._fill(after, end)

    def _fill(self, start: datetime, end: datetime) -> int:
        return write_history(self._store, self._lab, start, end)

    def tick(self, now: datetime | None = None) -> int:
        """Store one probe of every server taken at ``now``; returns the samples stored."""
        ts = (now or self._clock()).replace(microsecond=0)
        with self._writing:
            if self._last_tick is not None and ts <= self._last_tick:
                return 0  # this second is stored already
            stored = 0
            for server, positions in self._servers.items():
                probe = probe_at(self._lab, server, positions, ts)
                stored += self._store.inventory.store_probe(server, probe)
            self._last_tick = ts
            self.ticks += 1
            return stored

    # -- loop -------------------------------------------------------------------------------

    def start(self) -> None:
        """Run on a background thread until ``stop``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)
        self._thread.start()

    def is_running(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.backfill()
        except LabgpuError as exc:
            log.warning("demo feed: could not fill the recent past: %s", exc)
        housekeeping_due = time.monotonic()
        while not self._stop.is_set():
            try:
                self.tick()
                if self._housekeeping is not None and time.monotonic() >= housekeeping_due:
                    housekeeping_due = time.monotonic() + self._housekeeping_interval_s
                    self._housekeeping()
            except LabgpuError as exc:  # e.g. the database is being reset
                log.warning("demo feed: %s", exc)
            self._stop.wait(self.interval_s)

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop the thread and wait for it (a tick in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_s)
            self._thread = None
