"""The Usage page's *Saturation and waits* tab on the page tests' known history (a real SQLite
store, tests/gui/usage/test_usage_page.py): the lines and the table hold the hand-computed
figures, and its CSV export reads back.

That history: gpu-01's two A4000s are taken in both hours (alice's GPU busy at 80 %, bob's
booked the first hour and busy the second), gpu-02's A40 busy at 20 % in both: every model is
saturated in both hours. dave waited 4.5 h for two A40s for 4 h (8 GPU-hours unserved); bob's
96 h on an A4000 was refused by a rule; alice and bob booked 2 h each on the A4000s; carol's
job on the cluster never reported a start.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from labgpu.core.usage.figures import read_csv
from labgpu.gui.usage.usage_page import EVIDENCE, UsagePage
from tests.gui.usage.test_usage_page import A40, A4000, BASE, _data, _load, page

__all__ = ["page"]  # the fixture

pytestmark = pytest.mark.gui


def test_saturation_lines_per_model(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    assert not page.is_empty(EVIDENCE)
    curves = page.evidence.chart.curves
    assert sorted(curves) == [A40, A4000]
    for model in (A40, A4000):
        xs, ys = _data(curves[model])
        shown = {x: y for x, y in zip(xs, ys, strict=True) if not math.isnan(y)}
        # A point per hour (a 24-hour range); the two hours with readings, both saturated.
        assert shown == {BASE.timestamp(): 100.0, BASE.timestamp() + 3600: 100.0}
        assert len(xs) == 24
    text = page.evidence.chart.text_at(BASE.timestamp() + 600)
    assert f"{A40}: 100 % of hours saturated" in text


def test_table_of_waits_saturation_and_demand(qtbot: QtBot, page: UsagePage) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    page.tabs.setCurrentIndex(EVIDENCE)
    month = f"{BASE.astimezone():%Y-%m}"
    assert page.current_table().as_dicts() == [
        {
            "month": month,
            "model": A40,
            "requests": 1,
            "median_wait_hours": 4.5,
            "p90_wait_hours": 4.5,
            "no_slot": 0,
            "saturated_pct": 100.0,
            "served_gpu_hours": 0.0,
            "unserved_gpu_hours": 8.0,
            "offloaded_gpu_hours": 0.0,
            "refused_gpu_hours": 0.0,
        },
        {
            "month": month,
            "model": A4000,
            "requests": 0,
            "median_wait_hours": None,
            "p90_wait_hours": None,
            "no_slot": 0,
            "saturated_pct": 100.0,
            "served_gpu_hours": 4.0,
            "unserved_gpu_hours": 0.0,
            "offloaded_gpu_hours": 0.0,
            "refused_gpu_hours": 96.0,
        },
    ]
    table = page.evidence.table
    assert table.rowCount() == 2
    assert [table.item(0, c).text() for c in (1, 3, 4, 8)] == [A40, "4.50", "4.50", "8.0"]
    assert table.item(1, 3).text() == "–"
    assert "neuron" in page.evidence.queues.text()


def test_csv_and_png_export(qtbot: QtBot, page: UsagePage, tmp_path: Path) -> None:
    page.set_range("24h")
    _load(qtbot, page)
    page.tabs.setCurrentIndex(EVIDENCE)
    page.ask_path = lambda _title, name, _filter: tmp_path / name
    page.ask_export_csv()
    page.ask_export_png()
    [csv_file] = tmp_path.glob("labgpu-usage-saturation-*.csv")
    table = page.current_table()
    back = read_csv(csv_file.read_text(encoding="utf-8"))
    assert back.columns == table.columns
    assert back.rows == [tuple("" if v is None else str(v) for v in row) for row in table.rows]
    assert list(tmp_path.glob("labgpu-usage-saturation-*.png"))
