"""The bell under the pages (issue 17, point 4): the number of kept messages, and the list
that opens from it (Ctrl+Shift+N), where each message is dismissed, or all at once."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labgpu.gui.shell import resources
from labgpu.gui.shell.inbox import Inbox, InboxItem


class BellButton(QToolButton):
    """*Notifications (3)*: opens the list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bell")
        self.setIcon(resources.icon("bell"))
        self.setIconSize(QSize(20, 20))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed
        )  # the nav sets the width
        self.show_count(0)

    def show_count(self, count: int) -> None:
        """The label with ``count`` kept messages (bold while there are any)."""
        self.setText(
            self.tr("Notifications ({count})").format(count=count if count < 100 else "99+")
            if count
            else self.tr("Notifications")
        )
        self.setProperty("unread", count > 0)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setToolTip(self.tr("Reminders, decisions and finished jobs, kept until dismissed"))


class _Row(QWidget):
    """One message: title and time, its text, and a button that dismisses it."""

    def __init__(self, item: InboxItem, dismiss: SignalInstance) -> None:
        super().__init__()
        title = QLabel(f"<b>{_escape(item.title)}</b>")
        title.setWordWrap(True)
        when = QLabel(item.when.astimezone().strftime("%m-%d %H:%M"))
        when.setObjectName("hint")
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip(self.tr("Dismiss"))
        close.clicked.connect(lambda: dismiss.emit(item.key))
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(when)
        head.addWidget(close)
        body = QLabel(item.body)
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(2)
        layout.addLayout(head)
        if item.body:
            layout.addWidget(body)
        layout.addStretch(1)  # a taller row than needed keeps its text at the top


class InboxPanel(QFrame):
    """The kept messages, newest first; Delete dismisses the selected one."""

    dismiss_requested = Signal(str)
    settings_requested = Signal()

    def __init__(self, inbox: Inbox, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("inboxPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.inbox = inbox
        self.list = QListWidget()
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # fixed width
        self.empty = QLabel(
            self.tr(
                "No notifications. Reminders, decisions on your requests and finished jobs "
                "are kept here until you dismiss them."
            )
        )
        self.empty.setWordWrap(True)
        self.empty.setObjectName("hint")
        self.dismiss_all = QPushButton(self.tr("Dismiss all"))
        self.dismiss_all.clicked.connect(self._dismiss_all)
        self.open_settings = QPushButton(self.tr("Settings…"))
        self.open_settings.setToolTip(self.tr("Where the lab reaches you by mail or chat"))
        self.open_settings.clicked.connect(self._settings)
        heading = self.tr("Notifications")
        title = QLabel(f"<b>{heading}</b>")
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(self.open_settings)
        head.addWidget(self.dismiss_all)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        self.resize(440, 480)
        self.dismiss_requested.connect(self._dismiss)
        inbox.changed.connect(lambda _count: self.fill())
        self.fill()

    def fill(self) -> None:
        """Show the kept messages again."""
        self.list.clear()
        items = self.inbox.items()
        for item in items:
            row = _Row(item, self.dismiss_requested)
            entry = QListWidgetItem(self.list)
            entry.setData(Qt.ItemDataRole.UserRole, item.key)
            width = self.list.viewport().width() or self.width() - 30
            height = row.heightForWidth(width)
            entry.setSizeHint(QSize(width, max(height + 6, 36)))
            self.list.setItemWidget(entry, row)
        self.empty.setVisible(not items)
        self.list.setVisible(bool(items))
        self.dismiss_all.setEnabled(bool(items))
        if items:
            self.list.setCurrentRow(0)

    def show_at(self, anchor: QPoint) -> None:
        """Open with its bottom-left corner at ``anchor`` (kept on the screen)."""
        x, y = anchor.x(), anchor.y() - self.height()
        screen = self.screen().availableGeometry()
        x = max(screen.left(), min(x, screen.right() - self.width()))
        y = max(screen.top(), min(y, screen.bottom() - self.height()))
        self.move(x, y)
        self.show()
        self.fill()  # shown: the rows' heights follow the list's real width
        self.list.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 — Qt's name
        """Delete dismisses the selected message."""
        current = self.list.currentItem()
        if event.key() == Qt.Key.Key_Delete and current is not None:
            self._dismiss(str(current.data(Qt.ItemDataRole.UserRole)))
            return
        super().keyPressEvent(event)

    def _dismiss(self, key: str) -> None:
        row = self.list.currentRow()
        self.inbox.dismiss(key)
        if self.list.count():
            self.list.setCurrentRow(min(row, self.list.count() - 1))

    def _dismiss_all(self) -> None:
        self.inbox.dismiss_all()

    def _settings(self) -> None:
        self.hide()
        self.settings_requested.emit()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
