"""What the monthly usage report shows: the month's figures, read from the services before
drawing starts (``gather``), and the rows and notes its pages print (``report_pages``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from PySide6.QtCore import QCoreApplication

from labgpu.core.usage.figures import MemberUsage, SlotRequest, UsageBucket, hours_label
from labgpu.gui.usage.report_case import CaseData, gather_case
from labgpu.gui.widgets.text import rule_label, short_db
from labgpu.services import Labgpu
from labgpu.services.usage.service import Heatmap, Summary, check_month


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
    unmet: list[SlotRequest]
    case: CaseData  # page 1


def gather(lab: Labgpu, month: str, zone: tzinfo) -> ReportData:
    """Read the month's figures (SQL; not on the GUI thread in the app)."""
    start, end = check_month(month, zone, lab.usage.clock())
    summary = lab.usage.summary(start, end)
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
        summary=summary,
        lab_series=series.get("lab", []),
        heatmap=lab.usage.heatmap(start, end, max_columns=400),
        members=lab.usage.members(start, end),
        offloaded={c: (int(v[0]), v[1]) for c, v in sorted(offloaded.items())},
        unmet=lab.usage.unmet(start, end),
        case=gather_case(lab, month, zone, summary),
    )


def _lab_name(lab: Labgpu) -> str:
    return lab.title or short_db(lab.store.url)


def local_moment(moment: datetime, zone: tzinfo) -> str:
    """``moment`` in ``zone`` as ``YYYY-MM-DD HH:MM`` and the zone's name."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z").strip()


def range_notes(data: ReportData) -> list[str]:
    """What the month's figures do not cover: a month in progress, history that starts
    later."""
    s, notes = data.summary, []
    if s.partial:
        notes.append(
            QCoreApplication.translate(
                "report", "Month in progress: the figures count up to {now}, not the whole month."
            ).format(now=local_moment(s.until, data.zone))
        )
    if s.history_from is None:
        notes.append(QCoreApplication.translate("report", "No usage history is kept yet."))
    elif s.history_from >= s.until:
        notes.append(
            QCoreApplication.translate(
                "report", "Usage history starts {day}: nothing is known of this month."
            ).format(day=local_moment(s.history_from, data.zone))
        )
    elif s.starts_late:
        notes.append(
            QCoreApplication.translate(
                "report", "Usage history starts {day}: nothing is known of the time before."
            ).format(day=local_moment(s.history_from, data.zone))
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


def _request_cells(r: SlotRequest, zone: tzinfo) -> list[str]:
    """Who asked for what, and when: the first columns of both request tables."""
    asked = r.asked_at.astimezone(zone).strftime("%m-%d %H:%M")
    return [r.user_name, r.model, str(r.count), f"{r.hours:g}", asked]


def unmet_rows(requests: Sequence[SlotRequest], zone: tzinfo) -> list[list[str]]:
    """Unmet requests with how long the member would have waited."""
    never = QCoreApplication.translate("report", "no slot")
    rows = []
    for r in requests:
        wait = never if r.wait is None else hours_label(r.wait.total_seconds() / 3600) + " h"
        wanted = r.wanted_at.astimezone(zone).strftime("%m-%d %H:%M")
        rows.append([*_request_cells(r, zone), wanted, wait])
    return rows


def refused_rows(requests: Sequence[SlotRequest], zone: tzinfo) -> list[list[str]]:
    """Requests a rule refused, with the rule's name as the Rules page says it."""
    return [[*_request_cells(r, zone), rule_label(r.refused_rule or "")] for r in requests]
