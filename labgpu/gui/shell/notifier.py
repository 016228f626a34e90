"""Reminders before my bookings start and end: in the system tray, else in the status bar.

Every minute a worker asks ``upcoming_reminders(now, lead)``; each reminder is shown once. The
lead time (minutes) is a setting; where the desktop has no system tray (offscreen tests, some
Linux desktops) the reminder goes to ``message`` only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from labgpu.core.booking.rules import Reminder, ReminderKind
from labgpu.core.notify import events as ev
from labgpu.gui.shell import resources
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.inbox import Inbox, InboxItem, reminder_key
from labgpu.gui.shell.worker import run_task
from labgpu.services import Labgpu

DEFAULT_LEAD_MIN = ev.DEFAULT_LEAD_MINUTES  # one default with the lab's messages
MIN_LEAD_MIN = 1
MAX_LEAD_MIN = 240
CHECK_MS = 60_000


def reminder_lead_min(settings: QSettings) -> int:
    """Minutes before a booking starts or ends that its reminder shows."""
    try:
        value = int(str(settings.value("reminder_lead_min", DEFAULT_LEAD_MIN)))
    except ValueError:
        return DEFAULT_LEAD_MIN
    return min(max(value, MIN_LEAD_MIN), MAX_LEAD_MIN)


def set_reminder_lead_min(settings: QSettings, minutes: int) -> None:
    """Store the reminder lead time."""
    settings.setValue("reminder_lead_min", min(max(minutes, MIN_LEAD_MIN), MAX_LEAD_MIN))


class Notifier(QObject):
    """Polls for reminders and shows each once."""

    #: The text of each reminder (the window shows it in its status bar too).
    message = Signal(str)

    def __init__(self, labgpu: Labgpu, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.settings = settings
        self.shown: set[tuple[str, str, datetime]] = set()
        self.tray: QSystemTrayIcon | None = None
        #: Where reminders are kept until dismissed (the window's list announces them).
        self.inbox: Inbox | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(resources.icon("labgpu"), self)
            self.tray.setToolTip("labgpu")
            self.tray.show()
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.check)
        self._checking = False

    def start(self) -> None:
        """Check now and every minute."""
        self.check()
        self.timer.start()

    def stop(self) -> None:
        """Stop checking and hide the tray icon."""
        self.timer.stop()
        if self.tray is not None:
            self.tray.hide()

    def check(self, now: datetime | None = None) -> None:
        """Ask for reminders on a worker."""
        if self._checking:
            return
        self._checking = True
        moment = now or datetime.now(UTC)
        lead = timedelta(minutes=reminder_lead_min(self.settings))
        run_task(
            lambda: self.labgpu.bookings.upcoming_reminders(moment, lead),
            self._received,
            context=self,
        )

    def is_checking(self) -> bool:
        """True while a check runs."""
        return self._checking

    def _received(self, reminders: list[Reminder] | None, error: BaseException | None) -> None:
        self._checking = False
        if error is not None:
            handle_error(None, error)  # a known error (database away) waits for the next minute
            return
        for reminder in reminders or []:
            key = (reminder.group_id, str(reminder.kind), reminder.at)
            if key not in self.shown:
                self.shown.add(key)
                self.notify(reminder)

    def notify(self, reminder: Reminder) -> None:
        """Keep one reminder in the inbox, which announces it; without one, show it in the tray
        (if any) and through ``message``."""
        title, body = self.describe(reminder)
        if self.inbox is not None:
            now = datetime.now(UTC).replace(microsecond=0).isoformat()
            kind = str(reminder.kind)
            self.inbox.add(InboxItem(reminder_key(reminder), now, title, body, kind))
            return
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 15_000)
        self.message.emit(f"{title}: {body}")

    def describe(self, reminder: Reminder) -> tuple[str, str]:
        """The title and text of a reminder."""
        at = reminder.at.astimezone().strftime("%H:%M")
        gpus = ", ".join(reminder.gpu_labels)
        if reminder.kind is ReminderKind.STARTS:
            title = self.tr("Booking starts at {time}").format(time=at)
        elif reminder.kind is ReminderKind.ENDS:
            title = self.tr("Booking ends at {time}").format(time=at)
        elif reminder.kind is ReminderKind.INTRUDER:
            title = self.tr("{who} uses a GPU you hold").format(who=reminder.note)
            return title, gpus
        else:
            title = self.tr("Idle booking released at {time}").format(time=at)
        body = f"{gpus}  {reminder.note}".strip()
        return title, body
