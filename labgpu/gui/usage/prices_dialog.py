"""Usage ▸ Prices…: the lab's GPU models and what each costs elsewhere, for managers (issue 16).

One row per model (the lab's and any already priced): currency, cloud price and cluster rate
per GPU-hour, purchase price per GPU; an empty cell is no price. The report and
``labgpu usage --json`` show no cost for a model without one. Read and saved on a worker; the
service refuses a member who is not a manager (and a lab database does too), so the button is
shown to managers only (``prices_button``).
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import UsageError
from labgpu.core.usage.cost import GpuPrice, check_price_value
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

#: The editable columns, after the model's.
FIELDS = ("currency", "cloud_per_gpu_h", "cluster_per_gpu_h", "purchase_per_gpu")
Changes = dict[str, dict[str, float | str | None]]
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def prices_button(labgpu: Labgpu, parent: QWidget) -> QPushButton:
    """The Usage page's "Prices…" button: hidden until a worker has read that the signed-in
    member manages the lab; it opens ``PricesDialog``."""
    button = QPushButton(QCoreApplication.translate("PricesDialog", "Prices…"), parent)
    button.setToolTip(
        QCoreApplication.translate(
            "PricesDialog", "What each GPU model costs in the cloud, on a cluster and to buy"
        )
    )
    button.hide()
    button.clicked.connect(lambda: PricesDialog(labgpu, parent).open())

    def shown(manager: bool | None, error: BaseException | None) -> None:
        button.setVisible(bool(manager) and error is None)

    run_task(labgpu.members.can_manage, shown, button)
    return button


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class PricesDialog(QDialog):
    """Edit the prices of every model in one table; Save sends only what changed."""

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.setWindowTitle(self.tr("GPU prices"))
        self.resize(760, 360)
        self._loaded: dict[str, GpuPrice] = {}
        intro = QLabel(
            self.tr(
                "What each model would cost elsewhere, for the monthly report's cost: a cloud "
                "price and a cluster rate per GPU-hour, and the price of one GPU. Leave a cell "
                "empty for no price: no cost is shown without one."
            )
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 1 + len(FIELDS))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Model"),
                self.tr("Currency"),
                self.tr("Cloud / GPU-h"),
                self.tr("Cluster / GPU-h"),
                self.tr("Purchase / GPU"),
            ]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.message = InlineMessage(hide_empty=True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        """Read the models and their prices on a worker."""
        service = self.labgpu.usage.prices
        run_task(lambda: (service.models(), service.list()), self._show, self)

    def _show(
        self, found: tuple[list[str], list[GpuPrice]] | None, error: BaseException | None
    ) -> None:
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", error=True)
            return
        if found is None:
            return
        models, prices = found
        self._loaded = {p.model: p for p in prices}
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            price = self._loaded.get(model, GpuPrice(model, currency=""))
            name = QTableWidgetItem(model)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 0, name)
            cells = [
                price.currency,
                _number(price.cloud_per_gpu_h),
                _number(price.cluster_per_gpu_h),
                _number(price.purchase_per_gpu),
            ]
            for column, value in enumerate(cells, start=1):
                item = QTableWidgetItem(value)
                if column > 1:  # prices right-aligned, the currency as text
                    item.setTextAlignment(RIGHT)
                self.table.setItem(row, column, item)
        self.save_button.setEnabled(bool(models))

    def changes(self) -> Changes:
        """``{model: {field: value}}`` of the cells that differ from what was read; a cell that
        is not a price is a ``UsageError`` naming the model."""
        found: Changes = {}
        for row in range(self.table.rowCount()):
            name = self.table.item(row, 0)
            if name is None:
                continue
            model = name.text()
            before = self._loaded.get(model, GpuPrice(model, currency=""))
            for column, field in enumerate(FIELDS, start=1):
                item = self.table.item(row, column)
                text = item.text().strip() if item is not None else ""
                try:
                    value = check_price_value(field, text) if text else None
                except ValueError as exc:
                    raise UsageError(f"{model}: {exc}") from None
                old = getattr(before, field) or None
                if value != old and not (field == "currency" and value is None):
                    found.setdefault(model, {})[field] = value
        return found

    def save(self) -> None:
        """Check the cells, then save what changed on a worker (managers only)."""
        try:
            changes = self.changes()
        except UsageError as exc:
            self.message.show_message(str(exc), error=True)
            return
        if not changes:
            self.message.show_message(self.tr("Nothing changed."))
            return
        self.save_button.setEnabled(False)
        labgpu = self.labgpu
        run_task(lambda: _save(labgpu, changes), self._saved, self)

    def _saved(self, count: int | None, error: BaseException | None) -> None:
        self.save_button.setEnabled(True)
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", error=True)
            return
        self.message.show_message(self.tr("Saved the prices of {n} model(s).").format(n=count))
        self.reload()


def _save(labgpu: Labgpu, changes: Mapping[str, Mapping[str, float | str | None]]) -> int:
    """Worker side: set each model's changed prices as the signed-in member."""
    service, role = labgpu.usage.prices, labgpu.members.role()
    for model, fields in changes.items():
        service.set(model, dict(fields), labgpu.user, role)
    return len(changes)
