"""The Usage page's *Monthly report…*: pick a month and a file, gather on a worker, draw the
PDF on the GUI thread (``labgpu.gui.report``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QInputDialog

from labgpu.core.errors import LabgpuError
from labgpu.gui.errors import handle_error
from labgpu.gui.worker import run_task

if TYPE_CHECKING:
    from labgpu.gui.usage_page import UsagePage


def ask_report(page: UsagePage) -> None:
    """Ask for a month (the last complete one first) and a file, then write its report."""
    months = recent_months(page.clock(), 12)
    month, ok = QInputDialog.getItem(
        page,
        QCoreApplication.translate("UsageReport", "Monthly report"),
        QCoreApplication.translate("UsageReport", "Month:"),
        months,
        0,
        False,
    )
    if not ok:
        return
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
    from labgpu.gui import report

    zone = datetime.now().astimezone().tzinfo or UTC
    page.report_button.setEnabled(False)
    page.range_bar.show_busy(True)

    def done(data: object, error: BaseException | None) -> None:
        page.report_button.setEnabled(True)
        page.range_bar.show_busy(page.is_loading())
        if error is None and isinstance(data, report.ReportData):
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


def recent_months(now: datetime, count: int) -> list[str]:
    """``YYYY-MM`` of the ``count`` months before ``now``'s (local time), latest first."""
    local = now.astimezone()
    year, month = local.year, local.month
    found = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        found.append(f"{year:04d}-{month:02d}")
    return found
