"""Projects in the app (issue 16, point 4): the Project box of the booking, find-a-slot and
cluster submit dialogs (active projects, the member's default chosen), the managers' Projects
dialog, and the Usage page's Projects tab."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from labgpu.core.usage.figures import read_csv
from labgpu.gui.booking.booking_dialog import BookingDialog
from labgpu.gui.offload.submit_dialog import SubmitJobDialog
from labgpu.gui.shell.main_window import MainWindow
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.shell.worker import tasks_in_flight
from labgpu.gui.usage.projects_combo import ProjectCombo
from labgpu.gui.usage.projects_dialog import ProjectsDialog, projects_button
from labgpu.gui.usage.projects_table import ProjectsTable
from labgpu.gui.usage.usage_page import PROJECTS, UsagePage
from labgpu.services import Labgpu
from labgpu.storage import Store
from tests.helpers.usage_data import BASE, END
from tests.usage.test_projects import seed_projects

pytestmark = pytest.mark.gui


def soon(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def items(box: ProjectCombo) -> list[str]:
    return [box.itemText(i) for i in range(box.count())]


def with_projects(lab: Labgpu) -> None:
    """p1 (titled), p2, a retired p3; the member's newest booking names p2."""
    lab.projects.add("p1", "Grant one")
    lab.projects.add("p2")
    lab.projects.add("p3")
    lab.projects.retire("p3")
    gpu = next(g for g in lab.inventory.list_gpus() if g.server_name == "gpu-02")
    assert gpu.id is not None
    lab.bookings.book([gpu.id], soon(30), soon(31), "", "p2")


def test_the_booking_dialog_offers_active_projects_and_books_for_the_one_chosen(
    qtbot: QtBot, sample_lab: Labgpu
) -> None:
    with_projects(sample_lab)
    gpus = sample_lab.inventory.list_gpus()
    gpu = next(g for g in gpus if g.server_name == "gpu-01" and g.index == 3)
    assert gpu.id is not None
    dialog = BookingDialog(sample_lab, gpus, [gpu.id], soon(2), soon(4))
    qtbot.addWidget(dialog)
    box = dialog.project_box
    assert not box.isEnabled()  # until the worker has read the list
    qtbot.waitUntil(box.isEnabled, timeout=10_000)
    assert not box.isEditable()
    assert items(box) == ["(none)", "p1 — Grant one", "p2"]  # the retired p3 is not offered
    assert box.project() == "p2"  # the default: the newest booking's
    box.setCurrentIndex(1)
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10_000)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.result() == BookingDialog.DialogCode.Accepted, timeout=10_000)
    booked = [b for b in sample_lab.bookings.between(mine=True) if b.gpu_id == gpu.id]
    assert [b.booking.project for b in booked] == ["p1"]


def test_none_is_a_choice_and_a_lab_without_projects_offers_only_it(
    qtbot: QtBot, sample_lab: Labgpu
) -> None:
    box = ProjectCombo(sample_lab)
    qtbot.addWidget(box)
    qtbot.waitUntil(box.isEnabled, timeout=10_000)
    assert (items(box), box.project()) == (["(none)"], None)
    with_projects(sample_lab)
    again = ProjectCombo(sample_lab)
    qtbot.addWidget(again)
    qtbot.waitUntil(again.isEnabled, timeout=10_000)
    again.setCurrentIndex(0)
    assert again.project() is None


def test_find_a_slot_searches_and_books_for_the_project(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    with_projects(sample_lab)
    page = window.calendar_page
    qtbot.waitUntil(lambda: page.data is not None and not page.is_loading(), timeout=10_000)
    dialog = page.open_find_slot()
    qtbot.waitUntil(dialog.project_box.isEnabled, timeout=10_000)
    assert dialog.project_box.project() == "p2"
    dialog.project_box.setCurrentIndex(dialog.project_box.findData("p1"))
    dialog.model.setCurrentIndex(dialog.model.findData("NVIDIA RTX A4000"))
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10_000)
    assert dialog.options, dialog.message.text()
    asked = sample_lab.usage.requests(soon(-1), soon(1))
    assert [r.project for r in asked] == ["p1"]
    qtbot.mouseClick(dialog.book_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=10_000)
    mine = sample_lab.bookings.between(mine=True)
    assert sorted(str(b.booking.project) for b in mine) == ["p1", "p2"]


def test_the_submit_dialog_offers_projects(qtbot: QtBot, sample_lab: Labgpu) -> None:
    with_projects(sample_lab)
    dialog = SubmitJobDialog(sample_lab.offload, [], lambda _c, fn: fn(), projects=sample_lab)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.project_box.isEnabled, timeout=10_000)
    assert items(dialog.project_box) == ["(none)", "p1 — Grant one", "p2"]
    assert dialog.project_box.project() == "p2"
    # Without a lab to ask (an old caller), the box offers no project.
    bare = SubmitJobDialog(sample_lab.offload, [], lambda _c, fn: fn())
    qtbot.addWidget(bare)
    assert (items(bare.project_box), bare.project_box.isEnabled()) == (["(none)"], False)


