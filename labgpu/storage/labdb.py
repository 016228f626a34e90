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
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, text

from labgpu.core.booking.rules import BookingRules
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.members.roles import ROLES, Member
from labgpu.storage import labdb_rules, policies

OWNER = "labgpu_owner"
GROUPS = tuple(f"labgpu_{r}" for r in ROLES)
#: Every table's audit-worthy changes (the collector's state updates of servers excepted).
AUDITED = (
    "bookings",
    "servers",
    "gpus",
    "booking_rules",
    "maintenance",
    "users",
    "clusters",
    "host_keys",
)
#: Run as the administrator who ran ``init_lab`` (SECURITY DEFINER), by managers only: they
#: touch lab members and the lab's group roles only, so a manager needs no CREATEROLE (which
#: would let them grant themselves powerful built-in roles).
_MEMBER_FUNCTIONS = (
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
    "clusters": ("created_by", "cluster"),
    "unmet_requests": ("user_name", "unmet request"),
}
SERVER_STATE_COLUMNS = ("state", "state_reason", "state_since", "last_seen")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
INSUFFICIENT_PRIVILEGE = "42501"
PASSWORD_VALID_DAYS = 7
MIN_PASSWORD_LENGTH = 8

_FUNCTIONS = r"""
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

CREATE OR REPLACE FUNCTION public.labgpu_words(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT array_remove(regexp_split_to_array(lower(name), '[^a-z0-9]+'), '')
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_bookings_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF public.labgpu_is('labgpu_manager') THEN
    RETURN NEW;
  END IF;
  IF NEW.user_name IS DISTINCT FROM OLD.user_name THEN
    RAISE EXCEPTION 'permission denied: only a lab manager can give a booking to someone else'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.group_id IS DISTINCT FROM OLD.group_id OR NEW.created_by IS DISTINCT FROM OLD.created_by
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'permission denied: a booking''s group, creator and creation time stay as '
      'they were' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF public.labgpu_is('labgpu_collector') THEN
    IF NEW.status NOT IN (OLD.status, 'released') OR NEW.end_ts > OLD.end_ts
       OR NEW.start_ts IS DISTINCT FROM OLD.start_ts OR NEW.gpu_id IS DISTINCT FROM OLD.gpu_id
       OR NEW.note IS DISTINCT FROM OLD.note THEN
      RAISE EXCEPTION 'permission denied: the collector only releases idle bookings'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  -- A decision first: a student deciding on anyone's request hears why, not 'own bookings'.
  IF OLD.status = 'pending' AND NEW.status = 'booked' AND NOT public.labgpu_is('labgpu_pi') THEN
    RAISE EXCEPTION 'permission denied: only a PI or a lab manager can decide on a request'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT public.labgpu_is('labgpu_pi') AND (NEW.decided_by IS DISTINCT FROM OLD.decided_by
       OR NEW.decision_reason IS DISTINCT FROM OLD.decision_reason) THEN
    RAISE EXCEPTION 'permission denied: only a PI or a lab manager can decide on a request'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.user_name <> session_user AND NOT public.labgpu_is('labgpu_pi') THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
      'permission denied: a student can only change their own bookings (this one is '
      || OLD.user_name || '''s)';
  END IF;
  IF NEW.decided_by IS DISTINCT FROM OLD.decided_by AND NEW.decided_by <> session_user THEN
    RAISE EXCEPTION 'permission denied: a decision is recorded under your own name only'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.user_name <> session_user AND (
       NEW.start_ts IS DISTINCT FROM OLD.start_ts OR NEW.end_ts IS DISTINCT FROM OLD.end_ts
       OR NEW.gpu_id IS DISTINCT FROM OLD.gpu_id OR NEW.note IS DISTINCT FROM OLD.note) THEN
    RAISE EXCEPTION 'permission denied: a PI decides on others'' bookings but does not edit them'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$f$;

-- A decision is dated by the database: approvals and rejections count in the month they were
-- made, and nobody but a manager can move that date.
CREATE OR REPLACE FUNCTION public.labgpu_bookings_decided_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT public.labgpu_is('labgpu_manager') THEN
      NEW.decided_at := NULL;
    END IF;
  ELSIF NEW.decided_by IS DISTINCT FROM OLD.decided_by THEN
    NEW.decided_at := clock_timestamp();
  ELSIF NEW.decided_at IS DISTINCT FROM OLD.decided_at
        AND NOT public.labgpu_is('labgpu_manager') THEN
    RAISE EXCEPTION 'permission denied: a decision keeps the time it was made'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_owner_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  owner text := to_jsonb(OLD) ->> TG_ARGV[0];
BEGIN
  IF public.labgpu_is('labgpu_manager') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF owner IS DISTINCT FROM session_user::text THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
      'permission denied: only ' || coalesce(owner, 'its owner')
      || ' or a lab manager can change this ' || TG_ARGV[1];
  END IF;
  IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) ->> TG_ARGV[0]) IS DISTINCT FROM owner THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
      'permission denied: only a lab manager can give this ' || TG_ARGV[1] || ' to someone else';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_audit_frozen() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  RAISE EXCEPTION 'permission denied: the audit log cannot be changed or deleted'
    USING ERRCODE = 'insufficient_privilege';
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_audit_actor() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  -- db.* lines are the database's own (labgpu_audit_row runs as the owner role).
  IF starts_with(NEW.action, 'db.') AND current_user <> 'labgpu_owner' THEN
    RAISE EXCEPTION 'permission denied: audit lines named db.* are written by the database only'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  NEW.actor := session_user;
  NEW.ts := clock_timestamp();
  RETURN NEW;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  old_j jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  new_j jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  subject text;
BEGIN
  IF TG_TABLE_NAME = 'servers' AND TG_OP = 'UPDATE'
     AND (old_j - 'state' - 'state_reason' - 'state_since' - 'last_seen')
       = (new_j - 'state' - 'state_reason' - 'state_since' - 'last_seen') THEN
    RETURN NULL;
  END IF;
  subject := coalesce(new_j, old_j) ->> 'id';
  IF TG_TABLE_NAME = 'servers' THEN
    subject := coalesce(new_j, old_j) ->> 'name';
  ELSIF TG_TABLE_NAME = 'bookings' THEN
    subject := coalesce(new_j, old_j) ->> 'group_id';
  END IF;
  INSERT INTO public.audit_log (ts, actor, action, subject, detail)
  VALUES (clock_timestamp(), session_user, 'db.' || TG_TABLE_NAME || '.' || lower(TG_OP),
          coalesce(subject, ''),
          CASE TG_OP WHEN 'INSERT' THEN new_j::text WHEN 'DELETE' THEN old_j::text
               ELSE (SELECT coalesce(string_agg(n.key || ': ' || coalesce(o.value::text, '-')
                                                || ' → ' || n.value::text, '; '), '')
                     FROM jsonb_each(new_j) n LEFT JOIN jsonb_each(old_j) o USING (key)
                     WHERE o.value IS DISTINCT FROM n.value) END);
  RETURN NULL;
END
$f$;
"""


