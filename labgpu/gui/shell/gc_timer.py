"""Python's cyclic garbage collector, run on the GUI thread only.

Qt objects must be destroyed on the thread that owns them. Python collects reference cycles
whenever an allocation crosses a threshold — in whichever thread allocates, often a worker
reading the database — and pyqtgraph's items live in cycles. A collection in a worker that
frees a plot item crashes the process (seen as a segmentation fault in a worker's SQLAlchemy
call, and as a hang in a collection on the GUI thread). So the automatic collector is turned
off while the app runs and a timer on the GUI thread collects instead, generation by
generation, when the same thresholds are crossed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class MainThreadGc(QObject):
    """Owns the timer; ``stop`` (or the application quitting) turns automatic GC back on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counts are past their thresholds (as gc would)."""
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self.threshold[generation]:
                break
            gc.collect(generation)
            self.collections += 1

    def stop(self) -> None:
        """Stop the timer, collect once here, and let Python collect on its own again."""
        self.timer.stop()
        gc.collect()
        gc.enable()
