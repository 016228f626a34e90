"""A page listing booking groups whose actions (approve, cancel, extend…) run on a worker."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from labgpu.gui.shell.errors import handle_error, report_load
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage


class ActionPage(QWidget):
    """Runs one action at a time, reports it under the list, then reloads.

    Subclasses create ``self.message`` (an InlineMessage) and implement ``reload`` and
    ``_update_buttons``.
    """

    changed = Signal()
    message: InlineMessage

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False

    def reload(self) -> None:
        """Read the list again (on a worker)."""
        raise NotImplementedError

    def _update_buttons(self) -> None:
        raise NotImplementedError

    def show_message(self, message: str, error: bool = False) -> None:
        """A one-line message under the list."""
        self.message.show_message(message, error)

    def show_error(self, message: str) -> None:
        """A one-line problem under the list (red)."""
        self.show_message(message, error=True)

    def loaded(self, error: BaseException | None) -> bool:
        """Apply the rule for a read (see ``report_load``): True when it succeeded."""
        return report_load(self, self.message, self.show_error, error)

    def is_busy(self) -> bool:
        """True while an action runs."""
        return self._busy

    def _run(self, fn: Callable[[], object], done: str) -> None:
        self._busy = True
        self._update_buttons()
        run_task(fn, lambda _r, error: self._done(done, error), context=self)

    def _done(self, done: str, error: BaseException | None) -> None:
        self._busy = False
        self._update_buttons()
        if error is None:
            self.show_message(done)
            self.changed.emit()
        else:
            self.show_message(handle_error(self, error) or "", error=True)
        self.reload()
