"""*Clusters* settings: register, change, remove and log in to shared clusters."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import HostKeyUnknownError
from labgpu.core.offload.jobs import Cluster
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services.offload.service import OffloadService


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class ClustersDialog(QDialog):
    """A list of clusters and a form for the selected (or a new) one."""

    changed = Signal()

    def __init__(
        self,
        service: OffloadService,
        login: Callable[[str, Callable[[], object]], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.login = login
        self.clusters: list[Cluster] = []
        #: Asks the person (title, question) -> yes?; tests replace it.
        self.confirm: Callable[[str, str], bool] = self._confirm
        self.setWindowTitle(self.tr("Clusters"))
        self.list = QListWidget()
        # Long "name — user@host" lines end in "…" (full text as a tooltip), no side scrolling.
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.name_edit = QLineEdit()
        self.host_edit = QLineEdit()
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText(self.tr("default (22)"))
        self.user_edit = QLineEdit()
        self.jump_edit = QLineEdit()
        self.identity_edit = QLineEdit()
        self.identity_edit.setPlaceholderText(self.tr("default: ssh-agent and ~/.ssh keys"))
        self.scheduler_box = QComboBox()
        self.scheduler_box.addItems(["slurm", "pbs"])
        self.login_box = QComboBox()
        self.login_box.addItem(self.tr("SSH key or agent"), "key")
        self.login_box.addItem(self.tr("One-time password + password"), "interactive")
        self.partition_edit = QLineEdit()
        self.gpu_edit = QLineEdit()
        self.gpu_edit.setPlaceholderText("--gres=gpu:{type}:{count}")
        self.directives_edit = QPlainTextEdit()
        self.directives_edit.setPlaceholderText(self.tr("one per line, e.g. --comment=pytorch"))
        self.directives_edit.setMaximumHeight(70)
        self.modules_edit = QLineEdit()
        self.modules_edit.setPlaceholderText(self.tr("modules to load, separated by spaces"))
        self.base_edit = QLineEdit("~/labgpu")
        self.hours_spin = QDoubleSpinBox()
        self.hours_spin.setRange(0, 10000)
        self.hours_spin.setSpecialValueText(self.tr("no limit"))
        self.message = InlineMessage()
        self.new_button = QPushButton(self.tr("New"))
        self.save_button = QPushButton(self.tr("Save"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.login_button = QPushButton(self.tr("Log in"))
        self.close_button = QPushButton(self.tr("Close"))
        self._lay_out()
        self.list.currentRowChanged.connect(self._selected)
        self.new_button.clicked.connect(self.clear_form)
        self.save_button.clicked.connect(self.save)
        self.remove_button.clicked.connect(self.remove)
        self.login_button.clicked.connect(lambda: self.log_in())
        self.close_button.clicked.connect(self.accept)
        self.reload()

    def _lay_out(self) -> None:
        form = QFormLayout()
        for label, widget in (
            (self.tr("Name:"), self.name_edit),
            (self.tr("Login node:"), self.host_edit),
            (self.tr("Port:"), self.port_spin),
            (self.tr("User:"), self.user_edit),
            (self.tr("Jump host:"), self.jump_edit),
            (self.tr("Identity file:"), self.identity_edit),
            (self.tr("Scheduler:"), self.scheduler_box),
            (self.tr("Login:"), self.login_box),
            (self.tr("Partition / queue:"), self.partition_edit),
            (self.tr("GPU request:"), self.gpu_edit),
            (self.tr("Directives:"), self.directives_edit),
            (self.tr("Modules:"), self.modules_edit),
            (self.tr("Remote folder:"), self.base_edit),
            (self.tr("Longest job (hours):"), self.hours_spin),
        ):
            form.addRow(label, widget)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addWidget(self.new_button)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.message)
        buttons = QHBoxLayout()
        for button in (self.save_button, self.remove_button, self.login_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 3)
        self.resize(820, 560)

    def reload(self) -> None:
        """Read the clusters (on a worker)."""
        run_task(self.service.list_clusters, self._loaded, context=self)

    def _loaded(self, clusters: list[Cluster] | None, error: BaseException | None) -> None:
        if error is not None:
            self.show_message(handle_error(self, error) or "", error=True)
            return
        assert clusters is not None  # None only when the task failed
        self.clusters = clusters
        current = self.name_edit.text()
        self.list.clear()
        for cluster in clusters:
            line = f"{cluster.name} — {cluster.user}@{cluster.host}"
            self.list.addItem(line)
            self.list.item(self.list.count() - 1).setToolTip(line)
        names = [c.name for c in clusters]
        if current in names:
            self.list.setCurrentRow(names.index(current))

    def _selected(self, row: int) -> None:
        if 0 <= row < len(self.clusters):
            self.fill(self.clusters[row])

    def fill(self, cluster: Cluster) -> None:
        """Show a cluster's settings in the form."""
        self.name_edit.setText(cluster.name)
        self.host_edit.setText(cluster.host)
        self.port_spin.setValue(cluster.port or 0)
        self.user_edit.setText(cluster.user)
        self.jump_edit.setText(cluster.jump_host or "")
        self.identity_edit.setText(cluster.identity_file or "")
        self.scheduler_box.setCurrentText(cluster.scheduler)
        self.login_box.setCurrentIndex(max(0, self.login_box.findData(cluster.login)))
        self.partition_edit.setText(cluster.partition)
        self.gpu_edit.setText(cluster.gpu_request)
        self.directives_edit.setPlainText("\n".join(cluster.directives))
        self.modules_edit.setText(" ".join(cluster.modules))
        self.base_edit.setText(cluster.base_dir)
        self.hours_spin.setValue(cluster.max_hours or 0)

    def clear_form(self) -> None:
        """Start a new cluster."""
        self.list.clearSelection()
        self.fill(Cluster("", "", ""))
        self.base_edit.setText("~/labgpu")

    def cluster(self) -> Cluster:
        """The cluster the form describes."""
        return Cluster(
            name=self.name_edit.text().strip(),
            host=self.host_edit.text().strip(),
            user=self.user_edit.text().strip(),
            scheduler=self.scheduler_box.currentText(),
            port=self.port_spin.value() or None,
            jump_host=self.jump_edit.text().strip() or None,
            partition=self.partition_edit.text().strip(),
            gpu_request=self.gpu_edit.text().strip(),
            directives=_lines(self.directives_edit.toPlainText()),
            base_dir=self.base_edit.text().strip() or "~/labgpu",
            modules=tuple(self.modules_edit.text().split()),
            max_hours=self.hours_spin.value() or None,
            login=str(self.login_box.currentData()),
            identity_file=self.identity_edit.text().strip() or None,
        )

    def save(self) -> None:
        """Register or update the cluster in the form."""
        cluster = self.cluster()
        exists = any(c.name == cluster.name for c in self.clusters)
        self._run(
            lambda: self.service.add_cluster(cluster, update=exists),
            self.tr("Saved {name}.").format(name=cluster.name),
        )

    def remove(self) -> None:
        """Forget the selected cluster (its jobs stay)."""
        name = self.name_edit.text().strip()
        self._run(
            lambda: self.service.remove_cluster(name),
            self.tr("Removed {name}; its jobs stay in the records.").format(name=name),
        )

    def log_in(self, fingerprint: str | None = None) -> None:
        """Log in now (the OTP dialog appears for interactive clusters); an unknown host key
        is shown to the person, and trusted only if they say so."""
        name = self.name_edit.text().strip()

        def work() -> object:
            if fingerprint:
                self.service.trust_host_key(name, fingerprint)
            return self.login(name, lambda: None)

        self._run(work, self.tr("Logged in to {name}.").format(name=name))

    def _host_key(self, error: HostKeyUnknownError) -> None:
        question = self.tr(
            "labgpu has never seen the host key of {host}.\n\nKey type: {key_type}\n"
            "Fingerprint: {fingerprint}\n\nCompare it with the fingerprint the cluster's "
            "administrators publish. Trust this key?"
        ).format(host=error.host, key_type=error.key_type or "?", fingerprint=error.fingerprint)
        if self.confirm(self.tr("Unknown host key"), question):
            self.log_in(error.fingerprint)
        else:
            self.show_message(
                self.tr("The host key was not trusted, so labgpu did not log in."), error=True
            )

    def _confirm(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def _run(self, fn: Callable[[], object], done: str) -> None:
        self.show_message(self.tr("Working…"))

        def finished(_result: object, error: BaseException | None) -> None:
            if isinstance(error, HostKeyUnknownError):
                self._host_key(error)
                return
            if error is not None:
                self.show_message(handle_error(self, error) or "", error=True)
                return
            self.show_message(done)
            self.changed.emit()
            self.reload()

        run_task(fn, finished, context=self)

    def show_message(self, message: str, error: bool = False) -> None:
        """One line under the form."""
        self.message.show_message(message, error)
