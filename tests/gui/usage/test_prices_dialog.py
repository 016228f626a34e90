"""Usage ▸ Prices…: managers see the button and save the table's changes (a bad cell says which
model and changes nothing); a student sees no button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labgpu.gui.shell.worker import tasks_in_flight
from labgpu.gui.usage.prices_dialog import PricesDialog, prices_button
from labgpu.services import Labgpu
from tests.helpers.usage_data import A40, A4000, seed_usage


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Labgpu]:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    lab = Labgpu(url)
    lab.open()
    yield lab
    lab.close()


def test_a_manager_edits_prices(qtbot: QtBot, lab: Labgpu) -> None:
    lab.usage.prices.set(A40, {"cloud_per_gpu_h": 1.1}, "boss", "manager")
    dialog = PricesDialog(lab)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2 and tasks_in_flight() == 0)
    assert [dialog.table.item(r, 0).text() for r in range(2)] == [A40, A4000]  # type: ignore[union-attr]
    assert dialog.table.item(0, 2).text() == "1.1"  # type: ignore[union-attr]
    dialog.table.item(1, 2).setText("0.35")  # type: ignore[union-attr]
    dialog.table.item(1, 4).setText("-5")  # type: ignore[union-attr]
    dialog.save()
    assert f"{A4000}: a price is a number of 0 or more" in dialog.message.text()
    assert [p.model for p in lab.usage.prices.list()] == [A40]
    dialog.table.item(1, 4).setText("2500")  # type: ignore[union-attr]
    dialog.table.item(0, 2).setText("")  # clears the A40's cloud price
    assert dialog.changes() == {
        A40: {"cloud_per_gpu_h": None},
        A4000: {"cloud_per_gpu_h": 0.35, "purchase_per_gpu": 2500.0},
    }
    dialog.save()
    qtbot.waitUntil(lambda: "Saved the prices of 2 model(s)." in dialog.message.text())
    prices = {p.model: p for p in lab.usage.prices.list()}
    assert prices[A40].cloud_per_gpu_h is None
    assert (prices[A4000].cloud_per_gpu_h, prices[A4000].purchase_per_gpu) == (0.35, 2500.0)
    assert prices[A4000].currency == "USD"


@pytest.mark.parametrize(("manager", "shown"), [(True, True), (False, False)])
def test_the_button_is_for_managers(
    qtbot: QtBot, lab: Labgpu, monkeypatch: pytest.MonkeyPatch, manager: bool, shown: bool
) -> None:
    monkeypatch.setattr(lab.members, "can_manage", lambda: manager)
    parent = QWidget()
    qtbot.addWidget(parent)
    button = prices_button(lab, parent)
    parent.show()
    qtbot.waitUntil(lambda: tasks_in_flight() == 0)
    qtbot.wait(50)
    assert button.isVisible() is shown
