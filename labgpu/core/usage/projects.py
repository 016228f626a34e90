"""Projects and grants GPU time is accounted to (issue 16, point 4): the value and its name rule.

Managers keep the list; a booking, an offloaded job and a slot request may name one. A project
that ended is retired, not deleted, so that its history keeps its name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.usage.evidence import (
    BookedAsk,
    OffloadedJob,
    booked_later,
    followed_by_offload,
    percentile,
)
from labgpu.core.usage.figures import BookedSpan, SlotRequest, UserSeconds

#: A project's name: lowercase letters, digits, ``-``, ``_`` and ``.``, 1 to 64 characters.
NAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
#: A project's title is free text, up to this many characters.
TITLE_MAX = 200


@dataclass(frozen=True, slots=True)
class Project:
    """A project or grant: its short ``name`` (what bookings carry), a free ``title``, and
    whether new bookings may still name it (``active``)."""

    name: str
    title: str = ""
    active: bool = True
    created_at: datetime | None = None


def check_name(name: str) -> str:
    """``name`` if it is a usable project name, else ``UsageError`` (exit 2) saying the rule."""
    if not NAME_RE.match(name):
        raise UsageError(
            _(
                "{name} is not a usable project name: use 1 to 64 lowercase letters, digits, "
                "'-', '_' or '.'"
            ).format(name=repr(name))
        )
    return name


def check_title(title: str) -> str:
    """``title`` without surrounding blanks, on one line and not too long (``UsageError``)."""
    title = title.strip()
    if "\n" in title or "\r" in title or len(title) > TITLE_MAX:
        raise UsageError(
            _("a project's title is one line of at most {n} characters").format(n=TITLE_MAX)
        )
    return title


# -- GPU-hours per project (``labgpu usage --by project``) --------------------------------------

#: The row of work that named no project.
NO_PROJECT = "(none)"
#: The columns of ``labgpu usage --by project`` (CSV, JSON and the Usage page).
PROJECT_COLUMNS = (
    "project",
    "title",
    "booked_gpu_hours",
    "used_gpu_hours",
    "slot_requests",
    "median_wait_hours",
    "offloaded_gpu_hours",
    "unserved_gpu_hours",
)


@dataclass(slots=True)
class ProjectUsage:
    """One project's figures over a range (``project`` None: work that named none).

    *Booked*: GPU-hours of held bookings naming it, clipped to the range and to now. *Used*:
    its members' process GPU-hours on GPUs while a booking of theirs naming it held them (at
    the rollups' resolution, a bucket's process time spread evenly over it); process time
    outside such bookings counts under no project. *Slot requests*: searches asked for it;
    *median wait*: the nearest-rank median of their waits (rule refusals and requests with no
    slot in the horizon left out, as in ``core/usage/evidence.py``). *Offloaded*: GPU-hours of
    its jobs submitted in the range. *Unmet*: GPU-hours of its requests the lab lacked GPUs for,
    except those the member booked later or followed by an offloaded job (``evidence``)."""

    project: str | None
    title: str = ""
    booked_h: float = 0.0
    used_h: float = 0.0
    requests: int = 0
    waits_h: list[float] = field(default_factory=list)
    offloaded_h: float = 0.0
    unserved_h: float = 0.0

    @property
    def median_wait_h(self) -> float | None:
        """The nearest-rank median wait in hours (None: no wait known)."""
        return percentile(self.waits_h, 50)

    def as_row(self) -> tuple[object, ...]:
        """The row in ``PROJECT_COLUMNS`` order."""
        median = self.median_wait_h
        return (
            self.project or NO_PROJECT,
            self.title,
            round(self.booked_h, 3),
            round(self.used_h, 3),
            self.requests,
            None if median is None else round(median, 3),
            round(self.offloaded_h, 3),
            round(self.unserved_h, 3),
        )


def project_usage(
    projects: Sequence[Project],
    spans: Iterable[tuple[str | None, BookedSpan]],
    used: Iterable[UserSeconds],
    bucket_s: int,
    lo: int,
    hi: int,
    requests: Iterable[SlotRequest],
    jobs: Sequence[tuple[str | None, OffloadedJob]],
    booked: Iterable[BookedAsk] = (),
) -> list[ProjectUsage]:
    """Per project, the figures of ``ProjectUsage`` over ``[lo, hi)`` (epoch seconds): every
    project that has a figure or is active, by name, then work with no project (if any).

    ``spans``: held bookings with their project; ``used``: members' process GPU-seconds per
    ``bucket_s`` bucket; ``requests``: slot requests asked in the range; ``jobs``: offloaded
    jobs submitted from the range's start (those in the range count; later ones only tell
    which unmet requests were followed by one); ``booked``: bookings that may have served an
    unmet request later (``evidence.booked_later``: its hours are booked, not unmet)."""
    found: dict[str | None, ProjectUsage] = {
        p.name: ProjectUsage(p.name, p.title) for p in projects if p.active
    }
    titles = {p.name: p.title for p in projects}

    def row(name: str | None) -> ProjectUsage:
        if name not in found:
            found[name] = ProjectUsage(name, titles.get(name, "") if name else "")
        return found[name]

    held: dict[tuple[str, int], list[tuple[int, int, str | None]]] = defaultdict(list)
    for name, span in spans:
        a, b = max(span.start, lo), min(span.end, hi)
        if b > a:
            row(name).booked_h += (b - a) / 3600
            held[(span.user_name, span.gpu_id)].append((a, b, name))
    for item in used:
        a, b = max(item.start, lo), min(item.start + bucket_s, hi)
        if b <= a or item.gpu_s <= 0:
            continue
        left = item.gpu_s
        for s_a, s_b, name in held.get((item.user_name, item.gpu_id), ()):
            overlap = min(b, s_b) - max(a, s_a)
            if overlap > 0:
                part = item.gpu_s * overlap / (b - a)
                row(name).used_h += part / 3600
                left -= part
        if left > 1e-9:
            row(None).used_h += left / 3600
    all_jobs = [job for _name, job in jobs]
    for name, job in jobs:
        if job.submitted_at.timestamp() < hi:
            row(name).offloaded_h += job.gpu_hours
    asked = list(requests)
    later = booked_later(asked, booked)
    for i, request in enumerate(asked):
        entry = row(request.project)
        entry.requests += 1
        if not request.no_capacity:
            continue
        wait = request.wait
        if wait is not None:
            entry.waits_h.append(wait.total_seconds() / 3600)
        if request.unmet and i not in later and not followed_by_offload(request, all_jobs):
            entry.unserved_h += request.gpu_hours
    named = sorted(n for n in found if n is not None)
    return [found[n] for n in named] + ([found[None]] if None in found else [])
