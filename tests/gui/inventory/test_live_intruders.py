"""The Live view flags a GPU used by someone other than its holder (issue 15, point 5): a
member by name, a container nobody owns as such — never as a member."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pytestqt.qtbot import QtBot

from labgpu.core.inventory.servers import GpuProcess
from labgpu.gui.booking.calendar_data import load_live_marks
from labgpu.gui.shell.main_window import MainWindow
from labgpu.services import Labgpu
from tests.gui.conftest import make_probe

pytestmark = pytest.mark.gui


def gpu_id(lab: Labgpu, label: str) -> int:
    server, _, index = label.partition(":")
    [gpu] = [
        g for g in lab.inventory.list_gpus() if (g.server_name, g.index) == (server, int(index))
    ]
    assert gpu.id is not None
    return gpu.id


def test_others_on_a_held_gpu_are_flagged_and_an_unknown_owner_stays_unknown(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    probe = make_probe("gpu-01", "NVIDIA RTX A4000", 16376, {0: "alice"})
    container = GpuProcess(
        probe.gpus[1].uuid, 4242, 900, "python", None, 60, "python vit.py", "vit-train", "docker"
    )
    sample_lab.store.inventory.store_probe(
        "gpu-01", replace(probe, processes=(*probe.processes, container))
    )
    now = datetime.now(UTC)
    for label in ("gpu-01:0", "gpu-01:1"):
        sample_lab.bookings.book([gpu_id(sample_lab, label)], now, now + timedelta(hours=2))
    marks = load_live_marks(sample_lab)
    assert marks.unbooked["gpu-01:0"] == "alice"
    assert marks.unbooked["gpu-01:1"] == "owner unknown (container vit-train)"
    window.refresh_marks()
    model = window.live_page.live.model
    assert window.snapshot is not None
    gpus = {(g.server, g.index): g for g in window.snapshot.gpus}
    qtbot.waitUntil(
        lambda: "⚠ alice runs here" in model.booked_text(gpus["gpu-01", 0]), timeout=10_000
    )
    assert model.booked_text(gpus["gpu-01", 1]) == (
        "tester · ⚠ owner unknown (container vit-train) runs here"
    )
    # The calendar flags the same blocks.
    from labgpu.gui.booking.calendar_data import load_calendar
    from labgpu.gui.booking.calendar_paint import booking_caption

    data = load_calendar(sample_lab, now - timedelta(hours=1), now + timedelta(hours=3))
    flagged = {
        b.gpu_label: booking_caption(b, other=data.intruded[(b.group_id, b.gpu_id)])
        for b in data.bookings
        if (b.group_id, b.gpu_id) in data.intruded
    }
    assert flagged == {
        "gpu-01:0": "tester  ⚠ alice runs here",
        "gpu-01:1": "tester  ⚠ owner unknown (container vit-train) runs here",
    }
    window.calendar_page.grab().save("/tmp/issue15_calendar_intruders.png")


def test_the_holder_is_told_once(qtbot: QtBot, sample_lab: Labgpu, window: MainWindow) -> None:
    from labgpu.gui.shell.notifier import Notifier

    now = datetime.now(UTC)
    sample_lab.bookings.book([gpu_id(sample_lab, "gpu-01:0")], now, now + timedelta(hours=2))
    notifier = Notifier(sample_lab, window.settings)
    seen: list[str] = []
    notifier.message.connect(seen.append)
    for _ in range(2):
        notifier.check()
        qtbot.waitUntil(lambda: not notifier.is_checking(), timeout=10_000)
    assert seen == ["alice uses a GPU you hold: gpu-01:0"]


def test_the_rules_page_keeps_the_intruder_rule(
    qtbot: QtBot, sample_lab: Labgpu, window: MainWindow
) -> None:
    from PySide6.QtCore import Qt

    from labgpu.core.booking.rules import BookingRules
    from labgpu.gui.shell.main_window import RULES

    window.show_page(RULES)
    page = window.rules_page
    qtbot.waitUntil(lambda: page.gpu_list.count() == 12, timeout=10_000)
    assert page.intruders.currentData() == "show"
    assert not page.intruder_grace.isEnabled()
    page.intruders.setCurrentIndex(page.intruders.findData("stop"))
    assert page.intruder_grace.isEnabled()
    page.intruder_grace.setValue(3)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sample_lab.rules.current().intruder_action == "stop", timeout=10_000)
    assert sample_lab.rules.current().intruder_grace_minutes == 3
    page.show_rules(BookingRules())
    page.reload()
    qtbot.waitUntil(lambda: page.intruders.currentData() == "stop", timeout=10_000)
    assert page.intruder_grace.value() == 3
