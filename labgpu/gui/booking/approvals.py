"""Approvals: pending requests (scarce models) for a PI or manager to approve or reject."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingGroupView
from labgpu.gui.booking.calendar_data import compact_labels
from labgpu.gui.booking.my_bookings import window_text
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.action_page import ActionPage
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu


class ApprovalsPage(ActionPage):
    """Pending requests with Approve and Reject (a reason is required)."""

    #: How many requests wait (the window shows it on the navigation).
    pending_count = Signal(int)

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.groups: list[BookingGroupView] = []
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(
            [self.tr("Member"), self.tr("When"), self.tr("GPUs"), self.tr("Note")]
        )
        self.tree.header().resizeSection(0, 110)
        self.tree.header().resizeSection(1, 260)
        self.tree.header().resizeSection(2, 220)
        self.approve_button = QPushButton(self.tr("Approve"))
        self.reject_button = QPushButton(self.tr("Reject…"))
        self.message = InlineMessage()
        #: Asks for a rejection reason; tests replace it. group -> reason or None
        self.ask_reason: Callable[[BookingGroupView], str | None] = self._ask_reason
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(self.tr("Requests waiting for approval"))
        title.setObjectName("hint")
        layout.addWidget(title)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.approve_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.reject_selected)
        self._update_buttons()

    def reload(self) -> None:
        """Read pending requests on a worker."""
        run_task(lambda: self.labgpu.bookings.pending_approvals(), self._loaded, context=self)

    def _loaded(self, groups: list[BookingGroupView] | None, error: BaseException | None) -> None:
        if not self.loaded(error) or groups is None:
            return
        self.set_groups(groups)

    def set_groups(self, groups: list[BookingGroupView]) -> None:
        """Show the pending groups."""
        self.groups = groups
        self.tree.clear()
        for group in groups:
            item = QTreeWidgetItem(
                [
                    group.user,
                    window_text(group.window),
                    compact_labels(group.gpu_labels),
                    group.note,
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, group.group_id)
            self.tree.addTopLevelItem(item)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)
        self._update_buttons()
        self.pending_count.emit(len(groups))

    def selected(self) -> BookingGroupView | None:
        """The selected request."""
        item = self.tree.currentItem()
        if item is None:
            return None
        gid = item.data(0, Qt.ItemDataRole.UserRole)
        return next((g for g in self.groups if g.group_id == gid), None)

    def _update_buttons(self) -> None:
        enabled = self.selected() is not None and not self._busy
        self.approve_button.setEnabled(enabled)
        self.reject_button.setEnabled(enabled)

    def approve_selected(self) -> None:
        """Approve the selected request."""
        group = self.selected()
        if group is not None:
            done = self.tr("Approved {user}'s request.").format(user=group.user)
            self._run(lambda: self.labgpu.bookings.approve(group.group_id), done)

    def reject_selected(self) -> None:
        """Ask for a reason, then reject the selected request."""
        group = self.selected()
        if group is None:
            return
        reason = self.ask_reason(group)
        if reason:
            done = self.tr("Rejected {user}'s request.").format(user=group.user)
            self._run(lambda: self.labgpu.bookings.reject(group.group_id, reason), done)

    def _ask_reason(self, group: BookingGroupView) -> str | None:
        reason, ok = QInputDialog.getText(
            self,
            self.tr("Reject request"),
            self.tr("Why is {user}'s request rejected? (they will see this)").format(
                user=group.user
            ),
        )
        return reason.strip() if ok and reason.strip() else None
