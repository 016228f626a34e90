"""Lab members of a PostgreSQL lab database: their login and role."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """A lab role, least to most rights; the collector is a service, not a person. Equal to
    its name as a string, as stored in the ``users`` table and named in the lab database's
    group roles (``labgpu_student``, ...)."""

    STUDENT = "student"
    PI = "pi"
    MANAGER = "manager"
    COLLECTOR = "collector"


#: Every role, in that order.
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
#: The roles of people (a single-seat lab's ``users`` table knows these only).
MEMBER_ROLES: tuple[str, ...] = (Role.STUDENT.value, Role.PI.value, Role.MANAGER.value)


@dataclass(frozen=True, slots=True)
class Member:
    """One login role of the lab."""

    name: str
    role: str
    can_login: bool
    valid_until: datetime | None  # the one-time password's expiry; None once they set their own


@dataclass(frozen=True, slots=True)
class NewPassword:
    """A member's password set by a lab manager (``labgpu users passwd NAME``): shown once."""

    name: str
    role: str
    password: str
    valid_until: datetime | None  # a one-time password's expiry; None: a service's, no expiry
