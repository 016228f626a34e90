"""The Offload page's list holds every job of the member, wherever it runs (issue 15, point 3):
jobs on clusters and jobs run on their bookings on the lab's servers, in one list with a
*where* column, followed, read, cancelled and fetched the same way. This module makes the rows
of jobs on bookings and says what each action does to them.

A row's ``UserRole`` is the cluster job's id (an ``int``) or ``"lab:ID"`` for a job on a booking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QTreeWidgetItem

from labgpu.core.booking.run import LabJob

LAB_PREFIX = "lab:"


def lab_key(job: LabJob) -> str:
    """The row key of a job on a booking."""
    return f"{LAB_PREFIX}{job.id}"


def lab_id(key: object) -> int | None:
    """The job id in a row key, if the row is a job on a booking."""
    if isinstance(key, str) and key.startswith(LAB_PREFIX):
        return int(key[len(LAB_PREFIX) :])
    return None


def _elapsed(job: LabJob) -> str:
    if job.started_at is None:
        return "-"
    end = job.ended_at or datetime.now(UTC)
    seconds = max(0, int((end - job.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def lab_item(job: LabJob, state: str) -> QTreeWidgetItem:
    """The row of a job on a booking: name, where (the server), state, GPUs (the booking's:
    shown on My bookings), elapsed, submitted."""
    where = QCoreApplication.translate("OffloadPage", "{server} (booking)").format(
        server=job.server
    )
    if job.released_at is not None:
        state = QCoreApplication.translate("OffloadPage", "{state}, booking given back").format(
            state=state
        )
    item = QTreeWidgetItem(
        [job.name, where, state, "-", _elapsed(job),
         job.submitted_at.astimezone().strftime("%m-%d %H:%M")]
    )  # fmt: skip
    item.setData(0, Qt.ItemDataRole.UserRole, lab_key(job))
    item.setToolTip(1, job.group_id)
    return item


def lab_script(job: LabJob) -> str:
    """What the *Script* tab shows for a job on a booking: where it runs and its command."""
    folder = f"~/{job.remote_dir}" if job.remote_dir else "~"
    return f"# {job.server}: booking {job.group_id}\ncd {folder}\n{job.command}\n"


def results_listing(folder: Path) -> list[str]:
    """The files fetched into ``folder`` so far, relative to it."""
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
