"""Find a slot: model, count, duration, same server, deadline → earliest alternatives → Book."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.booking.slots import SlotOption
from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import Gpu
from labgpu.core.offload.jobs import Cluster, should_offer_cluster
from labgpu.gui.booking.booking_dialog import datetime_edit, from_qdatetime
from labgpu.gui.booking.calendar_data import compact_labels
from labgpu.gui.offload.submit_dialog import SubmitJobDialog, run_logged_in
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.usage.projects_combo import ProjectCombo
from labgpu.gui.widgets.dates import DAY_TIME, local_text
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu
from labgpu.services.booking.slots import UNBOOKED_BLOCK

#: A cluster's start estimate for the request: a time, none (not Slurm), or why it failed.
Estimate = datetime | LabgpuError | None


def option_text(option: SlotOption, labels: dict[int, str]) -> str:
    """``Tue 12-02 10:00 → Wed 12-03 10:00  ·  gpu-01:0, gpu-01:1``."""
    start, end = option.start.astimezone(), option.end.astimezone()
    gpus = compact_labels([labels.get(i, f"#{i}") for i in option.gpu_ids])
    return f"{local_text(start, DAY_TIME)} → {local_text(end, DAY_TIME)}  ·  {gpus}"


class FindSlotDialog(QDialog):
    """Searches the earliest windows where K GPUs are free together, and books the chosen one."""

    booked = Signal(str)

    def __init__(self, labgpu: Labgpu, gpus: Sequence[Gpu], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.labels: dict[int, str] = {}
        self.options: list[SlotOption] = []
        self._busy = False
        self.setWindowTitle(self.tr("Find a slot"))
        self.model = QComboBox()
        self.model.addItem(self.tr("Any model"), None)
        if gpus:
            self.set_gpus(gpus)
        else:  # opened before the calendar had read the lab: read the GPUs here
            run_task(lambda: self.labgpu.inventory.list_gpus(), self._gpus_read, context=self)
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setSuffix(self.tr(" GPUs"))
        self.hours = QDoubleSpinBox()
        self.hours.setRange(0.5, 24 * 14)
        self.hours.setSingleStep(1.0)
        self.hours.setDecimals(1)
        self.hours.setValue(8.0)
        self.hours.setSuffix(self.tr(" h"))
        self.same_server = QCheckBox(self.tr("All on one server"))
        self.use_deadline = QCheckBox(self.tr("Finish by"))
        self.deadline = datetime_edit(datetime.now().astimezone() + timedelta(days=3))
        self.deadline.setEnabled(False)
        self.use_deadline.toggled.connect(self.deadline.setEnabled)
        self.offered = QLabel(
            self.tr(
                "Offered: GPUs of servers that answer now, in windows your own rules allow "
                "(GPUs at once, weekly quota, length). A GPU running someone's process without "
                "a booking is offered from {minutes} minutes on."
            ).format(minutes=int(UNBOOKED_BLOCK / timedelta(minutes=1)))
        )
        self.offered.setObjectName("hint")
        self.offered.setWordWrap(True)
        self.search_button = QPushButton(self.tr("Search"))
        self.search_button.setDefault(True)
        self.results = QListWidget()
        self.note = QLineEdit()
        self.note.setPlaceholderText(self.tr("What for (shown on the calendar)"))
        self.project_box = ProjectCombo(labgpu)
        self.message = InlineMessage()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.book_button = self.buttons.addButton(
            self.tr("Book"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.book_button.setEnabled(False)
        self.cluster_button = self.buttons.addButton(
            self.tr("Run on a cluster instead…"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.cluster_button.setVisible(False)
        self.cluster_button.clicked.connect(self.run_on_cluster)
        self._deadline: datetime | None = None
        self._lay_out()
        self.search_button.clicked.connect(self.search)
        self.results.currentRowChanged.connect(self._selection_changed)
        self.results.itemDoubleClicked.connect(lambda _item: self.book())
        self.buttons.accepted.connect(self.book)
        self.buttons.rejected.connect(self.reject)
        self.resize(620, 460)

    def set_gpus(self, gpus: Sequence[Gpu]) -> None:
        """The lab's GPUs: the models to choose from and the names options are shown with."""
        self.labels = {g.id: f"{g.server_name}:{g.index}" for g in gpus if g.id is not None}
        for model in sorted({g.model for g in gpus}):
            if self.model.findData(model) < 0:
                self.model.addItem(model, model)

    def _gpus_read(self, gpus: list[Gpu] | None, error: BaseException | None) -> None:
        if error is not None:
            self.message.setText(handle_error(self, error) or "")
        elif gpus is not None:
            self.set_gpus(gpus)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow(self.tr("Model:"), self.model)
        form.addRow(self.tr("How many:"), self.count)
        form.addRow(self.tr("For:"), self.hours)
        form.addRow("", self.same_server)
        deadline = QHBoxLayout()
        deadline.addWidget(self.use_deadline)
        deadline.addWidget(self.deadline, 1)
        form.addRow(self.tr("Deadline:"), deadline)
        form.addRow(self.tr("Project:"), self.project_box)
        search = QHBoxLayout()
        search.addStretch(1)
        search.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.offered)
        layout.addLayout(search)
        layout.addWidget(QLabel(self.tr("Earliest free windows:")))
        layout.addWidget(self.results, 1)
        notes = QFormLayout()
        notes.addRow(self.tr("Note:"), self.note)
        layout.addLayout(notes)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def is_busy(self) -> bool:
        """True while a search or a booking runs."""
        return self._busy

    def _show(self, message: str, error: bool = False) -> None:
        self.message.show_message(message, error)

    # -- searching -------------------------------------------------------------------------

    def search(self) -> None:
        """Look for the earliest slots on a worker."""
        model = self.model.currentData()
        count = self.count.value()
        duration = timedelta(hours=self.hours.value())
        same_server = self.same_server.isChecked()
        deadline = (
            from_qdatetime(self.deadline.dateTime()) if self.use_deadline.isChecked() else None
        )
        self._deadline = deadline
        project = self.project_box.project()
        self._busy = True
        self.search_button.setEnabled(False)
        self._show(self.tr("Searching…"))
        run_task(
            lambda: self.labgpu.bookings.find_slots(
                model, count, duration, deadline=deadline, same_server=same_server, project=project
            ),
            self._found,
            context=self,
        )

    def _found(self, options: list[SlotOption] | None, error: BaseException | None) -> None:
        self._busy = False
        self.search_button.setEnabled(True)
        if error is not None:
            self._show(handle_error(self, error) or "", error=True)
            return
        self.show_options(options or [])

    def show_options(self, options: list[SlotOption]) -> None:
        """List the alternatives, the earliest selected."""
        self.options = options
        self.results.clear()
        for option in options:
            item = QListWidgetItem(option_text(option, self.labels), self.results)
            item.setToolTip(", ".join(option.servers))
        if options:
            self.results.setCurrentRow(0)
            self._show(
                self.tr("{count} alternatives; choose one and press Book.").format(
                    count=len(options)
                )
            )
        else:
            self._show(
                self.tr("Nothing fits: try fewer GPUs, a shorter time or a later deadline."),
                error=True,
            )
        earliest = (options[0].start, options[0].end) if options else None
        offer = should_offer_cluster(earliest, datetime.now().astimezone(), self._deadline)
        self.cluster_button.setVisible(offer)
        if offer and options:
            self._show(
                self.tr(
                    "The lab's earliest slot is late for this request; a shared cluster may "
                    "start it sooner (Run on a cluster instead…)."
                )
            )

    # -- overflow --------------------------------------------------------------------------

    def run_on_cluster(self) -> SubmitJobDialog:
        """Open *Submit job* with this request, and ask the clusters for start estimates."""
        gpus, hours = self.count.value(), self.hours.value()
        service = self.labgpu.offload
        dialog = SubmitJobDialog(
            service,
            [],
            lambda c, fn: run_logged_in(service, c, fn),
            self.parentWidget(),
            projects=self.labgpu,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.set_resources(gpus, hours)

        def estimates() -> list[tuple[Cluster, Estimate]]:
            found: list[tuple[Cluster, Estimate]] = []
            for cluster in service.list_clusters():
                try:
                    found.append((cluster, service.estimate(cluster.name, gpus, hours)))
                except LabgpuError as exc:
                    found.append((cluster, exc))
            return found

        run_task(estimates, lambda r, e: self._estimated(dialog, r, e), context=dialog)
        dialog.open()
        self.accept()
        return dialog

    def _estimated(
        self,
        dialog: SubmitJobDialog,
        found: list[tuple[Cluster, Estimate]] | None,
        error: BaseException | None,
    ) -> None:
        if error is not None or found is None:  # no clusters read: nothing to add or say
            return
        lines = []
        for cluster, estimate in found:
            dialog.cluster_box.addItem(f"{cluster.name} ({cluster.scheduler})", cluster.name)
            if isinstance(estimate, datetime):
                when = local_text(estimate.astimezone(), DAY_TIME)
                lines.append(
                    self.tr("{cluster} estimates the start at {time}").format(
                        cluster=cluster.name, time=when
                    )
                )
            elif isinstance(estimate, LabgpuError):
                lines.append(f"{cluster.name}: {estimate}")
        if not found:
            lines.append(self.tr("No cluster is registered: add one on the Offload page."))
        dialog.show_message("; ".join(lines))

    def _selection_changed(self, row: int) -> None:
        self.book_button.setEnabled(0 <= row < len(self.options) and not self._busy)

    # -- booking ---------------------------------------------------------------------------

    def book(self) -> None:
        """Book the selected alternative on a worker."""
        row = self.results.currentRow()
        if not 0 <= row < len(self.options) or self._busy:
            return
        option = self.options[row]
        note, project = self.note.text().strip(), self.project_box.project()
        self._busy = True
        self.book_button.setEnabled(False)
        run_task(
            lambda: self.labgpu.bookings.book(
                option.gpu_ids, option.start, option.end, note, project
            ),
            self._booked,
            context=self,
        )

    def _booked(self, group: BookingGroupView | None, error: BaseException | None) -> None:
        self._busy = False
        if error is not None:
            self._show(handle_error(self, error) or "", error=True)
            self.book_button.setEnabled(True)
            return
        self.booked.emit("" if group is None else group.group_id)
        self.accept()
