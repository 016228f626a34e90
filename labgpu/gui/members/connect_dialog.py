"""Signing in to a lab database: server, port, database, member name, password, *remember*.

The password goes to the OS keyring (when *remember* is ticked), never to a file; config.toml
keeps the URL without it. Connecting, the keyring and the config file are all used on workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import ConfigError
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.launch import open_lab
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from labgpu.services.members.credentials import LabConnection


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a successful sign-in produced."""

    labgpu: Labgpu
    connection: LabConnection
    remembered: bool  # the password is in the keyring
    must_change_password: bool
    warning: str  # e.g. the keyring could not store the password; empty if none


def open_signed_in(connection: LabConnection, password: str, remember: bool) -> SignedIn:
    """Connect and open the lab database, then remember or forget the password (worker side)."""
    labgpu = open_lab(connection.url(password or None))
    try:
        labgpu.open()
        change = labgpu.members.must_change_password()
    except BaseException:
        labgpu.close()
        raise
    warning = ""
    remembered = bool(remember and password)
    try:
        if remembered:
            credentials.save_password(connection, password)
        else:
            credentials.forget_password(connection)
        credentials.save_database_url(connection.url())
    except ConfigError as exc:
        warning, remembered = str(exc), False
    return SignedIn(labgpu, connection, remembered, change, warning)


class ConnectDialog(QDialog):
    """Ask where and as whom to sign in; ``signed_in`` holds the opened lab once accepted."""

    def __init__(
        self, url: str | None = None, parent: QWidget | None = None, auto_connect: bool = False
    ) -> None:
        super().__init__(parent)
        self._auto_connect = auto_connect
        self.setWindowTitle(self.tr("Connect to the lab database"))
        self.signed_in: SignedIn | None = None
        self._busy = False
        self.host = QLineEdit()
        self.host.setPlaceholderText("db.lab.example.org")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(credentials.DEFAULT_PORT)
        self.database = QLineEdit()
        self.database.setPlaceholderText("labgpu")
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox(self.tr("Remember the password (in the system keyring)"))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("dialogMessage")
        form = QFormLayout()
        form.addRow(self.tr("Server:"), self.host)
        form.addRow(self.tr("Port:"), self.port)
        form.addRow(self.tr("Database:"), self.database)
        form.addRow(self.tr("Member name:"), self.user)
        form.addRow(self.tr("Password:"), self.password)
        form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = QPushButton(self.tr("Connect"))
        self.connect_button.setDefault(True)
        self.buttons.addButton(self.connect_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start_connecting)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._options: tuple[tuple[str, str], ...] = ()
        if url:
            self._fill(url)

    def _fill(self, url: str) -> None:
        try:
            connection, password = credentials.parse_lab_url(url)
        except ConfigError:
            return
        self._options = connection.options
        self.host.setText(connection.host)
        self.port.setValue(connection.port)
        self.database.setText(connection.database)
        self.user.setText(connection.user)
        if password:
            self.password.setText(password)
            if self._auto_connect:
                self.start_connecting()
        else:
            run_task(
                lambda: credentials.load_password(connection), self._password_loaded, context=self
            )

    def _password_loaded(self, password: str | None, error: BaseException | None) -> None:
        if error is None and password is not None and not self.password.text():
            self.password.setText(password)
            self.remember.setChecked(True)
            if self._auto_connect:
                self.start_connecting()

    def connection(self) -> LabConnection | None:
        """The connection the fields describe, or ``None`` when one is missing."""
        host, database, user = (w.text().strip() for w in (self.host, self.database, self.user))
        if not (host and database and user):
            return None
        return LabConnection(host, database, user, self.port.value(), self._options)

    def is_busy(self) -> bool:
        """True while connecting."""
        return self._busy

    def start_connecting(self) -> None:
        """Check the fields, then connect on a worker (the dialog closes on success)."""
        connection = self.connection()
        if connection is None:
            self.message.setText(self.tr("Fill in the server, the database and your member name."))
            return
        password, remember = self.password.text(), self.remember.isChecked()
        self._set_busy(True)
        self.message.setText(self.tr("Connecting to {server}…").format(server=connection.host))
        run_task(lambda: open_signed_in(connection, password, remember), self._opened, context=self)

    def reject(self) -> None:
        if not self._busy:  # a connection being opened must finish (and be closed) first
            super().reject()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.connect_button.setEnabled(not busy)
        for widget in (self.host, self.port, self.database, self.user, self.password):
            widget.setEnabled(not busy)

    def _opened(self, result: SignedIn | None, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None:
            message = handle_error(self, error)
            self.message.setText(self.tr("Cannot connect: {message}").format(message=message or ""))
            return
        if result is not None:
            self.signed_in = result
            self.accept()


def sign_in(url: str | None, parent: QWidget | None = None) -> SignedIn | None:
    """Show the dialog (modal) until the person signs in or cancels.

    With a password known (in the URL or remembered) it connects straight away.
    """
    dialog = ConnectDialog(url, parent, auto_connect=True)
    dialog.exec()
    return dialog.signed_in
