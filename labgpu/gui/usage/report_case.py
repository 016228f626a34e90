"""The monthly report's first page: the case a PI hands to a committee (issue 16, point 7).

Capacity, busy and booked shares, saturation and waits per model, unserved and offloaded
GPU-hours with the clusters' queue waits, the month against the previous one and the same month
a year earlier, twelve months in a chart, GPU-hours per project and the cost where prices are
set. Every figure is one ``labgpu usage --month M --json`` prints for the same month: the totals
(``totals``), the rows of ``--by model``, the evidence (``evidence``), ``cost``, and for the
trend the totals of the other months. ``gather_case`` reads them (on a worker in the app),
``page_case`` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QRectF

from labgpu.core.errors import LabgpuError
from labgpu.core.usage.cost import CostReport
from labgpu.core.usage.evidence import Evidence
from labgpu.core.usage.figures import Table, hours_label
from labgpu.gui.usage import report_draw as draw
from labgpu.services import Labgpu
from labgpu.services.usage.prices import price_hint
from labgpu.services.usage.service import Summary, month_range

if TYPE_CHECKING:
    from labgpu.gui.usage.report_pages import Document

#: Months in the trend chart, the report's own last.
TREND_MONTHS = 12
MARGIN = 42.0
#: Projects listed on the page (the busiest first; the CLI has them all).
PROJECTS = 6


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One month's totals for the trend, as ``labgpu usage --month M --json``'s ``totals`` give
    them (``known``: usage history covers some of the month; otherwise no figure is shown)."""

    month: str
    known: bool
    busy_pct: float | None
    booked_h: float
    unmet_gpu_h: float
    offloaded_h: float

    @classmethod
    def of(cls, month: str, s: Summary) -> MonthFigures:
        known = s.history_from is not None and s.history_from < s.until
        return cls(month, known, s.busy_pct, s.booked_h, s.unmet_gpu_h, s.offloaded_h)


def month_figures(lab: Labgpu, month: str, zone: tzinfo, history: datetime | None) -> MonthFigures:
    """An earlier month's trend figures without the members' breakdown a whole ``summary``
    reads (ten times faster): busy and booked from ``usage --by model``'s rows, unmet and
    offloaded GPU-hours from the requests and jobs, counted as ``summary`` counts them."""
    usage = lab.usage
    start, end = month_range(month, zone)
    until = max(start, min(end, usage.clock()))
    table = usage.table("model", start, end)
    column = {c: n for n, c in enumerate(table.columns)}

    def total(name: str) -> float:
        return sum(float(v) for r in table.rows if isinstance(v := r[column[name]], int | float))

    observed, busy = total("observed_gpu_hours"), total("busy_gpu_hours")
    return MonthFigures(
        month,
        history is not None and history < until,
        100.0 * busy / observed if observed else None,
        total("booked_gpu_hours"),
        sum(r.gpu_hours for r in usage.unmet(start, until) if r.no_capacity),
        sum(row.gpu_hours for row in usage.offloaded(start, until)),
    )


@dataclass(frozen=True, slots=True)
class CaseData:
    """What the first page shows, read before drawing starts."""

    models: Table  # ``usage --by model``'s rows
    evidence: Evidence
    cost: CostReport
    projects: Table | None  # None: this lab keeps no projects (yet)
    months: list[MonthFigures]  # oldest first, the report's month last

    def month(self, offset: int) -> MonthFigures | None:
        """The report's month (0), the previous (1), a year earlier (12); None: not read."""
        index = len(self.months) - 1 - offset
        return self.months[index] if 0 <= index < len(self.months) else None


