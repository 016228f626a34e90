"""The lab database (docs/architecture.md §3.2, issue 4): setting it up, its members, who is
signed in.

PostgreSQL is the authority: these calls only ask it. A member's role is their membership in
the group roles ``labgpu_student|pi|manager|collector``; the single-seat SQLite user is the
lab's manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.members.roles import MEMBER_ROLES, ROLES

if TYPE_CHECKING:
    from labgpu.storage import Store

__all__ = ["MEMBER_ROLES", "ROLES", "init_lab", "require_role"]


def require_role(role: str) -> str:
    """``role`` if it is a lab role, else a ``LabgpuError`` listing them."""
    if role not in ROLES:
        raise LabgpuError(
            _("unknown role {role}; use one of {roles}").format(
                role=repr(role), roles=", ".join(ROLES)
            )
        )
    return role


def init_lab(store: Store) -> None:
    """Upgrade the schema, then create the roles, grants, policies and audit triggers."""
    if not store.lab.is_postgresql:
        raise LabgpuError(
            "`labgpu lab init` sets up a shared PostgreSQL database; pass "
            "--db postgresql://ADMIN@HOST/DB (single-seat SQLite needs no setup)"
        )
    store.upgrade()
    store.lab.init()
