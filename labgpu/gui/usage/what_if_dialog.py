"""Usage ▸ What if…: the page's period replayed with GPUs added or removed (issue 16, point 6).

The change is typed as ``labgpu usage --what-if`` takes it (``+8 A40``, ``-2 RTX A4000``,
several joined by commas); the lab's models are offered. The replay runs on a worker (a month
of a busy lab takes seconds) with the busy bar moving; the table puts what happened, the replay
of the lab as it is, and the replay with the change side by side. What the replay keeps fixed
and why no wait grows with GPUs added: ``core/usage/what_if_replay.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import Gpu
from labgpu.core.usage.what_if import Figures, WhatIf
from labgpu.core.usage.what_if_change import grammar_help, parse_change
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.busy import busy_bar
from labgpu.gui.widgets.dates import local_text
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: The table's rows: the field of ``Figures`` and whether it is hours.
FIELDS = (
    ("requests", False),
    ("no_slot", False),
    ("wait_median_h", True),
    ("wait_p90_h", True),
    ("unmet_requests", False),
    ("unmet_gpu_h", True),
    ("offloaded_gpu_h", True),
    ("stayed_home_gpu_h", True),
)


def what_if_button(
    labgpu: Labgpu, bounds: Callable[[], tuple[datetime, datetime]], parent: QWidget
) -> QPushButton:
    """The Usage page's "What if…" button: opens ``WhatIfDialog`` on the page's period."""
    button = QPushButton(QCoreApplication.translate("WhatIfDialog", "What if…"), parent)
    button.setToolTip(
        QCoreApplication.translate(
            "WhatIfDialog", "Replay this period's slot requests with GPUs added or removed"
        )
    )
    button.clicked.connect(lambda: WhatIfDialog(labgpu, *bounds(), parent).open())
    return button


class WhatIfDialog(QDialog):
    """Type a change, Run, read the comparison."""

    def __init__(
        self, labgpu: Labgpu, start: datetime, end: datetime, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.labgpu, self.start, self.end = labgpu, start, end
        self.answer: WhatIf | None = None
        self.setWindowTitle(self.tr("What more GPUs would have changed"))
        self.resize(760, 480)
        period = QLabel(
            self.tr(
                "The slot requests asked from {start} to {end}, replayed in their order through "
                "the lab's own slot search and rules on the lab with GPUs added or removed."
            ).format(start=_local(start), end=_local(end))
        )
        period.setWordWrap(True)
        self.change = QComboBox()
        self.change.setEditable(True)
        self.change.setMinimumWidth(260)
        self.change.setToolTip(grammar_help())
        line = self.change.lineEdit()
        if line is not None:
            line.setPlaceholderText("+8 A40")
            line.returnPressed.connect(self.run)
        self.run_button = QPushButton(self.tr("Run"))
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.busy = busy_bar()
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Change:")))
        row.addWidget(self.change, 1)
        row.addWidget(self.run_button)
        row.addWidget(self.busy)
        self.title = QLabel()
        self.table = self._make_table()
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setObjectName("hint")
        self.message = InlineMessage(hide_empty=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(period)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)
        run_task(labgpu.inventory.list_gpus, self._models, self)

    def _make_table(self) -> QTableWidget:
        labels = [
            self.tr("requests the lab answered (rule refusals apart)"),
            self.tr("of them, with no slot within the booking horizon"),
            self.tr("median wait, hours (requests with a slot)"),
            self.tr("90th percentile wait, hours"),
            self.tr("unmet: no slot within 30 minutes of the wanted start"),
            self.tr("unmet GPU-hours"),
            self.tr("GPU-hours sent to clusters"),
            self.tr("GPU-hours that would have stayed home"),
        ]
        table = QTableWidget(len(labels), 3)
        table.setHorizontalHeaderLabels(
            [self.tr("What happened"), self.tr("Replayed as is"), self.tr("With the change")]
        )
        table.setVerticalHeaderLabels(labels)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        return table

    def _models(self, gpus: list[Gpu] | None, error: BaseException | None) -> None:
        """Offer a change per model of the lab (``+4 NVIDIA A40``, ...)."""
        if error is not None or not gpus:
            return
        models = sorted({g.model for g in gpus})
        typed = self.change.currentText()
        self.change.addItems([f"+4 {m}" for m in models])
        self.change.setEditText(typed or f"+4 {models[-1]}")

    def run(self) -> None:
        """Check the change, then replay on a worker."""
        text = self.change.currentText()
        try:
            parse_change(text)
        except LabgpuError as exc:
            self.message.show_message(str(exc), error=True)
            return
        if self.running():
            return
        self.message.clear()
        self.run_button.setEnabled(False)
        self.busy.show()
        labgpu, start, end = self.labgpu, self.start, self.end
        run_task(lambda: labgpu.usage.what_if(text, start, end), self._done, self)

    def running(self) -> bool:
        """True while a replay runs."""
        return not self.busy.isHidden()

    def _done(self, result: WhatIf | None, error: BaseException | None) -> None:
        self.run_button.setEnabled(True)
        self.busy.hide()
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", error=True)
            return
        if result is not None:
            self.show_result(result)

    def show_result(self, result: WhatIf) -> None:
        """Fill the table and the notes from ``result``."""
        self.answer = result
        if result.changes:
            change = ", ".join(c.text() for c in result.changes)
            title = self.tr("{change}: {before} → {after} GPUs").format(
                change=change, before=result.gpus_before, after=result.gpus_after
            )
        else:
            title = self.tr("No change: the lab replayed as it is ({n} GPUs)").format(
                n=result.gpus_before
            )
        self.title.setText(title)
        columns = (result.happened, result.replayed, result.changed)
        for column, figures in enumerate(columns):
            for row, (field, hours) in enumerate(FIELDS):
                item = QTableWidgetItem(_cell(figures, field, hours))
                item.setTextAlignment(RIGHT)
                self.table.setItem(row, column, item)
        notes = [
            self.tr(
                "“Replayed as is” is the replay without the change: where it differs from what "
                "happened, the replay could not know something (a server down, unbooked use)."
            )
        ]
        if result.not_reproduced and result.method == "monotone":
            notes.append(
                self.tr(
                    "{n} requests the replay could not reproduce (it answered them worse than "
                    "the lab did) keep what really happened in “With the change”, unless the "
                    "change serves them sooner."
                ).format(n=result.not_reproduced)
            )
        elif result.not_reproduced:
            notes.append(
                self.tr(
                    "{n} requests the replay could not reproduce (it answered them worse than "
                    "the lab did): with GPUs removed, their figures are the replay's."
                ).format(n=result.not_reproduced)
            )
        if result.method == "monotone":
            notes.append(
                self.tr(
                    "With GPUs added a request only moves to time nobody else's slot needs: no "
                    "wait grows, none exceeds what really happened; the figures are what the "
                    "GPUs would at least have changed."
                )
            )
        if result.refused:
            notes.append(
                self.tr("Not counted: requests a lab rule refused or held back ({n}).").format(
                    n=result.refused
                )
            )
        self.notes.setText(" ".join(notes))


def _local(moment: datetime) -> str:
    return local_text(moment.astimezone(), "yyyy-MM-dd HH:mm")


def _cell(figures: Figures, field: str, hours: bool) -> str:
    value = getattr(figures, field)
    if value is None:
        return "–"
    return f"{value:,.1f}" if hours else f"{value:,}"
