"""Drawing the usage report's parts with QPainter, in points (1/72 inch): tables, a time
chart, a GPUs × time heatmap and paired bars. Nothing here knows the lab or the database."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QPainter, QPainterPath, QPen

#: Latin families whose text survives copying out of the PDF, best first.
LATIN_FAMILIES = ("DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica")
#: Families with Korean glyphs, best first; the first one installed is used.
KOREAN_FAMILIES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "NanumSquareRound",
)
INK = QColor("#1a202c")
MUTED = QColor("#718096")
RULE = QColor("#cbd5e0")
BUSY = QColor("#2b6cb0")
BOOKED = QColor("#90cdf4")
USED = QColor("#2c5282")
NO_DATA = QColor("#edf2f7")
SHARE = QColor("#dd6b20")

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


def report_families() -> tuple[str, ...]:
    """The report's font families: Latin text first, then one with Korean glyphs.

    Latin text and spaces come from a Latin family because NanumGothic's space reaches the PDF
    as U+0001: its copied or extracted text ran together ("GPUusagereport"). Hangul falls back
    to the Korean family. Without either, the system's font.
    """
    installed = set(QFontDatabase.families())
    latin = next((f for f in LATIN_FAMILIES if f in installed), None)
    korean = next((f for f in KOREAN_FAMILIES if f in installed), None)
    chosen = tuple(f for f in (latin, korean) if f is not None)
    return chosen or (QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont).family(),)


@dataclass(frozen=True, slots=True)
class Fonts:
    """The report's few fonts, all of one family list (Latin, then Korean)."""

    families: tuple[str, ...]

    def of(self, size: float, bold: bool = False) -> QFont:
        font = QFont()
        font.setFamilies(list(self.families))
        font.setPointSizeF(size)
        font.setBold(bold)
        # No ligatures: "ﬁ" and "ﬄ" would come back from the PDF as one character each, so
        # "offloaded" could not be found or copied (Hangul needs no shaping either).
        font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
        return font


def text(
    p: QPainter,
    rect: QRectF,
    value: str,
    font: QFont,
    align: Qt.AlignmentFlag = LEFT,
    color: QColor = INK,
) -> None:
    """``value`` in ``rect``, elided on the right when it does not fit."""
    p.setFont(font)
    p.setPen(color)
    elided = p.fontMetrics().elidedText(value, Qt.TextElideMode.ElideRight, int(rect.width()) + 1)
    p.drawText(rect, int(align), elided)


def paragraph(
    p: QPainter, x: float, y: float, width: float, value: str, font: QFont, color: QColor = INK
) -> float:
    """``value`` wrapped at word boundaries into ``width`` from ``(x, y)``; returns the y
    under it."""
    p.setFont(font)
    p.setPen(color)
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    flags |= int(Qt.TextFlag.TextWordWrap)
    bounds = p.fontMetrics().boundingRect(QRect(0, 0, int(width), 10_000), flags, value)
    rect = QRectF(x, y, width, float(bounds.height()) + 2)
    p.drawText(rect, flags, value)
    return rect.bottom()


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: header, width in points, alignment."""

    header: str
    width: float
    align: Qt.AlignmentFlag = RIGHT


def table(
    p: QPainter,
    x: float,
    y: float,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    fonts: Fonts,
    bottom: float,
    row_h: float = 14.0,
) -> tuple[int, float]:
    """Header and as many ``rows`` as fit above ``bottom``; returns (rows drawn, next y)."""
    width = sum(c.width for c in columns)
    header_h = row_h + 4
    _row(p, x, y, columns, [c.header for c in columns], fonts.of(7.5, bold=True), header_h, MUTED)
    y += header_h
    p.setPen(QPen(RULE, 0.8))
    p.drawLine(QPointF(x, y), QPointF(x + width, y))
    drawn = 0
    for row in rows:
        if y + row_h > bottom:
            break
        _row(p, x, y, columns, row, fonts.of(8.5), row_h, INK)
        y += row_h
        drawn += 1
        p.setPen(QPen(RULE, 0.3))
        p.drawLine(QPointF(x, y), QPointF(x + width, y))
    return drawn, y


def _row(
    p: QPainter,
    x: float,
    y: float,
    columns: Sequence[Column],
    cells: Sequence[str],
    font: QFont,
    height: float,
    color: QColor,
) -> None:
    for column, cell in zip(columns, cells, strict=True):
        text(p, QRectF(x + 3, y, column.width - 6, height), cell, font, column.align, color)
        x += column.width


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a time chart: ``(x, y)`` points, drawn filled to zero or as a line."""

    label: str
    points: Sequence[tuple[float, float]]
    color: QColor
    filled: bool = False


