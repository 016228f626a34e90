"""The Project field of the booking, earliest-slot and cluster submit dialogs (issue 16,
point 4): "(none)" and the lab's active projects, the member's default project chosen.

The list and the default are read on a worker; until they arrive the box shows "(none)" and is
disabled, and a read that fails leaves it so, with the reason as its tool tip.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from labgpu.core.usage.projects import Project
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.services import Labgpu

#: What the worker reads: the active projects and the member's default project.
Choices = tuple[list[Project], str | None]


def read_choices(labgpu: Labgpu) -> Choices:
    """The active projects and this member's default one (on a worker: SQL)."""
    projects = labgpu.projects
    return projects.list(include_retired=False), projects.default()


class ProjectCombo(QComboBox):
    """A non-editable choice of project; ``project()`` is None for "(none)"."""

    def __init__(self, labgpu: Labgpu | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(False)
        self.addItem(self.tr("(none)"), "")
        self.setEnabled(False)
        self.setToolTip(self.tr("The project or grant this work is for"))
        if labgpu is not None:
            run_task(lambda: read_choices(labgpu), self._fill, context=self)

    def project(self) -> str | None:
        """The chosen project's name, or None."""
        return str(self.currentData() or "") or None

    def set_choices(self, projects: list[Project], default: str | None) -> None:
        """List ``projects`` after "(none)" and choose ``default`` (if listed)."""
        while self.count() > 1:
            self.removeItem(1)
        for project in projects:
            label = f"{project.name} — {project.title}" if project.title else project.name
            self.addItem(label, project.name)
        found = self.findData(default) if default else -1
        self.setCurrentIndex(max(found, 0))
        self.setEnabled(True)

    def _fill(self, choices: Choices | None, error: BaseException | None) -> None:
        if error is not None:
            self.setToolTip(handle_error(self, error) or "")
            return
        if choices is not None:
            self.set_choices(*choices)