def shift_month(month: str, back: int) -> str:
    """``YYYY-MM`` ``back`` months before ``month``."""
    year, number = (int(p) for p in month.split("-"))
    total = year * 12 + number - 1 - back
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def gather_case(lab: Labgpu, month: str, zone: tzinfo, summary: Summary) -> CaseData:
    """Read the first page's figures for ``month`` (``summary``: its totals, already read)."""
    start, end = month_range(month, zone)
    usage = lab.usage
    evidence = usage.evidence(start, end, zone)
    months = [MonthFigures.of(month, summary)]
    history = usage.history_start()
    for back in range(1, TREND_MONTHS + 1):  # 12 back: the same month a year earlier
        months.insert(0, month_figures(lab, shift_month(month, back), zone, history))
    try:
        projects: Table | None = usage.table("project", start, end)
    except LabgpuError:
        projects = None
    return CaseData(
        models=usage.table("model", start, end),
        evidence=evidence,
        cost=usage.prices.cost(start, end, evidence),
        projects=projects,
        months=months,
    )


# -- rows -----------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def headline_rows(s: Summary, evidence: Evidence | None = None) -> list[list[str]]:
    """The lab's month: capacity, busy and booked shares, unmet and offloaded GPU-hours; with
    the ``evidence``, what became of the GPU-hours asked with no GPUs in time (booked later,
    sent to clusters, unserved: they add up to the unmet GPU-hours)."""
    return [
        [QCoreApplication.translate("report", "GPUs"), str(s.gpus)],
        [QCoreApplication.translate("report", "Capacity (GPU-h)"), hours_label(s.capacity_h)],
        [QCoreApplication.translate("report", "Busy share of observed GPU-time"), pct(s.busy_pct)],
        [
            QCoreApplication.translate("report", "Booked GPU-h (share of capacity)"),
            f"{hours_label(s.booked_h)} ({pct(s.booked_pct)})",
        ],
        [
            QCoreApplication.translate("report", "Asked, no GPUs in time (GPU-h)"),
            hours_label(s.unmet_gpu_h),
        ],
        *([] if evidence is None else [_fate_row(s, evidence)]),
        [
            QCoreApplication.translate("report", "Run on clusters (GPU-h, jobs)"),
            f"{hours_label(s.offloaded_h)} ({s.offloaded_jobs})",
        ],
    ]


def _fate_row(s: Summary, evidence: Evidence) -> list[str]:
    """``… booked later / to clusters / unserved``: the unmet GPU-hours the member then booked
    anyway (served, with a wait), sent to a cluster, or never had (the demand survey's)."""
    unserved = sum(d.unserved_gpu_h for d in evidence.demand)
    offloaded = sum(d.offloaded_gpu_h for d in evidence.demand)
    later = max(0.0, s.unmet_gpu_h - unserved - offloaded)
    return [
        QCoreApplication.translate("report", "… booked later / clusters / none"),
        f"{hours_label(later)} / {hours_label(offloaded)} / {hours_label(unserved)}",
    ]


def model_rows(data: CaseData) -> list[list[str]]:
    """Per model: GPUs, busy share, saturated share, waits, unserved and offloaded GPU-h."""
    columns = data.models.columns
    rows = {str(r[0]): dict(zip(columns, r, strict=True)) for r in data.models.rows}
    saturation: dict[str, list[int]] = {}
    for figure in data.evidence.saturation:
        seen = saturation.setdefault(figure.model, [0, 0])
        seen[0] += figure.hours
        seen[1] += figure.saturated_hours
    waits = {w.model: w for w in data.evidence.waits}
    demand: dict[str, list[float]] = {}
    for d in data.evidence.demand:
        sums = demand.setdefault(d.model, [0.0, 0.0])
        sums[0] += d.unserved_gpu_h
        sums[1] += d.offloaded_gpu_h
    found = []
    for model in sorted(set(rows) | set(waits) | {m for m, v in demand.items() if any(v)}):
        row = rows.get(model, {})
        sat = saturation.get(model)
        wait = waits.get(model)
        unserved, offloaded = demand.get(model, [0.0, 0.0])
        busy = row.get("busy_pct")
        found.append(
            [
                model,
                str(row.get("gpus", 0)),
                pct(busy if isinstance(busy, float | int) else None),
                pct(100.0 * sat[1] / sat[0] if sat and sat[0] else None),
                str(wait.requests) if wait else "0",
                hours(wait.median_h) if wait else "—",
                hours(wait.p90_h) if wait else "—",
                hours_label(unserved),
                hours_label(offloaded),
            ]
        )
    return found


