"""The Usage page's graphs: utilisation over time, the GPUs × time heatmap, and bar charts.

pyqtgraph draws them (pan and zoom with the mouse are its own); each chart shows a tooltip with
the values under the cursor. Times on the x axes are epoch seconds shown in local time.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import QToolTip, QWidget

from labgpu.core.usage.figures import UsageBucket, sum_buckets
from labgpu.gui.widgets.date_axis import DateAxis
from labgpu.services.usage.service import Heatmap

#: Line and bar colours (Okabe–Ito, readable by most colour-blind people); more lines get hues.
# (RGB as integers: Qt's lupdate reads a hash inside a string as the start of a comment.)
PALETTE = (0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0xCC79A7, 0x56B4E9, 0xF0E442, 0x000000)
#: The legend's columns (above the plots); the tooltip lists this many groups, busiest first.
LEGEND_COLUMNS = 9
LEGEND_ROW_PX = 20
TOOLTIP_LINES = 8
AXIS_PEN = QColor(0x3A3F44)
#: Bar charts with more categories than this stagger their labels on two lines.
STAGGER_OVER = 8
MIN_CATEGORIES = 4


def color(n: int, count: int) -> QColor:
    """The colour of line ``n`` of ``count``."""
    if count <= len(PALETTE):
        return QColor(PALETTE[n])  # QColor(int) reads 0xRRGGBB
    return pg.intColor(n, hues=count, values=1, maxValue=220, minValue=150)


def local_time(epoch_s: float) -> str:
    """An epoch as local ``YYYY-MM-DD HH:MM``."""
    return datetime.fromtimestamp(epoch_s).strftime("%Y-%m-%d %H:%M")


def line_points(buckets: Sequence[UsageBucket], value: str) -> tuple[np.ndarray, np.ndarray]:
    """x (bucket starts) and y (``util`` %, ``busy`` GPUs or the ``share`` of GPUs busy, %),
    NaN where readings stop."""
    xs: list[float] = []
    ys: list[float] = []
    for n, b in enumerate(buckets):
        if n and b.start - buckets[n - 1].start > b.length:  # a gap: break the line
            xs.append(float(buckets[n - 1].start + b.length))
            ys.append(math.nan)
        xs.append(float(b.start))
        if value == "util":
            ys.append(math.nan if b.util_mean is None else b.util_mean)
        elif value == "share":
            ys.append(math.nan if b.busy_pct is None else b.busy_pct)
        else:
            ys.append(b.busy_gpus)
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def bucket_at(buckets: Sequence[UsageBucket], x: float) -> UsageBucket | None:
    """The bucket covering time ``x``."""
    n = bisect.bisect_right([b.start for b in buckets], x) - 1
    if n < 0 or x >= buckets[n].start + buckets[n].length:
        return None
    return buckets[n]


class Chart(pg.GraphicsLayoutWidget):
    """A white pyqtgraph canvas that shows a tooltip of what is under the mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(260)
        self.scene().sigMouseMoved.connect(self._moved)

    def style_plot(self, plot: pg.PlotItem) -> None:
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(AXIS_PEN)
            axis.setTextPen(AXIS_PEN)
        plot.showGrid(x=True, y=True, alpha=0.15)

    def hover_text(self, pos: QPointF) -> str:
        """What to say about scene position ``pos`` ("" for nothing)."""
        return ""

    def _moved(self, pos: QPointF) -> None:
        text = self.hover_text(pos)
        if text:
            QToolTip.showText(QCursor.pos(), text, self)
        else:
            QToolTip.hideText()