def test_a_manager_adds_retires_and_reactivates_in_the_projects_dialog(
    qtbot: QtBot, lab: Labgpu
) -> None:
    dialog = ProjectsDialog(lab)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: tasks_in_flight() == 0)
    assert dialog.table.rowCount() == 0
    dialog.add()
    assert dialog.message.text() == "Give the project a name."
    dialog.name_edit.setText("nrf-2026")
    dialog.title_edit.setText("NRF grant")
    dialog.add()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and tasks_in_flight() == 0)
    assert [dialog.table.item(0, c).text() for c in range(3)] == ["nrf-2026", "NRF grant", "active"]  # type: ignore[union-attr]
    assert dialog.name_edit.text() == ""
    dialog.name_edit.setText("Bad Name")
    dialog.add()
    qtbot.waitUntil(lambda: "not a usable project name" in dialog.message.text())
    assert dialog.name_edit.text() == "Bad Name"  # kept, to fix
    dialog.table.selectRow(0)
    assert dialog.retire_button.text() == "Retire"
    dialog.toggle()
    qtbot.waitUntil(lambda: dialog.table.item(0, 2).text() == "retired")  # type: ignore[union-attr]
    assert lab.projects.get("nrf-2026").active is False  # type: ignore[union-attr]
    dialog.table.selectRow(0)
    assert dialog.retire_button.text() == "Reactivate"
    dialog.toggle()
    qtbot.waitUntil(lambda: dialog.table.item(0, 2).text() == "active")  # type: ignore[union-attr]


def test_a_member_who_is_not_a_manager_is_refused_inline(
    qtbot: QtBot, lab: Labgpu, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab.bookings, "can_manage", lambda: False)
    dialog = ProjectsDialog(lab)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("mine")
    dialog.add()
    qtbot.waitUntil(lambda: "only a lab manager can add projects" in dialog.message.text())
    assert lab.projects.list() == []


@pytest.mark.parametrize(("manager", "shown"), [(True, True), (False, False)])
def test_the_projects_button_is_for_managers(
    qtbot: QtBot, lab: Labgpu, monkeypatch: pytest.MonkeyPatch, manager: bool, shown: bool
) -> None:
    monkeypatch.setattr(lab.members, "can_manage", lambda: manager)
    parent = QWidget()
    qtbot.addWidget(parent)
    button = projects_button(lab, parent)
    parent.show()
    qtbot.waitUntil(lambda: tasks_in_flight() == 0)
    qtbot.wait(50)
    assert button.isVisible() is shown


@pytest.fixture
def usage_lab(tmp_path: Path) -> Iterator[Labgpu]:
    url = f"sqlite:///{tmp_path / 'db' / 'usage.db'}"
    store = Store(url)
    store.upgrade()
    seed_projects(store)
    store.close()
    lab = Labgpu(url)
    lab.open()
    yield lab
    lab.close()


def test_the_projects_table_shows_the_usage_by_project(qtbot: QtBot, usage_lab: Labgpu) -> None:
    """The figures of ``tests/usage/test_projects.py``'s hand-computed table."""
    table = ProjectsTable(usage_lab)
    qtbot.addWidget(table)
    table.load(BASE, END)
    qtbot.waitUntil(lambda: table.grid.rowCount() == 4, timeout=10_000)
    cells = [
        [table.grid.item(r, c).text() for c in range(8)]  # type: ignore[union-attr]
        for r in range(4)
    ]
    assert cells == [
        ["idle", "", "0.00", "0.00", "0", "–", "0.00", "0.00"],
        ["kaist", "KAIST grant", "1.00", "0.00", "4", "0.25", "1.00", "0.00"],
        ["nrf", "NRF", "2.00", "2.00", "2", "1.00", "0.00", "18.00"],
        ["(none)", "", "0.00", "2.00", "1", "–", "2.00", "1.00"],
    ]
    assert table.table.rows[2][7] == 18.0  # the CSV keeps the figures as they are


def test_the_usage_page_has_a_projects_tab_with_the_cli_figures(
    qtbot: QtBot, usage_lab: Labgpu, tmp_path: Path
) -> None:
    page = UsagePage(usage_lab, open_settings(), clock=lambda: END + timedelta(hours=3))
    qtbot.addWidget(page)
    page.set_custom(QDate(2026, 3, 1), QDate(2026, 3, 3))
    qtbot.waitUntil(lambda: page.view is not None and not page.is_loading(), timeout=20_000)
    qtbot.waitUntil(lambda: page.projects.grid.rowCount() == 4, timeout=10_000)
    page.tabs.setCurrentIndex(PROJECTS)
    assert page.tabs.tabText(PROJECTS) == "Projects"
    expected = usage_lab.usage.table("project", *page.bounds())  # `usage --by project`'s
    assert page.current_table() == expected
    assert [row[0] for row in expected.rows] == ["idle", "kaist", "nrf", "(none)"]
    path = tmp_path / "projects.csv"
    assert page.export_csv(path)
    assert read_csv(path.read_text()).rows[2][:3] == ("nrf", "NRF", "2.0")
    assert page._file_name("csv") == "labgpu-usage-projects-2026-03-01-2026-03-03.csv"


def test_a_project_added_from_the_usage_page_shows_in_its_table(
    qtbot: QtBot, usage_lab: Labgpu
) -> None:
    page = UsagePage(usage_lab, open_settings(), clock=lambda: END + timedelta(hours=3))
    qtbot.addWidget(page)
    page.show()
    page.set_custom(QDate(2026, 3, 1), QDate(2026, 3, 3))
    qtbot.waitUntil(lambda: page.projects.grid.rowCount() == 4, timeout=20_000)
    button = next(b for b in page.findChildren(QPushButton) if b.text() == "Projects…")
    qtbot.waitUntil(button.isVisible, timeout=10_000)  # the single seat's user manages
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = page.findChild(ProjectsDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 4, timeout=10_000)  # the retired one too
    dialog.name_edit.setText("new-grant")
    dialog.add()
    qtbot.waitUntil(lambda: page.projects.grid.rowCount() == 5, timeout=20_000)
    names = [page.projects.grid.item(r, 0).text() for r in range(5)]  # type: ignore[union-attr]
    assert names == ["idle", "kaist", "new-grant", "nrf", "(none)"]