def time_chart(
    p: QPainter,
    rect: QRectF,
    lines: Sequence[Line],
    x_range: tuple[float, float],
    y_max: float,
    x_ticks: Sequence[tuple[float, str]],
    fonts: Fonts,
    gap: float,
) -> None:
    """Lines over time in ``rect`` (axes, ticks and a legend included); a jump in x longer
    than ``gap`` breaks a line (no readings then)."""
    plot = QRectF(rect.left() + 30, rect.top() + 16, rect.width() - 36, rect.height() - 34)
    x0, x1 = x_range
    step = _nice_step(max(y_max, 1.0) / 4)
    y_max = step * math.ceil(max(y_max, 1.0) * 1.04 / step)  # head room above the top line

    def at(x: float, y: float) -> QPointF:
        return QPointF(
            plot.left() + (x - x0) / (x1 - x0) * plot.width(),
            plot.bottom() - min(y, y_max) / y_max * plot.height(),
        )

    _y_grid(p, plot, y_max, step, fonts)
    for x, label in x_ticks:
        px = at(x, 0).x()
        p.setPen(QPen(RULE, 0.5))
        p.drawLine(QPointF(px, plot.top()), QPointF(px, plot.bottom() + 3))
        text(p, QRectF(px - 25, plot.bottom() + 3, 50, 12), label, fonts.of(7), CENTER, MUTED)
    for line in lines:
        for run in _runs(line.points, gap):
            path = QPainterPath(at(*run[0]))
            for point in run[1:]:
                path.lineTo(at(*point))
            if line.filled:
                area = QPainterPath(path)
                area.lineTo(at(run[-1][0], 0))
                area.lineTo(at(run[0][0], 0))
                area.closeSubpath()
                fill = QColor(line.color)
                fill.setAlphaF(0.35)
                p.fillPath(area, QBrush(fill))
            p.strokePath(path, QPen(line.color, 0.9))
    _legend(p, QRectF(plot.left(), rect.top(), plot.width(), 12), lines, fonts)


def _y_grid(p: QPainter, plot: QRectF, y_max: float, step: float, fonts: Fonts) -> None:
    value = 0.0
    while value <= y_max + 1e-9:
        y = plot.bottom() - value / y_max * plot.height()
        p.setPen(QPen(RULE, 0.5 if value else 0.9))
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        label = f"{value:g}"
        text(p, QRectF(plot.left() - 30, y - 6, 26, 12), label, fonts.of(7), RIGHT, MUTED)
        value += step


def _nice_step(raw: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000):
        if step >= raw:
            return float(step)
    return float(round(raw))


def _runs(points: Sequence[tuple[float, float]], gap: float) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _legend(p: QPainter, rect: QRectF, lines: Sequence[Line], fonts: Fonts) -> None:
    x = rect.left()
    font = fonts.of(7.5)
    for line in lines:
        color = QColor(line.color)
        if line.filled:
            color.setAlphaF(0.6)
        p.fillRect(QRectF(x, rect.top() + 3, 10, 6), color)
        p.setFont(font)
        width = p.fontMetrics().horizontalAdvance(line.label) + 4
        text(p, QRectF(x + 13, rect.top(), width, rect.height()), line.label, font)
        x += 13 + width + 12


def heat_color(value: float | None) -> QColor:
    """Utilisation % as a colour from pale (0 %) to deep blue (100 %); no readings: grey."""
    if value is None:
        return NO_DATA
    f = max(0.0, min(1.0, value / 100.0))
    low, high = QColor("#fffbea"), QColor("#1e3a8a")
    return QColor(
        round(low.red() + (high.red() - low.red()) * f),
        round(low.green() + (high.green() - low.green()) * f),
        round(low.blue() + (high.blue() - low.blue()) * f),
    )


def heatmap(
    p: QPainter,
    rect: QRectF,
    labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    x_ticks: Sequence[tuple[float, str]],
    fonts: Fonts,
) -> None:
    """One row per GPU, one column per time step (``x_ticks`` in columns), coloured by
    utilisation; a scale below."""
    columns = max((len(r) for r in values), default=0)
    if not labels or not columns:
        return
    plot = QRectF(rect.left() + 58, rect.top(), rect.width() - 58, rect.height() - 34)
    row_h = plot.height() / len(labels)
    col_w = plot.width() / columns
    label_font = fonts.of(max(3.5, min(7.0, row_h * 0.75)))
    every = max(1, int(7.0 / row_h + 0.999))  # label every row if it fits, else every n-th
    for r, (label, row) in enumerate(zip(labels, values, strict=True)):
        y = plot.top() + r * row_h
        for c, value in enumerate(row):
            # a hair wider than the cell, so no white seams show between cells
            p.fillRect(
                QRectF(plot.left() + c * col_w, y, col_w + 0.3, row_h + 0.3), heat_color(value)
            )
        if r % every == 0:
            text(p, QRectF(rect.left(), y, 55, max(row_h, 7)), label, label_font, RIGHT, MUTED)
    p.setPen(QPen(RULE, 0.6))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(plot)
    for column, label in x_ticks:
        x = plot.left() + column * col_w
        p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3))
        text(p, QRectF(x - 25, plot.bottom() + 3, 50, 12), label, fonts.of(7), CENTER, MUTED)
    _scale(p, QRectF(plot.left(), plot.bottom() + 18, 160, 8), fonts)


