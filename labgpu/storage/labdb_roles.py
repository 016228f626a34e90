"""The lab database's roles (docs/architecture.md §3.2): the owner and group roles, the tables
each group may write, the member functions, the grants, and members' LOGIN roles.

``labdb.init_lab`` applies all of it; ``labdb`` explains the whole protection.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import Connection, text

from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import _
from labgpu.core.members.roles import ROLES, Member

OWNER = "labgpu_owner"
GROUPS = tuple(f"labgpu_{r}" for r in ROLES)
#: Run as the administrator who ran ``init_lab`` (SECURITY DEFINER), by managers only: they
#: touch lab members and the lab's group roles only, so a manager needs no CREATEROLE (which
#: would let them grant themselves powerful built-in roles).
MEMBER_FUNCTIONS = (
    "labgpu_add_member(text, text, text, timestamptz)",
    "labgpu_set_member_role(text, text)",
    "labgpu_remove_member(text)",
    "labgpu_reset_password(text, text, timestamptz)",
)
#: Tables only managers write (the collector also sets a server's state columns).
MANAGED = (
    "servers",
    "gpus",
    "booking_rules",
    "maintenance",
    "maintenance_gpus",
    "users",
    "host_keys",  # pinned by managers, verified by every desktop and the collector
    "gpu_prices",  # prices per GPU model (issue 16)
    "projects",  # projects and grants work is accounted to (issue 16)
)
COLLECTED = ("gpu_samples", "gpu_processes")
#: Usage rollups and their watermarks: written by the collector (and managers), read by all.
ROLLED_UP = (
    "usage_minute",
    "usage_hour",
    "usage_lab_hour",
    "usage_user_minute",
    "usage_user_hour",
    "usage_state",
)
#: Tables whose rows belong to the member named in a column: they write only their own rows
#: (managers write any). Clusters are registered by managers or by a member for themselves.
OWNED = {
    "offload_jobs": ("user_name", "offloaded job"),
    "lab_jobs": ("user_name", "job on a booking"),
    "clusters": ("created_by", "cluster"),
    "slot_requests": ("user_name", "slot request"),
}
SERVER_STATE_COLUMNS = ("state", "state_reason", "state_since", "last_seen")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
INSUFFICIENT_PRIVILEGE = "42501"
PASSWORD_VALID_DAYS = 7
MIN_PASSWORD_LENGTH = 8

#: The group roles' test and the member functions (``FUNCTIONS_SQL`` of ``labdb_policies`` and
#: ``labdb_audit`` follow it in the one script ``init_lab`` runs).
FUNCTIONS_SQL = r"""
-- Identity is the login (session_user): SET ROLE to a group role changes nothing.
CREATE OR REPLACE FUNCTION public.labgpu_is(role_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name)
     AND pg_catalog.pg_has_role(session_user, role_name, 'MEMBER')
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_is_member(member_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
    JOIN pg_catalog.pg_roles r ON r.oid = m.member
    WHERE r.rolname = member_name AND NOT r.rolsuper
      AND g.rolname = ANY (ARRAY['labgpu_student', 'labgpu_pi', 'labgpu_manager',
                                 'labgpu_collector']))
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_add_member(member_name text, lab_role text, password text,
                                             valid_until timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF lab_role NOT IN ('student', 'pi', 'manager', 'collector') THEN
    RAISE EXCEPTION 'unknown lab role' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF member_name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'not a usable member name' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = member_name) THEN
    RAISE EXCEPTION 'role exists' USING ERRCODE = 'duplicate_object';
  END IF;
  IF NOT starts_with(coalesce(password, ''), 'SCRAM-SHA-256$') THEN
    RAISE EXCEPTION 'give a SCRAM verifier, not a plain password'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE 'CREATE ROLE ' || quote_ident(member_name)
       || ' LOGIN PASSWORD ' || quote_literal(password)
       || ' VALID UNTIL ' || quote_literal(valid_until::text)
       || ' IN ROLE ' || quote_ident('labgpu_' || lab_role);
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_set_member_role(member_name text, lab_role text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  g text;
BEGIN
  IF lab_role NOT IN ('student', 'pi', 'manager', 'collector') THEN
    RAISE EXCEPTION 'unknown lab role' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT public.labgpu_is_member(member_name) THEN
    RAISE EXCEPTION 'not a lab member_name' USING ERRCODE = 'undefined_object';
  END IF;
  FOREACH g IN ARRAY ARRAY['labgpu_student', 'labgpu_pi', 'labgpu_manager', 'labgpu_collector']
  LOOP
    EXECUTE 'REVOKE ' || quote_ident(g) || ' FROM ' || quote_ident(member_name);
  END LOOP;
  EXECUTE 'GRANT ' || quote_ident('labgpu_' || lab_role) || ' TO ' || quote_ident(member_name);
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_remove_member(member_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF NOT public.labgpu_is_member(member_name) THEN
    RAISE EXCEPTION 'not a lab member_name' USING ERRCODE = 'undefined_object';
  END IF;
  EXECUTE 'DROP ROLE ' || quote_ident(member_name);
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_change_password(new_password text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF NOT starts_with(coalesce(new_password, ''), 'SCRAM-SHA-256$') THEN
    RAISE EXCEPTION 'give a SCRAM verifier, not a plain password'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE 'ALTER ROLE ' || quote_ident(session_user) || ' PASSWORD '
       || quote_literal(new_password) || ' VALID UNTIL ' || quote_literal('infinity');
END
$f$;

-- A manager gives a member a new password (a one-time one, or a service login's for good).
CREATE OR REPLACE FUNCTION public.labgpu_reset_password(member_name text, verifier text,
                                                        valid_until timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF NOT public.labgpu_is_member(member_name) THEN
    RAISE EXCEPTION 'not a lab member_name' USING ERRCODE = 'undefined_object';
  END IF;
  IF NOT starts_with(coalesce(verifier, ''), 'SCRAM-SHA-256$') THEN
    RAISE EXCEPTION 'give a SCRAM verifier, not a plain password'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF valid_until IS NULL THEN
    RAISE EXCEPTION 'give the password''s expiry (infinity: none)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE 'ALTER ROLE ' || quote_ident(member_name) || ' PASSWORD ' || quote_literal(verifier)
       || ' VALID UNTIL ' || quote_literal(valid_until::text);
END
$f$;
"""


def quoted(name: str) -> str:
    """A checked role or table name (ours or validated), double-quoted."""
    if not NAME_RE.match(name):
        raise LabgpuError(
            _(
                "{name} is not a usable member name: use lower-case letters, digits and _ "
                "(starting with a letter), at most 63 characters"
            ).format(name=repr(name))
        )
    return f'"{name}"'


def execute(conn: Connection, statement: str) -> None:
    """Run one statement (or a script) as it is."""
    conn.exec_driver_sql(statement)


def list_tables(conn: Connection) -> list[str]:
    """The tables of the public schema, by name."""
    rows = conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    return [r[0] for r in rows]


def list_sequences(conn: Connection) -> list[str]:
    """The sequences of the public schema, by name."""
    rows = conn.exec_driver_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
    )
    return [r[0] for r in rows]


def role_exists(conn: Connection, name: str) -> bool:
    """True if a role named ``name`` exists."""
    found = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    return found.first() is not None


def grant(conn: Connection, tables: list[str], sequences: list[str]) -> None:
    """Give each group role its privileges on ``tables`` and ``sequences``, nothing more."""
    everyone = ", ".join(GROUPS)
    members = "labgpu_student, labgpu_pi"
    # No member creates anything: no objects in public (open to all before PostgreSQL 15), no
    # schemas, no temporary tables (a session's pg_temp could shadow a lab table otherwise).
    execute(conn, "REVOKE ALL ON SCHEMA public FROM PUBLIC")
    database = conn.exec_driver_sql("SELECT quote_ident(current_database())").scalar()
    execute(conn, f"REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM PUBLIC, {everyone}")
    execute(conn, f"GRANT USAGE ON SCHEMA public TO {everyone}, {OWNER}")
    for table in tables:
        execute(conn, f"REVOKE ALL ON {quoted(table)} FROM PUBLIC, {everyone}")
        execute(conn, f"GRANT SELECT ON {quoted(table)} TO {everyone}")
    for seq in sequences:
        execute(conn, f"REVOKE ALL ON SEQUENCE {quoted(seq)} FROM PUBLIC, {everyone}")
        execute(conn, f"GRANT USAGE, SELECT ON SEQUENCE {quoted(seq)} TO {everyone}")
    execute(conn, f"GRANT INSERT, UPDATE ON bookings TO {members}, labgpu_manager")
    execute(conn, "GRANT UPDATE ON bookings TO labgpu_collector")
    execute(conn, "GRANT DELETE ON bookings TO labgpu_manager")
    for table in (*MANAGED, *COLLECTED, *ROLLED_UP):
        if table in tables:
            execute(conn, f"GRANT INSERT, UPDATE, DELETE ON {quoted(table)} TO labgpu_manager")
    for table in COLLECTED:  # samples in; retention deletes what is rolled up
        execute(conn, f"GRANT INSERT, DELETE ON {table} TO labgpu_collector")
    for table in ROLLED_UP:
        if table in tables:
            execute(conn, f"GRANT INSERT, UPDATE, DELETE ON {table} TO labgpu_collector")
    for table in OWNED:
        if table in tables:
            execute(conn, f"GRANT INSERT, UPDATE, DELETE ON {table} TO {members}, labgpu_manager")
    cols = ", ".join(SERVER_STATE_COLUMNS)
    execute(conn, f"GRANT UPDATE ({cols}) ON servers TO labgpu_collector")
    execute(conn, f"GRANT INSERT ON audit_log TO {everyone}")
    execute(conn, "REVOKE ALL ON FUNCTION labgpu_change_password(text) FROM PUBLIC")
    for fn in MEMBER_FUNCTIONS:
        execute(conn, f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        execute(conn, f"GRANT EXECUTE ON FUNCTION {fn} TO labgpu_manager")
    execute(conn, f"GRANT EXECUTE ON FUNCTION labgpu_change_password(text) TO {everyone}")
    execute(conn, f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC, {everyone}, {OWNER}")


# -- members ------------------------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise LabgpuError(
            _("unknown role {role}; use one of {roles}").format(
                role=repr(role), roles=", ".join(ROLES)
            )
        )
    return f"labgpu_{role}"


def scram_verifier(conn: Connection, name: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password``, computed here by libpq.

    Only the verifier reaches the server, so the password never appears in a statement, the
    server log or ``pg_stat_activity``.
    """
    pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
    raw: bytes = pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
    return raw.decode()


def add_member(conn: Connection, name: str, role: str) -> str:
    """Create a LOGIN role in ``role``'s group with a one-time password; returns the password."""
    _check_role(role)
    quoted(name)
    if role_exists(conn, name):
        raise RefusedError(
            _("a database role named {name} already exists; pick another name").format(
                name=repr(name)
            )
        )
    password = secrets.token_urlsafe(12)
    # A service login runs unattended: its password cannot wait for a first sign-in.
    expires = (
        "'infinity'" if role == "collector" else f"now() + interval '{PASSWORD_VALID_DAYS} days'"
    )
    conn.execute(
        text(f"SELECT labgpu_add_member(:n, :r, :p, {expires})"),
        {"n": name, "r": role, "p": scram_verifier(conn, name, password)},
    )
    _set_user_row(conn, name, role)
    return password


def _set_user_row(conn: Connection, name: str, role: str) -> None:
    # The users table lists lab members; the collector is a service, not a member.
    if role == "collector":
        conn.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})
        return
    conn.execute(
        text(
            "INSERT INTO users (name, role) VALUES (:n, :r) "
            "ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role"
        ),
        {"n": name, "r": role},
    )


def set_member_role(conn: Connection, name: str, role: str) -> None:
    """Move a member to another group role."""
    _check_role(role)
    _require_member(conn, name)
    conn.execute(text("SELECT labgpu_set_member_role(:n, :r)"), {"n": name, "r": role})
    _set_user_row(conn, name, role)


def remove_member(conn: Connection, name: str) -> None:
    """Drop a member's login (their bookings and audit lines stay, under their name)."""
    _require_member(conn, name)
    conn.execute(text("SELECT labgpu_remove_member(:n)"), {"n": name})
    conn.execute(text("DELETE FROM users WHERE name = :n"), {"n": name})


def _require_member(conn: Connection, name: str) -> None:
    if not conn.execute(text("SELECT labgpu_is_member(:n)"), {"n": name}).scalar():
        raise LabgpuError(
            _("no member named {name}; see `labgpu users list`").format(name=repr(name))
        )


def list_members(conn: Connection) -> list[Member]:
    """Every login role in one of the lab's groups, by name."""
    rows = conn.execute(
        text(
            "SELECT r.rolname, g.rolname, r.rolcanlogin, "
            "CASE WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END FROM pg_roles r "
            "JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE g.rolname = ANY(:groups) ORDER BY r.rolname"
        ),
        {"groups": list(GROUPS)},
    )
    return [Member(n, g.removeprefix("labgpu_"), bool(c), v) for n, g, c, v in rows]


def role_of(conn: Connection) -> str:
    """The current user's lab role: manager beats pi beats collector beats student."""
    if conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
        return "manager"
    for role in ("manager", "pi", "collector", "student"):
        found = conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :g) "
                "AND pg_has_role(current_user, :g, 'MEMBER')"
            ),
            {"g": f"labgpu_{role}"},
        ).scalar()
        if found:
            return role
    return "student"


def current_user(conn: Connection) -> str:
    """``SELECT current_user``."""
    return str(conn.exec_driver_sql("SELECT current_user").scalar())
