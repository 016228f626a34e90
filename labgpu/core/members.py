"""Lab members of a PostgreSQL lab database: their login and role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The lab roles, least to most rights; the collector is a service, not a person.
ROLES = ("student", "pi", "manager", "collector")


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
