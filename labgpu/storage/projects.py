"""The lab's projects and grants (issue 16, point 4): rows in, ``labgpu.core.usage.projects``
values out, and which project a booking group or a member's newest work names.

Adding, retiring, reactivating and retitling are audited in the same transaction
(``project.add``, ``project.retire``, ``project.reactivate``, ``project.title``). In a lab
database only managers write the table; a trigger refuses an unknown or retired project on
bookings, offloaded jobs and slot requests (``labdb_rules``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import JobState
from labgpu.core.usage.evidence import OffloadedJob
from labgpu.core.usage.figures import BookedSpan
from labgpu.core.usage.projects import Project
from labgpu.storage.evidence_rows import ProjectRow
from labgpu.storage.inventory import add_audit
from labgpu.storage.models import BookingRow, OffloadJobRow
from labgpu.storage.usage_queries import HELD
from labgpu.storage.usage_rollup import epoch


def to_project(row: ProjectRow) -> Project:
    """The stored row as a value."""
    return Project(row.name, row.title or "", bool(row.active), row.created_at)


def require_usable(s: Session, name: str | None) -> None:
    """Refuse (``UsageError``, exit 2) a project that does not exist or is retired; None (no
    project) passes. Called inside the write that stores it, so nothing is written."""
    if name is None:
        return
    row = s.get(ProjectRow, name)
    if row is None:
        raise UsageError(_("unknown project {name}; see `labgpu projects`").format(name=repr(name)))
    if not row.active:
        raise UsageError(
            _("project {name} is retired; pick an active one (`labgpu projects`)").format(
                name=repr(name)
            )
        )


def _require(s: Session, name: str) -> ProjectRow:
    row = s.get(ProjectRow, name, with_for_update=True)
    if row is None:
        raise UsageError(_("unknown project {name}; see `labgpu projects`").format(name=repr(name)))
    return row


class ProjectStore:
    """Projects, one short transaction per call."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._read = read
        self._write = write

    def list(self, include_retired: bool = True) -> list[Project]:
        """Every project by name (``include_retired`` false: the active ones only)."""
        query = select(ProjectRow).order_by(ProjectRow.name)
        if not include_retired:
            query = query.where(ProjectRow.active.is_(True))
        with self._read() as s:
            return [to_project(r) for r in s.scalars(query)]

    def get(self, name: str) -> Project | None:
        """The project named ``name``, or None."""
        with self._read() as s:
            row = s.get(ProjectRow, name)
            return None if row is None else to_project(row)

    def add(self, project: Project, actor: str) -> Project:
        """Add a project (active); ``RefusedError`` (a conflict, exit 3) if the name is taken
        (audited)."""
        with self._write() as s:
            if s.get(ProjectRow, project.name) is not None:
                raise RefusedError(
                    _("a project named {name} exists already; pick another name").format(
                        name=repr(project.name)
                    )
                )
            row = ProjectRow(name=project.name, title=project.title, active=True)
            s.add(row)
            s.flush()
            add_audit(s, actor, "project.add", project.name, project.title)
            return to_project(row)

    def set_active(self, name: str, active: bool, actor: str) -> Project:
        """Retire a project (no new bookings name it) or make it active again (audited;
        nothing written if it already was)."""
        with self._write() as s:
            row = _require(s, name)
            if bool(row.active) != active:
                row.active = active
                add_audit(s, actor, "project.reactivate" if active else "project.retire", name)
            return to_project(row)

    def set_title(self, name: str, title: str, actor: str) -> Project:
        """Change a project's title (audited, before → after)."""
        with self._write() as s:
            row = _require(s, name)
            if row.title != title:
                add_audit(s, actor, "project.title", name, f"{row.title or '-'} → {title or '-'}")
                row.title = title
            return to_project(row)

    def group_project(self, group_id: str) -> str | None:
        """The project a booking group names (None: none, or no such group)."""
        query = select(BookingRow.project).where(BookingRow.group_id == group_id).limit(1)
        with self._read() as s:
            return s.scalar(query)

    def newest_of(self, user: str) -> str | None:
        """The project of ``user``'s newest booking or offloaded job that named one (None:
        none did); a member's default project."""
        booked = select(BookingRow.project.label("project"), BookingRow.created_at.label("at"))
        booked = booked.where(BookingRow.user_name == user, BookingRow.project.is_not(None))
        sent = select(OffloadJobRow.project.label("project"), OffloadJobRow.submitted_at)
        sent = sent.where(OffloadJobRow.user_name == user, OffloadJobRow.project.is_not(None))
        both = union_all(booked, sent).subquery()
        query = select(both.c.project).order_by(both.c.at.desc()).limit(1)
        with self._read() as s:
            return s.scalar(query)

    # -- figures per project (``labgpu usage --by project``) ---------------------------------

    def booked_spans(
        self, lo: datetime, hi: datetime
    ) -> builtins.list[tuple[str | None, BookedSpan]]:
        """Every GPU held by a booking overlapping ``[lo, hi)``, with the booking's project
        (held as ``storage/usage_queries.booked_spans`` counts it: booked, released, finished)."""
        b = BookingRow
        query = select(b.project, b.user_name, b.gpu_id, b.start_ts, b.end_ts).where(
            b.status.in_(HELD), b.start_ts < hi, b.end_ts > lo
        )
        with self._read() as s:
            return [(p, BookedSpan(u, g, epoch(a), epoch(e))) for p, u, g, a, e in s.execute(query)]

    def offloaded_jobs(
        self, lo: datetime, hi: datetime
    ) -> builtins.list[tuple[str | None, OffloadedJob]]:
        """Offloaded jobs submitted in ``[lo, hi)`` with their project (one still being
        submitted is not one yet), oldest first."""
        j = OffloadJobRow
        query = (
            select(j.project, j.user_name, j.cluster, j.gpu_type, j.gpus, j.submitted_at)
            .add_columns(j.started_at, j.ended_at, j.elapsed_s)
            .where(j.state != JobState.SUBMITTING.value, j.submitted_at >= lo, j.submitted_at < hi)
            .order_by(j.submitted_at, j.id)
        )
        with self._read() as s:
            return [
                (p, OffloadedJob(u, c, t or "", int(n), sub, a, e, int(n) * (el or 0) / 3600))
                for p, u, c, t, n, sub, a, e, el in s.execute(query)
            ]