class UtilisationChart(Chart):
    """Mean utilisation % (top) and busy GPUs (bottom) over time, one line per group."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The legend is a row of its own above the plots: beside them, pyqtgraph stretches it.
        self.legend = pg.LegendItem(labelTextColor=AXIS_PEN, colCount=LEGEND_COLUMNS)
        self.addItem(self.legend, row=0, col=0)
        self.util_plot = self.addPlot(row=1, col=0, axisItems={"bottom": DateAxis()})
        self.busy_plot = self.addPlot(row=2, col=0, axisItems={"bottom": DateAxis()})
        self.busy_plot.setXLink(self.util_plot)
        for plot in (self.util_plot, self.busy_plot):
            self.style_plot(plot)
        self.util_plot.setLabel("left", self.tr("Mean utilisation (%)"))
        self.busy_plot.setLabel("left", self.tr("Busy GPUs"))
        self.util_plot.setYRange(0, 100)
        self.series: dict[str, list[UsageBucket]] = {}
        self.util_curves: dict[str, pg.PlotDataItem] = {}
        self.busy_curves: dict[str, pg.PlotDataItem] = {}
        self.all_gpus = self.tr("all GPUs")
        self.busy_value = "busy"

    def set_series(
        self, series: dict[str, list[UsageBucket]], by: str, start: float, end: float
    ) -> None:
        """Draw ``series`` (label -> buckets) over ``[start, end)`` (epoch seconds); per GPU,
        the busy plot sums the lab."""
        self.series = series
        # Per model, the share of that model's GPUs busy: four A40s all busy show as 100 %
        # beside 48 A4000s, where a count of busy GPUs would hide them at the bottom.
        self.busy_value = "share" if by == "model" else "busy"
        self.busy_plot.setLabel(
            "left",
            self.tr("GPUs busy (% of the model's)") if by == "model" else self.tr("Busy GPUs"),
        )
        for plot in (self.util_plot, self.busy_plot):
            plot.clear()
        self.legend.clear()
        self.util_curves, self.busy_curves = {}, {}
        count = len(series)
        width = 2 if count <= len(PALETTE) else 1
        for n, (label, buckets) in enumerate(series.items()):
            pen = pg.mkPen(color(n, count), width=width)
            curve = self.util_plot.plot(*line_points(buckets, "util"), pen=pen, name=label)
            self.util_curves[label] = curve
            self.legend.addItem(curve, label)
            if by != "gpu":
                points = line_points(buckets, self.busy_value)
                busy = self.busy_plot.plot(*points, pen=pen, name=label)
                self.busy_curves[label] = busy
        if by == "gpu" and series:
            lab = _summed(series)
            curve = self.busy_plot.plot(*line_points(lab, "busy"), pen=pg.mkPen(AXIS_PEN, width=2))
            self.busy_curves[self.all_gpus] = curve
        self._fit_legend(count)
        # The whole range, even where history starts later: the gap says so.
        self.util_plot.setXRange(start, end, padding=0.01)
        self.util_plot.setYRange(0, 100)
        top = 100.0 if self.busy_value == "share" else max(1.0, self._busiest() * 1.1)
        self.busy_plot.setYRange(0, top)

    def _busiest(self) -> float:
        """The most busy GPUs any line of the lower plot reaches."""
        top = 0.0
        for curve in self.busy_curves.values():
            ys = curve.getData()[1]
            if ys is not None and len(ys):
                top = max(top, float(np.nanmax(ys, initial=0.0)))
        return top

    def _fit_legend(self, count: int) -> None:
        columns = min(max(count, 1), LEGEND_COLUMNS)
        self.legend.setColumnCount(columns)
        height = math.ceil(count / columns) * LEGEND_ROW_PX + 6 if count > 1 else 0
        self.legend.setMinimumHeight(height)
        self.legend.setMaximumHeight(height)
        self.legend.setVisible(count > 1)

    def hover_text(self, pos: QPointF) -> str:
        for plot in (self.util_plot, self.busy_plot):
            if plot.sceneBoundingRect().contains(pos):
                return self.text_at(plot.vb.mapSceneToView(pos).x())
        return ""

    def text_at(self, x: float) -> str:
        """Time and values of every group at time ``x`` (the busiest first, a few only)."""
        found = [(label, bucket_at(b, x)) for label, b in self.series.items()]
        rows = [(label, b) for label, b in found if b is not None]
        if not rows:
            return ""
        rows.sort(key=lambda r: -(r[1].util_mean or 0.0))
        lines = [local_time(rows[0][1].start)]
        for label, b in rows[:TOOLTIP_LINES]:
            util = "–" if b.util_mean is None else f"{b.util_mean:.1f}"
            if self.busy_value == "share":
                share = "–" if b.busy_pct is None else f"{b.busy_pct:.0f}"
                line = self.tr("{label}: {util} % utilisation, {share} % of its GPUs busy")
                lines.append(line.format(label=label, util=util, share=share))
                continue
            lines.append(
                self.tr("{label}: {util} % utilisation, {busy} busy GPUs").format(
                    label=label, util=util, busy=f"{b.busy_gpus:.1f}"
                )
            )
        if len(rows) > TOOLTIP_LINES:
            lines.append(self.tr("… and {count} more").format(count=len(rows) - TOOLTIP_LINES))
        return "\n".join(lines)


def _summed(series: dict[str, list[UsageBucket]]) -> list[UsageBucket]:
    """Every group's buckets summed per start (the lab's busy GPUs when grouped per GPU)."""
    per_start: dict[int, list[UsageBucket]] = defaultdict(list)
    for buckets in series.values():
        for b in buckets:
            per_start[b.start].append(b)
    return [sum_buckets(parts) for _, parts in sorted(per_start.items())]


class HeatmapChart(Chart):
    """Mean utilisation of every GPU (rows) per time step (columns), with a colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = self.addPlot(axisItems={"bottom": DateAxis()})
        self.style_plot(self.plot)
        self.plot.showGrid(x=False, y=False)
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 100),
            colorMap=pg.colormap.get("viridis"),
            interactive=False,
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.colorbar.axis.setTextPen(AXIS_PEN)
        self.colorbar.axis.setPen(AXIS_PEN)
        self.colorbar.axis.setLabel(self.tr("Mean utilisation (%)"), color=AXIS_PEN.name())
        self.heatmap: Heatmap | None = None
        self.values = np.zeros((0, 0))
        font = QFont()
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1.5))
        self.plot.getAxis("left").setStyle(tickFont=font)

    def set_heatmap(self, heatmap: Heatmap) -> None:
        """Draw ``heatmap``; steps without readings stay blank."""
        self.heatmap = heatmap
        rows, cols = len(heatmap.labels), len(heatmap.starts)
        self.values = np.array(
            [[math.nan if v is None else v for v in row] for row in heatmap.values],
            dtype=float,
        ).reshape(rows, cols)
        if not rows or not cols:
            self.image.clear()
            return
        self.image.setImage(self.values, autoLevels=False, levels=(0, 100))
        self.image.setRect(QRectF(heatmap.starts[0], 0, heatmap.step * cols, rows))
        ticks = [(n + 0.5, label) for n, label in enumerate(heatmap.labels)]
        self.plot.getAxis("left").setTicks([ticks, []])
        self.plot.autoRange(padding=0)

    def hover_text(self, pos: QPointF) -> str:
        heatmap = self.heatmap
        if heatmap is None or not heatmap.starts or not self.plot.sceneBoundingRect().contains(pos):
            return ""
        point = self.plot.vb.mapSceneToView(pos)
        row = math.floor(point.y())
        col = math.floor((point.x() - heatmap.starts[0]) / heatmap.step)
        if not (0 <= row < len(heatmap.labels) and 0 <= col < len(heatmap.starts)):
            return ""
        value = heatmap.values[row][col]
        util = self.tr("no readings") if value is None else f"{value:.1f} %"
        return f"{heatmap.labels[row]}\n{local_time(heatmap.starts[col])}\n{util}"


