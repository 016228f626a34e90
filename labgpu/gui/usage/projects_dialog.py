"""*Projects…* on the Usage page (issue 16, point 4): the lab's projects and grants, added and
retired by a manager. Every read and change runs on a worker; a refusal shows inline."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.usage.projects import Project
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu


def projects_button(labgpu: Labgpu, parent: QWidget) -> QPushButton:
    """The Usage page's "Projects…" button: hidden until a worker has read that the signed-in
    member manages the lab; it opens ``ProjectsDialog``."""
    button = QPushButton(QCoreApplication.translate("ProjectsDialog", "Projects…"), parent)
    button.setToolTip(
        QCoreApplication.translate("ProjectsDialog", "The projects and grants work is booked for")
    )
    button.hide()

    def open_dialog() -> None:
        dialog = ProjectsDialog(labgpu, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        reload = getattr(parent, "reload", None)  # the Usage page shows the figures afresh
        if callable(reload):
            dialog.changed.connect(reload)
        dialog.open()

    button.clicked.connect(open_dialog)

    def shown(manager: bool | None, error: BaseException | None) -> None:
        button.setVisible(bool(manager) and error is None)

    run_task(labgpu.members.can_manage, shown, button)
    return button


class ProjectsDialog(QDialog):
    """The list (active and retired), a name and title to add, Retire/Reactivate the row."""

    changed = Signal()

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.projects: list[Project] = []
        self.setWindowTitle(self.tr("Projects"))
        self.resize(620, 420)
        intro = QLabel(
            self.tr(
                "Bookings and offloaded jobs may name a project; the Usage page and the monthly "
                "report show GPU-hours per project. A retired project keeps its history but new "
                "work cannot name it."
            )
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Title"), self.tr("State")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(self.tr("name, e.g. nrf-2026"))
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(self.tr("title, e.g. the grant's full name"))
        self.add_button = QPushButton(self.tr("Add"))
        self.retire_button = QPushButton(self.tr("Retire"))
        self.retire_button.setEnabled(False)
        self.message = InlineMessage(hide_empty=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        adding = QHBoxLayout()
        adding.addWidget(self.name_edit, 1)
        adding.addWidget(self.title_edit, 2)
        adding.addWidget(self.add_button)
        row = QHBoxLayout()
        row.addWidget(self.retire_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(adding)
        layout.addWidget(self.message)
        layout.addLayout(row)
        self.add_button.clicked.connect(self.add)
        self.name_edit.returnPressed.connect(self.add)
        self.retire_button.clicked.connect(self.toggle)
        self.table.itemSelectionChanged.connect(self._selected)
        self.reload()

    def reload(self) -> None:
        """Read every project on a worker."""
        labgpu = self.labgpu
        run_task(lambda: labgpu.projects.list(), self._show, self)

    def _show(self, projects: list[Project] | None, error: BaseException | None) -> None:
        if error is not None:
            self.message.show_message(handle_error(self, error) or "", error=True)
            return
        self.projects = list(projects or [])
        self.table.setRowCount(len(self.projects))
        for row, project in enumerate(self.projects):
            state = self.tr("active") if project.active else self.tr("retired")
            for column, text in enumerate((project.name, project.title, state)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self._selected()

    def selected(self) -> Project | None:
        """The project of the selected row."""
        rows = {i.row() for i in self.table.selectedItems()}
        return self.projects[rows.pop()] if len(rows) == 1 else None

    def _selected(self) -> None:
        project = self.selected()
        self.retire_button.setEnabled(project is not None)
        active = project is None or project.active
        self.retire_button.setText(self.tr("Retire") if active else self.tr("Reactivate"))

    def add(self) -> None:
        """Add the project named in the fields (a worker); the fields clear once it is in."""
        name, title = self.name_edit.text().strip(), self.title_edit.text().strip()
        if not name:
            self.message.show_message(self.tr("Give the project a name."), error=True)
            return
        labgpu = self.labgpu
        self._change(lambda: labgpu.projects.add(name, title), clear=True)

    def toggle(self) -> None:
        """Retire the selected project, or make a retired one active again."""
        project = self.selected()
        if project is None:
            return
        labgpu, name, retire = self.labgpu, project.name, project.active
        self._change(
            lambda: labgpu.projects.retire(name) if retire else labgpu.projects.reactivate(name)
        )

    def _change(self, work: Callable[[], Project], clear: bool = False) -> None:
        self.add_button.setEnabled(False)
        self.retire_button.setEnabled(False)

        def done(project: Project | None, error: BaseException | None) -> None:
            self.add_button.setEnabled(True)
            if error is not None:
                self.message.show_message(handle_error(self, error) or "", error=True)
                self._selected()
                return
            if clear:
                self.name_edit.clear()
                self.title_edit.clear()
            self.message.clear()
            self.changed.emit()
            self.reload()

        run_task(work, done, self)
