"""Everything the window tells a member, in one place (issue 17, point 4): the reminders
(``Notifier``), the lab's messages and the app's own (a job that ended) go into the kept list
(``Inbox``); each new one shows as a tray balloon where there is a tray, and in the status bar;
the bell shows how many are kept and opens the list.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QPoint, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from labgpu.gui.shell.bell import BellButton, InboxPanel
from labgpu.gui.shell.inbox import Inbox, InboxItem, scope_of
from labgpu.gui.shell.notifier import Notifier
from labgpu.services import Labgpu

SHORTCUT = "Ctrl+Shift+N"
#: The kind of a message the app tells of its own (a job's end seen by its poll).
APP = "app"


def who_sends(labgpu: Labgpu, demo: bool) -> str:
    """Who sends this member's mail and chat messages, for the settings' hint: the lab's
    collector, this app (a single seat whose ``notify.toml`` is usable), or nobody yet (and
    why). Reads the file: call it on a worker."""
    from labgpu.core.errors import ConfigError
    from labgpu.services.notify import config as notify_config

    if demo:
        return QCoreApplication.translate(
            "Notices",
            "The demo lab sends nothing. In a lab database the lab's collector service sends "
            "these messages, also while this app is closed.",
        )
    if not labgpu.is_single_seat:
        return QCoreApplication.translate(
            "Notices",
            "The lab's collector service sends these messages, also while this app is closed.",
        )
    path = notify_config.config_path()
    try:
        usable = notify_config.load(path) is not None
    except ConfigError as exc:
        return QCoreApplication.translate("Notices", "Nothing is sent: {problem}").format(
            problem=exc
        )
    if usable:
        return QCoreApplication.translate(
            "Notices",
            "This app sends these messages while it runs, through the mail server set in {path}.",
        ).format(path=path)
    return QCoreApplication.translate(
        "Notices",
        "Nothing is sent yet: this app sends mail and chat messages while it runs once the "
        "mail server is set in {path} (README, Notifications).",
    ).format(path=path)


class Notices(QObject):
    """The window's reminders, kept messages, bell and tray balloons."""

    #: One line for the status bar.
    message = Signal(str)
    #: The list's *Settings…* button.
    settings_requested = Signal()

    def __init__(self, labgpu: Labgpu, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.inbox = Inbox(settings, scope_of(labgpu), self)
        self.notifier = Notifier(labgpu, settings, self)
        self.notifier.inbox = self.inbox
        self.bell = BellButton()
        self.bell.show_count(self.inbox.count())
        self._panel: InboxPanel | None = None  # made when first opened, off the start-up
        self.bell.clicked.connect(self.open_list)
        self.inbox.changed.connect(self.bell.show_count)
        self.inbox.arrived.connect(self.announce)
        self.action = QAction(QCoreApplication.translate("Notices", "Notifications"), window)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.triggered.connect(self.open_list)
        window.addAction(self.action)
        shown = QKeySequence(SHORTCUT).toString(QKeySequence.SequenceFormat.NativeText)
        self.bell.setToolTip(f"{self.bell.toolTip()} ({shown})")

    def start(self, labgpu: Labgpu) -> None:
        """Remind and read the lab's messages for ``labgpu``'s member, now and every minute."""
        self.notifier.labgpu = labgpu
        self.notifier.start()
        self.inbox.start(labgpu)

    def stop(self) -> None:
        """Stop reminding and reading; hide the tray icon."""
        self.notifier.stop()
        self.inbox.stop()
        if self._panel is not None:
            self._panel.hide()

    def tell(self, title: str, body: str, key: str = "") -> None:
        """Keep (and announce) a message of the app's own, such as a job that ended; ``key``
        says what it is about (the lab's message about the same is then not kept again)."""
        self.inbox.tell(title, body, key=key, kind=APP)

    def announce(self, item: InboxItem) -> None:
        """A new message: a tray balloon where there is a tray, and the status bar."""
        tray = self.notifier.tray
        if tray is not None:
            tray.showMessage(item.title, item.body, QSystemTrayIcon.MessageIcon.Information, 15_000)
        if item.kind == APP:  # the app's own lines say it all
            self.message.emit(item.body or item.title)
        else:
            self.message.emit(f"{item.title}: {item.body}" if item.body else item.title)

    @property
    def panel(self) -> InboxPanel:
        """The list of kept messages (made on first use)."""
        if self._panel is None:
            self._panel = InboxPanel(self.inbox, self.window)
            self._panel.settings_requested.connect(self.settings_requested)
        return self._panel

    def open_list(self) -> None:
        """Open the kept messages above the bell."""
        corner = self.bell.mapToGlobal(QPoint(0, 0))
        self.panel.show_at(corner)
