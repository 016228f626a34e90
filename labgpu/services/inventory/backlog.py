"""What the collector keeps in memory while the database is away (docs/architecture.md §2.3).

A ``PendingWrite`` is one probe, or one server's failure state, the database could not take;
the ``Backlog`` holds them oldest first, within a bound on the samples it keeps.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from labgpu.core.inventory.servers import ProbeResult, ServerState

#: Samples kept in memory while the database is unreachable, at most: an hour of 60 GPUs
#: sampled every 5 s (about 20 MB). Beyond it the oldest are dropped, and the log says so.
BACKLOG_SAMPLES = 3600 // 5 * 60


@dataclass(frozen=True, slots=True, eq=False)
class PendingWrite:
    """A write the database could not take yet: a probe (its samples and processes, the server
    online), or a server's failure state when ``probe`` is None."""

    server: str
    probe: ProbeResult | None = None
    state: ServerState = ServerState.ONLINE
    reason: str = ""

    @property
    def samples(self) -> int:
        """GPU readings in it."""
        return len(self.probe.gpus) if self.probe is not None else 0


class Backlog:
    """Writes waiting for the database, oldest first, holding at most ``limit`` samples: adding
    beyond that drops the oldest writes (never the one being written, see ``hold``).
    Thread-safe."""

    def __init__(self, limit: int = BACKLOG_SAMPLES) -> None:
        if limit < 1:
            raise ValueError(f"a backlog must hold at least one sample, not {limit}")
        self.limit = limit
        self._items: deque[PendingWrite] = deque()
        self._samples = 0
        self._held: PendingWrite | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def samples(self) -> int:
        """GPU readings waiting."""
        with self._lock:
            return self._samples

    def add(self, item: PendingWrite) -> list[PendingWrite]:
        """Append ``item``; returns the oldest writes dropped to stay within ``limit``."""
        dropped: list[PendingWrite] = []
        with self._lock:
            self._items.append(item)
            self._samples += item.samples
            while self._samples > self.limit:
                at = 1 if self._items[0] is self._held else 0
                if len(self._items) - at <= 1:  # the newest always stays
                    break
                oldest = self._items[at]
                del self._items[at]
                self._samples -= oldest.samples
                dropped.append(oldest)
        return dropped

    def peek(self) -> PendingWrite | None:
        """The oldest write, left in place."""
        with self._lock:
            return self._items[0] if self._items else None

    def hold(self) -> PendingWrite | None:
        """The oldest write, to be written now: it stays in place and is not dropped until
        ``done`` (written) or ``release`` (not written)."""
        with self._lock:
            self._held = self._items[0] if self._items else None
            return self._held

    def release(self) -> None:
        """The held write was not written: it may be dropped again."""
        with self._lock:
            self._held = None

    def done(self, item: PendingWrite) -> None:
        """Remove ``item``, the held oldest write, once it is written."""
        with self._lock:
            if self._held is item:
                self._held = None
            if self._items and self._items[0] is item:
                self._items.popleft()
                self._samples -= item.samples
