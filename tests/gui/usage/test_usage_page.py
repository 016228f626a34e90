"""The Usage page on a known history in a real SQLite store: the numbers drawn are right,
ranges and groupings switch, CSV export round-trips, and an empty lab says so."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QDate
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult, SshTarget
from labgpu.core.offload.jobs import Cluster, JobState, OffloadJob
from labgpu.core.usage.figures import SlotRequest, read_csv
from labgpu.gui.shell.main_window import USAGE, MainWindow
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.usage.usage_page import HEATMAP, MEMBERS, OFFLOADED, UTILISATION, UsagePage
from labgpu.services import Labgpu
from labgpu.services.booking.service import BookingService

pytestmark = pytest.mark.gui

BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
NOW = BASE + timedelta(hours=3)
A4000, A40 = "NVIDIA RTX A4000", "NVIDIA A40"
# server -> [(uuid, model, util in hour 0, util in hour 1, user of its process or None)]
GPUS = {
    "gpu-01": [("GPU-a", A4000, 80.0, 80.0, "alice"), ("GPU-b", A4000, 0.0, 50.0, "bob")],
    "gpu-02": [("GPU-c", A40, 20.0, 20.0, "carol")],
}


def _probes(server: str) -> list[ProbeResult]:
    """A sample every 30 s for two hours; bob's GPU idles (no process) in the first hour."""
    probes = []
    for n in range(240):
        at = BASE + timedelta(seconds=30 * n + 1)
        hour = n // 120
        readings, processes = [], []
        for index, (uuid, model, util0, util1, user) in enumerate(GPUS[server]):
            util = util1 if hour else util0
            readings.append(GpuReading(index, uuid, model, 16376, 1000, util, 40.0, 80.0))
            if util > 0:
                processes.append(GpuProcess(uuid, 100 + index, 900, "python", user))
        probes.append(ProbeResult(server, at, tuple(readings), tuple(processes)))
    return probes


def _fill(lab: Labgpu) -> None:
    store = lab.store
    for server, gpus in GPUS.items():
        readings = [
            GpuReading(i, uuid, model, 16376, None, None, None, None)
            for i, (uuid, model, *_rest) in enumerate(gpus)
        ]
        store.inventory.register_server(server, SshTarget(f"{server}.lab"), readings, "alice")
        store.inventory.store_probes(server, _probes(server))
    lab.usage.rollup(NOW)
    ids = {g.uuid: g.id for g in store.inventory.list_gpus()}
    for user, uuid in (("alice", "GPU-a"), ("bob", "GPU-b")):
        service = BookingService(store, user, clock=lambda: BASE - timedelta(hours=1))
        service.book([ids[uuid]], BASE, BASE + timedelta(hours=2), "test")
    asked = BASE + timedelta(minutes=30)
    lab.usage.record_request(
        SlotRequest("dave", A40, 2, 4.0, asked, asked, BASE + timedelta(hours=5))
    )
    lab.usage.record_request(SlotRequest("bob", A4000, 1, 96.0, asked, asked, None, "max_hours"))
    lab.offload.add_cluster(Cluster("neuron", "neuron.example", "kim01"))
    job = store.offload.add_job(
        OffloadJob(0, "job-1", "neuron", "carol", JobState.SUBMITTING, 2, "a100", 4.0,
                   "python train.py", "/home/carol", "/r/w", "/r/j", "#!/bin/sh", BASE)
    )  # fmt: skip
    store.offload.update_job(job.id, state=JobState.COMPLETED, elapsed_s=3 * 3600)


@pytest.fixture
def page(qtbot: QtBot, lab: Labgpu) -> UsagePage:
    _fill(lab)
    widget = UsagePage(lab, open_settings(), clock=lambda: NOW)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def _load(qtbot: QtBot, page: UsagePage) -> None:
    qtbot.waitUntil(lambda: page.view is not None and not page.is_loading(), timeout=20_000)


def _data(curve: object) -> tuple[list[float], list[float]]:
    xs, ys = curve.getData()  # type: ignore[attr-defined]
    return [float(x) for x in xs], [round(float(y), 3) for y in ys]


