"""Showing that a read is in flight: one read at a time, and a bar that moves while it runs.

Pages that read again on every click or tick (the calendar, the Usage page) keep one read in
flight; a wish for another while it runs is remembered and read once when it ends, so clicking
through the ranges starts one more read, not one per click.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QProgressBar


class SingleRead:
    """One read in flight at a time; ``show`` (if given) is told when one starts and ends."""

    def __init__(self, show: Callable[[bool], None] | None = None) -> None:
        self._show = show
        self._running = False
        self._again = False  # asked for while the read was in flight

    def begin(self) -> bool:
        """True when a read may start now (it is then in flight); while one runs, False, and
        the wish is remembered for ``end``."""
        if self._running:
            self._again = True
            return False
        self._set(True)
        return True

    def end(self) -> bool:
        """The read came back; True when another was asked for meanwhile (read once more)."""
        self._set(False)
        again, self._again = self._again, False
        return again

    def running(self) -> bool:
        """True while a read is in flight."""
        return self._running

    def _set(self, running: bool) -> None:
        self._running = running
        if self._show is not None:
            self._show(running)


def busy_bar() -> QProgressBar:
    """A bar with no percentage that moves while work of unknown length runs."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    return bar
