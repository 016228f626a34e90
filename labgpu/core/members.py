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
