"""The *Offload* page: my jobs on shared clusters, their details, and what to do with them.

The list is re-read from the database on every poll; the clusters are asked (one query each)
every ``DEFAULT_POLL_S`` seconds, and ended jobs' results are fetched home. A cluster that
needs an OTP is only polled while this session is logged in to it: a background poll never
pops up a login dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labgpu.core.booking.run import LabJob
from labgpu.core.offload.jobs import DEFAULT_POLL_S, Cluster, JobState, OffloadJob
from labgpu.gui.offload.clusters_dialog import ClustersDialog
from labgpu.gui.offload.lab_rows import lab_id, lab_item, lab_script, results_listing
from labgpu.gui.offload.offload_login import GuiPrompter
from labgpu.gui.offload.submit_dialog import SubmitJobDialog
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.inbox import job_key
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets.action_page import ActionPage
from labgpu.gui.widgets.inline_message import InlineMessage
from labgpu.services import Labgpu
from labgpu.services.offload.service import OffloadService, save_password

if TYPE_CHECKING:
    from labgpu.gui.offload.where_dialog import WhereToRunDialog
    from labgpu.services.offload.placement import Placement

T = TypeVar("T")


def elapsed_text(job: OffloadJob) -> str:
    """``H:MM:SS`` the job has run, or '-'."""
    seconds = job.elapsed_s
    if seconds is None and job.state is JobState.RUNNING and job.started_at is not None:
        seconds = int((datetime.now(UTC) - job.started_at).total_seconds())
    if seconds is None:
        return "-"
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class OffloadPage(ActionPage):
    """My jobs, wherever they run — on clusters and on my bookings on the lab's servers, one
    list with a *Where* column (``lab_rows``); submit, cancel, resubmit, fetch; log and outputs."""

    #: Lines such as "labgpu-…: completed; results in …" for the tray / status bar.
    notify = Signal(str, str)  # the text, and what it is about (``inbox.job_key``)

    def __init__(self, labgpu: Labgpu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labgpu = labgpu
        self.jobs: list[OffloadJob] = []
        self.lab_jobs: list[LabJob] = []  # run on the member's bookings (``lab_rows``)
        self._reads = 0  # reads started: only the newest one's answer is shown
        self.prompter = GuiPrompter(self)
        self._polling = False
        self._poll_failure = ""  # the message of the last poll that failed
        self._active = False  # between start() and stop(): nothing is read after the window closed
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setHeaderLabels(
            [self.tr("Name"), self.tr("Where"), self.tr("State"), self.tr("GPUs"),
             self.tr("Elapsed"), self.tr("Submitted")]
        )  # fmt: skip
        for column, width in enumerate((300, 110, 230, 50, 80)):
            self.tree.header().resizeSection(column, width)
        self.script_view = self._text_view()
        self.log_view = self._text_view()
        self.outputs_view = self._text_view()
        self.details = QTabWidget()
        self.details.addTab(self.script_view, self.tr("Script"))
        self.details.addTab(self.log_view, self.tr("Log"))
        self.details.addTab(self.outputs_view, self.tr("Outputs"))
        self.submit_button = QPushButton(self.tr("Submit job…"))
        self.clusters_button = QPushButton(self.tr("Clusters…"))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.all_check = QCheckBox(self.tr("All members' jobs"))
        self.all_check.setToolTip(
            self.tr("Every member's jobs, as the lab records them (only yours are followed)")
        )
        self.all_check.setVisible(False)  # PIs and managers (``show_all_allowed``)
        self.all_check.toggled.connect(lambda _on: self.reload())
        self.cancel_button = QPushButton(self.tr("Cancel job"))
        self.resubmit_button = QPushButton(self.tr("Resubmit"))
        self.fetch_button = QPushButton(self.tr("Fetch results"))
        self.log_button = QPushButton(self.tr("Show log"))
        self.message = InlineMessage()
        self._lay_out()
        self.timer = QTimer(self)
        self.timer.setInterval(int(DEFAULT_POLL_S * 1000))
        self.timer.timeout.connect(self.poll)
        self.tree.currentItemChanged.connect(lambda *_: self._selected())
        self.submit_button.clicked.connect(self.open_where)
        self.clusters_button.clicked.connect(self.open_clusters)
        self.refresh_button.clicked.connect(self.poll)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.resubmit_button.clicked.connect(self.resubmit_selected)
        self.fetch_button.clicked.connect(self.fetch_selected)
        self.log_button.clicked.connect(self.show_log)
        self._update_buttons()

    @property
    def service(self) -> OffloadService:
        """The offload use cases, asking for logins through this page's dialog.

        Used only once the lab is open (the demo's is made from its plan); a lab that is
        opened again (*Reset demo*) has a new one."""
        service = self.labgpu.offload
        service.ask_for = self.prompter.for_cluster
        return service

    @staticmethod
    def _text_view() -> QPlainTextEdit:
        view = QPlainTextEdit()
        view.setReadOnly(True)
        view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        return view

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        for button in (self.submit_button, self.clusters_button, self.refresh_button):
            top.addWidget(button)
        top.addStretch(1)
        top.addWidget(self.all_check)
        actions = QHBoxLayout()
        for button in (self.cancel_button, self.resubmit_button, self.fetch_button,
                       self.log_button):  # fmt: skip
            actions.addWidget(button)
        actions.addStretch(1)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(actions)
        lower_layout.addWidget(self.details, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(lower)
        split.setSizes([300, 260])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)

    # -- reading ---------------------------------------------------------------------------

    def start(self) -> None:
        """Poll now and every ``DEFAULT_POLL_S`` seconds (call once the lab is open)."""
        self._active = True
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        """Stop polling; answers still in flight are dropped (the lab may be closed next)."""
        self._active = False
        self.timer.stop()

    def reload(self) -> None:
        """Read my jobs from the database (on a worker)."""
        if not self._active:
            return
        mine = not self.all_check.isChecked()
        self._reads += 1
        read = self._reads
        run_task(
            lambda: (self.service.jobs(mine=mine), self.labgpu.runs.jobs(mine=mine)),
            lambda found, error: self._loaded(found, error) if read == self._reads else None,
            context=self,
        )

    def show_all_allowed(self, allowed: bool) -> None:
        """Offer *All members' jobs* (PIs and managers; the lab database lets everyone read)."""
        self.all_check.setVisible(allowed)
        if not allowed and self.all_check.isChecked():
            self.all_check.setChecked(False)

    def poll(self) -> None:
        """Ask the clusters (those needing no new login), fetch ended jobs' results, reload."""
        if self._polling or not self._active:
            return
        self._polling = True
        run_task(self._poll_work, self._polled, context=self)

    def _poll_work(self) -> tuple[list[str], list[tuple[OffloadJob, Path]]]:
        service = self.service
        usable = service.pollable_clusters()
        report = service.refresh(usable)
        fetched = service.fetch_finished(usable)
        self.labgpu.runs.refresh()  # jobs on bookings: their servers, as the member
        errors = [f"{name}: {message}" for name, message in report.errors.items()]
        return errors, fetched

    def _polled(
        self,
        result: tuple[list[str], list[tuple[OffloadJob, Path]]] | None,
        error: BaseException | None,
    ) -> None:
        self._polling = False
        if not self._active:
            return
        # A poll's problem (its own, or the clusters') stays until a poll goes through; the
        # reload after it must not clear it, so it is not marked as the read's.
        problem = (handle_error(self, error) or "") if error is not None else ""
        if result is not None:
            errors, fetched = result
            for job, dest in fetched:
                self.notify.emit(
                    self.tr("{name} {state}; results in {path}").format(
                        name=job.name, state=self.state_label(job.state), path=dest
                    ),
                    job_key("cluster", job.name),
                )
            problem = "; ".join(errors)
        if problem:
            self.show_error(problem)
        elif self._poll_failure and self.message.text() == self._poll_failure:
            self.show_message("")
        self._poll_failure = problem
        self.reload()

    def _loaded(
        self, found: tuple[list[OffloadJob], list[LabJob]] | None, error: BaseException | None
    ) -> None:
        if not self.loaded(error) or found is None:
            return
        item = self.tree.currentItem()
        selected = None if item is None else item.data(0, Qt.ItemDataRole.UserRole)
        self.jobs, self.lab_jobs = found
        self.tree.clear()
        rows: list[tuple[datetime, QTreeWidgetItem]] = []
        for job in self.jobs:
            item = QTreeWidgetItem(
                [job.name, job.cluster, self.state_text(job), str(job.gpus), elapsed_text(job),
                 job.submitted_at.astimezone().strftime("%m-%d %H:%M")]
            )  # fmt: skip
            item.setData(0, Qt.ItemDataRole.UserRole, job.id)
            rows.append((job.submitted_at, item))
        for lab_job in self.lab_jobs:
            rows.append((lab_job.submitted_at, lab_item(lab_job, self.state_label(lab_job.state))))
        for _when, item in sorted(rows, key=lambda r: r[0], reverse=True):
            self.tree.addTopLevelItem(item)
            if selected is not None and item.data(0, Qt.ItemDataRole.UserRole) == selected:
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def state_label(self, state: JobState) -> str:
        """The state in the person's language."""
        labels = {
            JobState.SUBMITTING: self.tr("submitting"),
            JobState.QUEUED: self.tr("queued"),
            JobState.RUNNING: self.tr("running"),
            JobState.COMPLETED: self.tr("completed"),
            JobState.FAILED: self.tr("failed"),
            JobState.CANCELLED: self.tr("cancelled"),
            JobState.TIMEOUT: self.tr("timed out"),
            JobState.UNKNOWN: self.tr("unknown"),
        }
        return labels[state]

    def state_text(self, job: OffloadJob) -> str:
        """``running``, ``queued (Resources)``, ``failed (exit 3)``."""
        text = self.state_label(job.state)
        if job.state.is_final and job.exit_code not in (None, 0):
            return self.tr("{state} (exit {code})").format(state=text, code=job.exit_code)
        if job.reason and not job.state.is_final:
            return f"{text} ({job.reason})"
        return text

    def selected(self) -> OffloadJob | None:
        """The cluster job selected in the list."""
        item = self.tree.currentItem()
        if item is None:
            return None
        job_id = item.data(0, Qt.ItemDataRole.UserRole)
        return next((j for j in self.jobs if j.id == job_id), None)

    def selected_lab(self) -> LabJob | None:
        """The job on a booking selected in the list."""
        item = self.tree.currentItem()
        job_id = None if item is None else lab_id(item.data(0, Qt.ItemDataRole.UserRole))
        return next((j for j in self.lab_jobs if j.id == job_id), None)

    def _selected(self) -> None:
        job, lab_job = self.selected(), self.selected_lab()
        self._update_buttons()
        if job is None and lab_job is None:
            return
        if lab_job is not None:
            self.script_view.setPlainText(lab_script(lab_job))
            folder = self.labgpu.runs.default_results_dir(lab_job)
        else:
            assert job is not None
            self.script_view.setPlainText(job.script)
            folder = self.service.default_results_dir(job)
        files = results_listing(folder)
        lines = [self.tr("Results folder: {path}").format(path=folder), *files]
        if not files:
            lines.append(self.tr("(nothing fetched yet)"))
        self.outputs_view.setPlainText("\n".join(lines))

    def _update_buttons(self) -> None:
        job = self.selected() or self.selected_lab()
        live = job is not None and not job.state.is_final
        self.cancel_button.setEnabled(live and not self._busy)
        self.resubmit_button.setEnabled(self.selected() is not None and not self._busy)
        self.fetch_button.setEnabled(job is not None and not self._busy)
        self.log_button.setEnabled(job is not None and not self._busy)

    # -- actions ---------------------------------------------------------------------------

    def logged_in(self, cluster: str, fn: Callable[[], T]) -> T:
        """(On a worker.) Log in to ``cluster`` if needed, keep a password asked to, run ``fn``."""
        self.service.login(cluster)
        password = self.prompter.take_pending(cluster)
        if password:
            save_password(self.service.cluster(cluster), password)
        return fn()

    def open_where(self) -> WhereToRunDialog:
        """*Submit job…*: where would it start first — the lab's GPUs or a cluster."""
        from labgpu.gui.offload.where_dialog import WhereToRunDialog

        dialog = WhereToRunDialog(self.labgpu, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.ran_in_lab.connect(self._ran_in_lab)
        dialog.to_cluster.connect(self._to_cluster)
        dialog.open()
        return dialog

    def _ran_in_lab(self, job: LabJob) -> None:
        self.show_message(
            self.tr("Booked {server} and started job {id} there (My bookings lists it).").format(
                server=job.server, id=job.id
            )
        )
        self.changed.emit()

    def _to_cluster(self, cluster: str, placement: Placement) -> SubmitJobDialog:
        dialog = self.open_submit(cluster)
        if placement.local_dir:
            dialog.set_folder(Path(placement.local_dir))
        dialog.command_edit.setText(placement.command)
        dialog.set_resources(placement.gpus, placement.hours)
        dialog.type_edit.setText(placement.gpu_type)
        dialog.results_edit.setText(", ".join(placement.results))
        return dialog

    def open_submit(self, cluster: str = "") -> SubmitJobDialog:
        """Open the *Submit job to a cluster* dialog (``cluster``: chosen once listed)."""
        dialog = SubmitJobDialog(self.service, [], self.logged_in, self, projects=self.labgpu)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(lambda job: self._job_submitted(job))
        run_task(
            self.service.list_clusters,
            lambda c, e: self._fill_clusters(dialog, c, e, cluster),
            dialog,
        )
        dialog.open()
        return dialog

    def _fill_clusters(
        self,
        dialog: SubmitJobDialog,
        clusters: list[Cluster] | None,
        error: BaseException | None,
        chosen: str = "",
    ) -> None:
        for cluster in clusters or []:
            dialog.cluster_box.addItem(f"{cluster.name} ({cluster.scheduler})", cluster.name)
        if chosen:
            dialog.cluster_box.setCurrentIndex(max(0, dialog.cluster_box.findData(chosen)))
        if not clusters:
            dialog.show_message(self.tr("Register a cluster first (Clusters…)."), error=True)

    def _job_submitted(self, job: OffloadJob) -> None:
        self.show_message(
            self.tr("Submitted {name} to {cluster}.").format(name=job.name, cluster=job.cluster)
        )
        self.changed.emit()
        self.reload()

    def open_clusters(self) -> ClustersDialog:
        """Open the *Clusters* settings."""
        dialog = ClustersDialog(self.service, self.logged_in, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def cancel_selected(self) -> None:
        """Cancel the selected job (a job on a booking: the booking stays yours)."""
        lab_job = self.selected_lab()
        if lab_job is not None:
            self._run(
                lambda: self.labgpu.runs.cancel(lab_job.id),
                self.tr("Cancelled {name}.").format(name=lab_job.name),
            )
        job = self.selected()
        if job is not None:
            self._run(
                lambda: self.logged_in(job.cluster, lambda: self.service.cancel(job.id)),
                self.tr("Cancelled {name}.").format(name=job.name),
            )

    def resubmit_selected(self) -> None:
        """Send the selected job again."""
        job = self.selected()
        if job is not None:
            self._run(
                lambda: self.logged_in(job.cluster, lambda: self.service.resubmit(job.id)),
                self.tr("Submitted {name} again.").format(name=job.name),
            )

    def fetch_selected(self) -> None:
        """Copy the selected job's output and results home."""
        lab_job = self.selected_lab()
        if lab_job is not None:
            self._run(
                lambda: self.labgpu.runs.fetch(lab_job.id),
                self.tr("Fetched the results of {name}.").format(name=lab_job.name),
            )
        job = self.selected()
        if job is not None:
            self._run(
                lambda: self.logged_in(job.cluster, lambda: self.service.fetch(job.id)),
                self.tr("Fetched the results of {name}.").format(name=job.name),
            )

    def show_log(self) -> None:
        """Read the end of the job's output (on a worker)."""
        job, lab_job = self.selected(), self.selected_lab()
        if job is None and lab_job is None:
            return
        self.log_view.setPlainText(self.tr("Reading the log…"))
        self.details.setCurrentWidget(self.log_view)
        if lab_job is not None:
            work: Callable[[], tuple[str, str]] = lambda: (self.labgpu.runs.tail(lab_job.id), "")  # noqa: E731
        else:
            assert job is not None
            work = lambda: self.logged_in(job.cluster, lambda: self.service.tail(job.id))  # noqa: E731
        run_task(work, self._log_read, context=self)

    def _log_read(self, result: tuple[str, str] | None, error: BaseException | None) -> None:
        if error is not None:
            self.log_view.setPlainText(handle_error(self, error) or "")
            return
        assert result is not None  # None only when the task failed
        out, err = result
        self.log_view.setPlainText(
            f"--- stdout ---\n{out}\n--- stderr ---\n{err}" if err.strip() else out
        )
