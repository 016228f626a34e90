"""The Settings page's *Mail and chat* box (issue 17): where the lab reaches this member when
the app is closed, about what, in which language, and a test message.

It edits the member's own row through ``lab.notify`` (the lab database keeps them to it). The
lead time is the page's *Booking reminders* value: one lead for the app's reminders and the
lab's messages. The hint under the box says who sends: the lab's collector service, this app
(single seat, with a ``notify.toml``), or nobody (the demo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import LabgpuError
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import NotifySettings
from labgpu.gui.shell.worker import run_task
from labgpu.services import Labgpu


def kind_label(kind: str) -> str:
    """What an event kind means to the member reading the box."""
    labels = {
        ev.REQUEST_PENDING: QCoreApplication.translate(
            "NotifyBox", "A request waits for my decision (PIs, managers)"
        ),
        ev.REQUEST_APPROVED: QCoreApplication.translate("NotifyBox", "My request was approved"),
        ev.REQUEST_REJECTED: QCoreApplication.translate("NotifyBox", "My request was rejected"),
        ev.BOOKING_IDLE: QCoreApplication.translate(
            "NotifyBox", "My booking sits idle and will be released"
        ),
        ev.BOOKING_RELEASED: QCoreApplication.translate(
            "NotifyBox", "My idle booking was released"
        ),
        ev.BOOKING_STARTS: QCoreApplication.translate("NotifyBox", "My booking starts soon"),
        ev.BOOKING_ENDS: QCoreApplication.translate("NotifyBox", "My booking ends soon"),
        ev.GPU_INTRUDER: QCoreApplication.translate("NotifyBox", "Someone uses a GPU I hold"),
        ev.JOB_ENDED: QCoreApplication.translate("NotifyBox", "A job of mine ended"),
        ev.JOB_FAILED: QCoreApplication.translate("NotifyBox", "A job of mine failed"),
        ev.SERVER_OFFLINE: QCoreApplication.translate(
            "NotifyBox", "A server is offline (managers)"
        ),
        ev.NOTIFY_FAILING: QCoreApplication.translate(
            "NotifyBox", "Mail or chat sending fails (managers)"
        ),
    }
    return labels.get(kind, kind)


#: The kinds in the box: the member's own first, then the deciders' and managers'.
_ORDER = [
    ev.REQUEST_APPROVED,
    ev.REQUEST_REJECTED,
    ev.BOOKING_STARTS,
    ev.BOOKING_ENDS,
    ev.BOOKING_IDLE,
    ev.BOOKING_RELEASED,
    ev.GPU_INTRUDER,
    ev.JOB_ENDED,
    ev.JOB_FAILED,
    ev.REQUEST_PENDING,
    ev.SERVER_OFFLINE,
    ev.NOTIFY_FAILING,
]


def _place(kind: str) -> int:
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


class NotifyBox(QGroupBox):
    """The member's mail and chat settings: read when shown, written with *Save*."""

    #: The lead (minutes) the lab has for this member, once read.
    lead_loaded = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Mail and chat"))
        self._demo = False
        self.setMaximumWidth(820)
        self._labgpu: Labgpu | None = None
        self._loaded: NotifySettings | None = None
        self._reading = False
        self.lead_minutes = 10
        self.email = QLineEdit()
        self.email.setPlaceholderText(self.tr("name@example.org"))
        self.webhook = QLineEdit()
        self.webhook.setPlaceholderText("https://hooks.slack.com/services/…")
        self.webhook.setToolTip(
            self.tr("A Slack, Mattermost or Rocket.Chat incoming webhook of your own channel")
        )
        self.language = QComboBox()
        self.language.addItem(self.tr("English"), "")
        self.language.addItem("한국어", "ko")
        self.kinds: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for index, kind in enumerate(sorted(ev.MUTABLE, key=_place)):
            box = QCheckBox(kind_label(kind))
            box.setChecked(True)
            box.setToolTip(kind)
            self.kinds[kind] = box
            grid.addWidget(box, index // 2, index % 2)
        self.save_button = QPushButton(self.tr("Save"))
        self.save_button.clicked.connect(self.save)
        self.test_button = QPushButton(self.tr("Send a test message"))
        self.test_button.clicked.connect(self.send_test)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.who_sends = QLabel()
        self.who_sends.setObjectName("hint")
        self.who_sends.setWordWrap(True)
        self.who_sends.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow(self.tr("E-mail:"), self.email)
        form.addRow(self.tr("Chat webhook:"), self.webhook)
        form.addRow(self.tr("Language of the messages:"), self.language)
        form.addRow(self.tr("Tell me when:"), QWidget())
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        layout.addWidget(self.who_sends)
        self._set_enabled(False)

    def open_lab(self, labgpu: Labgpu, who_sends: Callable[[], str], demo: bool = False) -> None:
        """Read this member's settings from ``labgpu``, and ``who_sends()``, the hint's text
        (both on a worker)."""
        if self._reading:
            return
        self._labgpu, self._demo, self._reading = labgpu, demo, True
        self.status.setText(self.tr("Reading…"))
        run_task(lambda: (labgpu.notify.settings(), who_sends()), self._read, context=self)

    def _read(self, found: tuple[NotifySettings, str] | None, error: BaseException | None) -> None:
        self._reading = False
        if error is not None or found is None:
            self.status.setText(_error_text(error))
            return
        settings, hint = found
        self.who_sends.setText(hint)
        self._show(settings)
        self.status.setText("")
        self._set_enabled(True)
        if settings != NotifySettings(settings.user):  # saved once: the lab's lead is theirs
            self.lead_loaded.emit(settings.lead_minutes)

    def _show(self, settings: NotifySettings) -> None:
        self._loaded = settings
        self.lead_minutes = settings.lead_minutes
        self.email.setText(settings.email)
        self.webhook.setText(settings.webhook_url)
        self.language.setCurrentIndex(max(self.language.findData(settings.language), 0))
        for kind, box in self.kinds.items():
            box.setChecked(kind not in settings.muted)

    def edited(self) -> NotifySettings | None:
        """The settings as the box shows them (None before they were read)."""
        if self._loaded is None:
            return None
        muted = tuple(k for k, box in self.kinds.items() if not box.isChecked())
        return replace(
            self._loaded,
            email=self.email.text().strip(),
            webhook_url=self.webhook.text().strip(),
            muted=muted,
            lead_minutes=self.lead_minutes,
            language=str(self.language.currentData()),
        )

    def set_lead(self, minutes: int) -> None:
        """The page's reminder lead changed: the lab's messages follow it (saved at once)."""
        self.lead_minutes = minutes
        if self._loaded is not None and self._loaded.lead_minutes != minutes:
            self._write(replace(self._loaded, lead_minutes=minutes), quiet=True)

    def save(self) -> None:
        """Write the box's settings."""
        settings = self.edited()
        if settings is not None:
            self._write(settings, quiet=False)

    def _write(self, settings: NotifySettings, quiet: bool) -> None:
        labgpu = self._labgpu
        if labgpu is None:
            return
        self._set_enabled(False)
        self.status.setText(self.tr("Saving…"))

        def done(saved: NotifySettings | None, error: BaseException | None) -> None:
            self._set_enabled(True)
            if error is not None or saved is None:
                self.status.setText(_error_text(error))
                return
            if quiet:  # only the lead: keep what is being typed in the box
                self._loaded = saved
            else:
                self._show(saved)
            self.status.setText(self.tr("Saved."))

        run_task(lambda: labgpu.notify.save(settings), done, context=self)

    def send_test(self) -> None:
        """Queue a test message to the saved addresses."""
        labgpu = self._labgpu
        if labgpu is None:
            return
        self.test_button.setEnabled(False)

        def done(queued: bool | None, error: BaseException | None) -> None:
            self.test_button.setEnabled(True)
            if error is not None:
                self.status.setText(_error_text(error))
            elif not (self._loaded and self._loaded.addresses()):
                self.status.setText(self.tr("Save an e-mail address or a webhook first."))
            elif self._demo:
                self.status.setText(self.tr("The demo lab sends nothing, not even a test."))
            elif queued:
                self.status.setText(self.tr("A test message is queued to your saved addresses."))
            else:
                self.status.setText(self.tr("A test message was already queued this minute."))

        run_task(labgpu.notify.test, done, context=self)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.email, self.webhook, self.language, self.save_button):
            widget.setEnabled(enabled)
        self.test_button.setEnabled(enabled)
        for box in self.kinds.values():
            box.setEnabled(enabled)


def _error_text(error: BaseException | None) -> str:
    if isinstance(error, LabgpuError):
        return str(error)
    return QCoreApplication.translate("NotifyBox", "Could not read or save: {error}").format(
        error=error
    )
