"""*Submit job…*: where would the work start first? (issue 15, point 3)

The member describes the job once; *Compare* asks the lab's slot finder and each cluster that
can be asked without a login prompt, and lists the places side by side, the earliest start
first. *Run there* does what was picked: on the lab, the GPUs are booked and the job started on
the booking (it waits on the server for a later start); on a cluster, the usual *Submit job to
a cluster* dialog opens filled in, with its script to review.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.run import LabJob
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu
from labgpu.services.offload.placement import NOW_SLACK, Option, Placement


def start_text(option: Option, now: datetime) -> str:
    """``now``, ``14:00`` (today), ``Thu 09:00`` or ``–`` (no estimate)."""
    if option.start is None:
        return "–"
    local = option.start.astimezone()
    if option.start <= now + NOW_SLACK:
        return QCoreApplication.translate("WhereToRunDialog", "now")
    if local.date() == now.astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %H:%M")


class WhereToRunDialog(QDialog):
    """Describe a job, compare where it starts first, run it there."""

    ran_in_lab = Signal(object)  # the LabJob
    to_cluster = Signal(str, object)  # cluster name, Placement: submit there (with review)

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.options: list[Option] = []
        self._compared_for: Placement | None = None  # the form the options answer
        self._working = False
        self.setWindowTitle(self.tr("Submit job"))
        self.folder_edit = QLineEdit()
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.command_edit = QLineEdit()
        self.command_edit.setPlaceholderText(self.tr("e.g. python train.py --epochs 10"))
        self.gpus_spin = QSpinBox()
        self.gpus_spin.setRange(1, 64)
        self.model_box = QComboBox()
        self.model_box.addItem(self.tr("any model"), None)
        run_task(self._read_models, self._models_read, context=self)
        self.type_edit = QLineEdit()
        self.type_edit.setPlaceholderText(self.tr("on a cluster: any (e.g. a100)"))
        self.hours_spin = QDoubleSpinBox()
        self.hours_spin.setRange(0.1, 720)
        self.hours_spin.setValue(4)
        self.results_edit = QLineEdit()
        self.results_edit.setPlaceholderText(self.tr("paths to bring back, e.g. outputs, logs"))
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels([self.tr("Where"), self.tr("Starts"), self.tr("Details")])
        self.table.header().resizeSection(0, 140)
        self.table.header().resizeSection(1, 110)
        self.message = InlineMessage()
        self.compare_button = QPushButton(self.tr("Compare"))
        self.compare_button.setDefault(True)
        self.run_button = QPushButton(self.tr("Run there"))
        self.run_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"))
        self._lay_out()
        self.browse_button.clicked.connect(self._browse)
        self.compare_button.clicked.connect(self.compare)
        self.run_button.clicked.connect(self.run_there)
        self.close_button.clicked.connect(self.reject)
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        for edit in (self.folder_edit, self.command_edit, self.type_edit, self.results_edit):
            edit.textChanged.connect(self._stale)
        self.gpus_spin.valueChanged.connect(self._stale)
        self.hours_spin.valueChanged.connect(self._stale)
        self.model_box.currentIndexChanged.connect(self._stale)

    def _read_models(self) -> list[str]:
        return sorted({g.model for g in self.labgpu.inventory.list_gpus() if g.bookable})

    def _models_read(self, models: list[str] | None, error: BaseException | None) -> None:
        for model in models or []:
            self.model_box.addItem(model, model)

    def _lay_out(self) -> None:
        folder = QHBoxLayout()
        folder.addWidget(self.folder_edit, 1)
        folder.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(self.tr("Folder:"), folder)
        form.addRow(self.tr("Command:"), self.command_edit)
        form.addRow(self.tr("GPUs:"), self.gpus_spin)
        form.addRow(self.tr("Lab model:"), self.model_box)
        form.addRow(self.tr("Cluster GPU type:"), self.type_edit)
        form.addRow(self.tr("Hours:"), self.hours_spin)
        form.addRow(self.tr("Results:"), self.results_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(680, 520)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Folder to send"))
        if chosen:
            self.folder_edit.setText(chosen)

    def placement(self) -> Placement:
        """What the form describes."""
        results = tuple(p.strip() for p in self.results_edit.text().split(",") if p.strip())
        return Placement(
            command=self.command_edit.text().strip(),
            local_dir=self.folder_edit.text().strip(),
            gpus=self.gpus_spin.value(),
            hours=self.hours_spin.value(),
            model=self.model_box.currentData(),
            gpu_type=self.type_edit.text().strip(),
            results=results,
        )

    def _stale(self) -> None:
        self.options = []
        self.table.clear()
        self._update_buttons()

    def compare(self) -> None:
        """Ask the lab and the clusters, on a worker."""
        from labgpu.services.offload.placement import compare

        placement = self.placement()
        if not placement.command:
            self.message.show_message(self.tr("Give the command to run."), True)
            return
        self._busy(True)
        self.message.show_message(self.tr("Asking the lab and the clusters…"))
        now = datetime.now().astimezone()
        self._compared_for = placement
        run_task(lambda: compare(self.labgpu, placement, now), self._compared, context=self)

    def _compared(self, options: list[Option] | None, error: BaseException | None) -> None:
        self._busy(False)
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", True)
            return
        if self._compared_for != self.placement():  # edited meanwhile: the answer is stale
            self.message.show_message(self.tr("The form changed meanwhile; compare again."))
            return
        self.options = options or []
        self.table.clear()
        now = datetime.now().astimezone()
        for option in self.options:
            where = self.tr("lab") if option.is_lab else option.where
            item = QTreeWidgetItem([where, start_text(option, now), option.note])
            item.setData(0, Qt.ItemDataRole.UserRole, option)
            item.setToolTip(2, option.note)
            self.table.addTopLevelItem(item)
        first = self.table.topLevelItem(0)
        if first is not None:
            self.table.setCurrentItem(first)
        self.message.show_message(self.tr("Earliest start first; pick one and Run there."))

    def chosen(self) -> Option | None:
        """The option selected in the table."""
        item = self.table.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _update_buttons(self) -> None:
        option = self.chosen()
        self.run_button.setEnabled(not self._working and option is not None and option.runnable)

    def run_there(self) -> None:
        """Run the job where the member picked."""
        option = self.chosen()
        if option is None or self._working or self._compared_for != self.placement():
            return
        placement = self.placement()
        if not option.is_lab:
            self.to_cluster.emit(option.where, placement)
            self.accept()
            return
        from labgpu.services.offload.placement import run_in_lab

        self._busy(True)
        self.message.show_message(self.tr("Booking the GPUs and starting the job…"))
        run_task(lambda: run_in_lab(self.labgpu, placement, option), self._ran, context=self)

    def _ran(self, job: LabJob | None, error: BaseException | None) -> None:
        self._busy(False)
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", True)
            return
        assert job is not None  # None only when the task failed
        self.ran_in_lab.emit(job)
        self.accept()

    def _busy(self, busy: bool) -> None:
        self._working = busy
        self.compare_button.setEnabled(not busy)
        option = self.chosen()
        self.run_button.setEnabled(not busy and option is not None and option.runnable)
