"""Opening the lab in the main window: what it says while the database opens or the demo lab is
generated, the question before the demo is generated again, and the demo lab in a second process.

The texts are the window's: they keep its translation context (``MainWindow``).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QProcess
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

# About how long the demo's first start takes until its Live view is populated, in seconds:
# ``bench/demo_startup.py``'s median on the 2-core development machine (README, *Measured*).
DEMO_BUILD_S = 6


def opening_text(will_prepare: bool, demo: bool, database: str) -> tuple[str, str]:
    """The headline and the detail shown until the lab is open: the demo generated (its first
    start, ``will_prepare``), the demo opened, or the database opened (``database``: the status
    bar's line that names it)."""
    detail = ""
    if will_prepare:
        title = QCoreApplication.translate("MainWindow", "Preparing the demo lab…")
        detail = QCoreApplication.translate(
            "MainWindow",
            "The demo lab is generated on first start: 13 servers, 15 members and 90 days "
            "of bookings and usage, kept for three days. This takes about {seconds} s.",
        ).format(seconds=DEMO_BUILD_S)
    elif demo:
        title = QCoreApplication.translate("MainWindow", "Opening the demo lab…")
    else:
        title = QCoreApplication.translate("MainWindow", "Opening the database…")
        detail = database
    return title, detail


def build_step_text(step: str, number: int, total: int) -> str:
    """A step of the demo's build in words, with its number: ``Step 2 of 5: bookings, …``."""
    names = {
        "members": QCoreApplication.translate("MainWindow", "members, servers and rules"),
        "bookings": QCoreApplication.translate(
            "MainWindow", "bookings, through the lab's booking rules"
        ),
        "offloaded": QCoreApplication.translate("MainWindow", "jobs sent to the simulated cluster"),
        "usage": QCoreApplication.translate("MainWindow", "90 days of usage history"),
        "samples": QCoreApplication.translate("MainWindow", "the last hour of GPU readings"),
    }
    return QCoreApplication.translate("MainWindow", "Step {number} of {total}: {step}").format(
        number=number, total=total, step=names.get(step, step)
    )


def open_demo(window: QMainWindow) -> bool:
    """Open the demo lab in a second labgpu process (``window`` stays on the real lab); says
    in its status bar when it did not start."""
    started = QProcess.startDetached(sys.executable, ["-m", "labgpu", "--demo"])
    ok = bool(started[0] if isinstance(started, tuple) else started)
    if not ok:
        window.statusBar().showMessage(
            QCoreApplication.translate(
                "MainWindow", "The demo lab did not start; run `labgpu --demo` in a terminal."
            ),
            30_000,
        )
    return ok


def ask_reset(parent: QWidget) -> bool:
    """Ask before the demo lab is generated again; True for yes."""
    answer = QMessageBox.question(
        parent,
        QCoreApplication.translate("MainWindow", "Reset the demo lab?"),
        QCoreApplication.translate(
            "MainWindow",
            "Every booking, rule and server change made in the demo is thrown away and the "
            "lab is generated again.",
        ),
    )
    return answer == QMessageBox.StandardButton.Yes
