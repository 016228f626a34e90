"""The busy helpers: one read in flight at a time (a wish meanwhile is read once when it ends),
and a bar with no percentage."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from labgpu.gui.widgets.busy import SingleRead, busy_bar

pytestmark = pytest.mark.gui


def test_one_read_at_a_time_and_wishes_meanwhile_read_once() -> None:
    shown: list[bool] = []
    read = SingleRead(shown.append)
    assert read.begin()
    assert read.running()
    assert not read.begin()  # two wishes while it runs...
    assert not read.begin()
    assert read.end()  # ...read once more, not twice
    assert not read.running()
    assert read.begin()
    assert not read.end()  # nothing asked for meanwhile
    assert shown == [True, False, True, False]


def test_busy_bar_moves_without_a_percentage(qtbot: QtBot) -> None:
    bar = busy_bar()
    qtbot.addWidget(bar)
    assert (bar.minimum(), bar.maximum()) == (0, 0)
    assert not bar.isTextVisible()
