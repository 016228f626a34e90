"""The monthly usage report's pages, drawn with QPainter on a QPdfWriter (``Document``).

Page 1: the case for a committee (``report_case``); page 2: the month's totals and the lab's
busy GPUs over the month; page 3: GPUs × time heatmap and booked vs process GPU-hours per
member; page 4 on: the members' table, offloaded GPU-hours per cluster, unmet requests (no
capacity) and requests refused by a rule. ``report.render`` draws them in order
(``report.PAGES``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMarginsF, QRectF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

from labgpu.core.usage.figures import hours_label
from labgpu.gui.usage import report_draw as draw
from labgpu.gui.usage.report_data import (
    ReportData,
    day_ticks,
    local_moment,
    member_rows,
    range_notes,
    refused_rows,
    summary_rows,
    unmet_rows,
)

MARGIN = 42.0  # points
CHART_H = 320.0
# Members shown in the booked-vs-used bars (the table on page 3 has them all).
BAR_MEMBERS = 20


# -- the document ---------------------------------------------------------------------------------


class Document:
    """A QPdfWriter with its painter, page numbers and footers."""

    def __init__(self, path: Path, data: ReportData) -> None:
        self.writer = QPdfWriter(str(path))
        self.writer.setResolution(72)  # one unit = one point
        layout = QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(0, 0, 0, 0),
        )
        self.writer.setPageLayout(layout)
        self.writer.setTitle(_title(data))
        self.writer.setCreator("labgpu")
        self.painter = QPainter()
        if not self.painter.begin(self.writer):
            raise OSError("the PDF could not be opened for writing")
        self.painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.data = data
        self.fonts = draw.Fonts(draw.report_families())
        self.pages = 1
        self.width = float(self.writer.width())
        self.height = float(self.writer.height())
        self.bottom = self.height - MARGIN - 20

    @property
    def inner(self) -> float:
        return self.width - 2 * MARGIN

    def new_page(self) -> None:
        self._footer()
        if not self.writer.newPage():
            raise OSError("the PDF writer refused a new page")
        self.pages += 1

    def finish(self) -> int:
        self._footer()
        if not self.painter.end():
            raise OSError("the PDF could not be completed")
        return self.pages

    def heading(self, y: float, value: str, size: float = 12.5) -> float:
        draw.text(
            self.painter,
            QRectF(MARGIN, y, self.inner, size * 1.8),
            value,
            self.fonts.of(size, True),
        )
        return y + size * 1.8 + 4

    def _footer(self) -> None:
        line = QCoreApplication.translate("report", "labgpu · {lab} · {month} · page {page}")
        value = line.format(lab=self.data.lab_name, month=self.data.month, page=self.pages)
        rect = QRectF(MARGIN, self.height - MARGIN, self.inner, 12)
        draw.text(self.painter, rect, value, self.fonts.of(7), draw.RIGHT, draw.MUTED)


def _title(data: ReportData) -> str:
    return QCoreApplication.translate("report", "GPU usage report {month}").format(month=data.month)


# -- the title (page 1) and page 2: totals and the month's graph ---------------------------------


def title_block(doc: Document) -> float:
    """The report's title, what it covers and what its figures do not; returns the y under."""
    data, p = doc.data, doc.painter
    y = doc.heading(MARGIN, _title(data), 20)
    info = QCoreApplication.translate(
        "report", "{lab} · {start} to {end} · generated {now}"
    ).format(
        lab=data.lab_name,
        start=local_moment(data.start, data.zone),
        end=local_moment(data.end, data.zone),
        now=local_moment(data.generated, data.zone),
    )
    draw.text(p, QRectF(MARGIN, y - 6, doc.inner, 14), info, doc.fonts.of(8.5), color=draw.MUTED)
    for note in range_notes(data):
        y += 14
        draw.text(p, QRectF(MARGIN, y - 6, doc.inner, 14), note, doc.fonts.of(8.5, True))
    return y + 8


