"""Projects and grants GPU time is accounted to (issue 16, point 4): the value and its name rule.

Managers keep the list; a booking, an offloaded job and a slot request may name one. A project
that ended is retired, not deleted, so that its history keeps its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from labgpu.core.errors import UsageError
from labgpu.core.i18n import _

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