def cluster_rows(data: CaseData) -> list[list[str]]:
    """Per cluster: jobs, GPU-hours run, queue wait (median, p90), median turnaround."""
    return [
        [
            q.cluster,
            str(q.jobs),
            hours_label(q.gpu_hours),
            hours(q.median_wait_h),
            hours(q.p90_wait_h),
            hours(q.median_turnaround_h),
        ]
        for q in data.evidence.queues
    ]


def trend_rows(data: CaseData) -> list[list[str]]:
    """The month beside the previous one and the same month a year earlier."""
    columns = [data.month(0), data.month(1), data.month(12)]
    figures = (
        (QCoreApplication.translate("report", "Busy share"), lambda m: pct(m.busy_pct)),
        (QCoreApplication.translate("report", "Booked GPU-h"), lambda m: hours_label(m.booked_h)),
        (QCoreApplication.translate("report", "Unmet GPU-h"), lambda m: hours_label(m.unmet_gpu_h)),
        (
            QCoreApplication.translate("report", "Cluster GPU-h"),
            lambda m: hours_label(m.offloaded_h),
        ),
    )
    return [
        [label, *(show(m) if m is not None and m.known else "—" for m in columns)]
        for label, show in figures
    ]


def project_rows(table: Table) -> tuple[list[str], list[list[str]]]:
    """The project table's name column and its first three GPU-hour columns, the most GPU-hours
    (of the first) first."""
    keep = [0] + [n for n, c in enumerate(table.columns) if c.endswith("_gpu_hours")][:3]
    header = [_column_label(table.columns[n]) for n in keep]

    def cell(value: object) -> str:
        return hours_label(float(value)) if isinstance(value, int | float) else "—"

    def weight(row: tuple[object, ...]) -> float:
        value = row[keep[1]] if len(keep) > 1 else 0.0
        return -float(value) if isinstance(value, int | float) else 0.0

    ordered = sorted(table.rows, key=weight)
    return header, [[str(r[0]), *(cell(r[n]) for n in keep[1:])] for r in ordered]


def _column_label(column: str) -> str:
    """The project table's header for ``column``, in the report's language."""
    labels = {
        "project": QCoreApplication.translate("report", "Project"),
        "booked_gpu_hours": QCoreApplication.translate("report", "Booked"),
        "used_gpu_hours": QCoreApplication.translate("report", "Used"),
        "offloaded_gpu_hours": QCoreApplication.translate("report", "Offloaded"),
        "unserved_gpu_hours": QCoreApplication.translate("report", "Unserved"),
    }
    return labels.get(column, column.removesuffix("_gpu_hours").replace("_", " ").capitalize())


