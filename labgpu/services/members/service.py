"""The lab's members (``lab.members``): who is signed in and in which role, what that role
allows, and (lab database, managers) adding members, changing roles, removing members.

PostgreSQL is the authority in the lab-database shape: these calls only ask it, and a refusal
it gives is the one a member sees. The single-seat SQLite user is the lab's manager.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from labgpu.core.members.roles import Member, Role
from labgpu.services.members.labdb import init_lab, require_role

if TYPE_CHECKING:
    from labgpu.storage import Store


class MembersService:
    """Members of one lab as seen by the signed-in member."""

    def __init__(self, store: Store, role: Callable[[], str] | None = None) -> None:
        """``role``: this member's role, if not the database's (the demo's members)."""
        self.store = store
        self._role = role

    def role(self) -> str:
        """ "student", "pi", "manager" or "collector" (single seat: "manager")."""
        return self._role() if self._role is not None else self.store.lab.role()

    def can_approve(self) -> bool:
        """True if this member may approve or reject pending requests."""
        return self.role() in (Role.PI, Role.MANAGER)

    def can_manage(self) -> bool:
        """True if this member may edit rules, maintenance, bookable GPUs and servers."""
        return self.role() == Role.MANAGER

    def must_change_password(self) -> bool:
        """True while this login still has its one-time password (lab database only)."""
        return self.store.lab.must_change_password()

    def init_lab(self) -> None:
        """Set up a PostgreSQL lab database (run as its administrator): schema, roles, RLS."""
        init_lab(self.store)

    def add(self, name: str, role: str) -> str:
        """Create a member's login in ``role``; returns the one-time password (show it once)."""
        return self.store.lab.add_member(name.strip(), require_role(role))

    def everyone(self) -> list[Member]:
        """Every member of the lab database with their role."""
        return self.store.lab.list_members()

    def set_role(self, name: str, role: str) -> None:
        """Move a member to another role."""
        self.store.lab.set_member_role(name, require_role(role))

    def remove(self, name: str) -> None:
        """Drop a member's login; their bookings and audit lines stay."""
        self.store.lab.remove_member(name)
