"""*Use…* a booking: per server, the member's own ``ssh`` line and the environment that shows a
job exactly the booked GPUs, each with a Copy button (the same as ``labgpu use ID``)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.use import UsePlan
from labgpu.gui.booking.my_bookings import window_text
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu


class UseDialog(QDialog):
    """How to use one booking, read on a worker when the dialog opens."""

    def __init__(self, labgpu: Labgpu, group_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.group_id = group_id
        self.plan: UsePlan | None = None
        #: The text of each line shown, in order (ssh, export, ssh, export, ...), for tests.
        self.lines: list[QLineEdit] = []
        self.copy_buttons: list[QPushButton] = []
        self.setWindowTitle(self.tr("Use booking"))
        self.setMinimumWidth(640)
        layout = QVBoxLayout(self)
        self.heading = QLabel(self.tr("Reading the booking…"))
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.grid = QGridLayout()
        layout.addLayout(self.grid)
        self.hint = QLabel(
            self.tr(
                "Log in with the first line, then run the second on the server before your "
                "job: CUDA then sees exactly the booked GPUs, named by their uuids."
            )
        )
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.hint.hide()
        layout.addWidget(self.hint)
        self.message = InlineMessage(self, problems_only=True, hide_empty=True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        run_task(lambda: self.labgpu.bookings.use(group_id), self._loaded, context=self)

    def _loaded(self, plan: UsePlan | None, error: BaseException | None) -> None:
        if error is not None or plan is None:
            self.heading.setText(self.tr("This booking cannot be used."))
            self.message.show_message((handle_error(self, error) or "") if error else "")
            return
        self.plan = plan
        self.heading.setText(
            self.tr("Booking of {user}, {when}").format(
                user=plan.group.user, when=window_text(plan.group.window)
            )
        )
        row = 0
        for use in plan.servers:
            labels = ", ".join(f"{use.server}:{g.index}" for g in use.gpus)
            title = QLabel(self.tr("{server} ({gpus})").format(server=use.server, gpus=labels))
            title.setObjectName("sectionTitle")
            self.grid.addWidget(title, row, 0, 1, 2)
            row += 1
            for text in (use.ssh, use.exports):
                self._add_line(text, row)
                row += 1
        self.hint.show()

    def _add_line(self, text: str, row: int) -> None:
        line = QLineEdit(text)
        line.setReadOnly(True)
        line.setCursorPosition(0)
        button = QPushButton(self.tr("Copy"))
        button.clicked.connect(lambda _=False, t=text: self._copy(t))
        self.grid.addWidget(line, row, 0)
        self.grid.addWidget(button, row, 1)
        self.lines.append(line)
        self.copy_buttons.append(button)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        for line, button in zip(self.lines, self.copy_buttons, strict=True):
            button.setText(self.tr("Copied") if line.text() == text else self.tr("Copy"))
