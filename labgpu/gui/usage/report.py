"""The PI's monthly usage report as a PDF (A4), drawn with QPainter on a QPdfWriter.

Page 1: the case for a committee (capacity, shares, saturation, waits, unserved and offloaded
GPU-hours, the trend, projects, cost); page 2: the month's totals and the lab's busy GPUs over
the month; page 3: GPUs × time heatmap and booked vs process GPU-hours per member; page 4 on: the
members' table, offloaded GPU-hours per cluster, unmet requests (no capacity) and requests
refused by a rule. A month in
progress is reported up to now and says so; a month that has not begun is refused.
``labgpu usage --report`` calls it without a window.

This module writes the file; the figures are read in ``report_data`` and the pages drawn in
``report_pages``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QTranslator
from PySide6.QtGui import QGuiApplication

from labgpu.core.errors import LabgpuError
from labgpu.gui.shell import settings as prefs
from labgpu.gui.usage.report_case import page_case
from labgpu.gui.usage.report_data import ReportData, gather
from labgpu.gui.usage.report_pages import Document, page_pictures, page_summary, page_tables
from labgpu.services import Labgpu

_translators: list[QTranslator] = []  # kept alive while the process runs


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


PAGES: tuple[Callable[[Document], None], ...] = (
    page_case,
    page_summary,
    page_pictures,
    page_tables,
)
