"""One booking opened from the calendar: who, what, when, and what its holder may do with it."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView
from labgpu.gui.booking.calendar_data import compact_labels
from labgpu.gui.booking.calendar_paint import status_label
from labgpu.gui.booking.my_bookings import window_text

USE, RUN, EXTEND, END, CANCEL = "use", "run", "extend", "end", "cancel"
OPEN = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ACTIVE)
RUNNABLE = (BookingStatus.BOOKED, BookingStatus.ACTIVE)


def allowed_actions(group: BookingGroupView, user: str) -> list[str]:
    """What ``user`` may do with ``group`` from the calendar: only their own open bookings
    (the service decides in the end); use or extend an open one, run work on an approved one,
    end an active one, cancel one that has not started."""
    if group.user != user:
        return []
    actions = [USE] if group.status in OPEN else []
    if group.status in RUNNABLE:
        actions.append(RUN)
    if group.status in OPEN:
        actions.append(EXTEND)
    if group.status is BookingStatus.ACTIVE:
        actions.append(END)
    if group.status in (BookingStatus.PENDING, BookingStatus.BOOKED):
        actions.append(CANCEL)
    return actions


def action_label(action: str) -> str:
    """A button or menu text for an action."""
    labels = {
        USE: QCoreApplication.translate("calendar", "Use…"),
        RUN: QCoreApplication.translate("calendar", "Run on this booking…"),
        EXTEND: QCoreApplication.translate("calendar", "Extend…"),
        END: QCoreApplication.translate("calendar", "End now…"),
        CANCEL: QCoreApplication.translate("calendar", "Cancel booking…"),
    }
    return labels[action]


class BookingInfoDialog(QDialog):
    """A booking's details with a button per allowed action; ``chosen`` holds the one pressed."""

    def __init__(
        self, group: BookingGroupView, actions: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.group = group
        self.chosen = ""
        self.setWindowTitle(self.tr("Booking of {user}").format(user=group.user))
        form = QFormLayout(self)
        form.addRow(self.tr("Member:"), QLabel(group.user))
        form.addRow(self.tr("GPUs:"), QLabel(compact_labels(group.gpu_labels)))
        form.addRow(self.tr("When:"), QLabel(window_text(group.window)))
        form.addRow(self.tr("Status:"), QLabel(status_label(group.status)))
        if group.note:
            form.addRow(self.tr("Note:"), QLabel(group.note))
        if not actions and group.status in OPEN:
            hint = QLabel(
                self.tr("This is {user}'s booking; ask them to change it.").format(user=group.user)
            )
            hint.setObjectName("hint")
            form.addRow(hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.action_buttons: dict[str, QPushButton] = {}
        for action in actions:
            button = self.buttons.addButton(
                action_label(action), QDialogButtonBox.ButtonRole.ActionRole
            )
            button.clicked.connect(lambda _=False, a=action: self._choose(a))
            self.action_buttons[action] = button
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _choose(self, action: str) -> None:
        self.chosen = action
        self.accept()