def test_lab_utilisation_and_busy_gpus(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    hours = [BASE.timestamp(), BASE.timestamp() + 3600]
    assert _data(page.utilisation.util_curves["lab"]) == (hours, [33.333, 50.0])
    assert _data(page.utilisation.busy_curves["lab"]) == (hours, [2.0, 3.0])
    assert not page.is_empty(UTILISATION)
    assert "33.3 % utilisation" in page.utilisation.text_at(BASE.timestamp() + 600)


def test_grouping_per_server_model_and_gpu(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    page.set_grouping("server")
    qtbot.waitUntil(lambda: page.view is not None and page.view.by == "server", timeout=20_000)
    curves = page.utilisation.util_curves
    assert sorted(curves) == ["gpu-01", "gpu-02"]
    assert _data(curves["gpu-01"])[1] == [40.0, 65.0]
    assert _data(page.utilisation.busy_curves["gpu-01"])[1] == [1.0, 2.0]
    assert _data(curves["gpu-02"])[1] == [20.0, 20.0]
    page.set_grouping("model")
    qtbot.waitUntil(lambda: page.view is not None and page.view.by == "model", timeout=20_000)
    assert _data(page.utilisation.util_curves[A40])[1] == [20.0, 20.0]
    # Per model, the share of that model's GPUs busy: the one A40, busy, is 100 %, beside
    # the A4000s' 50 % then 100 % (a count would show 1 against 1 and 2).
    assert _data(page.utilisation.busy_curves[A40])[1] == [100.0, 100.0]
    assert _data(page.utilisation.busy_curves[A4000])[1] == [50.0, 100.0]
    assert "of its GPUs busy" in page.utilisation.text_at(BASE.timestamp() + 600)
    page.set_grouping("gpu")
    qtbot.waitUntil(lambda: page.view is not None and page.view.by == "gpu", timeout=20_000)
    curves = page.utilisation.util_curves
    assert sorted(curves) == ["gpu-01/0", "gpu-01/1", "gpu-02/0"]
    assert _data(curves["gpu-01/1"])[1] == [0.0, 50.0]
    # Per GPU, the busy plot sums the lab in one line.
    assert _data(page.utilisation.busy_curves[page.utilisation.all_gpus])[1] == [2.0, 3.0]


def test_a_range_into_the_future_and_before_the_history_says_so(
    qtbot: QtBot, page: UsagePage
) -> None:
    page.set_custom(QDate(2026, 2, 20), QDate(2099, 1, 1))
    _load(qtbot, page)
    text = page.summary.text()
    assert "The range runs into the future: figures count up to now" in text
    assert "Usage history starts 2026-03-0" in text  # local date of BASE


def test_ranges_switch(qtbot: QtBot, page: UsagePage) -> None:
    for name, days in (("7d", 7), ("30d", 30), ("1y", 365), ("24h", 1)):
        page.set_range(name)
        _load(qtbot, page)
        assert page.view is not None
        assert page.view.end - page.view.start == timedelta(days=days)
        # Five busy GPU-hours, whatever the bucket length (a year merges 15 hours into one).
        busy = page.view.series["lab"]
        assert sum(b.busy_gpus * b.length for b in busy) == pytest.approx(5 * 3600)
        if days < 365:
            assert _data(page.utilisation.busy_curves["lab"])[1][-2:] == [2.0, 3.0]
    day = BASE.astimezone().date()
    assert not page.range_bar.dates.isVisible()
    page.set_custom(QDate(day.year, day.month, day.day).addDays(5), QDate(2026, 4, 1))
    assert page.range_bar.dates.isVisible()
    _load(qtbot, page)
    assert page.is_empty(UTILISATION)
    assert page.is_empty(HEATMAP)


def test_quick_clicks_read_once_more_with_the_last_choice(qtbot: QtBot, page: UsagePage) -> None:
    for name in ("7d", "1y", "30d", "24h"):
        page.set_range(name)
    page.set_grouping("server")
    _load(qtbot, page)
    assert page.view is not None
    assert page.view.end - page.view.start == timedelta(days=1)
    assert page.view.by == "server"


def test_heatmap_values(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    chart = page.heatmap
    assert chart.heatmap is not None
    assert chart.heatmap.labels == ["gpu-01/0", "gpu-01/1", "gpu-02/0"]
    column = chart.heatmap.starts.index(int(BASE.timestamp()))
    image = chart.image.image
    assert image is not None
    assert image.shape == (3, len(chart.heatmap.starts))
    assert image[:, column].tolist() == [80.0, 0.0, 20.0]
    assert image[:, column + 1].tolist() == [80.0, 50.0, 20.0]
    assert int(np.isnan(image).sum()) == 3 * (len(chart.heatmap.starts) - 2)


def test_member_bars_and_demand(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    bars = page.member_bars
    assert bars.categories == ["alice", "bob", "carol", "dave"]

    def heights(name: str) -> list[float]:
        return [round(float(h), 3) for h in bars.bars[name].opts["height"]]

    assert heights(page.tr("Booked")) == [2.0, 2.0, 0.0, 0.0]
    assert heights(page.tr("Held by a process")) == [2.0, 1.0, 2.0, 0.0]
    assert heights(page.tr("Booked but idle")) == [0.0, 1.0, 0.0, 0.0]
    assert heights(page.tr("Held without a booking")) == [0.0, 0.0, 2.0, 0.0]
    assert "it exceeds Booked" in page.member_notes.text()
    assert "Held without a booking: process time outside" in page.member_notes.text()
    assert page.demand.unmet.rowCount() == 1
    assert page.demand.unmet.item(0, 0).text() == "dave"
    assert page.demand.unmet.item(0, 1).text() == f"{A40} × 2"
    assert page.demand.unmet.item(0, 5).text() == "4 h 30 min"
    assert "Requests with no free GPUs when wanted: 1" in page.demand.count.text()
    assert "Refused by a lab rule: 1." in page.demand.count.text()
    assert page.demand.refused.rowCount() == 1
    assert [page.demand.refused.item(0, c).text() for c in (0, 2, 4)] == [
        "bob",
        "96",
        "longest booking",
    ]
    counts = {
        page.demand.requests.item(r, 0).text(): page.demand.requests.item(r, 2).text()
        for r in range(page.demand.requests.rowCount())
    }
    assert counts == {"bob": "1", "dave": "0"}
    assert "no free GPUs when wanted: 1, refused by a rule: 1." in page.summary.text()
    # Offloaded GPU-hours per member, one bar per month.
    assert page.offload_bars.categories == ["carol"]
    month = f"{BASE:%Y-%m}"
    assert [float(h) for h in page.offload_bars.bars[month].opts["height"]] == [6.0]
    assert not page.is_empty(MEMBERS)
    assert not page.is_empty(OFFLOADED)


@pytest.mark.parametrize("tab", range(5))
def test_csv_and_png_export(qtbot: QtBot, page: UsagePage, tmp_path: Path, tab: int) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    page.tabs.setCurrentIndex(tab)
    page.ask_path = lambda _title, name, _filter: tmp_path / name
    page.ask_export_csv()
    page.ask_export_png()
    [csv_file] = tmp_path.glob("*.csv")
    table = page.current_table()
    assert table.rows
    back = read_csv(csv_file.read_text(encoding="utf-8"))
    assert back.columns == table.columns
    assert back.rows == [tuple("" if v is None else str(v) for v in row) for row in table.rows]
    [png] = tmp_path.glob("*.png")
    assert not QImage(str(png)).isNull()
    assert page.settings.value("usage/export_dir") == str(tmp_path)


def test_utilisation_csv_numbers(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    rows = page.current_table().as_dicts()
    assert [(r["mean_util_pct"], r["busy_gpus"], r["observed_gpus"]) for r in rows] == [
        (33.33, 2.0, 3.0),
        (50.0, 3.0, 3.0),
    ]


def test_empty_lab_says_so(qtbot: QtBot, lab: Labgpu) -> None:
    page = UsagePage(lab, open_settings())
    qtbot.addWidget(page)
    page.show()
    page.reload()
    _load(qtbot, page)
    for tab in (UTILISATION, HEATMAP, MEMBERS, OFFLOADED):
        assert page.is_empty(tab)
    assert "No usage recorded in this range yet" in page.empty_labels[UTILISATION].text()
    assert page.tabs.widget(UTILISATION).isVisible()
    assert page.view is not None
    assert math.isclose(page.view.summary.observed_h, 0.0)


def test_main_window_has_usage_page(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.identity is not None, timeout=10_000)
    assert not window.nav.item(USAGE).isHidden()
    assert not window.usage_slot.is_built()  # pyqtgraph waits until the page is wanted
    window.show_page(USAGE)
    assert window.current_page() == USAGE
    assert window.pages.currentWidget() is window.usage_slot
    assert window.usage_slot.is_built()
    assert window.usage_slot.page() is window.usage_page
    qtbot.waitUntil(lambda: window.usage_page.view is not None, timeout=20_000)
    assert window.usage_page.is_empty(UTILISATION)


def test_monthly_report_from_the_page(qtbot: QtBot, page: UsagePage, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from labgpu.gui.usage.usage_report import recent_months

    page.set_range("24h")
    _load(qtbot, page)
    month = f"{BASE:%Y-%m}"
    assert recent_months(datetime(2026, 1, 15, 12, tzinfo=UTC), 3) == [
        "2025-12",
        "2025-11",
        "2025-10",
    ]
    messages: list[str] = []
    page.exported.connect(messages.append)
    target = tmp_path / "report.pdf"
    page.write_report(month, target)
    qtbot.waitUntil(lambda: bool(messages), timeout=30_000)
    assert messages == [f"Wrote the {month} report (4 pages) to {target}."]  # the case, then 3
    assert len(PdfReader(target).pages) == 4
    assert page.report_button.isEnabled()
    # A folder that does not exist: a clear message, nothing written.
    page.write_report(month, tmp_path / "missing" / "r.pdf")
    qtbot.waitUntil(lambda: page.message.isVisible(), timeout=30_000)
    assert "does not exist" in page.message.text()
    assert not (tmp_path / "missing").exists()