def _q(name: str) -> str:
    """A checked role or table name (ours or validated), double-quoted."""
    if not NAME_RE.match(name):
        raise LabgpuError(
            _(
                "{name} is not a usable member name: use lower-case letters, digits and _ "
                "(starting with a letter), at most 63 characters"
            ).format(name=repr(name))
        )
    return f'"{name}"'


def _exec(conn: Connection, statement: str) -> None:
    conn.exec_driver_sql(statement)


def _tables(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    return [r[0] for r in rows]


def _sequences(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
    )
    return [r[0] for r in rows]


def _role_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    return found.first() is not None


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
            if not _role_exists(conn, role):
                _exec(conn, f"CREATE ROLE {role} NOLOGIN")
        _exec(conn, _FUNCTIONS)
        tables = _tables(conn)
        for table in tables:
            _exec(conn, f"ALTER TABLE {_q(table)} OWNER TO {OWNER}")
        _exec(conn, labdb_rules.rules_sql())
        for fn in ("labgpu_audit_row()", "labgpu_is(text)", "labgpu_lock_holder(text)"):
            _exec(conn, f"ALTER FUNCTION {fn} OWNER TO {OWNER}")
        _exec(conn, "DROP TRIGGER IF EXISTS labgpu_bookings_approval ON bookings")
        _exec(conn, "DROP FUNCTION IF EXISTS labgpu_bookings_approval()")
        _exec(conn, "DROP FUNCTION IF EXISTS labgpu_approval_model(integer)")
        # The approval trigger reads the rules: store the defaults if none were ever saved.
        conn.execute(
            text(
                "INSERT INTO booking_rules (id, data, updated_at, updated_by) "
                "VALUES (1, :data, now(), current_user) ON CONFLICT (id) DO NOTHING"
            ),
            {"data": policies.rules_to_json(BookingRules())},
        )
        _exec(conn, "ALTER TABLE bookings ALTER COLUMN user_name SET DEFAULT session_user")
        _exec(conn, "ALTER TABLE bookings ALTER COLUMN created_by SET DEFAULT session_user")
        for table, (column, _what) in OWNED.items():
            if table in tables:
                _exec(conn, f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT session_user")
        _grants(conn, tables, _sequences(conn))
        _policies(conn, tables)
        _triggers(conn)


def _grants(conn: Connection, tables: list[str], sequences: list[str]) -> None:
    everyone = ", ".join(GROUPS)
    members = "labgpu_student, labgpu_pi"
    # No member creates anything: no objects in public (open to all before PostgreSQL 15), no
    # schemas, no temporary tables (a session's pg_temp could shadow a lab table otherwise).
    _exec(conn, "REVOKE ALL ON SCHEMA public FROM PUBLIC")
    database = conn.exec_driver_sql("SELECT quote_ident(current_database())").scalar()
    _exec(conn, f"REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM PUBLIC, {everyone}")
    _exec(conn, f"GRANT USAGE ON SCHEMA public TO {everyone}, {OWNER}")
    for table in tables:
        _exec(conn, f"REVOKE ALL ON {_q(table)} FROM PUBLIC, {everyone}")
        _exec(conn, f"GRANT SELECT ON {_q(table)} TO {everyone}")
    for seq in sequences:
        _exec(conn, f"REVOKE ALL ON SEQUENCE {_q(seq)} FROM PUBLIC, {everyone}")
        _exec(conn, f"GRANT USAGE, SELECT ON SEQUENCE {_q(seq)} TO {everyone}")
    _exec(conn, f"GRANT INSERT, UPDATE ON bookings TO {members}, labgpu_manager")
    _exec(conn, "GRANT UPDATE ON bookings TO labgpu_collector")
    _exec(conn, "GRANT DELETE ON bookings TO labgpu_manager")
    for table in (*MANAGED, *COLLECTED, *ROLLED_UP):
        if table in tables:
            _exec(conn, f"GRANT INSERT, UPDATE, DELETE ON {_q(table)} TO labgpu_manager")
    for table in COLLECTED:  # samples in; retention deletes what is rolled up
        _exec(conn, f"GRANT INSERT, DELETE ON {table} TO labgpu_collector")
    for table in ROLLED_UP:
        if table in tables:
            _exec(conn, f"GRANT INSERT, UPDATE, DELETE ON {table} TO labgpu_collector")
    for table in OWNED:
        if table in tables:
            _exec(conn, f"GRANT INSERT, UPDATE, DELETE ON {table} TO {members}, labgpu_manager")
    cols = ", ".join(SERVER_STATE_COLUMNS)
    _exec(conn, f"GRANT UPDATE ({cols}) ON servers TO labgpu_collector")
    _exec(conn, f"GRANT INSERT ON audit_log TO {everyone}")
    _exec(conn, "REVOKE ALL ON FUNCTION labgpu_change_password(text) FROM PUBLIC")
    for fn in _MEMBER_FUNCTIONS:
        _exec(conn, f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        _exec(conn, f"GRANT EXECUTE ON FUNCTION {fn} TO labgpu_manager")
    _exec(conn, f"GRANT EXECUTE ON FUNCTION labgpu_change_password(text) TO {everyone}")
    _exec(conn, f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC, {everyone}, {OWNER}")


def _policies(conn: Connection, tables: list[str]) -> None:
    def policy(table: str, name: str, body: str) -> None:
        _exec(conn, f"DROP POLICY IF EXISTS {name} ON {_q(table)}")
        _exec(conn, f"CREATE POLICY {name} ON {_q(table)} {body}")

    # (SELECT ...): evaluated once per statement, not once per row.
    manager = "(SELECT public.labgpu_is('labgpu_manager'))"
    for table in tables:
        _exec(conn, f"ALTER TABLE {_q(table)} ENABLE ROW LEVEL SECURITY")
        _exec(conn, f"ALTER TABLE {_q(table)} FORCE ROW LEVEL SECURITY")
        policy(table, "labgpu_read", "FOR SELECT USING (true)")
        if table != "audit_log":
            policy(table, "labgpu_manage", f"FOR ALL USING ({manager}) WITH CHECK ({manager})")
    own = "user_name = session_user"
    policy(
        "bookings",
        "labgpu_book_own",
        f"FOR INSERT WITH CHECK ({own} AND created_by = session_user)",
    )
    # Updates: every member passes the policy; labgpu_bookings_guard raises a clear 42501 for
    # rows that are not theirs (a policy would only skip them silently).
    policy(
        "bookings",
        "labgpu_change",
        f"FOR UPDATE USING (true) WITH CHECK ({own} OR (SELECT public.labgpu_is('labgpu_pi')) "
        "OR (SELECT public.labgpu_is('labgpu_collector')))",
    )
    collector = "(SELECT public.labgpu_is('labgpu_collector'))"
    for table in COLLECTED:
        policy(table, "labgpu_collect", f"FOR INSERT WITH CHECK ({collector})")
        policy(table, "labgpu_retention", f"FOR DELETE USING ({collector})")
    for table in ROLLED_UP:
        if table in tables:
            policy(table, "labgpu_rollup", f"FOR ALL USING ({collector}) WITH CHECK ({collector})")
    policy("servers", "labgpu_collect", f"FOR UPDATE USING ({collector}) WITH CHECK ({collector})")
    for table, (column, _what) in OWNED.items():
        if table not in tables:
            continue
        mine = f"{column} = session_user"
        policy(table, "labgpu_own_insert", f"FOR INSERT WITH CHECK ({mine})")
        # Every member passes; labgpu_owner_guard refuses others' rows with a clear 42501.
        policy(table, "labgpu_own_update", f"FOR UPDATE USING (true) WITH CHECK ({mine})")
        policy(table, "labgpu_own_delete", "FOR DELETE USING (true)")
    if "booking_holders" in tables:  # written only by labgpu_lock_holder (no member grants)
        policy("booking_holders", "labgpu_lock", "FOR ALL USING (true) WITH CHECK (true)")
    # The actor is forced to session_user by a trigger, so any member may append.
    policy("audit_log", "labgpu_append", "FOR INSERT WITH CHECK (true)")


def _triggers(conn: Connection) -> None:
    def trigger(table: str, name: str, body: str) -> None:
        _exec(conn, f"DROP TRIGGER IF EXISTS {name} ON {table}")
        _exec(conn, f"CREATE {body.format(name=name, table=table)}")

    trigger(
        "bookings",
        "labgpu_bookings_guard",
        "TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_bookings_guard()",
    )
    # After the guard (triggers fire by name): who may change a row is said first.
    trigger(
        "bookings",
        "labgpu_bookings_rules",
        "TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_bookings_rules()",
    )
    # After the rules (by name again): the decision's time is the database's.
    trigger(
        "bookings",
        "labgpu_bookings_stamp",
        "TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_bookings_decided_at()",
    )
    trigger(
        "audit_log",
        "labgpu_audit_frozen",
        "TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_audit_frozen()",
    )
    trigger(
        "audit_log",
        "labgpu_audit_truncate",
        "TRIGGER {name} BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        "EXECUTE FUNCTION public.labgpu_audit_frozen()",
    )
    trigger(
        "audit_log",
        "labgpu_audit_actor",
        "TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_audit_actor()",
    )
    trigger(
        "unmet_requests",
        "labgpu_unmet_as_asked",
        "TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_unmet_as_asked()",
    )
    for table, (column, what) in OWNED.items():
        trigger(
            table,
            "labgpu_owner_guard",
            "TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION public.labgpu_owner_guard('{column}', '{what}')",
        )
    for table in AUDITED:
        trigger(
            table,
            "labgpu_audit",
            "CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.labgpu_audit_row()",
        )


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
    _q(name)
    if _role_exists(conn, name):
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
