"""The lab's projects and grants (``lab.projects``, issue 16 point 4): anyone reads them and
names one on a booking or an offloaded job; a manager adds, retires, reactivates and retitles
them (the lab database enforces the same).

A member's default project is the one their newest booking or offloaded job named, while it is
still active: the booking dialog and ``labgpu book`` preselect it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.i18n import N_, _
from labgpu.core.usage.evidence import OFFLOAD_FOLLOW
from labgpu.core.usage.figures import MINUTE, RAW, Table
from labgpu.core.usage.projects import (
    PROJECT_COLUMNS,
    Project,
    check_name,
    check_title,
    project_usage,
)
from labgpu.services.usage.evidence import booked_asks
from labgpu.services.usage.ranges import epoch

if TYPE_CHECKING:
    from labgpu.services.booking.service import BookingService
    from labgpu.services.usage.service import UsageService
    from labgpu.storage import Store
    from labgpu.storage.projects import ProjectStore


class ProjectsService:
    """Projects as one member sees them (a manager may change them)."""

    def __init__(self, bookings: BookingService) -> None:
        self.bookings = bookings

    @property
    def _store(self) -> ProjectStore:
        return self.bookings.store.projects

    # -- reading ----------------------------------------------------------------------------

    def list(self, include_retired: bool = True) -> list[Project]:
        """Every project by name; ``include_retired`` false: those a booking may name."""
        return self._store.list(include_retired)

    def get(self, name: str) -> Project | None:
        """The project ``name``, or None."""
        return self._store.get(name)

    def default(self, user: str | None = None) -> str | None:
        """``user``'s (default: this member's) default project: the one their newest booking or
        offloaded job named, if it is still active; else None."""
        name = self._store.newest_of(user or self.bookings.user)
        if name is None:
            return None
        project = self._store.get(name)
        return name if project is not None and project.active else None

    def of_group(self, group_id: str) -> str | None:
        """The project a booking group names (None: none)."""
        return self._store.group_project(group_id)

    def check(self, name: str | None) -> str | None:
        """The project a new booking or job will carry: None for none (``None`` or ``""``),
        else ``name`` if it exists and is active; ``UsageError`` (exit 2) otherwise, before
        anything is written."""
        return usable_project(self.bookings.store, name)

    # -- managers ---------------------------------------------------------------------------

    def add(self, name: str, title: str = "") -> Project:
        """Add an active project (audited ``project.add``)."""
        self._require_manager(N_("add projects"))
        return self._store.add(Project(check_name(name), check_title(title)), self.bookings.user)

    def retire(self, name: str) -> Project:
        """Retire a project: its history keeps it, new bookings cannot name it."""
        self._require_manager(N_("retire projects"))
        return self._store.set_active(name, False, self.bookings.user)

    def reactivate(self, name: str) -> Project:
        """Make a retired project active again."""
        self._require_manager(N_("reactivate projects"))
        return self._store.set_active(name, True, self.bookings.user)

    def set_title(self, name: str, title: str) -> Project:
        """Change a project's title."""
        self._require_manager(N_("change a project's title"))
        return self._store.set_title(name, check_title(title), self.bookings.user)

    def can_manage(self) -> bool:
        """True if this member may change the list (a manager)."""
        return self.bookings.can_manage()

    def _require_manager(self, what: str) -> None:
        """Refuse unless this member manages the lab; ``what``: marked with ``N_``."""
        if not self.bookings.can_manage():
            raise RefusedError(
                _("permission denied: only a lab manager can {what}").format(what=_(what))
            )


def usable_project(store: Store, name: str | None) -> str | None:
    """None for no project (``None`` or ``""``), else ``name`` if it exists and is active;
    ``UsageError`` (exit 2) otherwise (``ProjectsService.check``, for parts without one)."""
    if not name:
        return None
    project = store.projects.get(name)
    if project is None:
        raise _unknown(name)
    if not project.active:
        raise _retired(name)
    return name


def _unknown(name: str) -> UsageError:
    return UsageError(_("unknown project {name}; see `labgpu projects`").format(name=repr(name)))


def _retired(name: str) -> UsageError:
    return UsageError(
        _("project {name} is retired; pick an active one (`labgpu projects`)").format(
            name=repr(name)
        )
    )


def project_table(usage: UsageService, start: datetime, end: datetime) -> Table:
    """``labgpu usage --by project``: one row per project (``core/usage/projects.project_usage``
    says what each figure is), then work with no project; counted up to now."""
    store = usage.store
    until = max(start, usage._until(end))  # the figures stop now, like every usage table
    level = usage.level_for(start, until) if until > start else MINUTE
    level = MINUTE if level is RAW else level
    lo, hi = epoch(start), epoch(until)
    rows = project_usage(
        store.projects.list(),
        store.projects.booked_spans(start, until),
        usage._user_seconds(level, lo, hi) if hi > lo else [],
        level.seconds,
        lo,
        hi,
        usage.requests(start, until),
        store.projects.offloaded_jobs(start, until + OFFLOAD_FOLLOW),
        booked_asks(store, start, until),
    )
    return Table(PROJECT_COLUMNS, [r.as_row() for r in rows])
