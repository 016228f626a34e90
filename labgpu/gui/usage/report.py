"""The PI's monthly usage report as a PDF (A4), drawn with QPainter on a QPdfWriter.

Page 1: title, the month's totals and the lab's busy GPUs over the month; page 2: GPUs × time
heatmap and booked vs process GPU-hours per member; page 3 on: the members' table, offloaded
GPU-hours per cluster, unmet requests (no capacity) and requests refused by a rule. A month in
progress is reported up to now and says so; a month that has not begun is refused.
``labgpu usage --report`` calls it without a window.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMarginsF, QRectF, QTranslator
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPainter, QPdfWriter

from labgpu.core.errors import LabgpuError
from labgpu.core.usage.figures import MemberUsage, UnmetRequest, UsageBucket, hours_label
from labgpu.gui.shell import settings as prefs
from labgpu.gui.usage import report_draw as draw
from labgpu.gui.widgets.text import rule_label, short_db
from labgpu.services import Labgpu
from labgpu.services.usage.service import Heatmap, Summary, check_month

MARGIN = 42.0  # points
CHART_H = 320.0
# Members shown in the booked-vs-used bars (the table on page 3 has them all).
BAR_MEMBERS = 20
_translators: list[QTranslator] = []  # kept alive while the process runs


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report shows, read from the services before drawing starts."""

    lab_name: str
    month: str
    start: datetime
    end: datetime
    zone: tzinfo
    generated: datetime
    summary: Summary
    lab_series: list[UsageBucket]
    heatmap: Heatmap
    members: list[MemberUsage]
    offloaded: dict[str, tuple[int, float]]  # cluster -> (jobs, GPU-hours)
    unmet: list[UnmetRequest]


def gather(lab: Labgpu, month: str, zone: tzinfo) -> ReportData:
    """Read the month's figures (SQL; not on the GUI thread in the app)."""
    start, end = check_month(month, zone, lab.usage.clock())
    _level, series = lab.usage.series(start, end, "lab", max_points=800)
    offloaded: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for row in lab.usage.offloaded(start, end):
        offloaded[row.cluster][0] += row.jobs
        offloaded[row.cluster][1] += row.gpu_hours
    return ReportData(
        lab_name=_lab_name(lab),
        month=month,
        start=start,
        end=end,
        zone=zone,
        generated=lab.usage.clock().astimezone(UTC),
        summary=lab.usage.summary(start, end),
        lab_series=series.get("lab", []),
        heatmap=lab.usage.heatmap(start, end, max_columns=400),
        members=lab.usage.members(start, end),
        offloaded={c: (int(v[0]), v[1]) for c, v in sorted(offloaded.items())},
        unmet=lab.usage.unmet(start, end),
    )


def _lab_name(lab: Labgpu) -> str:
    return lab.title or short_db(lab.store.url)


def write_monthly_report(
    lab: Labgpu, month: str, path: Path, tz: tzinfo | None = None, lang: str | None = None
) -> int:
    """Write ``month``'s (``YYYY-MM``) report to ``path``; returns the number of pages.

    The file appears whole or not at all: it is written beside ``path`` and renamed.
    ``tz``: the zone months and times are shown in (None: the system's local time).
    ``lang``: ``en`` or ``ko`` (None: the app's language setting), for a report made without
    the app (the CLI).
    """
    zone = tz or datetime.now().astimezone().tzinfo or UTC
    folder = path.parent
    if not folder.is_dir():
        raise LabgpuError(
            f"cannot write the report to {path}: the folder {folder} does not exist; "
            "create it or choose another file"
        )
    ensure_application(lang)
    return write_gathered(gather(lab, month, zone), path)