def cost_lines(cost: CostReport) -> list[str]:
    """One sentence per priced model, then the cluster hours no model is named for, then where
    to set the missing prices."""
    lines = []
    for m in cost.models:
        if m.currency is None:
            continue
        clauses = []
        if m.cloud_cost is not None and m.use.booked_h:
            clauses.append(
                QCoreApplication.translate(
                    "report", "{h} GPU-h booked would have cost {money} in the cloud"
                ).format(h=hours_label(m.use.booked_h), money=money(m.cloud_cost, m.currency))
            )
        if m.cluster_cost is not None and m.use.cluster_h:
            clauses.append(
                QCoreApplication.translate(
                    "report", "{h} GPU-h run on clusters cost {money} at the cluster rate"
                ).format(h=hours_label(m.use.cluster_h), money=money(m.cluster_cost, m.currency))
            )
        if m.cluster_cost is None and m.use.cluster_h:
            clauses.append(
                QCoreApplication.translate(
                    "report", "{h} GPU-h run on clusters have no cluster rate set"
                ).format(h=hours_label(m.use.cluster_h))
            )
        if m.payback_periods is not None and m.buy_gpus is not None:
            payback = QCoreApplication.translate(
                "report",
                "{n} more GPU(s) would pay for themselves in {months:.1f} months of such use "
                "(the {h} GPU-h asked that the lab did not serve, sent to clusters or unserved, "
                "valued at the cloud price)",
            )
            clauses.append(
                payback.format(
                    n=m.buy_gpus,
                    months=m.payback_periods,
                    h=hours_label(m.use.unserved_h),
                )
            )
        if clauses:
            lines.append(f"{m.model}: " + "; ".join(clauses) + ".")
    if cost.unattributed_cluster_h:
        lines.append(
            QCoreApplication.translate(
                "report", "{h} GPU-h run on clusters name no GPU model and are not priced."
            ).format(h=hours_label(cost.unattributed_cluster_h))
        )
    if cost.unpriced:
        lines.append(price_hint(cost.unpriced))
    return lines


def money(value: float, currency: str) -> str:
    """``USD 1,234`` (cents shown under 100)."""
    return f"{currency} {value:,.2f}" if value < 100 else f"{currency} {value:,.0f}"


# -- drawing --------------------------------------------------------------------------------------


def page_case(doc: Document) -> None:
    """Page 1: the case."""
    from labgpu.gui.usage.report_pages import title_block  # the report's own title lines

    data, case = doc.data, doc.data.case
    p, fonts = doc.painter, doc.fonts
    y = title_block(doc)
    half = (doc.inner - 16) / 2
    top = doc.heading(y + 6, QCoreApplication.translate("report", "The month"), 11)
    columns = [
        draw.Column(QCoreApplication.translate("report", "Figure"), half - 86, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "Value"), 86),
    ]
    _n, left_end = draw.table(
        p, MARGIN, top, columns, headline_rows(data.summary, case.evidence), fonts, doc.bottom
    )
    right = MARGIN + half + 16
    draw.text(
        p,
        QRectF(right, y + 6, half, 20),
        QCoreApplication.translate("report", "Against earlier months"),
        fonts.of(11, True),
    )
    trend_columns = [
        draw.Column(QCoreApplication.translate("report", "Figure"), half - 3 * 52, draw.LEFT),
        draw.Column(data.month, 52),
        draw.Column(shift_month(data.month, 1), 52),
        draw.Column(shift_month(data.month, 12), 52),
    ]
    _n, right_end = draw.table(p, right, top, trend_columns, trend_rows(case), fonts, doc.bottom)
    y = doc.heading(
        max(left_end, right_end) + 12, QCoreApplication.translate("report", "Per GPU model"), 11
    )
    model_columns = [
        draw.Column(QCoreApplication.translate("report", "Model"), doc.inner - 412, draw.LEFT),
        draw.Column(QCoreApplication.translate("report", "GPUs"), 40),
        draw.Column(QCoreApplication.translate("report", "Busy"), 46),
        draw.Column(QCoreApplication.translate("report", "Saturated"), 50),
        draw.Column(QCoreApplication.translate("report", "Requests"), 52),
        draw.Column(QCoreApplication.translate("report", "Median wait"), 64),
        draw.Column(QCoreApplication.translate("report", "p90 wait"), 50),
        draw.Column(QCoreApplication.translate("report", "Unserved"), 54),
        draw.Column(QCoreApplication.translate("report", "Offloaded"), 56),
    ]
    _n, y = draw.table(p, MARGIN, y, model_columns, model_rows(case), fonts, doc.bottom)
    note = QCoreApplication.translate(
        "report",
        "Busy: share of the GPU-time with readings that a GPU computed. Saturated: share of hours "
        "in which every bookable GPU of the model was booked or busy. Wait: the earliest start "
        "the lab offered minus the start asked for (median, 90th percentile; requests with no "
        "slot within the horizon not in them). Unserved: GPU-hours asked for with no GPUs within "
        "30 minutes of the wanted start that the member neither booked later nor sent to a "
        "cluster; Offloaded: GPU-hours of such requests the member sent to a cluster instead.",
    )
    y = draw.paragraph(p, MARGIN, y + 3, doc.inner, note, fonts.of(6.5), draw.MUTED)
    queues = cluster_rows(case)
    if queues:
        y = doc.heading(y + 8, QCoreApplication.translate("report", "Offloaded to clusters"), 11)
        cluster_columns = [
            draw.Column(
                QCoreApplication.translate("report", "Cluster"), doc.inner - 420, draw.LEFT
            ),
            draw.Column(QCoreApplication.translate("report", "Jobs"), 40),
            draw.Column(QCoreApplication.translate("report", "GPU-h run"), 80),
            draw.Column(QCoreApplication.translate("report", "Median queue wait"), 100),
            draw.Column(QCoreApplication.translate("report", "p90 queue wait"), 90),
            draw.Column(QCoreApplication.translate("report", "Median turnaround"), 110),
        ]
        _n, y = draw.table(p, MARGIN, y, cluster_columns, queues, fonts, doc.bottom)
    y = doc.heading(y + 8, QCoreApplication.translate("report", "Twelve months"), 11)
    chart_h = 115.0  # leaves the projects and the cost room above the footer
    _trend_chart(doc, QRectF(MARGIN, y, doc.inner, chart_h))
    y += chart_h + 10
    _projects_and_cost(doc, y)


