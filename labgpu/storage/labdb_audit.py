"""The lab database's audit log (docs/architecture.md §3.2): nobody changes or deletes a line,
the actor and time of a new line are the database's, and every change to the audited tables
writes its own ``db.<table>.<op>`` line at commit.

``labdb.init_lab`` applies it; ``labdb`` explains the whole protection.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from labgpu.storage.labdb_policies import replace_trigger

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
    "gpu_prices",
    "projects",
)
#: The audit log's guards and the audited tables' trigger function (last in ``init_lab``'s
#: script).
FUNCTIONS_SQL = r"""
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
  IF TG_TABLE_NAME IN ('servers', 'projects') THEN
    subject := coalesce(new_j, old_j) ->> 'name';
  ELSIF TG_TABLE_NAME = 'bookings' THEN
    subject := coalesce(new_j, old_j) ->> 'group_id';
  ELSIF TG_TABLE_NAME = 'gpu_prices' THEN
    subject := coalesce(new_j, old_j) ->> 'model';
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


def create_triggers(conn: Connection) -> None:
    """Freeze the audit log's lines, date them, and audit every change of ``AUDITED`` tables."""
    trigger = partial(replace_trigger, conn)
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
    for table in AUDITED:
        trigger(
            table,
            "labgpu_audit",
            "CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.labgpu_audit_row()",
        )