def write_gathered(data: ReportData, path: Path) -> int:
    """Draw gathered figures into ``path`` (whole or not at all); returns the page count.

    The app gathers on a worker and draws here, on the GUI thread.
    """
    folder = path.parent
    if not folder.is_dir():
        raise LabgpuError(
            f"cannot write the report to {path}: the folder {folder} does not exist; "
            "create it or choose another file"
        )
    partial = folder / f".{path.name}.{os.getpid()}.part"
    try:
        # Made here first, so a folder that takes no file (read-only, /proc) is said plainly
        # before Qt tries (and prints "QPainter::begin(): Returned false").
        partial.touch(exist_ok=False)
        pages = render(data, partial)
        os.replace(partial, path)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise LabgpuError(f"cannot write the report to {path}: {why}") from None
    finally:
        with contextlib.suppress(OSError):  # nothing was made, or the folder takes nothing
            partial.unlink(missing_ok=True)
    return pages


def ensure_application(lang: str | None = None) -> QGuiApplication:
    """The running Qt application, or a new windowless one (offscreen on Linux, so a report
    needs no display) with labgpu's translations for ``lang`` (None: the app's setting)."""
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QGuiApplication(["labgpu"])
    chosen = lang if lang is not None else prefs.language(prefs.open_settings())
    _translators.extend(prefs.install_translators(app, chosen))
    return app


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


def render(data: ReportData, path: Path) -> int:
    """Draw every page of the report into ``path``; returns the number of pages."""
    doc = Document(path, data)
    try:
        for page in PAGES:
            page(doc)
    except BaseException:
        doc.painter.end()
        raise
    return doc.finish()


def _title(data: ReportData) -> str:
    return QCoreApplication.translate("report", "GPU usage report {month}").format(month=data.month)


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z").strip()


# -- page 1: totals and the month's graph --------------------------------------------------------


