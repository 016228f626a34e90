"""The Usage page's *Saturation and waits* tab (issue 16): per GPU model, the share of hours in
which every bookable GPU was taken (a line per model, a point per day; per hour for short
ranges), and a table per month and model of waits for GPUs, saturation and the demand survey's
GPU-hours, with the clusters' queues under it. The data is read by ``evidence_data``.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from labgpu.core.usage.evidence import QueueFigure, SaturationSeries
from labgpu.core.usage.figures import Table
from labgpu.gui.usage.evidence_data import EvidenceView, evidence_table, series_points, share_at
from labgpu.gui.usage.usage_charts import (
    AXIS_PEN,
    LEGEND_COLUMNS,
    LEGEND_ROW_PX,
    Chart,
    color,
    local_time,
)
from labgpu.gui.usage.usage_tables import _fill, _table
from labgpu.gui.widgets.date_axis import DateAxis


class SaturationChart(Chart):
    """Share of hours saturated, %, over time: one line per GPU model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.legend = pg.LegendItem(labelTextColor=AXIS_PEN, colCount=LEGEND_COLUMNS)
        self.addItem(self.legend, row=0, col=0)
        self.plot = self.addPlot(row=1, col=0, axisItems={"bottom": DateAxis()})
        self.style_plot(self.plot)
        self.plot.setLabel("left", self.tr("Hours saturated (%)"))
        self.plot.setYRange(0, 100)
        self.series: list[SaturationSeries] = []
        self.curves: dict[str, pg.PlotDataItem] = {}

    def set_series(self, series: list[SaturationSeries], start: float, end: float) -> None:
        """Draw each model's line over ``[start, end)`` (epoch seconds)."""
        self.series = series
        self.plot.clear()
        self.legend.clear()
        self.curves = {}
        count = len(series)
        for n, line in enumerate(series):
            pen = pg.mkPen(color(n, count), width=2)
            xs, ys = series_points(line)
            curve = self.plot.plot(xs, ys, pen=pen, symbol="o", symbolSize=4, name=line.model)
            curve.setSymbolBrush(color(n, count))
            curve.setSymbolPen(None)
            self.legend.addItem(curve, line.model)
            self.curves[line.model] = curve
        columns = min(max(count, 1), LEGEND_COLUMNS)
        height = math.ceil(count / columns) * LEGEND_ROW_PX + 6 if count else 0
        self.legend.setMinimumHeight(height)
        self.legend.setMaximumHeight(height)
        self.plot.setXRange(start, end, padding=0.01)
        self.plot.setYRange(0, 100)

    def hover_text(self, pos: QPointF) -> str:
        if not self.plot.sceneBoundingRect().contains(pos):
            return ""
        return self.text_at(self.plot.vb.mapSceneToView(pos).x())

    def text_at(self, x: float) -> str:
        """The bucket at time ``x`` and each model's share of hours saturated in it."""
        start, found = share_at(self.series, x)
        if start < 0 or not found:
            return ""
        lines = [local_time(start)]
        line = self.tr("{model}: {share} % of hours saturated")
        lines += [line.format(model=m, share=f"{v:.0f}") for m, v in found]
        return "\n".join(lines)


class EvidencePanel(QWidget):
    """The chart over the table of waits, saturation and GPU-hours, and what they mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = SaturationChart()
        self.table = _table(
            [
                self.tr("Month"),
                self.tr("Model"),
                self.tr("Requests"),
                self.tr("Median wait (h)"),
                self.tr("p90 wait (h)"),
                self.tr("No slot"),
                self.tr("Saturated (%)"),
                self.tr("Served GPU-h"),
                self.tr("Unserved GPU-h"),
                self.tr("Offloaded GPU-h"),
                self.tr("Refused GPU-h"),
            ]
        )
        self.queues = QLabel()
        self.queues.setWordWrap(True)
        self.notes = QLabel(
            self.tr(
                "Saturated: an hour in which every bookable GPU of the model was booked or busy "
                "for at least half the hour, as a share of the hours with readings. Wait: the "
                "earliest start the lab offered minus the start asked for (median and 90th "
                "percentile of the searches; rule refusals left out, searches with no slot in "
                "the booking horizon counted apart). Unserved: GPU-hours asked for with no GPUs "
                "within 30 minutes of the wanted start that the member neither booked later nor "
                "sent to a cluster within 24 hours (those are served or offloaded); refused: "
                "turned away by a lab rule."
            )
        )
        self.notes.setObjectName("hint")
        self.notes.setWordWrap(True)
        below = QWidget()
        layout = QVBoxLayout(below)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.queues)
        layout.addWidget(self.notes)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(below)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 0)
        outer.addWidget(splitter)
        self.view: EvidenceView | None = None

    def set_view(self, view: EvidenceView | None) -> None:
        """Show ``view`` (None: nothing read)."""
        self.view = view
        if view is None:
            self.chart.set_series([], 0.0, 1.0)
            _fill(self.table, [], set())
            self.queues.setText("")
            return
        e = view.evidence
        self.chart.set_series(view.series, e.start.timestamp(), e.end.timestamp())
        rows = [
            [_cell(v, n in (3, 4)) for n, v in enumerate(row)] for row in evidence_table(e).rows
        ]
        _fill(self.table, rows, set(range(2, 11)))
        self.queues.setText(self._queues(e.queues))

    def _queues(self, queues: tuple[QueueFigure, ...]) -> str:
        if not queues:
            return self.tr("No job was sent to a cluster in this range.")
        parts = [
            self.tr(
                "{cluster} ({month}): {jobs} jobs, queue wait median {median} h, p90 {p90} h, "
                "turnaround median {turnaround} h"
            ).format(
                cluster=q.cluster,
                month=q.month,
                jobs=q.jobs,
                median=_hours(q.median_wait_h),
                p90=_hours(q.p90_wait_h),
                turnaround=_hours(q.median_turnaround_h),
            )
            for q in queues
        ]
        return self.tr("Cluster queues: ") + "; ".join(parts) + "."

    def table_data(self) -> Table:
        """The table shown, as the CSV export writes it."""
        return evidence_table(self.view.evidence) if self.view is not None else Table(())

    @property
    def has_data(self) -> bool:
        return self.view is not None and self.view.has_data


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cell(value: object, fine: bool = False) -> str:
    """A table cell: a dash for nothing, hours with one decimal (waits with two)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if fine else f"{value:,.1f}"
    return str(value)