def page_summary(doc: Document) -> None:
    doc.new_page()
    data, p = doc.data, doc.painter
    y = doc.heading(MARGIN, QCoreApplication.translate("report", "The month in GPU-hours"))
    columns = [
        draw.Column(QCoreApplication.translate("report", "Figure"), 270, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Value"), 120),
    ]
    _drawn, y = draw.table(p, MARGIN, y, columns, summary_rows(data.summary), doc.fonts, doc.bottom)
    y = doc.heading(y + 20, QCoreApplication.translate("report", "Busy GPUs over the month"))
    chart = QRectF(MARGIN, y, doc.inner, min(CHART_H, doc.bottom - y))
    _month_chart(doc, chart)


def _month_chart(doc: Document, rect: QRectF) -> None:
    data = doc.data
    buckets = data.lab_series
    busy = [(b.start + b.length / 2, b.busy_gpus) for b in buckets]
    seen = [(b.start + b.length / 2, b.observed_gpus) for b in buckets]
    lines = [
        draw.Line(QCoreApplication.translate("report", "GPUs in use"), busy, draw.BUSY, True),
        draw.Line(QCoreApplication.translate("report", "GPUs reporting"), seen, draw.MUTED),
    ]
    gap = 1.5 * (buckets[0].length if buckets else 3600)
    x_range = (data.start.timestamp(), data.end.timestamp())
    ticks = day_ticks(data.start, data.end, data.zone)
    if not buckets:
        note = QCoreApplication.translate("report", "No readings were recorded this month.")
        draw.text(
            doc.painter,
            QRectF(rect.left(), rect.top() + 40, rect.width(), 14),
            note,
            doc.fonts.of(9),
            draw.CENTER,
            draw.MUTED,
        )
    draw.time_chart(
        doc.painter, rect, lines, x_range, float(max(data.summary.gpus, 1)), ticks, doc.fonts, gap
    )


# -- page 2: heatmap and bars ---------------------------------------------------------------------


def page_pictures(doc: Document) -> None:
    doc.new_page()
    data = doc.data
    heat = data.heatmap
    y = doc.heading(MARGIN, QCoreApplication.translate("report", "Utilisation of each GPU"))
    height = min(430.0, max(120.0, 9.0 * len(heat.labels) + 34))
    if heat.labels:
        ticks = [
            ((t - heat.starts[0]) / heat.step, label)
            for t, label in day_ticks(data.start, data.end, data.zone)
        ]
        draw.heatmap(
            doc.painter,
            QRectF(MARGIN, y, doc.inner, height),
            heat.labels,
            heat.values,
            ticks,
            doc.fonts,
        )
    else:
        _nothing(doc, y)
    y = doc.heading(
        y + height + 16,
        QCoreApplication.translate("report", "Booked and process GPU-hours per member"),
    )
    shown = data.members[:BAR_MEMBERS]
    if shown:
        labels = (
            QCoreApplication.translate("report", "booked"),
            QCoreApplication.translate("report", "held by a process"),
        )
        pairs = [(m.booked_h, m.process_h) for m in shown]
        draw.paired_bars(
            doc.painter,
            QRectF(MARGIN, y, doc.inner, doc.bottom - y),
            [m.user_name for m in shown],
            pairs,
            labels,
            doc.fonts,
        )
    else:
        _nothing(doc, y)


def _nothing(doc: Document, y: float) -> None:
    value = QCoreApplication.translate("report", "Nothing recorded this month.")
    draw.text(
        doc.painter, QRectF(MARGIN, y, doc.inner, 14), value, doc.fonts.of(9), color=draw.MUTED
    )


# -- page 3 on: tables ----------------------------------------------------------------------------


def page_tables(doc: Document) -> None:
    doc.new_page()
    data = doc.data
    member_columns = [
        draw.Column(QCoreApplication.translate("report", "Member"), 76, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Booked"), 42),
        draw.Column(QCoreApplication.translate("report", "Process"), 44),
        draw.Column(QCoreApplication.translate("report", "Idle booked"), 62),
        draw.Column(QCoreApplication.translate("report", "No booking"), 62),
        draw.Column(QCoreApplication.translate("report", "Offloaded"), 52),
        draw.Column(QCoreApplication.translate("report", "Unmet"), 36),
        draw.Column(QCoreApplication.translate("report", "Refused"), 42),
        draw.Column(QCoreApplication.translate("report", "Pending"), 44),
        draw.Column(QCoreApplication.translate("report", "Rejected"), 48),
    ]
    y = _long_table(
        doc,
        MARGIN,
        QCoreApplication.translate("report", "Members (GPU-hours)"),
        member_columns,
        member_rows(data.members),
    )
    note = QCoreApplication.translate(
        "report",
        "Booked: GPU-hours booked (requests waiting for approval not counted). Process: time a "
        "process of theirs sat on a GPU, busy or not, booked or not (it exceeds Booked when "
        "members run without a booking). Idle booked: booked time the GPU computed nothing. No "
        "booking: process time outside their bookings. Offloaded: GPU-hours of their jobs on "
        "clusters. Unmet: requests with no free GPUs when wanted. Refused: requests a lab rule "
        "turned down. Pending: asked this month, still undecided at its end. Rejected: rejected "
        "this month.",
    )
    y = draw.paragraph(doc.painter, MARGIN, y + 4, doc.inner, note, doc.fonts.of(7.5), draw.MUTED)
    cluster_columns = [
        draw.Column(QCoreApplication.translate("report", "Cluster"), 200, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Jobs"), 60),
        draw.Column(QCoreApplication.translate("report", "GPU-hours"), 80),
    ]
    clusters = [[c, str(jobs), hours_label(h)] for c, (jobs, h) in data.offloaded.items()]
    y = _long_table(
        doc,
        y + 16,
        QCoreApplication.translate("report", "Offloaded to clusters"),
        cluster_columns,
        clusters,
    )
    unmet_columns = [
        draw.Column(QCoreApplication.translate("report", "Member"), 95, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Model"), 100, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "GPUs"), 40),
        draw.Column(QCoreApplication.translate("report", "Hours"), 45),
        draw.Column(QCoreApplication.translate("report", "Asked"), 75),
        draw.Column(QCoreApplication.translate("report", "Wanted"), 75),
        draw.Column(QCoreApplication.translate("report", "Waited"), 75),
    ]
    y = _long_table(
        doc,
        y + 16,
        QCoreApplication.translate("report", "Unmet requests: no free GPUs when wanted"),
        unmet_columns,
        unmet_rows([r for r in data.unmet if r.no_capacity], data.zone),
    )
    refused_columns = [*unmet_columns[:5], draw.Column(rule_header(), 150, draw.LEFT)]
    _long_table(
        doc,
        y + 16,
        QCoreApplication.translate("report", "Requests refused by a lab rule (not missing GPUs)"),
        refused_columns,
        refused_rows([r for r in data.unmet if not r.no_capacity], data.zone),
    )


def rule_header() -> str:
    return QCoreApplication.translate("report", "Rule")


def _long_table(
    doc: Document, y: float, title: str, columns: list[draw.Column], rows: list[list[str]]
) -> float:
    """A table that goes on over as many pages as it needs; returns the y after it."""
    if y + 80 > doc.bottom:
        doc.new_page()
        y = MARGIN
    y = doc.heading(y, title)
    if not rows:
        _nothing(doc, y)
        return y + 14
    while True:
        drawn, y = draw.table(doc.painter, MARGIN, y, columns, rows, doc.fonts, doc.bottom)
        rows = rows[drawn:]
        if not rows:
            return y
        doc.new_page()
        y = doc.heading(MARGIN, title + " " + QCoreApplication.translate("report", "(continued)"))