def page_summary(doc: Document) -> None:
    data, p = doc.data, doc.painter
    y = doc.heading(MARGIN, _title(data), 20)
    info = QCoreApplication.translate(
        "report", "{lab} · {start} to {end} · generated {now}"
    ).format(
        lab=data.lab_name,
        start=_local(data.start, data.zone),
        end=_local(data.end, data.zone),
        now=_local(data.generated, data.zone),
    )
    draw.text(p, QRectF(MARGIN, y - 6, doc.inner, 14), info, doc.fonts.of(8.5), color=draw.MUTED)
    for note in range_notes(data):
        y += 14
        draw.text(p, QRectF(MARGIN, y - 6, doc.inner, 14), note, doc.fonts.of(8.5, True))
    y = doc.heading(y + 16, QCoreApplication.translate("report", "The month in GPU-hours"))
    columns = [
        draw.Column(QCoreApplication.translate("report", "Figure"), 270, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Value"), 120),
    ]
    _drawn, y = draw.table(p, MARGIN, y, columns, summary_rows(data.summary), doc.fonts, doc.bottom)
    y = doc.heading(y + 20, QCoreApplication.translate("report", "Busy GPUs over the month"))
    chart = QRectF(MARGIN, y, doc.inner, min(CHART_H, doc.bottom - y))
    _month_chart(doc, chart)


def range_notes(data: ReportData) -> list[str]:
    """What the month's figures do not cover: a month in progress, history that starts
    later."""
    s, notes = data.summary, []
    if s.partial:
        notes.append(
            QCoreApplication.translate(
                "report", "Month in progress: the figures count up to {now}, not the whole month."
            ).format(now=_local(s.until, data.zone))
        )
    if s.history_from is None:
        notes.append(QCoreApplication.translate("report", "No usage history is kept yet."))
    elif s.history_from >= s.until:
        notes.append(
            QCoreApplication.translate(
                "report", "Usage history starts {day}: nothing is known of this month."
            ).format(day=_local(s.history_from, data.zone))
        )
    elif s.starts_late:
        notes.append(
            QCoreApplication.translate(
                "report", "Usage history starts {day}: nothing is known of the time before."
            ).format(day=_local(s.history_from, data.zone))
        )
    return notes


def summary_rows(s: Summary) -> list[list[str]]:
    """The totals as (figure, value) rows."""
    pct = "—" if s.busy_pct is None else f"{s.busy_pct:.0f} %"
    util = "—" if s.mean_util_pct is None else f"{s.mean_util_pct:.0f} %"
    return [
        [QCoreApplication.translate("report", "GPUs"), str(s.gpus)],
        [QCoreApplication.translate("report", "Capacity (GPU-h)"), hours_label(s.capacity_h)],
        [
            QCoreApplication.translate("report", "Observed (GPU-h with readings)"),
            hours_label(s.observed_h),
        ],
        [
            QCoreApplication.translate("report", "Busy (GPU-h, share of observed)"),
            f"{hours_label(s.busy_h)} ({pct})",
        ],
        [QCoreApplication.translate("report", "Mean utilisation"), util],
        [QCoreApplication.translate("report", "Booked (GPU-h)"), hours_label(s.booked_h)],
        [
            QCoreApplication.translate("report", "Held by members' processes (GPU-h)"),
            hours_label(s.process_h),
        ],
        [
            QCoreApplication.translate("report", "Booked but idle (GPU-h)"),
            hours_label(s.idle_booked_h),
        ],
        [
            QCoreApplication.translate("report", "Held by a process without a booking (GPU-h)"),
            hours_label(s.unbooked_h),
        ],
        [
            QCoreApplication.translate("report", "Offloaded to clusters (GPU-h, jobs)"),
            f"{hours_label(s.offloaded_h)} ({s.offloaded_jobs})",
        ],
        [
            QCoreApplication.translate(
                "report", "Unmet: no free GPUs when wanted (requests, GPU-h)"
            ),
            f"{s.unmet} ({hours_label(s.unmet_gpu_h)})",
        ],
        [QCoreApplication.translate("report", "Refused by a lab rule"), str(s.refused)],
        [
            QCoreApplication.translate("report", "Requests pending at the end / rejected"),
            f"{s.pending} / {s.rejected}",
        ],
    ]


def day_ticks(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[float, str]]:
    """Epoch seconds and ``MM-DD`` of the 1st, 8th, 15th, 22nd and 29th of the month."""
    ticks = []
    day = start.astimezone(zone)
    while day < end:
        if day.day in (1, 8, 15, 22, 29):
            ticks.append((day.timestamp(), day.strftime("%m-%d")))
        day = (day + timedelta(days=1, hours=12)).replace(hour=0, minute=0, second=0)
    return ticks


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


def member_rows(members: Sequence[MemberUsage]) -> list[list[str]]:
    """One row per member: hours with one decimal, then request counts."""
    return [
        [
            m.user_name,
            *(
                hours_label(h)
                for h in (m.booked_h, m.process_h, m.idle_booked_h, m.unbooked_h, m.offloaded_h)
            ),
            str(m.unmet),
            str(m.refused),
            str(m.pending),
            str(m.rejected),
        ]
        for m in members
    ]


def _request_cells(r: UnmetRequest, zone: tzinfo) -> list[str]:
    """Who asked for what, and when: the first columns of both request tables."""
    asked = r.asked_at.astimezone(zone).strftime("%m-%d %H:%M")
    return [r.user_name, r.model, str(r.count), f"{r.hours:g}", asked]


def unmet_rows(requests: Sequence[UnmetRequest], zone: tzinfo) -> list[list[str]]:
    """Unmet requests with how long the member would have waited."""
    never = QCoreApplication.translate("report", "no slot")
    rows = []
    for r in requests:
        wait = never if r.wait is None else hours_label(r.wait.total_seconds() / 3600) + " h"
        wanted = r.wanted_at.astimezone(zone).strftime("%m-%d %H:%M")
        rows.append([*_request_cells(r, zone), wanted, wait])
    return rows


def refused_rows(requests: Sequence[UnmetRequest], zone: tzinfo) -> list[list[str]]:
    """Requests a rule refused, with the rule's name as the Rules page says it."""
    return [[*_request_cells(r, zone), rule_label(r.refused_rule or "")] for r in requests]


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


PAGES: tuple[Callable[[Document], None], ...] = (page_summary, page_pictures, page_tables)