def _trend_chart(doc: Document, rect: QRectF) -> None:
    case = doc.data.case
    shown = case.months[1:]  # the 12 months up to the report's
    labels = [m.month[2:] for m in shown]
    unmet = [m.unmet_gpu_h if m.known else None for m in shown]
    run = [m.offloaded_h if m.known else None for m in shown]
    busy = [m.busy_pct if m.known else None for m in shown]
    draw.month_chart(
        doc.painter,
        rect,
        labels,
        [
            draw.Bars(
                QCoreApplication.translate("report", "Unmet GPU-h asked"), unmet, draw.BOOKED
            ),
            draw.Bars(
                QCoreApplication.translate("report", "GPU-h run on clusters"), run, draw.USED
            ),
        ],
        draw.Bars(QCoreApplication.translate("report", "Busy share (%)"), busy, draw.SHARE),
        doc.fonts,
    )


def _projects_and_cost(doc: Document, y: float) -> None:
    """Projects (the busiest ``PROJECTS`` of them), then the cost, each the page's width."""
    case, p, fonts = doc.data.case, doc.painter, doc.fonts
    if case.projects is not None:
        y = doc.heading(y, QCoreApplication.translate("report", "Projects (GPU-hours)"), 11)
        header, rows = project_rows(case.projects)
        columns = [draw.Column(header[0], 170, draw.LEFT)]
        columns += [draw.Column(h, 90) for h in header[1:]]
        if rows:
            _n, y = draw.table(p, MARGIN, y, columns, rows[:PROJECTS], fonts, doc.bottom)
            if len(rows) > PROJECTS:
                more = QCoreApplication.translate(
                    "report", "{n} more projects: see `labgpu usage --by project`"
                ).format(n=len(rows) - PROJECTS)
                y = draw.paragraph(p, MARGIN, y + 2, doc.inner, more, fonts.of(7), draw.MUTED)
        else:
            none = QCoreApplication.translate("report", "No GPU-hours named a project.")
            draw.text(p, QRectF(MARGIN, y, doc.inner, 14), none, fonts.of(8.5), color=draw.MUTED)
            y += 14
        y += 8
    y = doc.heading(y, QCoreApplication.translate("report", "Cost"), 11)
    for line in cost_lines(case.cost):
        y = draw.paragraph(p, MARGIN, y, doc.inner, line, fonts.of(8), draw.INK) + 3
