"""The Rules page (managers): booking rules, bookable GPUs and maintenance windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.rules import BookingRules, Maintenance
from labgpu.core.booking.run import AT_END_STOP, AT_END_WARN
from labgpu.core.inventory.servers import Gpu
from labgpu.gui.booking.booking_dialog import datetime_edit, from_qdatetime
from labgpu.gui.booking.calendar_data import compact_labels, ordered_gpus
from labgpu.gui.booking.my_bookings import window_text
from labgpu.gui.shell.errors import handle_error, report_load
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu


def weights_text(weights: tuple[tuple[str, float], ...]) -> str:
    """``A40=3, A100=4``."""
    return ", ".join(f"{model}={weight:g}" for model, weight in weights)


def parse_weights(text: str) -> tuple[tuple[str, float], ...]:
    """``A40=3, A100=4`` → pairs; ValueError names the bad entry."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        model, sep, weight = part.partition("=")
        if not sep or not model.strip():
            raise ValueError(part)
        pairs.append((model.strip(), float(weight)))
    return tuple(pairs)


def parse_models(text: str) -> tuple[str, ...]:
    """``A40, A100`` → models."""
    return tuple(filter(None, (p.strip() for p in text.split(","))))


class RulesPage(QWidget):
    """Edits the lab's rules; every save and change runs on a worker."""

    changed = Signal()

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.current = BookingRules()
        self.gpus: list[Gpu] = []
        self.windows: list[Maintenance] = []
        self.message = InlineMessage()
        self._make_rule_fields()
        self._make_maintenance_fields()
        self._lay_out()

    def _make_rule_fields(self) -> None:
        self.max_hours = QDoubleSpinBox()
        self.max_hours.setRange(0.5, 24 * 90)
        self.max_hours.setSuffix(self.tr(" h"))
        self.horizon_days = QDoubleSpinBox()
        self.horizon_days.setRange(1, 365)
        self.horizon_days.setSuffix(self.tr(" days"))
        self.max_at_once = QSpinBox()
        self.max_at_once.setRange(1, 1000)
        self.use_quota = QCheckBox(self.tr("Weekly quota"))
        self.quota = QDoubleSpinBox()
        self.quota.setRange(1, 100_000)
        self.quota.setSuffix(self.tr(" GPU-h"))
        self.use_quota.toggled.connect(self.quota.setEnabled)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("A40=3")
        self.approval = QLineEdit()
        self.approval.setPlaceholderText("A40")
        self.idle_pct = QDoubleSpinBox()
        self.idle_pct.setRange(0, 100)
        self.idle_pct.setSuffix(" %")
        self.idle_min = QSpinBox()
        self.idle_min.setRange(1, 24 * 60)
        self.idle_min.setSuffix(self.tr(" min"))
        self.auto_release = QCheckBox(self.tr("Release idle bookings"))
        self.release_min = QSpinBox()
        self.release_min.setRange(5, 24 * 60)
        self.release_min.setSuffix(self.tr(" min"))
        self.warning_min = QSpinBox()
        self.warning_min.setRange(1, 24 * 60)
        self.warning_min.setSuffix(self.tr(" min"))
        self.at_end = QComboBox()
        self.at_end.addItem(self.tr("Warn only"), AT_END_WARN)
        self.at_end.addItem(self.tr("Stop the job"), AT_END_STOP)
        self.stop_grace = QSpinBox()
        self.stop_grace.setRange(1, 3600)
        self.stop_grace.setSuffix(self.tr(" s"))
        self.intruders = QComboBox()
        self.intruders.addItem(self.tr("Show it (tell the holder)"), "show")
        self.intruders.addItem(self.tr("Also message the user's terminals"), "message")
        self.intruders.addItem(self.tr("Also stop their processes"), "stop")
        self.intruder_grace = QSpinBox()
        self.intruder_grace.setRange(1, 1440)
        self.intruder_grace.setSuffix(self.tr(" min"))
        self.intruders.currentIndexChanged.connect(
            lambda _i: self.intruder_grace.setEnabled(self.intruders.currentData() == "stop")
        )
        self.at_end.currentIndexChanged.connect(
            lambda _i: self.stop_grace.setEnabled(self.at_end.currentData() == AT_END_STOP)
        )
        self.save_button = QPushButton(self.tr("Save rules"))
        self.save_button.clicked.connect(self.save_rules)

    def _make_maintenance_fields(self) -> None:
        self.gpu_list = QListWidget()
        self.gpu_list.itemChanged.connect(self._bookable_toggled)
        self.maintenance_list = QListWidget()
        now = datetime.now(UTC)
        self.m_start = datetime_edit(now + timedelta(days=1))
        self.m_end = datetime_edit(now + timedelta(days=1, hours=4))
        self.m_reason = QLineEdit()
        self.m_reason.setPlaceholderText(self.tr("Reason (e.g. driver update)"))
        self.m_add = QPushButton(self.tr("Block selected GPUs"))
        self.m_remove = QPushButton(self.tr("Remove window"))
        self.m_add.clicked.connect(self.add_maintenance)
        self.m_remove.clicked.connect(self.remove_maintenance)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow(self.tr("Longest booking:"), self.max_hours)
        form.addRow(self.tr("Book at most this far ahead:"), self.horizon_days)
        form.addRow(self.tr("GPUs one member may hold at once:"), self.max_at_once)
        quota = QHBoxLayout()
        quota.addWidget(self.use_quota)
        quota.addWidget(self.quota, 1)
        form.addRow(self.tr("Weekly GPU-hours per member:"), quota)
        form.addRow(self.tr("Model weights (model=weight, …):"), self.weights)
        form.addRow(self.tr("Models that need approval:"), self.approval)
        form.addRow(self.tr("Idle below:"), self.idle_pct)
        form.addRow(self.tr("Idle for:"), self.idle_min)
        form.addRow("", self.auto_release)
        form.addRow(self.tr("Release after idle for:"), self.release_min)
        form.addRow(self.tr("Warn the holder before:"), self.warning_min)
        form.addRow(self.tr("When a booking ends and its job still runs:"), self.at_end)
        form.addRow(self.tr("Grace before SIGKILL:"), self.stop_grace)
        form.addRow(self.tr("Someone else uses a held GPU:"), self.intruders)
        form.addRow(self.tr("Stop their processes after:"), self.intruder_grace)
        form.addRow("", self.save_button)
        rules_box = QGroupBox(self.tr("Booking rules"))
        rules_box.setLayout(form)
        gpus_box = QGroupBox(self.tr("GPUs (checked: bookable; select to block)"))
        gpus_layout = QVBoxLayout(gpus_box)
        gpus_layout.addWidget(self.gpu_list)
        maintenance_box = QGroupBox(self.tr("Maintenance windows"))
        m_form = QFormLayout(maintenance_box)
        m_form.addRow(self.maintenance_list)
        m_form.addRow(self.tr("From:"), self.m_start)
        m_form.addRow(self.tr("Until:"), self.m_end)
        m_form.addRow(self.tr("Reason:"), self.m_reason)
        buttons = QHBoxLayout()
        buttons.addWidget(self.m_add)
        buttons.addWidget(self.m_remove)
        m_form.addRow(buttons)
        right = QVBoxLayout()
        right.addWidget(gpus_box, 1)
        right.addWidget(maintenance_box, 1)
        columns = QHBoxLayout()
        columns.addWidget(rules_box, 1)
        columns.addLayout(right, 1)
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(columns, 1)
        scroll = QScrollArea()  # the form is wider than a small window
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)

    # -- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read rules, GPUs and maintenance on a worker."""
        run_task(
            lambda: (
                self.labgpu.rules.current(),
                self.labgpu.inventory.list_gpus(),
                self.labgpu.rules.maintenance(),
            ),
            self._loaded,
            context=self,
        )

    def _loaded(
        self,
        result: tuple[BookingRules, list[Gpu], list[Maintenance]] | None,
        error: BaseException | None,
    ) -> None:
        if not report_load(
            self, self.message, lambda text: self.show_message(text, error=True), error
        ):
            return
        if result is None:  # only when the read failed
            return
        rules, gpus, windows = result
        self.show_rules(rules)
        self.show_gpus(gpus)
        self.show_maintenance(windows)

    def show_rules(self, rules: BookingRules) -> None:
        """Fill the form from ``rules``."""
        self.current = rules
        self.max_hours.setValue(rules.max_hours)
        self.horizon_days.setValue(rules.horizon_days)
        self.max_at_once.setValue(rules.max_gpus_at_once)
        self.use_quota.setChecked(rules.weekly_quota_gpu_hours is not None)
        self.quota.setEnabled(rules.weekly_quota_gpu_hours is not None)
        self.quota.setValue(rules.weekly_quota_gpu_hours or 100.0)
        self.weights.setText(weights_text(rules.model_weights))
        self.approval.setText(", ".join(rules.approval_models))
        self.idle_pct.setValue(rules.idle_util_pct)
        self.idle_min.setValue(rules.idle_minutes)
        self.auto_release.setChecked(rules.auto_release)
        self.release_min.setValue(rules.auto_release_minutes)
        self.warning_min.setValue(rules.release_warning_minutes)
        index = self.at_end.findData(rules.at_booking_end)
        self.at_end.setCurrentIndex(max(index, 0))
        self.stop_grace.setValue(rules.stop_grace_s)
        self.stop_grace.setEnabled(rules.at_booking_end == AT_END_STOP)
        self.intruders.setCurrentIndex(max(self.intruders.findData(rules.intruder_action), 0))
        self.intruder_grace.setValue(rules.intruder_grace_minutes)
        self.intruder_grace.setEnabled(rules.intruder_action == "stop")

    def show_gpus(self, gpus: list[Gpu]) -> None:
        """List GPUs with a bookable check box."""
        self.gpus = ordered_gpus(gpus)
        self.gpu_list.blockSignals(True)
        self.gpu_list.clear()
        for gpu in self.gpus:
            item = QListWidgetItem(f"{gpu.server_name}:{gpu.index}  ·  {gpu.model}", self.gpu_list)
            item.setData(Qt.ItemDataRole.UserRole, gpu.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if gpu.bookable else Qt.CheckState.Unchecked)
        self.gpu_list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.gpu_list.blockSignals(False)

    def show_maintenance(self, windows: list[Maintenance]) -> None:
        """List maintenance windows."""
        labels = {g.id: f"{g.server_name}:{g.index}" for g in self.gpus}
        self.windows = windows
        self.maintenance_list.clear()
        for window in windows:
            gpus = compact_labels([labels.get(i, f"#{i}") for i in window.gpu_ids])
            text = f"{window_text(window.window)}  ·  {gpus}  ·  {window.reason}"
            QListWidgetItem(text, self.maintenance_list)

    def show_message(self, message: str, error: bool = False) -> None:
        """A one-line message under the page."""
        self.message.show_message(message, error)

    # -- saving ----------------------------------------------------------------------------

    def rules_from_form(self) -> BookingRules:
        """The rules as edited (ValueError for unreadable weights)."""
        return replace(
            self.current,
            max_hours=self.max_hours.value(),
            horizon_days=self.horizon_days.value(),
            max_gpus_at_once=self.max_at_once.value(),
            weekly_quota_gpu_hours=self.quota.value() if self.use_quota.isChecked() else None,
            model_weights=parse_weights(self.weights.text()),
            approval_models=parse_models(self.approval.text()),
            idle_util_pct=self.idle_pct.value(),
            idle_minutes=self.idle_min.value(),
            auto_release=self.auto_release.isChecked(),
            auto_release_minutes=self.release_min.value(),
            release_warning_minutes=self.warning_min.value(),
            at_booking_end=str(self.at_end.currentData()),
            stop_grace_s=self.stop_grace.value(),
            intruder_action=str(self.intruders.currentData()),
            intruder_grace_minutes=self.intruder_grace.value(),
        )

    def save_rules(self) -> None:
        """Save the form on a worker."""
        try:
            rules = self.rules_from_form()
        except ValueError as exc:
            self.show_message(
                self.tr(
                    "Cannot read the model weights at “{entry}”; write them as A40=3, A100=4."
                ).format(entry=str(exc)),
                error=True,
            )
            return
        self._run(lambda: self.labgpu.rules.save(rules), self.tr("Rules saved."))

    def _bookable_toggled(self, item: QListWidgetItem) -> None:
        gpu_id = int(item.data(Qt.ItemDataRole.UserRole))
        bookable = item.checkState() == Qt.CheckState.Checked
        self._run(
            lambda: self.labgpu.rules.set_gpu_bookable(gpu_id, bookable), self.tr("GPU updated.")
        )

    def add_maintenance(self) -> None:
        """Block the selected GPUs over the chosen window."""
        gpu_ids = [
            int(item.data(Qt.ItemDataRole.UserRole)) for item in self.gpu_list.selectedItems()
        ]
        if not gpu_ids:
            self.show_message(self.tr("Select the GPUs to block in the list first."), error=True)
            return
        start = from_qdatetime(self.m_start.dateTime())
        end = from_qdatetime(self.m_end.dateTime())
        reason = self.m_reason.text().strip()
        self._run(
            lambda: self.labgpu.rules.add_maintenance(gpu_ids, start, end, reason),
            self.tr("Maintenance window added."),
        )

    def remove_maintenance(self) -> None:
        """Delete the selected maintenance window."""
        row = self.maintenance_list.currentRow()
        if 0 <= row < len(self.windows) and self.windows[row].id is not None:
            window_id = int(self.windows[row].id or 0)
            self._run(
                lambda: self.labgpu.rules.remove_maintenance(window_id),
                self.tr("Maintenance window removed."),
            )

    def _run(self, fn: Callable[[], object], done: str) -> None:
        run_task(fn, lambda _r, error: self._done(done, error), context=self)

    def _done(self, done: str, error: BaseException | None) -> None:
        if error is None:
            self.show_message(done)
            self.changed.emit()
        else:
            self.show_message(handle_error(self, error) or "", error=True)
        self.reload()
