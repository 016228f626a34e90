"""The Settings page: language (a restart is offered), refresh interval, reminder lead time, and
where the lab reaches this member by mail and chat (``notify_settings.NotifyBox``)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QProcess, QSettings, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.gui.shell import notifier
from labgpu.gui.shell import settings as prefs
from labgpu.gui.shell.notices import who_sends
from labgpu.gui.shell.notify_settings import NotifyBox
from labgpu.services import Labgpu


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
        self._lab: tuple[Labgpu, bool] | None = None
        self.notify_box = NotifyBox()
        self.notify_box.lead_minutes = self.reminder_lead.value()
        self.notify_box.lead_loaded.connect(self._lead_loaded)
        self._lay_out(db_url, user)
        self.language.currentIndexChanged.connect(self._language_changed)
        self.interval.valueChanged.connect(self._interval_changed)
        self.reminder_lead.valueChanged.connect(self._lead_changed)

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
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.addLayout(form)
        inner.addWidget(self.notify_box)
        inner.addStretch(1)
        scroll = QScrollArea()  # the page must not set the window's minimum size
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def open_lab(self, labgpu: Labgpu, demo: bool) -> None:
        """Read the member's mail and chat settings from ``labgpu`` (again each time the page
        is shown: the CLI or the file may have changed them)."""
        self._lab = (labgpu, demo)
        self.notify_box.open_lab(labgpu, lambda: who_sends(labgpu, demo), demo)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 — Qt's name
        """Shown: read the mail and chat settings afresh."""
        super().showEvent(event)
        if self._lab is not None:
            self.open_lab(*self._lab)

    def _lead_changed(self, minutes: int) -> None:
        notifier.set_reminder_lead_min(self._settings, minutes)
        self.notify_box.set_lead(minutes)

    def _lead_loaded(self, minutes: int) -> None:
        """The lab's lead for this member wins over this machine's (one lead for both)."""
        if notifier.MIN_LEAD_MIN <= minutes <= notifier.MAX_LEAD_MIN:
            self.reminder_lead.setValue(minutes)
        else:  # longer than the app's range (set with `labgpu notify set --lead`): kept there
            self.notify_box.lead_minutes = minutes

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
