"""*Jobs on my bookings*: the jobs started with *Run on this booking…* (or ``labgpu run``), read
from their servers every half minute while the list is shown, with their log, cancel and fetch.

A refresh asks each server with unfinished jobs once (``lab.runs.refresh`` on a worker, one read
in flight); a job it finds ended is announced once through ``notify`` (the window's status bar
and tray), with ``released`` when that gave the rest of its booking back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.run import LabJob
from labgpu.core.offload.jobs import FINAL_STATES, JobState
from labgpu.gui.booking.my_bookings import HISTORY, ask_yes_no, window_text
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.inbox import job_key
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.action_page import ActionPage
from labgpu.gui.widgets.busy import SingleRead
from labgpu.gui.widgets.dates import DAY_TIME, local_text
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu

#: How often the shown list asks the servers (ms).
REFRESH_MS = 30_000

#: What a refresh hands back: the jobs to show, those it changed, why nothing runs (the demo).
Refreshed = tuple[list[LabJob], list[LabJob], str]


def ask_folder(parent: QWidget, title: str, start: Path) -> Path | None:
    """Ask for a folder (the list's default ``choose_folder``); None if the person cancelled."""
    path = QFileDialog.getExistingDirectory(parent, title, str(start))
    return Path(path) if path else None


class LogDialog(QDialog):
    """The end of a job's log (its output and labgpu's notes), read on a worker."""

    def __init__(self, labgpu: Labgpu, job: LabJob, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.job_id = job.id
        self.setWindowTitle(
            self.tr("Log of job {id} on {server}").format(id=job.id, server=job.server)
        )
        self.resize(760, 480)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.message = InlineMessage(self, problems_only=True, hide_empty=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = buttons.addButton(
            self.tr("Refresh"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.refresh_button.clicked.connect(self.refresh)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._reading = False
        self.refresh()

    def refresh(self) -> None:
        """Read the log again (one read at a time)."""
        if self._reading:
            return
        self._reading = True
        self.refresh_button.setEnabled(False)
        job_id = self.job_id
        run_task(lambda: self.labgpu.runs.tail(job_id), self._read, context=self)

    def is_reading(self) -> bool:
        """True while a read is in flight."""
        return self._reading

    def _read(self, text: str | None, error: BaseException | None) -> None:
        self._reading = False
        self.refresh_button.setEnabled(True)
        if error is not None:
            self.message.show_message(handle_error(self, error) or "")
            return
        self.message.clear()
        self.text.setPlainText(text or self.tr("(the log is empty so far)"))
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())


class JobsPanel(ActionPage):
    """My jobs on bookings; refreshed while shown, on Refresh and on F5."""

    #: "Job 3 on gpu05 ended (completed); booking given back", once per job.
    notify = Signal(str, str)  # the text, and what it is about (``inbox.job_key``)
    #: A refresh gave a booking back (the booking lists should read again).
    released = Signal()

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.jobs: list[LabJob] = []
        self.simulated = ""
        self._announced: set[int] = set()
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setHeaderLabels(
            [self.tr("ID"), self.tr("Where"), self.tr("Booking"), self.tr("State"),
             self.tr("Submitted"), self.tr("Command")]
        )  # fmt: skip
        for column, width in enumerate((50, 90, 250, 260, 130)):
            self.tree.header().resizeSection(column, width)
        self.placeholder = QLabel()
        self.placeholder.setObjectName("hint")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.tree)
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.log_button = QPushButton(self.tr("Log…"))
        self.cancel_button = QPushButton(self.tr("Cancel job…"))
        self.fetch_button = QPushButton(self.tr("Fetch results…"))
        self.message = InlineMessage()
        #: Asks the person; tests replace it. (title, text) -> yes?
        self.confirm: Callable[[str, str], bool] = partial(ask_yes_no, self)
        #: Asks where results go; tests replace it. (title, default) -> folder or None
        self.choose_folder: Callable[[str, Path], Path | None] = partial(ask_folder, self)
        self.read = SingleRead()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self._lay_out()
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tree.itemDoubleClicked.connect(lambda *_: self.show_log())
        self.refresh_button.clicked.connect(self.reload)
        self.log_button.clicked.connect(self.show_log)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.fetch_button.clicked.connect(self.fetch_selected)
        self._show_placeholder()
        self._update_buttons()

    def _lay_out(self) -> None:
        title = QLabel(self.tr("Jobs on my bookings"))
        title.setObjectName("sectionTitle")
        buttons = QHBoxLayout()
        for button in (self.log_button, self.cancel_button, self.fetch_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Shown: read now and every half minute."""
        super().showEvent(event)
        self.timer.start()
        self.reload()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        """Hidden: stop asking the servers."""
        super().hideEvent(event)
        self.timer.stop()

    # -- reading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Follow the unfinished jobs on their servers, then list mine (on a worker)."""
        if self.read.begin():
            run_task(self._refresh_work, self._refreshed, context=self)

    def _refresh_work(self) -> Refreshed:
        runs = self.labgpu.runs
        changed = [] if runs.simulated else runs.refresh()  # the demo's servers are simulated
        return runs.jobs(since=datetime.now(UTC) - HISTORY), changed, runs.simulated

    def _refreshed(self, result: Refreshed | None, error: BaseException | None) -> None:
        again = self.read.end()
        if self.loaded(error) and result is not None:
            jobs, changed, self.simulated = result
            self.set_jobs(jobs)
            self._announce(changed)
        if again:
            self.reload()

    def _announce(self, changed: list[LabJob]) -> None:
        latest = {job.id: job for job in changed}  # a released job comes last, with its time
        for job in latest.values():
            if job.state in FINAL_STATES and job.id not in self._announced:
                self._announced.add(job.id)
                text = self.tr("Job {id} on {server} ended ({state})").format(
                    id=job.id, server=job.server, state=self.state_text(job, given_back=False)
                )
                if job.released_at is not None:
                    text += self.tr("; booking given back")
                self.notify.emit(text, job_key("lab", job.name))
        if any(job.released_at is not None for job in latest.values()):
            self.released.emit()

    def set_jobs(self, jobs: list[LabJob]) -> None:
        """Show ``jobs``, keeping the selection."""
        current = self.selected()
        self.jobs = jobs
        self.tree.clear()
        for job in jobs:
            window = window_text(Window(job.starts_at, job.ends_at))
            submitted = local_text(job.submitted_at.astimezone(), DAY_TIME)
            item = QTreeWidgetItem(
                [str(job.id), job.server, window, self.state_text(job), submitted, job.command]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, job.id)
            item.setToolTip(3, job.reason or self.state_text(job))
            item.setToolTip(5, job.command)
            if job.state in FINAL_STATES:
                for column in range(6):
                    item.setForeground(column, Qt.GlobalColor.gray)
            self.tree.addTopLevelItem(item)
            if current is not None and job.id == current.id:
                self.tree.setCurrentItem(item)
        self._show_placeholder()
        self._update_buttons()

    def _show_placeholder(self) -> None:
        if self.jobs:
            self.stack.setCurrentWidget(self.tree)
            return
        if self.simulated:
            text = self.tr(
                "No jobs here: the demo lab's servers are simulated, so nothing runs on them. "
                "In a real lab, select a booking above and press Run on this booking… to start "
                "a command on its GPUs; it shows here with its state and log."
            )
        else:
            text = self.tr(
                "No jobs on your bookings in the last two weeks. Select a booking above and "
                "press Run on this booking… to start a command on its GPUs; it runs on the "
                "server under your own login and shows here with its state and log."
            )
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def state_text(self, job: LabJob, given_back: bool = True) -> str:
        """``waits for Tue 12-02 10:00``, ``failed (exit 2)``, ``completed, booking given back``."""
        when = local_text(job.starts_at.astimezone(), DAY_TIME)
        labels = {
            JobState.SUBMITTING: self.tr("starting"),
            JobState.QUEUED: self.tr("waits for {start}").format(start=when),
            JobState.RUNNING: self.tr("running"),
            JobState.COMPLETED: self.tr("completed"),
            JobState.FAILED: self.tr("failed"),
            JobState.CANCELLED: self.tr("cancelled"),
            JobState.TIMEOUT: self.tr("stopped at the booking's end"),
        }
        text = labels.get(job.state, job.state.value)
        if job.state is JobState.FAILED and job.exit_code is not None:
            text = self.tr("failed (exit {code})").format(code=job.exit_code)
        if given_back and job.released_at is not None:
            text += self.tr(", booking given back")
        return text

    def selected(self) -> LabJob | None:
        """The job selected in the list."""
        item = self.tree.currentItem()
        if item is None:
            return None
        job_id = item.data(0, Qt.ItemDataRole.UserRole)
        return next((j for j in self.jobs if j.id == job_id), None)

    def select(self, job_id: int) -> None:
        """Select a job by id."""
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == job_id:
                self.tree.setCurrentItem(item)

    def _update_buttons(self) -> None:
        job = self.selected()
        idle = not self._busy
        self.log_button.setEnabled(job is not None)
        self.cancel_button.setEnabled(idle and job is not None and job.state not in FINAL_STATES)
        self.fetch_button.setEnabled(
            idle and job is not None and job.state is not JobState.SUBMITTING
        )

    # -- a job's actions -------------------------------------------------------------------

    def show_log(self) -> LogDialog | None:
        """The selected job's log in a dialog of its own; returns the dialog."""
        job = self.selected()
        if job is None:
            return None
        dialog = LogDialog(self.labgpu, job, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def cancel_selected(self) -> None:
        """Stop the selected job after confirmation; the booking stays the member's."""
        job = self.selected()
        if job is None:
            return
        question = self.tr(
            "Stop job {id} on {server} ({command})? Its booking stays yours."
        ).format(id=job.id, server=job.server, command=job.command)
        if self.confirm(self.tr("Cancel job"), question):
            self._announced.add(job.id)  # the member knows: no notice for it
            job_id = job.id
            self._run(
                lambda: self.labgpu.runs.cancel(job_id),
                self.tr("Job {id} cancelled.").format(id=job_id),
            )

    def fetch_selected(self) -> None:
        """Copy the selected job's log and result paths into a folder the member picks."""
        job = self.selected()
        if job is None:
            return
        dest = self.choose_folder(
            self.tr("Fetch results of job {id}").format(id=job.id),
            self.labgpu.runs.default_results_dir(job),
        )
        if dest is None:
            return
        job_id = job.id
        self._run(
            lambda: self.labgpu.runs.fetch(job_id, dest),
            self.tr("Fetched the results of job {id} into {path}.").format(id=job_id, path=dest),
        )