def _scale(p: QPainter, rect: QRectF, fonts: Fonts) -> None:
    steps = 20
    for i in range(steps):
        cell = QRectF(
            rect.left() + i * rect.width() / steps,
            rect.top(),
            rect.width() / steps + 0.3,
            rect.height(),
        )
        p.fillRect(cell, heat_color(100.0 * (i + 0.5) / steps))
    font = fonts.of(6.5)
    text(p, QRectF(rect.left() - 22, rect.top() - 2, 20, 12), "0 %", font, RIGHT, MUTED)
    text(p, QRectF(rect.right() + 3, rect.top() - 2, 40, 12), "100 %", font, LEFT, MUTED)


def paired_bars(
    p: QPainter,
    rect: QRectF,
    names: Sequence[str],
    pairs: Sequence[tuple[float, float]],
    labels: tuple[str, str],
    fonts: Fonts,
) -> None:
    """Two horizontal bars per name (first light, second dark), with their values."""
    if not names:
        return
    top = rect.top() + 16
    _legend(
        p,
        QRectF(rect.left() + 80, rect.top(), rect.width(), 12),
        [Line(labels[0], (), BOOKED), Line(labels[1], (), USED)],
        fonts,
    )
    band = min(24.0, (rect.bottom() - top) / len(names))
    bar_h = min(6.0, band * 0.36)
    x0 = rect.left() + 80
    width = rect.width() - 80 - 40
    most = max((max(a, b) for a, b in pairs), default=0.0) or 1.0
    for n, (name, (first, second)) in enumerate(zip(names, pairs, strict=True)):
        y = top + n * band + (band - 2 * bar_h - 1) / 2
        text(p, QRectF(rect.left(), top + n * band, 76, band), name, fonts.of(7.5), RIGHT)
        for k, (value, color) in enumerate(((first, BOOKED), (second, USED))):
            bar = QRectF(x0, y + k * (bar_h + 1), width * value / most, bar_h)
            p.fillRect(bar, color)
            label = QRectF(bar.right() + 3, bar.top() - 3, 40, bar_h + 6)
            text(p, label, f"{value:.0f}", fonts.of(6), LEFT, MUTED)
    p.setPen(QPen(RULE, 0.8))
    p.drawLine(QPointF(x0, top), QPointF(x0, top + band * len(names)))


@dataclass(frozen=True, slots=True)
class Bars:
    """One series of a month chart: a value per month (None: nothing known that month)."""

    label: str
    values: Sequence[float | None]
    color: QColor


def month_chart(
    p: QPainter,
    rect: QRectF,
    labels: Sequence[str],
    bars: Sequence[Bars],
    share: Bars,
    fonts: Fonts,
) -> None:
    """Bars side by side per month (GPU-hours, left axis) and a share in % as a line with dots
    (right axis, 0-100); a month with nothing known shows no bar and breaks the line."""
    plot = QRectF(rect.left() + 40, rect.top() + 16, rect.width() - 80, rect.height() - 32)
    top = max((v for b in bars for v in b.values if v is not None), default=0.0)
    step = _nice_step(max(top, 1.0) / 4)
    y_max = step * math.ceil(max(top, 1.0) * 1.04 / step)
    _y_grid(p, QRectF(plot.left() - 10, plot.top(), plot.width() + 10, plot.height()), y_max,
            step, fonts)  # fmt: skip
    for pct in (0, 25, 50, 75, 100):
        y = plot.bottom() - pct / 100 * plot.height()
        text(p, QRectF(plot.right() + 4, y - 6, 34, 12), f"{pct} %", fonts.of(7), LEFT, MUTED)
    slot = plot.width() / max(len(labels), 1)
    width = slot * 0.7 / max(len(bars), 1)
    points: list[QPointF | None] = []
    for n, label in enumerate(labels):
        x = plot.left() + n * slot
        text(p, QRectF(x, plot.bottom() + 2, slot, 12), label, fonts.of(7), CENTER, MUTED)
        for k, series in enumerate(bars):
            value = series.values[n]
            if value is None:
                continue
            height = value / y_max * plot.height()
            bar = QRectF(x + slot * 0.15 + k * width, plot.bottom() - height, width, height)
            p.fillRect(bar, series.color)
        value = share.values[n]
        centre = x + slot / 2
        points.append(
            None if value is None else QPointF(centre, plot.bottom() - value / 100 * plot.height())
        )
    p.setPen(QPen(share.color, 1.2))
    previous: QPointF | None = None
    for point in points:
        if point is not None:
            if previous is not None:
                p.drawLine(previous, point)
            p.setBrush(QBrush(share.color))
            p.drawEllipse(point, 1.8, 1.8)
        previous = point
    p.setBrush(Qt.BrushStyle.NoBrush)
    lines = [Line(b.label, (), b.color) for b in (*bars, share)]
    _legend(p, QRectF(plot.left(), rect.top(), plot.width(), 12), lines, fonts)
