"""Starting the desktop app: ``run_gui``."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QCoreApplication, QThreadPool
from PySide6.QtWidgets import QApplication, QMessageBox

from labgpu.core.errors import LabgpuError, SchemaTooNewError
from labgpu.gui.members.connect_dialog import sign_in
from labgpu.gui.shell import resources
from labgpu.gui.shell import settings as prefs
from labgpu.gui.shell.errors import known_message, report_bug
from labgpu.gui.shell.gc_timer import MainThreadGc
from labgpu.gui.shell.main_window import MainWindow
from labgpu.gui.shell.session import ChangePasswordDialog
from labgpu.gui.shell.worker import run_task
from labgpu.launch import open_lab
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from labgpu.services.platform import paths

log = logging.getLogger(__name__)

COLLECTOR_INTERVAL_S = 5.0


def make_application() -> QApplication:
    """The QApplication (reused if one exists), named so Qt's own paths say ``labgpu``."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setOrganizationName("labgpu")
    app.setApplicationName("labgpu")
    app.setWindowIcon(resources.icon("labgpu"))
    app.setStyleSheet(resources.stylesheet("labgpu"))
    if app.findChild(MainThreadGc) is None:  # garbage is collected on this thread only
        gc_timer = MainThreadGc(app)
        app.aboutToQuit.connect(gc_timer.stop)
    return app


def run_gui(db_url: str | None, demo: bool = False, reset_demo: bool = False) -> int:
    """Open the desktop app on ``db_url`` (None: the configured database); returns the exit code.

    ``demo`` opens the demo lab instead (its own database; ``db_url`` is not used), rebuilt from
    scratch with ``reset_demo``.
    """
    app = make_application()
    settings = prefs.open_settings()
    translators = prefs.install_translators(app, prefs.language(settings))
    try:
        url = "" if demo else paths.resolve_database_url(db_url)
        labgpu: Labgpu | None = (
            open_lab(None, demo=True, rebuild_demo=reset_demo) if demo else _open_lab(url)
        )
    except LabgpuError as exc:
        _fatal(QCoreApplication.translate("app", "labgpu cannot start"), known_message(exc))
        return 1
    if labgpu is None:  # a lab database: sign in first (remembered password: no questions)
        signed_in = sign_in(url)
        if signed_in is None:
            return 1
        labgpu = signed_in.labgpu
        if signed_in.must_change_password:
            change = ChangePasswordDialog(
                labgpu, signed_in.connection if signed_in.remembered else None
            )
            if change.exec() != ChangePasswordDialog.DialogCode.Accepted:
                QThreadPool.globalInstance().waitForDone()
                _shut_down(labgpu)
                return 1
    window = MainWindow(labgpu, settings, demo=demo)
    window.show_opening()  # the demo's first start generates it: seconds
    window.show()
    run_task(labgpu.open, lambda _r, error: _opened(app, window, error))
    previous_hook = sys.excepthook
    sys.excepthook = lambda _type, value, _tb: report_bug(window, value)
    try:
        return app.exec()
    finally:
        sys.excepthook = previous_hook
        window.timer.stop()
        QThreadPool.globalInstance().waitForDone()  # no worker may outlive the services
        _shut_down(labgpu)
        for translator in translators:
            app.removeTranslator(translator)


def _open_lab(url: str) -> Labgpu | None:
    """The lab at ``url``, or ``None`` for a lab database (whose sign-in comes first)."""
    return None if credentials.is_lab_url(url) else open_lab(url)


def _opened(app: QApplication, window: MainWindow, error: BaseException | None) -> None:
    if error is None:
        window.statusBar().clearMessage()
        window.start()
        if window.labgpu.is_single_seat:
            run_task(
                lambda: window.labgpu.inventory.start_collector(COLLECTOR_INTERVAL_S),
                _collector_started,
            )
        return
    if isinstance(error, SchemaTooNewError):
        _fatal(QCoreApplication.translate("app", "Database too new"), known_message(error), window)
    elif isinstance(error, LabgpuError):
        _fatal(
            QCoreApplication.translate("app", "Cannot open the database"),
            known_message(error),
            window,
        )
    else:
        report_bug(window, error)
        _fatal(QCoreApplication.translate("app", "Cannot open the database"), str(error), window)
    app.exit(1)


def _collector_started(_result: None, error: BaseException | None) -> None:
    if error is not None:
        log.error("the background collector did not start", exc_info=error)


def _fatal(title: str, message: str, parent: MainWindow | None = None) -> None:
    QMessageBox.critical(parent, title, message)


def _shut_down(labgpu: Labgpu) -> None:
    try:
        labgpu.close()  # stops the collector, closes SSH connections and the database
    except LabgpuError as exc:
        log.warning("closing labgpu: %s", known_message(exc))
