"""The PI's Usage page: how busy the lab is, who used what, unmet demand, offloaded GPU-hours.

Every read runs on a worker (``load_usage``); a newer request makes an older answer stale, so
clicking through the ranges never shows a late result. Each tab's graph exports as PNG and its
data as CSV (the same rows the graph draws).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.usage.figures import Table, hours_label
from labgpu.gui.shell.errors import report_load
from labgpu.gui.shell.worker import run_task
from labgpu.gui.usage import usage_report
from labgpu.gui.usage.prices_dialog import prices_button
from labgpu.gui.usage.projects_dialog import projects_button
from labgpu.gui.usage.projects_table import ProjectsTable
from labgpu.gui.usage.usage_charts import BarChart, HeatmapChart, UtilisationChart
from labgpu.gui.usage.usage_data import (
    UsageView,
    heatmap_table,
    load_usage,
    members_table,
    offloaded_by_member,
    offloaded_table,
    series_table,
    unmet_table,
)
from labgpu.gui.usage.usage_evidence import EvidencePanel
from labgpu.gui.usage.usage_range import RangeBar
from labgpu.gui.usage.usage_tables import DemandPanel
from labgpu.gui.usage.what_if_dialog import what_if_button
from labgpu.gui.widgets.busy import SingleRead
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

UTILISATION, HEATMAP, MEMBERS, DEMAND, OFFLOADED, EVIDENCE, PROJECTS = range(7)
GROUPINGS = ("lab", "server", "model", "gpu")
EXPORT_DIR_KEY = "usage/export_dir"
#: Asks for a file to save: (title, suggested name, filter) -> path or None.
AskPath = Callable[[str, str, str], Path | None]


class UsagePage(QWidget):
    """Range and grouping on top, one tab per graph, export buttons underneath."""

    exported = Signal(str)

    def __init__(
        self,
        labgpu: Labgpu,
        settings: QSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.settings = settings
        self.clock = clock
        self.view: UsageView | None = None
        #: File dialog hook, replaced in tests.
        self.ask_path: AskPath = self._ask_path
        self._make_controls()
        self._read = SingleRead(self.range_bar.show_busy)
        self._make_tabs()
        self._make_exports()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.range_bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addLayout(self.export_row)

    # -- building --------------------------------------------------------------------------

    def _make_controls(self) -> None:
        self.range_bar = RangeBar()
        self.range_bar.changed.connect(self.reload)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)

    def _make_grouping(self) -> QWidget:
        """The Utilisation tab: which lines (the grouping only changes this graph) over it."""
        self.grouping = QComboBox()
        names = (self.tr("Whole lab"), self.tr("Per server"), self.tr("Per model"))
        for key, label in zip(GROUPINGS, (*names, self.tr("Per GPU")), strict=True):
            self.grouping.addItem(label, key)
        self.grouping.currentIndexChanged.connect(lambda _i: self.reload())
        tab = QWidget()
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Lines:")))
        row.addWidget(self.grouping)
        row.addStretch(1)
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.utilisation, 1)
        return tab

    def _make_members(self) -> QWidget:
        """The Members tab: the bars, and what each of them counts."""
        self.member_notes = QLabel(
            self.tr(
                "Booked: GPU-hours booked (requests waiting for approval not counted). Held by a "
                "process: time a process of theirs sat on a GPU, busy or not, booked or not; it "
                "exceeds Booked when members run without a booking. Booked but idle: booked time "
                "in which the GPU computed nothing. Held without a booking: process time outside "
                "their own bookings. Members are listed by booked plus process GPU-hours."
            )
        )
        self.member_notes.setObjectName("hint")
        self.member_notes.setWordWrap(True)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.member_bars, 1)
        layout.addWidget(self.member_notes)
        return tab

    def _make_tabs(self) -> None:
        self.utilisation = UtilisationChart()
        self.heatmap = HeatmapChart()
        self.member_bars = BarChart(self.tr("GPU-hours"))
        self.demand = DemandPanel()
        self.offload_bars = BarChart(self.tr("Offloaded GPU-hours"))
        self.evidence = EvidencePanel()
        empty = self.tr(
            "No usage recorded in this range yet — the collector rolls samples up every minute."
        )
        self.tabs = QTabWidget()
        self.empty_labels: list[QLabel] = []
        no_members = self.tr("No member booked or used a GPU in this range.")
        no_offload = self.tr("No job was offloaded to a cluster in this range.")
        self.graphs: list[QWidget] = [
            self.utilisation,
            self.heatmap,
            self.member_bars,
            self.demand,
            self.offload_bars,
            self.evidence,
        ]
        tabs = (
            (self._make_grouping(), self.tr("Utilisation"), empty),
            (self.heatmap, self.tr("Heatmap"), empty),
            (self._make_members(), self.tr("Members"), no_members),
            (self.demand, self.tr("Unmet demand"), ""),
            (self.offload_bars, self.tr("Offloaded"), no_offload),
            (self.evidence, self.tr("Saturation and waits"), self.tr("No requests or usage.")),
        )
        for widget, title, empty_text in tabs:
            stack = QStackedWidget()
            stack.addWidget(widget)
            label = QLabel(empty_text)
            label.setObjectName("hint")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            stack.addWidget(label)
            self.empty_labels.append(label)
            self.tabs.addTab(stack, title)
        self.projects = ProjectsTable(self.labgpu)  # read on its own worker (projects_table.py)
        self.graphs.append(self.projects)
        self.tabs.addTab(self.projects, self.tr("Projects"))
        self.message = InlineMessage(problems_only=True, hide_empty=True)

    def _make_exports(self) -> None:
        self.png_button = QPushButton(self.tr("Save graph as PNG…"))
        self.csv_button = QPushButton(self.tr("Save data as CSV…"))
        self.report_button = QPushButton(self.tr("Monthly report…"))
        self.report_button.setToolTip(self.tr("A PDF of one month for the PI (Ctrl+R)"))
        self.export_row = QHBoxLayout()
        hint = QLabel(
            self.tr("Drag to pan, wheel to zoom, right-click for more; Ctrl+E / Ctrl+Shift+E save.")
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.export_row.addWidget(hint, 1)
        self.export_row.addWidget(self.png_button)
        self.export_row.addWidget(self.csv_button)
        self.export_row.addWidget(self.report_button)
        self.prices_button = prices_button(self.labgpu, self)  # managers only
        self.export_row.addWidget(self.prices_button)
        self.export_row.addWidget(what_if_button(self.labgpu, self.bounds, self))
        self.export_row.addWidget(projects_button(self.labgpu, self))  # managers only
        self.png_button.clicked.connect(self.ask_export_png)
        self.csv_button.clicked.connect(self.ask_export_csv)
        self.report_button.clicked.connect(self.ask_report)
        for keys, slot in (
            ("Ctrl+E", self.ask_export_png),
            ("Ctrl+Shift+E", self.ask_export_csv),
            ("Ctrl+R", self.ask_report),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self._update_exports()

    # -- range and reading -----------------------------------------------------------------

    def set_range(self, name: str) -> None:
        """Show a fixed range (``24h``, ``7d``, ``30d``, ``1y``) or the ``custom`` dates."""
        self.range_bar.set_range(name)

    def set_custom(self, first: QDate, last: QDate) -> None:
        """Show the local days ``first`` to ``last``, both included."""
        self.range_bar.set_custom(first, last)

    def set_grouping(self, by: str) -> None:
        """One line for the ``lab``, or per ``server``, ``model`` or ``gpu``."""
        self.grouping.setCurrentIndex(GROUPINGS.index(by))

    def bounds(self) -> tuple[datetime, datetime]:
        """The range shown: ``[start, end)``, aware datetimes."""
        return self.range_bar.bounds(self.clock())

    def by(self) -> str:
        """The grouping chosen."""
        return str(self.grouping.currentData())

    def reload(self) -> None:
        """Read the range on a worker. One read at a time: clicks during a read start one more
        read when it ends (with the latest choice), not one each."""
        start, end = self.bounds()
        if end <= start:
            self.show_message(self.tr("The first day must not be after the last day."))
            return
        if not self._read.begin():
            return  # read again with the latest choice when this read ends
        by = self.by()
        self.projects.load(start, end)
        run_task(
            lambda: load_usage(self.labgpu.usage, start, end, by),
            self._loaded,
            context=self,
        )

    def is_loading(self) -> bool:
        """True while a read is in flight."""
        return self._read.running()

    def _loaded(self, view: UsageView | None, error: BaseException | None) -> None:
        if self._read.end():  # this answer is for choices no longer shown
            self.reload()
            return
        if not report_load(self, self.message, self.show_message, error):
            return
        if view is not None:
            self.show_message("")  # an export's problem too: the page is shown afresh
            self.set_view(view)

    def show_message(self, text: str) -> None:
        """A one-line problem under the graphs ("" hides it)."""
        self.message.show_message(text)

    # -- showing ---------------------------------------------------------------------------

    def set_view(self, view: UsageView) -> None:
        """Draw ``view`` in every tab."""
        self.view = view
        self.utilisation.set_series(
            view.series, view.by, view.start.timestamp(), view.end.timestamp()
        )
        self.heatmap.set_heatmap(view.heatmap)
        members = view.members
        self.member_bars.set_bars(
            [m.user_name for m in members],
            [
                (self.tr("Booked"), [m.booked_h for m in members]),
                (self.tr("Held by a process"), [m.process_h for m in members]),
                (self.tr("Booked but idle"), [m.idle_booked_h for m in members]),
                (self.tr("Held without a booking"), [m.unbooked_h for m in members]),
            ],
        )
        self.demand.set_data(view.unmet, members, view.summary)
        offloaders, months = offloaded_by_member(view.offloaded)
        self.offload_bars.set_bars(offloaders, months)
        self.evidence.set_view(view.evidence)
        shown = (
            view.has_samples,
            view.has_samples and bool(view.heatmap.labels),
            any(m.booked_h or m.process_h for m in members),
            True,
            bool(offloaders),
            self.evidence.has_data,
        )
        for n, has_data in enumerate(shown):
            stack = self.tabs.widget(n)
            assert isinstance(stack, QStackedWidget)
            stack.setCurrentIndex(0 if has_data else 1)
        self.summary.setText(self._summary(view))
        self._update_exports()

    def is_empty(self, tab: int) -> bool:
        """True if ``tab`` shows its empty-state message."""
        stack = self.tabs.widget(tab)
        return isinstance(stack, QStackedWidget) and stack.currentIndex() == 1

    def _summary(self, view: UsageView) -> str:
        s = view.summary
        first, last = _bound(view.start), _bound(view.end, end=True)
        notes = []
        if s.until <= s.start:
            notes.append(self.tr("The range has not begun: there is nothing to count yet."))
        elif s.partial:
            notes.append(
                self.tr("The range runs into the future: figures count up to now ({now}).").format(
                    now=_minute(s.until)
                )
            )
        if s.history_from is None:
            notes.append(self.tr("No usage history is kept yet."))
        elif s.history_from >= s.until and s.until > s.start:
            notes.append(
                self.tr("Usage history starts {day}: nothing is known of this range.").format(
                    day=_day(s.history_from)
                )
            )
        elif s.starts_late and s.history_from < s.until:
            notes.append(
                self.tr("Usage history starts {day}: nothing is known of the time before.").format(
                    day=_day(s.history_from)
                )
            )
        if not view.has_samples:
            text = self.tr("{start} – {end}: no GPU readings.").format(start=first, end=last)
            return " ".join([text, *notes])
        text = self.tr(
            "{start} – {end}: {busy_pct} % of {observed} observed GPU-hours busy, mean "
            "utilisation {util} %; {booked} GPU-hours booked, {offloaded} GPU-hours offloaded; "
            "requests with no free GPUs when wanted: {unmet}, refused by a rule: {refused}."
        ).format(
            start=first,
            end=last,
            busy_pct="–" if s.busy_pct is None else f"{s.busy_pct:.0f}",
            observed=hours_label(s.observed_h),
            util="–" if s.mean_util_pct is None else f"{s.mean_util_pct:.0f}",
            booked=hours_label(s.booked_h),
            offloaded=hours_label(s.offloaded_h),
            unmet=s.unmet,
            refused=s.refused,
        )
        return " ".join([text, *notes])

    # -- export ----------------------------------------------------------------------------

    def _update_exports(self) -> None:
        for button in (self.png_button, self.csv_button):
            button.setEnabled(self.view is not None)

    def current_table(self) -> Table:
        """The data of the tab shown, as exported to CSV."""
        view = self.view
        if view is None:
            return Table(())
        tab = self.tabs.currentIndex()
        if tab == UTILISATION:
            return series_table(view.series)
        if tab == HEATMAP:
            return heatmap_table(view.heatmap)
        if tab == MEMBERS:
            return members_table(view.members)
        if tab == DEMAND:
            return unmet_table(view.unmet)
        if tab == EVIDENCE:
            return self.evidence.table_data()
        if tab == PROJECTS:
            return self.projects.table
        return offloaded_table(view.offloaded)

    def current_graph(self) -> QWidget:
        """The widget of the tab shown, as exported to PNG."""
        tab = self.tabs.currentIndex()
        stack = self.tabs.widget(tab)
        return stack if stack is not None and self.is_empty(tab) else self.graphs[tab]

    def _file_name(self, suffix: str) -> str:
        names = (
            "utilisation", "heatmap", "members", "unmet", "offloaded", "saturation", "projects",
        )  # fmt: skip
        start, end = self.bounds()
        last = _day(end - timedelta(seconds=1))
        return f"labgpu-usage-{names[self.tabs.currentIndex()]}-{_day(start)}-{last}.{suffix}"

    def ask_export_png(self) -> None:
        """Ask for a file, then save the graph shown as PNG."""
        if self.view is None:
            return
        path = self.ask_path(
            self.tr("Save graph as PNG"), self._file_name("png"), self.tr("PNG image (*.png)")
        )
        if path is not None:
            self.export_png(path)

    def ask_export_csv(self) -> None:
        """Ask for a file, then save the data of the graph shown as CSV."""
        if self.view is None:
            return
        path = self.ask_path(
            self.tr("Save data as CSV"), self._file_name("csv"), self.tr("CSV file (*.csv)")
        )
        if path is not None:
            self.export_csv(path)

    def export_png(self, path: Path) -> bool:
        """Save the graph shown to ``path``."""
        if not self.current_graph().grab().save(str(path), "PNG"):
            problem = self.tr("Could not write {path}; choose another folder.")
            self.show_message(problem.format(path=path))
            return False
        self.settings.setValue(EXPORT_DIR_KEY, str(path.parent))
        self.exported.emit(self.tr("Saved the graph to {path}.").format(path=path))
        return True

    def export_csv(self, path: Path) -> bool:
        """Save the data of the graph shown to ``path``."""
        table = self.current_table()
        try:
            path.write_text(table.to_csv(), encoding="utf-8", newline="")
        except OSError as exc:
            problem = self.tr("Could not write {path}: {reason}")
            self.show_message(problem.format(path=path, reason=exc.strerror))
            return False
        self.settings.setValue(EXPORT_DIR_KEY, str(path.parent))
        self.exported.emit(
            self.tr("Saved {count} rows to {path}.").format(count=len(table.rows), path=path)
        )
        return True

    # -- the monthly report (usage_report.py) -------------------------------------------------

    def ask_report(self) -> None:
        """Ask for a month (the last complete one first) and a file, then write its report."""
        usage_report.ask_report(self)

    def write_report(self, month: str, path: Path) -> None:
        """Gather ``month``'s figures on a worker, then draw the PDF to ``path``."""
        usage_report.write_report(self, month, path)

    def remember_folder(self, folder: Path) -> None:
        """The folder the next save dialog opens in."""
        self.settings.setValue(EXPORT_DIR_KEY, str(folder))

    def _ask_path(self, title: str, name: str, filters: str) -> Path | None:
        folder = str(self.settings.value(EXPORT_DIR_KEY, str(Path.home())))
        chosen, _filter = QFileDialog.getSaveFileName(
            self, title, str(Path(folder) / name), filters
        )
        return Path(chosen) if chosen else None


def _day(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d")


def _minute(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _bound(moment: datetime, end: bool = False) -> str:
    """A range's start or end: its day when it falls on local midnight (an end then names
    the last day it includes), else day and time (a rolling range ends now)."""
    local = moment.astimezone()
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return _day(local - timedelta(seconds=1)) if end else _day(local)
    return _minute(local)
