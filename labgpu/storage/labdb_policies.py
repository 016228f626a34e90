"""The lab database's row-level security (docs/architecture.md §3.2): every table's policies,
and the triggers that refuse, with a plain message, what a policy could only skip silently
(another member's booking, a decision by a student, someone else's offloaded job).

``labdb.init_lab`` applies them; ``labdb`` explains the whole protection.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from labgpu.storage.labdb_roles import COLLECTED, OWNED, ROLLED_UP, execute, quoted

#: The guard functions the triggers run (after ``labdb_roles.FUNCTIONS_SQL`` in ``init_lab``'s
#: script).
FUNCTIONS_SQL = r"""
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
       OR NEW.gpu_id IS DISTINCT FROM OLD.gpu_id OR NEW.note IS DISTINCT FROM OLD.note
       OR NEW.project IS DISTINCT FROM OLD.project) THEN
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

-- A booking, offloaded job or slot request names a project that exists and is active (for
-- everyone: a manager retires a project, then nothing new names it); a row keeping its project
-- passes. Refused as a rule (LGR01), which the app turns back into its own message.
CREATE OR REPLACE FUNCTION public.labgpu_project_usable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  live boolean;
BEGIN
  IF NEW.project IS NULL OR (TG_OP = 'UPDATE' AND NEW.project IS NOT DISTINCT FROM OLD.project)
  THEN
    RETURN NEW;
  END IF;
  SELECT p.active INTO live FROM public.projects p WHERE p.name = NEW.project;
  IF live IS NULL THEN
    PERFORM public.labgpu_refuse('project_unknown', '', NEW.project,
      'unknown project ' || quote_literal(NEW.project) || '; see `labgpu projects`');
  ELSIF NOT live THEN
    PERFORM public.labgpu_refuse('project_retired', '', NEW.project,
      'project ' || quote_literal(NEW.project) || ' is retired; pick an active one');
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
"""


def create_policies(conn: Connection, tables: list[str]) -> None:
    """Force row-level security on every table, with who may read and write which rows."""

    def policy(table: str, name: str, body: str) -> None:
        execute(conn, f"DROP POLICY IF EXISTS {name} ON {quoted(table)}")
        execute(conn, f"CREATE POLICY {name} ON {quoted(table)} {body}")

    # (SELECT ...): evaluated once per statement, not once per row.
    manager = "(SELECT public.labgpu_is('labgpu_manager'))"
    for table in tables:
        execute(conn, f"ALTER TABLE {quoted(table)} ENABLE ROW LEVEL SECURITY")
        execute(conn, f"ALTER TABLE {quoted(table)} FORCE ROW LEVEL SECURITY")
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


def replace_trigger(conn: Connection, table: str, name: str, body: str) -> None:
    """Drop trigger ``name`` on ``table`` if it exists and create it again from ``body``."""
    execute(conn, f"DROP TRIGGER IF EXISTS {name} ON {table}")
    execute(conn, f"CREATE {body.format(name=name, table=table)}")


def create_triggers(conn: Connection) -> None:
    """The guards of bookings, unmet requests and owned rows (the audit log's: ``labdb_audit``)."""
    trigger = partial(replace_trigger, conn)
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
        "slot_requests",
        "labgpu_unmet_as_asked",
        "TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_unmet_as_asked()",
    )
    for table in ("bookings", "offload_jobs", "slot_requests"):  # after the guards (by name)
        trigger(
            table,
            "labgpu_project_usable",
            "TRIGGER {name} BEFORE INSERT OR UPDATE OF project ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION public.labgpu_project_usable()",
        )
    for table, (column, what) in OWNED.items():
        trigger(
            table,
            "labgpu_owner_guard",
            "TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION public.labgpu_owner_guard('{column}', '{what}')",
        )
