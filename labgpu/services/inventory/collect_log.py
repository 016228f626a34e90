"""What the collector tells the log: the service's own lines and a line per sweep.

``labgpu collect`` shows ``service_log`` at its default verbosity and ``sweep_log`` with ``-v``
(docs/architecture.md §2.3). The collector keeps its counts in a ``Tally`` and an ``Outage``;
the lines themselves are written here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

#: The service's own lines (started, database gone and back, samples dropped, stopped):
#: ``labgpu collect`` shows them at its default verbosity.
service_log = logging.getLogger("labgpu.collect")
#: One line per sweep (servers ok and failed, GPUs sampled, samples kept): ``collect -v``.
sweep_log = logging.getLogger("labgpu.collect.sweeps")


@dataclass(slots=True)
class Outage:
    """The database is unreachable since ``since`` (monotonic); what was done meanwhile."""

    since: float
    error: str
    stored: int = 0
    dropped: int = 0


@dataclass(slots=True)
class Tally:
    """Outcomes since the last sweep line, and since the start."""

    ok: int = 0
    failed: list[str] = field(default_factory=list)
    sampled: int = 0
    total_sampled: int = 0
    total_stored: int = 0
    total_dropped: int = 0

    def take_sweep(self) -> tuple[int, list[str], int]:
        """Servers ok, servers failed and GPUs sampled since the last call, counted afresh
        from now (the caller holds the collector's tally lock)."""
        taken = self.ok, list(self.failed), self.sampled
        self.ok, self.failed, self.sampled = 0, [], 0
        return taken


def log_started(database: str, servers: int, interval_s: float) -> None:
    """The loop started: where it stores, how many servers it sweeps, how often."""
    service_log.info(
        "collector started: database %s, %d server(s), every %g s",
        database,
        servers,
        interval_s,
    )


def log_database_lost(error: str, limit: int) -> None:
    """The database just went away: the collector sweeps on and keeps up to ``limit`` samples."""
    service_log.warning(
        "%s. Sweeping on; up to %d samples are kept in memory until it is back",
        error.rstrip("."),
        limit,
    )


def log_backlog_full(limit: int) -> None:
    """The backlog dropped its first samples in this outage (their count comes with the end)."""
    service_log.warning(
        "more than %d samples are waiting for the database: dropping the oldest "
        "(the count is logged when the database is back)",
        limit,
    )


def log_database_back(outage: Outage) -> None:
    """The database is back and what was kept is stored: how long it was away, what it cost."""
    dropped = f"; dropped the oldest {outage.dropped}" if outage.dropped else ""
    service_log.log(
        logging.WARNING if outage.dropped else logging.INFO,
        "the database is reachable again after %.0f s: stored %d samples kept in memory%s",
        time.monotonic() - outage.since,
        outage.stored,
        dropped,
    )


def log_sweep(ok: int, failed: list[str], sampled: int, kept: int) -> None:
    """One line for the sweeps since the last one (``collect -v``)."""
    failed_text = f" ({', '.join(sorted(set(failed)))})" if failed else ""
    sweep_log.info(
        "sweep: %d server(s) ok, %d failed%s; %d GPU(s) sampled; %d sample(s) kept in memory",
        ok,
        len(failed),
        failed_text,
        sampled,
        kept,
    )


def log_stopped(totals: tuple[int, int, int], lost: int, error: str) -> None:
    """The collector's last lines: its totals, and the samples it could not store (``error``:
    why)."""
    taken, stored, dropped = totals
    service_log.info(
        "collector stopped: %d sample(s) taken, %d stored, %d dropped, %d not stored",
        taken,
        stored,
        dropped,
        lost,
    )
    if lost:
        service_log.warning("%d sample(s) kept in memory were not stored: %s", lost, error)
