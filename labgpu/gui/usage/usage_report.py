"""The Usage page's *Monthly report…*: pick a month and a file, gather on a worker, draw the
PDF on the GUI thread (``labgpu.gui.usage.report``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QInputDialog

from labgpu.core.errors import LabgpuError
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task

if TYPE_CHECKING:
    from labgpu.gui.usage.usage_page import UsagePage


def ask_report(page: UsagePage) -> None:
    """Ask for a month (the last complete one first; the month in progress and the months
    with history besides) and a file, then write its report."""
    history = page.view.summary.history_from if page.view is not None else None
    months = report_months(page.clock(), history)
    current = months[0]
    in_progress = QCoreApplication.translate("UsageReport", "{month} (in progress, up to now)")
    labels = [in_progress.format(month=current), *months[1:]]
    label, ok = QInputDialog.getItem(
        page,
        QCoreApplication.translate("UsageReport", "Monthly report"),
        QCoreApplication.translate("UsageReport", "Month:"),
        labels,
        1 if len(labels) > 1 else 0,
        False,
    )
    if not ok:
        return
    month = months[labels.index(label)]
    path = page.ask_path(
        QCoreApplication.translate("UsageReport", "Save monthly report"),
        f"labgpu-report-{month}.pdf",
        QCoreApplication.translate("UsageReport", "PDF document (*.pdf)"),
    )
    if path is not None:
        write_report(page, month, path)


def write_report(page: UsagePage, month: str, path: Path) -> None:
    """Gather ``month``'s figures on a worker, then draw the PDF to ``path``; the page says
    where it went (``exported``) or what went wrong."""
    from labgpu.gui.usage import report

    zone = datetime.now().astimezone().tzinfo or UTC
    page.report_button.setEnabled(False)
    page.range_bar.show_busy(True)

    def done(data: report.ReportData | None, error: BaseException | None) -> None:
        page.report_button.setEnabled(True)
        page.range_bar.show_busy(page.is_loading())
        if error is None and data is not None:
            try:
                pages = report.write_gathered(data, path)
            except LabgpuError as exc:
                error = exc
            else:
                page.remember_folder(path.parent)
                done_text = QCoreApplication.translate(
                    "UsageReport", "Wrote the {month} report ({pages} pages) to {path}."
                )
                page.exported.emit(done_text.format(month=month, pages=pages, path=path))
                return
        if error is not None:
            page.show_message(handle_error(page, error) or "")

    run_task(lambda: report.gather(page.labgpu, month, zone), done, context=page)


def report_months(now: datetime, history_from: datetime | None, count: int = 24) -> list[str]:
    """The month in progress, then up to ``count`` complete months before it, latest first,
    back to the month the kept history starts in (``history_from``; None: not known)."""
    local = now.astimezone()
    months = [f"{local.year:04d}-{local.month:02d}", *recent_months(now, count)]
    if history_from is None:
        return months[:13]
    first = history_from.astimezone()
    oldest = f"{first.year:04d}-{first.month:02d}"
    return [m for m in months if m >= oldest] or months[:1]


def recent_months(now: datetime, count: int) -> list[str]:
    """``YYYY-MM`` of the ``count`` months before ``now``'s (local time), latest first."""
    local = now.astimezone()
    year, month = local.year, local.month
    found = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        found.append(f"{year:04d}-{month:02d}")
    return found
