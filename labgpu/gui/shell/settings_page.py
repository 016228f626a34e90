"""The Settings page: language (a restart is offered), refresh interval, reminder lead time."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QProcess, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.gui.shell import notifier
from labgpu.gui.shell import settings as prefs


class SettingsPage(QWidget):
    """Edits the app's settings; every change is stored at once."""

    refresh_interval_changed = Signal(int)

    def __init__(
        self, settings: QSettings, db_url: str, user: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self.language = QComboBox()
        self.language.addItem(self.tr("System language"), "system")
        self.language.addItem("English", "en")
        self.language.addItem("한국어", "ko")
        self.language.setCurrentIndex(max(self.language.findData(prefs.language(settings)), 0))
        self.restart_note = QLabel(self.tr("A new language is used the next time labgpu starts."))
        self.restart_note.setObjectName("hint")
        self.interval = QSpinBox()
        self.interval.setRange(prefs.MIN_REFRESH_S, prefs.MAX_REFRESH_S)
        self.interval.setSuffix(self.tr(" s"))
        self.interval.setValue(prefs.refresh_interval_s(settings))
        self.reminder_lead = QSpinBox()
        self.reminder_lead.setRange(notifier.MIN_LEAD_MIN, notifier.MAX_LEAD_MIN)
        self.reminder_lead.setSuffix(self.tr(" min before"))
        self.reminder_lead.setToolTip(
            self.tr("A reminder before each of your bookings starts and ends")
        )
        self.reminder_lead.setValue(notifier.reminder_lead_min(settings))
        self._lay_out(db_url, user)
        self.language.currentIndexChanged.connect(self._language_changed)
        self.interval.valueChanged.connect(self._interval_changed)
        self.reminder_lead.valueChanged.connect(
            lambda minutes: notifier.set_reminder_lead_min(self._settings, minutes)
        )

    def _lay_out(self, db_url: str, user: str) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(self.tr("Language:"), self.language)
        form.addRow("", self.restart_note)
        form.addRow(self.tr("Refresh the Live view every:"), self.interval)
        form.addRow(self.tr("Booking reminders:"), self.reminder_lead)
        self.db_label = QLabel(db_url)
        self.db_label.setMinimumWidth(120)  # a long path must not set the window's minimum width
        self.db_label.setToolTip(db_url)
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Database:"), self.db_label)
        form.addRow(self.tr("Signed in as:"), QLabel(user))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)

    def set_database(self, db_url: str) -> None:
        """Show another database URL (the demo lab's file changes when it is generated)."""
        self.db_label.setText(db_url)
        self.db_label.setToolTip(db_url)

    def _language_changed(self) -> None:
        prefs.set_language(self._settings, str(self.language.currentData()))
        self.offer_restart()

    def offer_restart(self) -> None:
        """Ask (without blocking) whether to restart now in the chosen language."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Language"))
        box.setText(
            self.tr("Restart labgpu now in {language}?").format(
                language=self.language.currentText()
            )
        )
        box.addButton(self.tr("Restart"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Later"), QMessageBox.ButtonRole.RejectRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._restart_answered(box))
        self.restart_question = box
        box.open()

    def _restart_answered(self, box: QMessageBox) -> None:
        clicked = box.clickedButton()
        if clicked is not None and box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole:
            relaunch()

    def _interval_changed(self, seconds: int) -> None:
        prefs.set_refresh_interval_s(self._settings, seconds)
        self.refresh_interval_changed.emit(seconds)


def relaunch() -> None:
    """Quit cleanly (the app closes its lab as usual), then start labgpu again with the same
    command line, so the new language applies everywhere."""
    app = QCoreApplication.instance()
    if app is None:
        return
    arguments = sys.orig_argv[1:]
    app.aboutToQuit.connect(lambda: QProcess.startDetached(sys.executable, arguments))
    app.quit()
