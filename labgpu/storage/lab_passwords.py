"""A manager resets a lab member's password (``labgpu users passwd NAME``).

The work is the SECURITY DEFINER function ``labgpu_reset_password(member_name, verifier,
valid_until)`` of the lab database (``labdb``), executable by managers only and only for lab
members: like ``labgpu_add_member`` it needs no CREATEROLE. The new password is a one-time
password that expires like a new member's; a service login (the collector) gets one that does
not expire, since nobody signs in interactively to change it. Only the SCRAM verifier, computed
here, reaches the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.members.roles import NewPassword
from labgpu.storage import labdb_roles

#: The function's signature, as grants name it.
RESET_FUNCTION = "labgpu_reset_password(text, text, timestamptz)"
UNDEFINED_FUNCTION = "42883"
REFUSED = N_("permission denied: only a lab manager can reset another member's password")


def _member_role(conn: Connection, name: str) -> str | None:
    row = conn.execute(
        text(
            "SELECT g.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE r.rolname = :n AND NOT r.rolsuper AND g.rolname = ANY(:groups) "
            "ORDER BY g.rolname LIMIT 1"
        ),
        {"n": name, "groups": list(labdb_roles.GROUPS)},
    ).first()
    return None if row is None else str(row[0]).removeprefix("labgpu_")


def reset_password(conn: Connection, name: str) -> NewPassword:
    """Give member ``name`` a new one-time password (a service login: one that never expires)."""
    present = conn.execute(
        text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": RESET_FUNCTION}
    ).scalar()
    if not present:
        raise LabgpuError(
            _(
                "this lab database cannot reset passwords yet: a PostgreSQL superuser must run "
                "`labgpu lab init` again with this version of labgpu"
            )
        )
    allowed = conn.execute(
        text("SELECT has_function_privilege(current_user, :f, 'EXECUTE')"), {"f": RESET_FUNCTION}
    ).scalar()
    if not allowed:
        raise RefusedError(_(REFUSED))
    role = _member_role(conn, name)
    if role is None:
        raise LabgpuError(
            _("no member named {name}; see `labgpu users list`").format(name=repr(name))
        )
    password = secrets.token_urlsafe(12)
    verifier = labdb_roles.scram_verifier(conn, name, password)
    service = role == "collector"
    days = f"now() + interval '{labdb_roles.PASSWORD_VALID_DAYS} days'"
    until = "'infinity'::timestamptz" if service else days
    try:
        conn.execute(
            text(f"SELECT labgpu_reset_password(:n, :p, {until})"), {"n": name, "p": verifier}
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == labdb_roles.INSUFFICIENT_PRIVILEGE:
            raise RefusedError(_(REFUSED)) from exc
        raise
    # now() is the transaction's time: the same moment the function was given.
    valid_until = None if service else conn.execute(text(f"SELECT {days}")).scalar_one()
    return NewPassword(name, role, password, valid_until)


class LabPasswords:
    """Password resets over one engine, each in its own transaction, errors made plain."""

    def __init__(
        self, engine: Engine, known_errors: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._engine = engine
        self._known_errors = known_errors

    def reset_password(self, name: str) -> NewPassword:
        """Reset member ``name``'s password (managers only); returns it, to be shown once."""
        if self._engine.dialect.name != "postgresql":
            raise LabgpuError(
                _(
                    "resetting a member's password needs the lab database (PostgreSQL); this is "
                    "a single-seat SQLite database, which has no passwords"
                )
            )
        with self._known_errors(), self._engine.begin() as conn:
            return reset_password(conn, name)
