"""Known errors become one line in the window; anything else is a bug: logged, then a dialog.

Callers of ``run_task`` hand any error to ``handle_error``; it returns the one-line message of a
known error (for the caller to show inline or in the status bar) or ``None`` after reporting a bug.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from labgpu.core.errors import LabgpuError
from labgpu.services.platform import log_file

log = logging.getLogger(__name__)


def known_message(error: LabgpuError) -> str:
    """The one-line message of a known error."""
    text = str(error.args[0]) if error.args else type(error).__name__
    return text.splitlines()[0] if text else type(error).__name__


def handle_error(parent: QWidget | None, error: BaseException) -> str | None:
    """One-line message for a known error; for a bug, log it, show the crash dialog, ``None``."""
    if isinstance(error, LabgpuError):
        return known_message(error)
    report_bug(parent, error)
    return None


#: The label property holding the message of the last failed load (see ``report_load``).
LOAD_ERROR = "labgpuLoadError"


def show_load_error(label: QLabel, show: Callable[[str], None], message: str) -> None:
    """Show ``message`` as the failure of a page's load; the next good load clears it."""
    show(message)
    label.setProperty(LOAD_ERROR, label.text())


def clear_load_error(label: QLabel, show: Callable[[str], None]) -> None:
    """A load succeeded: clear the message if it is still a load's failure (not an action's)."""
    failed = label.property(LOAD_ERROR)
    if failed and label.text() == failed:
        show("")
    label.setProperty(LOAD_ERROR, "")


def report_load(
    parent: QWidget, label: QLabel, show: Callable[[str], None], error: BaseException | None
) -> bool:
    """The one rule for every page's read: a failure shows inline until the next read succeeds.

    ``label`` is the page's message line and ``show`` the page's way of setting it. Returns True
    when the read succeeded (the page then shows its data).
    """
    if error is None:
        clear_load_error(label, show)
        return True
    show_load_error(label, show, handle_error(parent, error) or "")
    return False


#: Crash dialogs without a parent window, kept until closed (Python would delete them at once).
_open_boxes: set[QMessageBox] = set()


def report_bug(parent: QWidget | None, error: BaseException) -> None:
    """Log an unexpected exception with its traceback and tell the person, without blocking."""
    details = "".join(traceback.format_exception(error))
    log.error("unexpected error in labgpu:\n%s", details)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(QCoreApplication.translate("errors", "labgpu: unexpected error"))
    box.setText(
        QCoreApplication.translate(
            "errors",
            "Something went wrong inside labgpu: {error}. The details below are also in the log "
            "file {path}; please send them to whoever maintains labgpu in your lab.",
        ).format(error=f"{type(error).__name__}: {error}", path=log_file.log_path())
    )
    box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if parent is None:  # nothing owns it: keep it alive until it is closed
        _open_boxes.add(box)
        box.finished.connect(lambda _code: _open_boxes.discard(box))
    box.open()