class BarChart(Chart):
    """Grouped bars: one group per category (x axis), one bar per series."""

    def __init__(self, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = self.addPlot()
        self.style_plot(self.plot)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.setLabel("left", y_label)
        self.plot.setMouseEnabled(x=True, y=False)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor=AXIS_PEN)
        self.categories: list[str] = []
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.values: dict[str, list[float]] = {}

    def set_bars(self, categories: list[str], series: list[tuple[str, list[float]]]) -> None:
        """Bars of ``series`` ([(name, one value per category)]) over ``categories``."""
        self.plot.clear()
        self.legend.clear()
        self.categories = categories
        self.bars, self.values = {}, {}
        width = 0.8 / max(1, len(series))
        for k, (name, values) in enumerate(series):
            xs = [n - 0.4 + width * (k + 0.5) for n in range(len(categories))]
            item = pg.BarGraphItem(
                x=xs, height=values, width=width * 0.92, brush=color(k, len(series)), pen=None
            )
            self.plot.addItem(item)
            self.legend.addItem(item, name)
            self.bars[name], self.values[name] = item, list(values)
        self.legend.setVisible(len(series) > 1)
        # Many names: every other one a line lower, so neighbours do not overlap.
        stagger = len(categories) > STAGGER_OVER
        ticks = [(float(n), "\n" + c if stagger and n % 2 else c) for n, c in enumerate(categories)]
        axis = self.plot.getAxis("bottom")
        axis.setTicks([ticks, []])
        axis.setHeight(2 * QFontMetrics(self.font()).height() + 16 if stagger else None)
        top = max((max(v, default=0.0) for v in self.values.values()), default=0.0)
        # At least four bars' room, so that one cluster is not one wall of colour.
        extra = max(0, MIN_CATEGORIES - len(categories)) / 2
        self.plot.setXRange(-0.6 - extra, len(categories) - 0.4 + extra, padding=0)
        self.plot.setYRange(0, top * 1.25 if top > 0 else 1, padding=0)

    def hover_text(self, pos: QPointF) -> str:
        if not self.categories or not self.plot.sceneBoundingRect().contains(pos):
            return ""
        n = round(self.plot.vb.mapSceneToView(pos).x())
        if not 0 <= n < len(self.categories):
            return ""
        lines = [self.categories[n]]
        lines += [f"{name}: {values[n]:,.1f}" for name, values in self.values.items()]
        return "\n".join(lines)
