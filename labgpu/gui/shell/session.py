"""Who is signed in, what their role allows, and whether the database is reachable.

``read_identity`` runs on a worker; the widgets here only show what it found. The database stays
the authority: hiding a page a role may not use is a courtesy, not the protection.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import DatabaseError
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from labgpu.services.members.credentials import LabConnection

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in member: name, role (``None`` where the lab has no roles) and rights."""

    user: str
    role: str | None
    can_approve: bool
    can_manage: bool
    has_members: bool = False  # a lab database: members sign in with their own logins


def read_identity(labgpu: Labgpu) -> Identity:
    """Ask the database who we are (worker side)."""
    return Identity(
        labgpu.user,
        labgpu.members.role(),
        labgpu.members.can_approve(),
        labgpu.members.can_manage(),
        not labgpu.is_single_seat,
    )


def role_name(role: str) -> str:
    """A role, in the person's language."""
    names = {
        "student": QCoreApplication.translate("session", "student"),
        "pi": QCoreApplication.translate("session", "PI"),
        "manager": QCoreApplication.translate("session", "manager"),
        "collector": QCoreApplication.translate("session", "collector"),
    }
    return names.get(role, role)


def signed_in_text(identity: Identity) -> str:
    """``Signed in as kim (student)`` — or just the user where there are no roles."""
    if identity.role is None:
        return QCoreApplication.translate("session", "User: {user}").format(user=identity.user)
    return QCoreApplication.translate("session", "Signed in as {user} ({role})").format(
        user=identity.user, role=role_name(identity.role)
    )


def is_connection_trouble(error: BaseException | None) -> bool:
    """True for a database that cannot be reached (restarting, network down)."""
    return isinstance(error, DatabaseError)


class ConnectionBanner(QLabel):
    """A strip above the pages, shown while the database cannot be reached."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionBanner")
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setStyleSheet(
            "#connectionBanner { background: #fff3cd; color: #664d03; padding: 6px; }"
        )
        self.hide()

    def is_reconnecting(self) -> bool:
        """True while the banner is up."""
        return not self.isHidden()

    def lost(self, message: str) -> None:
        """The database went away: say so, and that labgpu keeps trying."""
        self.setText(
            self.tr(
                "Reconnecting to the database… Changes made now are not saved until it is back. "
                "({message})"
            ).format(message=message)
        )
        self.setToolTip(message)
        self.show()

    def back(self) -> bool:
        """The database answered again; returns True if the banner was up."""
        was_up = self.is_reconnecting()
        self.hide()
        return was_up


class ChangePasswordDialog(QDialog):
    """First sign-in with a one-time password: choose a new one (``ALTER ROLE … PASSWORD``)."""

    def __init__(
        self, labgpu: Labgpu, remembered: LabConnection | None, parent: QWidget | None = None
    ) -> None:
        """``remembered``: the keyring entry to update too, if the password was remembered."""
        super().__init__(parent)
        self.labgpu = labgpu
        self._remembered = remembered
        self.changed = False
        self.setWindowTitle(self.tr("Choose a new password"))
        intro = QLabel(
            self.tr("You signed in with a one-time password. Choose your own password to continue.")
        )
        intro.setWordWrap(True)
        self.new_password = QLineEdit()
        self.confirm = QLineEdit()
        for field in (self.new_password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel()
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("New password:"), self.new_password)
        form.addRow(self.tr("Repeat it:"), self.confirm)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        """Check the two entries, then change the password on a worker."""
        new = self.new_password.text()
        if len(new) < MIN_PASSWORD_LENGTH:
            self.message.setText(
                self.tr("Use at least {count} characters.").format(count=MIN_PASSWORD_LENGTH)
            )
            return
        if new != self.confirm.text():
            self.message.setText(self.tr("The two passwords differ."))
            return
        change = self.labgpu.change_password
        remembered = self._remembered

        def work() -> None:
            change(new)
            if remembered is not None:
                credentials.save_password(remembered, new)

        self.buttons.setEnabled(False)
        run_task(work, self._done, context=self)

    def _done(self, _result: None, error: BaseException | None) -> None:
        self.buttons.setEnabled(True)
        if error is not None:
            message = handle_error(self, error)
            self.message.setText(
                self.tr("The password was not changed: {message}").format(message=message or "")
            )
            return
        self.changed = True
        self.accept()
