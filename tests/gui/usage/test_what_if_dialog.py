"""Usage ▸ What if…: the dialog replays a history booked for real on a worker and shows what
happened, the replay as is and the replay with the change; a change that is not one says
the grammar and runs nothing; the Usage page has the button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from labgpu.core.usage.what_if import what_if
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.usage.usage_page import UsagePage
from labgpu.gui.usage.what_if_dialog import WhatIfDialog
from labgpu.services import Labgpu
from labgpu.storage import Store
from tests.helpers.booking_lab import seed_lab
from tests.usage.test_what_if import _unreproduced_history
from tests.usage.what_if_cases import T0, book_history

pytestmark = pytest.mark.gui

START, END = T0 - timedelta(hours=1), T0 + timedelta(hours=23)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Labgpu]:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    (tmp_path / "db").mkdir()
    store = Store(url)
    store.upgrade()
    seed_lab(store)
    book_history(store)
    store.close()
    lab = Labgpu(url)
    lab.open()
    yield lab
    lab.close()


def _column(dialog: WhatIfDialog, column: int) -> list[str]:
    cells = [dialog.table.item(row, column) for row in range(dialog.table.rowCount())]
    return [c.text() if c is not None else "" for c in cells]


def test_run_shows_the_three_columns(qtbot: QtBot, lab: Labgpu) -> None:
    dialog = WhatIfDialog(lab, START, END)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.change.count() == 2)  # the lab's two models offered
    assert dialog.change.itemText(0) == "+4 NVIDIA A40"
    dialog.change.setEditText("+4 A4000, +2 A40")
    dialog.run_button.click()
    assert dialog.running()
    assert not dialog.run_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=20000)
    assert not dialog.running()
    assert dialog.run_button.isEnabled()
    # requests, no slot, median, p90, unmet, unmet GPU-h, offloaded, stayed home
    # (the figures of tests/usage/test_what_if_cli.py)
    happened = ["9", "0", "3.4", "5.5", "6", "31.0", "0.0", "0.0"]
    assert _column(dialog, 0) == happened
    assert _column(dialog, 1) == happened
    assert _column(dialog, 2) == ["9", "0", "0.0", "3.4", "3", "19.0", "0.0", "0.0"]
    assert "+4 NVIDIA RTX A4000, +2 NVIDIA A40: 10 → 16 GPUs" in dialog.title.text()
    assert "refused or held back (1)" in dialog.notes.text()
    assert "could not reproduce" not in dialog.notes.text()  # this replay gives the record back


def test_requests_the_replay_could_not_reproduce_are_said(qtbot: QtBot, lab: Labgpu) -> None:
    dialog = WhatIfDialog(lab, START, END)
    qtbot.addWidget(dialog)
    history, jobs = _unreproduced_history()
    dialog.show_result(what_if(history, "+2 A40", START, END, jobs))
    # dee's 2 h wait in the replay as is: unmet there; with the change she keeps her 08:00.
    assert _column(dialog, 1)[4:6] == ["3", "4.0"]
    assert _column(dialog, 2)[4:6] == ["0", "0.0"]
    assert "1 requests the replay could not reproduce" in dialog.notes.text()
    assert "keep what really happened" in dialog.notes.text()
    dialog.show_result(what_if(history, "-1 A40", START, END, jobs))
    assert "with GPUs removed, their figures are the replay's" in dialog.notes.text()


def test_a_change_that_is_not_one_says_the_grammar(qtbot: QtBot, lab: Labgpu) -> None:
    dialog = WhatIfDialog(lab, START, END)
    qtbot.addWidget(dialog)
    dialog.change.setEditText("8 A40")
    dialog.run_button.click()
    assert not dialog.running()
    assert '"+8 A40"' in dialog.message.text()
    assert dialog.answer is None


def test_removing_more_than_the_lab_has_is_said_inline(qtbot: QtBot, lab: Labgpu) -> None:
    dialog = WhatIfDialog(lab, START, END)
    qtbot.addWidget(dialog)
    dialog.change.setEditText("-5 A40")
    dialog.run_button.click()
    assert dialog.running()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=20000)
    assert "cannot remove 5 x NVIDIA A40: the lab has 2" in dialog.message.text()


def test_the_usage_page_opens_it_on_its_period(qtbot: QtBot, lab: Labgpu) -> None:
    page = UsagePage(lab, open_settings(), clock=lambda: END)
    qtbot.addWidget(page)
    buttons = [b for b in page.findChildren(QPushButton) if b.text() == "What if…"]
    assert len(buttons) == 1
    buttons[0].click()
    dialogs = page.findChildren(WhatIfDialog)
    assert len(dialogs) == 1
    assert (dialogs[0].start, dialogs[0].end) == page.bounds()
