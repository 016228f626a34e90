"""*Add server*: connect over SSH, confirm the host key, see the GPUs found, save."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import HostKeyUnknownError
from labgpu.core.inventory.host_keys import HostKeyNotPinnedError
from labgpu.core.inventory.servers import ProbeResult, SshTarget
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets import text
from labgpu.gui.widgets.busy import busy_bar
from labgpu.services import Labgpu


class AddServerDialog(QDialog):
    """Collects how to reach a server, discovers its GPUs on a worker, registers it."""

    registered = Signal(str)

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a GPU server"))
        self._labgpu = labgpu
        self._attempt = 0  # a newer attempt (or Cancel) makes older answers stale
        self._probe: ProbeResult | None = None
        self._make_fields()
        self._make_actions()
        self._lay_out()
        self._set_busy(False)

    # -- widgets ---------------------------------------------------------------------------

    def _make_fields(self) -> None:
        self.host = QLineEdit()
        self.host.setPlaceholderText(
            self.tr("gpu-01.lab.example.org or an alias from ~/.ssh/config")
        )
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText(self.tr("default"))
        self.user = QLineEdit()
        self.user.setPlaceholderText(self.tr("default: from ~/.ssh/config or your login name"))
        self.identity = QLineEdit()
        self.identity.setPlaceholderText(self.tr("default: ssh-agent and ~/.ssh keys"))
        self.browse = QPushButton(self.tr("Browse…"))
        self.jump = QLineEdit()
        self.jump.setPlaceholderText(self.tr("optional: user@gateway:port"))
        self.name = QLineEdit()
        self.host.textChanged.connect(self.name.setPlaceholderText)
        self.browse.clicked.connect(self._browse_identity)
        for edit in (self.host, self.user, self.identity, self.jump):
            edit.textEdited.connect(self._forget_probe)
        self.port.valueChanged.connect(self._forget_probe)

    def _make_actions(self) -> None:
        self.connect_button = QPushButton(self.tr("Connect and discover"))
        self.connect_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.busy = busy_bar()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.gpu_table = QTableWidget(0, 4)
        self.gpu_table.setHorizontalHeaderLabels(
            [self.tr("GPU"), self.tr("Model"), self.tr("Memory"), self.tr("UUID")]
        )
        self.gpu_table.verticalHeader().hide()
        self.gpu_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.gpu_table.horizontalHeader().setStretchLastSection(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.connect_button.clicked.connect(lambda: self.start_discovery())
        self.cancel_button.clicked.connect(self.cancel_discovery)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def _lay_out(self) -> None:
        identity_row = QHBoxLayout()
        identity_row.addWidget(self.identity)
        identity_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow(self.tr("Host:"), self.host)
        form.addRow(self.tr("Port:"), self.port)
        form.addRow(self.tr("User:"), self.user)
        form.addRow(self.tr("Identity file:"), identity_row)
        form.addRow(self.tr("Jump host:"), self.jump)
        form.addRow(self.tr("Name in labgpu:"), self.name)
        actions = QHBoxLayout()
        actions.addWidget(self.connect_button)
        actions.addWidget(self.busy, 1)
        actions.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addWidget(QLabel(self.tr("GPUs found:")))
        layout.addWidget(self.gpu_table, 1)
        layout.addWidget(self.buttons)
        self.resize(680, 520)

    def _browse_identity(self) -> None:
        start = self.identity.text() or str(Path.home() / ".ssh")
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose an SSH private key"), start)
        if path:
            self.identity.setText(path)
            self._forget_probe()

    # -- state -----------------------------------------------------------------------------

    def target(self) -> SshTarget:
        """The SSH target described by the fields (empty fields fall back to ~/.ssh/config)."""
        return SshTarget(
            host=self.host.text().strip(),
            port=self.port.value() or None,
            user=self.user.text().strip() or None,
            identity_file=self.identity.text().strip() or None,
            jump_host=self.jump.text().strip() or None,
        )

    def server_name(self) -> str:
        """The name to register under: the *Name* field, or the host."""
        return self.name.text().strip() or self.host.text().strip()

    def _set_busy(self, busy: bool, what: str = "") -> None:
        self.busy.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.connect_button.setEnabled(not busy)
        for widget in (self.host, self.port, self.user, self.identity, self.browse, self.jump):
            widget.setEnabled(not busy)
        self.save_button.setEnabled(not busy and self._probe is not None)
        if busy:
            self._show(what, error=False)

    def _show(self, message: str, error: bool) -> None:
        self.message.setProperty("error", error)
        self.message.setStyleSheet("color: #b3261e;" if error else "")
        self.message.setText(message)

    def _forget_probe(self) -> None:
        self._probe = None
        self.gpu_table.setRowCount(0)
        self.save_button.setEnabled(False)

    # -- discovery -------------------------------------------------------------------------

    def start_discovery(self, trust_fingerprint: str | None = None) -> None:
        """Connect and list the GPUs on a worker; ``trust_fingerprint`` accepts that host key."""
        target = self.target()
        if not target.host:
            self._show(self.tr("Enter the server's host name or address first."), error=True)
            return
        self._forget_probe()
        self._attempt += 1
        attempt = self._attempt
        self._set_busy(True, self.tr("Connecting to {host}…").format(host=target.host))
        run_task(
            lambda: self._labgpu.inventory.discover(target, trust_fingerprint=trust_fingerprint),
            lambda result, error: self._discovered(attempt, result, error),
            context=self,
        )

    def cancel_discovery(self) -> None:
        """Stop waiting for the running discovery (its answer, when it comes, is ignored)."""
        self._attempt += 1
        self._set_busy(False)
        self._show(self.tr("Cancelled. Nothing was saved."), error=False)

    def _discovered(
        self, attempt: int, result: ProbeResult | None, error: BaseException | None
    ) -> None:
        if attempt != self._attempt:
            return
        self._set_busy(False)
        if isinstance(error, HostKeyUnknownError) and not isinstance(error, HostKeyNotPinnedError):
            self._host_key_unknown(error)
        elif error is not None:
            message = handle_error(self, error)
            self._show(message or self.tr("Discovery failed; see the error report."), error=True)
        elif result is not None:
            self.show_discovered(result)

    def _host_key_unknown(self, error: HostKeyUnknownError) -> None:
        if self.ask_trust(error.host, error.fingerprint, error.key_type):
            self.start_discovery(trust_fingerprint=error.fingerprint)
        else:
            self._show(
                self.tr(
                    "The host key of {host} was not trusted, so labgpu did not log in. "
                    "Check the fingerprint with the server's administrator and try again."
                ).format(host=error.host),
                error=True,
            )

    def ask_trust(self, host: str, fingerprint: str, key_type: str) -> bool:
        """Ask whether to trust an unknown host key (tests replace this method to answer)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Unknown host key"),
            self.tr("labgpu has never seen the host key of {host}.").format(host=host),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setInformativeText(
            self.tr(
                "Key type: {key_type}\nFingerprint: {fingerprint}\n\nCompare it with the "
                "fingerprint the server's administrator gives you. Trust this key?"
            ).format(key_type=key_type or self.tr("unknown"), fingerprint=fingerprint)
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def show_discovered(self, probe: ProbeResult) -> None:
        """Show what discovery found and allow saving it."""
        self._probe = probe
        self.gpu_table.setRowCount(len(probe.gpus))
        for row, gpu in enumerate(probe.gpus):
            cells = [str(gpu.index), gpu.name, f"{text.gib(gpu.memory_total_mb)} GiB", gpu.uuid]
            for column, value in enumerate(cells):
                self.gpu_table.setItem(row, column, QTableWidgetItem(value))
        self.gpu_table.resizeRowsToContents()
        self.save_button.setEnabled(True)
        self._show(
            self.tr("Found {count} GPUs on {host}. Check them, then Save.").format(
                count=len(probe.gpus), host=probe.host
            ),
            error=False,
        )

    # -- saving ----------------------------------------------------------------------------

    def save(self) -> None:
        """Register the discovered server on a worker, then close."""
        probe, name, target = self._probe, self.server_name(), self.target()
        if probe is None:
            return
        self._attempt += 1
        attempt = self._attempt
        self._set_busy(True, self.tr("Saving {name}…").format(name=name))
        run_task(
            lambda: self._labgpu.inventory.register_server(name, target, probe),
            lambda _result, error: self._saved(attempt, name, error),
            context=self,
        )

    def _saved(self, attempt: int, name: str, error: BaseException | None) -> None:
        if attempt != self._attempt:
            return
        self._set_busy(False)
        if error is not None:
            message = handle_error(self, error)
            self._show(message or self.tr("Saving failed; see the error report."), error=True)
            return
        self.registered.emit(name)
        self.accept()
