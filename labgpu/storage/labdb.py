"""The lab database's protection (docs/architecture.md §3.2): roles, grants, row-level
security, triggers.

``init_lab`` runs as a PostgreSQL administrator (a superuser) and is idempotent: run it again
after every ``labgpu db upgrade`` so new tables get the same owner, grants and policies.

- ``labgpu_owner`` (NOLOGIN) owns every table and sequence; nobody logs in as it.
- Group roles ``labgpu_student``, ``labgpu_pi``, ``labgpu_manager``, ``labgpu_collector``; each
  member's LOGIN role is in exactly one of them.
- **Identity is the login** (``session_user``), never ``current_user``: owned rows default to
  it and policies check it, so ``SET ROLE labgpu_student`` changes nothing, and a group role
  cannot hold a booking.
- Every table has RLS enabled *and forced*. Everyone reads everything the app shows. Students
  insert bookings only under their own name and change only their own; a PI also decides on
  anyone's; managers write anything; only the collector (and managers) insert samples and
  processes, update a server's live state and release idle bookings (nothing else).
- A ``BEFORE UPDATE`` trigger on bookings refuses, with SQLSTATE 42501 and a plain message, what a
  policy could only silently skip: changing another member's booking, approving a request as a
  student, deciding under another name, handing a booking to someone else.
- A ``BEFORE INSERT OR UPDATE`` trigger holds **every booking rule** for everyone but managers
  (``labdb_rules``): length, horizon, no past start, GPUs at once, weekly quota, bookable GPUs,
  approval models, maintenance; history (cancelled, released, finished, started) stays as it was.
- **Nothing a caller creates is looked up**: every function schema-qualifies its tables and
  sets ``search_path = pg_catalog, pg_temp``; members have no CREATE on ``public`` or the
  database and no TEMPORARY (on PostgreSQL 13/14 too, where ``public`` is open by default).
- Members are LOGIN roles created through SECURITY DEFINER functions (``labgpu_add_member``,
  ``..._set_member_role``, ``..._remove_member``, ``..._reset_password``) owned by the
  administrator and executable by managers only; they touch lab members and the lab's group
  roles and nothing else. A one-time
  password expires (VALID UNTIL) until the member sets their own (``labgpu_change_password``);
  a service login (the collector) gets one that does not expire.
- ``audit_log``: UPDATE/DELETE/TRUNCATE revoked from everyone and refused by triggers; the actor
  and time of every new row are forced to ``session_user`` and the clock (no forged names or
  dates). A deferred trigger on the audited tables writes ``db.<table>.<op>`` rows at commit for
  *every* change, whatever else the transaction wrote: the app's readable lines
  ("booking.create", before → after) stand beside the database's, never instead of them.

The parts live beside this module: ``labdb_roles`` (roles, grants, members), ``labdb_policies``
(row-level security and the guard triggers), ``labdb_audit`` (the audit log), ``labdb_rules``
(the booking rules). Here: ``init_lab``, which applies them all, the refusals' plain messages
and ``LabDatabase``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Engine, text

from labgpu.core.booking.rules import BookingRules
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.members.roles import Member
from labgpu.storage import (
    labdb_audit,
    labdb_notify,
    labdb_policies,
    labdb_roles,
    labdb_rules,
    policies,
)
from labgpu.storage.labdb_audit import AUDITED
from labgpu.storage.labdb_roles import (
    COLLECTED,
    GROUPS,
    INSUFFICIENT_PRIVILEGE,
    MANAGED,
    MIN_PASSWORD_LENGTH,
    NAME_RE,
    OWNED,
    OWNER,
    PASSWORD_VALID_DAYS,
    ROLLED_UP,
    SERVER_STATE_COLUMNS,
    add_member,
    current_user,
    execute,
    list_members,
    quoted,
    remove_member,
    role_of,
    scram_verifier,
    set_member_role,
)

__all__ = [
    "AUDITED",
    "COLLECTED",
    "GROUPS",
    "INSUFFICIENT_PRIVILEGE",
    "MANAGED",
    "MIN_PASSWORD_LENGTH",
    "NAME_RE",
    "OWNED",
    "OWNER",
    "PASSWORD_VALID_DAYS",
    "ROLLED_UP",
    "SERVER_STATE_COLUMNS",
    "LabDatabase",
    "add_member",
    "current_user",
    "init_lab",
    "list_members",
    "permission_message",
    "remove_member",
    "role_of",
    "scram_verifier",
    "set_member_role",
]

#: The functions ``init_lab`` creates, as one script (the rules' come next, from ``labdb_rules``).
_FUNCTIONS = labdb_roles.FUNCTIONS_SQL + labdb_policies.FUNCTIONS_SQL + labdb_audit.FUNCTIONS_SQL


def init_lab(engine: Engine) -> None:
    """Create the roles, ownership, grants, policies and triggers (schema already upgraded)."""
    if engine.dialect.name != "postgresql":
        raise LabgpuError(_("`labgpu lab init` needs a PostgreSQL database (postgresql://...)"))
    with engine.begin() as conn:
        is_super = conn.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).scalar()
        if not is_super:
            raise RefusedError(
                _(
                    "permission denied: `labgpu lab init` must run as a PostgreSQL superuser "
                    "(e.g. postgresql://postgres@HOST/DB)"
                )
            )
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")
        for role in (OWNER, *GROUPS):
            if not labdb_roles.role_exists(conn, role):
                execute(conn, f"CREATE ROLE {role} NOLOGIN")
        execute(conn, _FUNCTIONS)
        tables = labdb_roles.list_tables(conn)
        for table in tables:
            execute(conn, f"ALTER TABLE {quoted(table)} OWNER TO {OWNER}")
        execute(conn, labdb_rules.rules_sql())
        for fn in ("labgpu_audit_row()", "labgpu_is(text)", "labgpu_lock_holder(text)"):
            execute(conn, f"ALTER FUNCTION {fn} OWNER TO {OWNER}")
        execute(conn, "DROP TRIGGER IF EXISTS labgpu_bookings_approval ON bookings")
        execute(conn, "DROP FUNCTION IF EXISTS labgpu_bookings_approval()")
        execute(conn, "DROP FUNCTION IF EXISTS labgpu_approval_model(integer)")
        # The approval trigger reads the rules: store the defaults if none were ever saved.
        conn.execute(
            text(
                "INSERT INTO booking_rules (id, data, updated_at, updated_by) "
                "VALUES (1, :data, now(), current_user) ON CONFLICT (id) DO NOTHING"
            ),
            {"data": policies.rules_to_json(BookingRules())},
        )
        execute(conn, "ALTER TABLE bookings ALTER COLUMN user_name SET DEFAULT session_user")
        execute(conn, "ALTER TABLE bookings ALTER COLUMN created_by SET DEFAULT session_user")
        for table, (column, _what) in OWNED.items():
            if table in tables:
                execute(conn, f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT session_user")
        labdb_roles.grant(conn, tables, labdb_roles.list_sequences(conn))
        labdb_policies.create_policies(conn, tables)
        labdb_policies.create_triggers(conn)
        labdb_audit.create_triggers(conn)
        labdb_notify.apply(conn, tables)  # outbox, deliveries, settings (issue 17)


def permission_message(orig: BaseException | None) -> str | None:
    """A plain message for a PostgreSQL permission refusal (SQLSTATE 42501), else ``None``."""
    if getattr(orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
        return None
    raw = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    if raw.startswith("permission denied:"):
        return raw
    if "row-level security" in raw:
        if '"bookings"' in raw:
            return _("permission denied: a student can only book under their own name")
        return _("permission denied: your lab role may not write this ({error})").format(error=raw)
    if re.search(r"permission denied for function labgpu_reset_password", raw):
        return _("permission denied: only a lab manager can reset another member's password")
    if re.search(r"permission denied for function labgpu_\w*member", raw):
        return _("permission denied: only a lab manager can add, change or remove members")
    match = re.search(r"permission denied for (?:table|relation|sequence) (\w+)", raw)
    if match:
        table = match.group(1)
        if table in COLLECTED:
            return _("permission denied: only the collector records GPU samples and processes")
        if table == "audit_log":
            return _("permission denied: the audit log cannot be changed or deleted")
        return _("permission denied: only a lab manager can change {what}").format(
            what=table.replace("_", " ")
        )
    return _("permission denied: {error}").format(error=raw)


class LabDatabase:
    """The lab operations over one engine, each in its own transaction, errors made plain."""

    def __init__(
        self, engine: Engine, known_errors: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._engine = engine
        self._known_errors = known_errors

    @property
    def is_postgresql(self) -> bool:
        """True for a PostgreSQL database (the lab shape)."""
        return self._engine.dialect.name == "postgresql"

    def _require_postgresql(self, what: str) -> None:
        """Refuse on SQLite; ``what``: the action, marked with ``N_``."""
        if not self.is_postgresql:
            raise LabgpuError(
                _(
                    "{what} needs the lab database (PostgreSQL); this is a single-seat SQLite "
                    "database, where you are the manager"
                ).format(what=_(what))
            )

    def init(self) -> None:
        """``init_lab`` (the schema must be upgraded first)."""
        with self._known_errors():
            init_lab(self._engine)

    def is_lab(self) -> bool:
        """True for a PostgreSQL database set up by ``init_lab`` (tables owned by the owner
        role); a plain PostgreSQL database is used like a single seat shared on trust."""
        if not self.is_postgresql:
            return False
        with self._known_errors(), self._engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename = 'bookings' AND tableowner = :owner)"
                ),
                {"owner": OWNER},
            ).scalar()
        return bool(found)

    def current_user(self) -> str:
        """The PostgreSQL login role of this connection."""
        self._require_postgresql(N_("asking the database who you are"))
        with self._known_errors(), self._engine.connect() as conn:
            return current_user(conn)

    def role(self) -> str:
        """The lab role: student, pi, manager or collector (SQLite, plain PostgreSQL: manager)."""
        if not self.is_lab():
            return "manager"
        with self._known_errors(), self._engine.connect() as conn:
            return role_of(conn)

    def must_change_password(self) -> bool:
        """True while this login still has its one-time password (it expires: VALID UNTIL)."""
        if not self.is_postgresql:
            return False
        with self._known_errors(), self._engine.connect() as conn:
            pending = conn.exec_driver_sql(
                "SELECT rolvaliduntil IS NOT NULL AND isfinite(rolvaliduntil) "
                "FROM pg_roles WHERE rolname = session_user"
            ).scalar()
        return bool(pending)

    def change_password(self, new_password: str) -> None:
        """Set this login's own password; it no longer expires (first login's step)."""
        self._require_postgresql(N_("changing a lab database password"))
        if len(new_password) < MIN_PASSWORD_LENGTH:
            raise LabgpuError(
                _("a password needs at least {count} characters").format(count=MIN_PASSWORD_LENGTH)
            )
        with self._known_errors(), self._engine.begin() as conn:
            user = conn.execute(text("SELECT session_user")).scalar_one()
            verifier = scram_verifier(conn, user, new_password)
            conn.execute(text("SELECT labgpu_change_password(:p)"), {"p": verifier})

    def add_member(self, name: str, role: str) -> str:
        """Create a member; returns the one-time password (show it once)."""
        self._require_postgresql(N_("adding members"))
        with self._known_errors(), self._engine.begin() as conn:
            return add_member(conn, name, role)

    def set_member_role(self, name: str, role: str) -> None:
        """Move a member to another role."""
        self._require_postgresql(N_("changing a member's role"))
        with self._known_errors(), self._engine.begin() as conn:
            set_member_role(conn, name, role)

    def remove_member(self, name: str) -> None:
        """Drop a member's login; their history stays."""
        self._require_postgresql(N_("removing members"))
        with self._known_errors(), self._engine.begin() as conn:
            remove_member(conn, name)

    def list_members(self) -> list[Member]:
        """Every member with their role."""
        self._require_postgresql(N_("listing members"))
        with self._known_errors(), self._engine.connect() as conn:
            return list_members(conn)
