"""Members (lab database, managers only): add a member, change a role, remove a member."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.members.roles import ROLES, Member
from labgpu.gui.shell.session import role_name
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets import text
from labgpu.gui.widgets.action_page import ActionPage
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu


class NewMemberDialog(QDialog):
    """Ask for a new member's login name and role."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add member"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("lower-case login, e.g. kim_jiwoo"))
        self.role = QComboBox()
        for role in ROLES:
            self.role.addItem(role_name(role), role)
        form = QFormLayout(self)
        form.addRow(self.tr("Login name:"), self.name)
        form.addRow(self.tr("Role:"), self.role)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str]:
        """(name, role) as entered."""
        return self.name.text().strip(), str(self.role.currentData())


class OneTimePasswordDialog(QDialog):
    """Shows a new member's one-time password once, with a button to copy it."""

    def __init__(self, name: str, password: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("One-time password"))
        intro = QLabel(
            self.tr(
                "Give {name} this one-time password. It is shown only now and expires in a "
                "week; labgpu asks {name} for a new password at the first sign-in."
            ).format(name=name)
        )
        intro.setWordWrap(True)
        self.password = QLineEdit(password)
        self.password.setReadOnly(True)
        copy = QPushButton(self.tr("Copy"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(password))
        row = QHBoxLayout()
        row.addWidget(self.password, 1)
        row.addWidget(copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(440, self.sizeHint().height())


class MembersPage(ActionPage):
    """The lab's logins and roles; every change runs on a worker and the database decides."""

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.members: list[Member] = []
        #: Dialog hooks, replaced in tests.
        self.ask_new_member: Callable[[], tuple[str, str] | None] = self._ask_new_member
        self.ask_role: Callable[[Member], str | None] = self._ask_role
        self.confirm_remove: Callable[[Member], bool] = self._confirm_remove
        self.show_password: Callable[[str, str], None] = self._show_password
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels([self.tr("Member"), self.tr("Role"), self.tr("Password")])
        self.tree.header().resizeSection(0, 220)
        self.tree.header().resizeSection(1, 140)
        self.add_button = QPushButton(self.tr("Add member…"))
        self.role_button = QPushButton(self.tr("Change role…"))
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.message = InlineMessage()
        buttons = QHBoxLayout()
        for button in (self.add_button, self.role_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        title = QLabel(
            self.tr(
                "Each member signs in with their own database login. Removing a member keeps "
                "their bookings and history."
            )
        )
        title.setObjectName("hint")
        title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.add_button.clicked.connect(self.add_member)
        self.role_button.clicked.connect(self.change_role)
        self.remove_button.clicked.connect(self.remove_member)
        self._update_buttons()

    def reload(self) -> None:
        """Read the members on a worker."""
        run_task(lambda: self.labgpu.members.everyone(), self._loaded, context=self)

    def _loaded(self, members: list[Member] | None, error: BaseException | None) -> None:
        if not self.loaded(error) or members is None:
            return
        self.set_members(members)

    def set_members(self, members: list[Member]) -> None:
        """Show ``members``, keeping the selection where possible."""
        current = self.selected()
        self.members = members
        self.tree.clear()
        for member in members:
            expiry = (
                self.tr("one-time, until {time}").format(time=text.local_time(member.valid_until))
                if member.valid_until is not None
                else self.tr("set by the member")
            )
            item = QTreeWidgetItem([member.name, role_name(member.role), expiry])
            item.setData(0, Qt.ItemDataRole.UserRole, member.name)
            self.tree.addTopLevelItem(item)
            if current is not None and member.name == current.name:
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> Member | None:
        """The selected member."""
        item = self.tree.currentItem()
        if item is None:
            return None
        name = item.data(0, Qt.ItemDataRole.UserRole)
        return next((m for m in self.members if m.name == name), None)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None and not self._busy
        self.add_button.setEnabled(not self._busy)
        self.role_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    def add_member(self) -> None:
        """Ask for a name and role; create the login and show its one-time password."""
        answer = self.ask_new_member()
        if answer is None:
            return
        name, role = answer
        self._busy = True
        self._update_buttons()
        run_task(
            lambda: self.labgpu.members.add(name, role),
            lambda password, error: self._added(name, password, error),
            context=self,
        )

    def _added(self, name: str, password: str | None, error: BaseException | None) -> None:
        self._done(self.tr("Added {name}.").format(name=name), error)
        if error is None and password is not None:
            self.show_password(name, password)

    def change_role(self) -> None:
        """Move the selected member to another role."""
        member = self.selected()
        role = self.ask_role(member) if member is not None else None
        if member is not None and role and role != member.role:
            done = self.tr("{name} is now {role}.").format(name=member.name, role=role_name(role))
            self._run(lambda: self.labgpu.members.set_role(member.name, role), done)

    def remove_member(self) -> None:
        """Remove the selected member's login, after confirmation."""
        member = self.selected()
        if member is not None and self.confirm_remove(member):
            done = self.tr("Removed {name}; their history stays.").format(name=member.name)
            self._run(lambda: self.labgpu.members.remove(member.name), done)

    def _ask_new_member(self) -> tuple[str, str] | None:
        dialog = NewMemberDialog(self)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _ask_role(self, member: Member) -> str | None:
        labels = [role_name(r) for r in ROLES]
        label, ok = QInputDialog.getItem(
            self,
            self.tr("Change role"),
            self.tr("New role for {name}:").format(name=member.name),
            labels,
            ROLES.index(member.role) if member.role in ROLES else 0,
            False,
        )
        return ROLES[labels.index(label)] if ok and label in labels else None

    def _confirm_remove(self, member: Member) -> bool:
        answer = QMessageBox.question(
            self,
            self.tr("Remove member"),
            self.tr(
                "Remove {name}? They can no longer sign in; their bookings and history stay."
            ).format(name=member.name),
        )
        return answer == QMessageBox.StandardButton.Yes

    def _show_password(self, name: str, password: str) -> None:
        OneTimePasswordDialog(name, password, self).exec()
