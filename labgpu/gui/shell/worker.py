"""Blocking work off the GUI thread: ``run_task(fn, on_done)``.

One rule, stated once: a worker never touches a widget. ``fn`` runs on
``QThreadPool.globalInstance()``; its result or exception comes back to ``on_done(result, error)``
on the GUI thread through a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from labgpu.gui.shell import errors

T = TypeVar("T")
#: Told the result (None when ``fn`` failed) and the exception (None when it did not).
OnDone = Callable[[Any, BaseException | None], None]

# Signal bridges of tasks still running: without a Python reference the bridge could be
# garbage-collected before its queued signal is delivered.
_in_flight: set[_Bridge] = set()


class _Bridge(QObject):
    """Lives on the GUI thread; the worker emits ``finished`` and the slot runs here."""

    finished = Signal(object, object)

    def __init__(self, on_done: OnDone, context: QObject | None) -> None:
        super().__init__()
        self._on_done = on_done
        self._context = context
        self.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object)
    def _deliver(self, result: object, error: BaseException | None) -> None:
        _in_flight.discard(self)
        if self._context is not None and not shiboken6.isValid(self._context):
            return  # the widget that asked is gone; nobody to tell
        try:
            self._on_done(result, error)
        except Exception as exc:  # noqa: BLE001 - a bug in a callback: log it, tell the person
            errors.report_bug(None, exc)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], bridge: _Bridge) -> None:
        super().__init__()
        self._fn = fn
        self._bridge = bridge

    def run(self) -> None:
        try:
            result, error = self._fn(), None
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            result, error = None, exc
        self._bridge.finished.emit(result, error)


def run_task(
    fn: Callable[[], T],
    on_done: Callable[[T | None, BaseException | None], None],
    context: QObject | None = None,
) -> None:
    """Run ``fn()`` on the global thread pool, then ``on_done(result, error)`` on the GUI thread.

    ``result`` is what ``fn`` returned (typed as ``fn``'s result: a callback needs no
    ``isinstance`` to use it), or ``None`` when it raised; ``error`` is the exception, or
    ``None``. If ``context`` is given and has been deleted by the time ``fn`` finishes,
    ``on_done`` is not called.
    """
    bridge = _Bridge(on_done, context)
    _in_flight.add(bridge)
    QThreadPool.globalInstance().start(_Task(fn, bridge))


def tasks_in_flight() -> int:
    """How many tasks have not yet reported back (tests wait for zero)."""
    return len(_in_flight)
