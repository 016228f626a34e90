"""The lab database's side of notifications (issue 17): booking events written to the outbox by
a trigger, and who may touch the outbox, the deliveries and members' settings.

- Members neither read nor write ``outbox`` and ``deliveries`` (a student must not send mail
  through the lab's SMTP server): only the collector (the sender) writes them; managers read
  them (a failing channel shows). Booking events come from ``labgpu_notify_booking``, a
  deferred ``AFTER INSERT OR UPDATE`` trigger on bookings, SECURITY DEFINER as the owner role,
  at commit, so a group of several GPUs is complete and gives one event (``dedup_key``).
- Job events come from ``labgpu_notify_job``, an ``AFTER INSERT OR UPDATE OF state`` trigger
  on ``lab_jobs`` and ``offload_jobs`` (SECURITY DEFINER), when a row turns final, in the
  transaction of that change: whoever follows the job (the member's app) writes it; at most
  ``JOB_EVENTS_PER_MINUTE`` a minute per member (members can write their own job rows).
- ``labgpu_notify_test()`` (SECURITY DEFINER) is the one way a member enqueues anything: a test
  message to their own login, at most one a minute.
- ``labgpu_notify_inbox(after, lim)`` (SECURITY DEFINER) is the one way a member reads events:
  those they would be sent, chosen by their login (``session_user``), never by a name given.
- ``notify_settings``: a member reads and writes only their own row (``user_name`` is their
  login); the collector and managers read all, managers write any.

``labdb.init_lab`` applies it after the grants and policies of every table.
"""

from __future__ import annotations

from sqlalchemy import Connection

from labgpu.storage.labdb_policies import replace_trigger
from labgpu.storage.labdb_roles import GROUPS, OWNER, execute

#: The most events ``labgpu_notify_inbox`` returns at once.
INBOX_MOST = 1000
#: The most job messages (``job_ended``, ``job_failed``) one member's rows write in a minute.
JOB_EVENTS_PER_MINUTE = 20
_FINAL = "'completed', 'failed', 'cancelled', 'timeout'"  # events.FINAL_JOB_STATES
_TIME = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""

FUNCTIONS_SQL = rf"""
CREATE OR REPLACE FUNCTION public.labgpu_notify_booking() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  event text;
  decided boolean;
  labels jsonb;
BEGIN
  -- The same rule as labgpu.core.notify.events.booking_change_kind.
  IF TG_OP = 'INSERT' THEN
    IF NEW.status = 'pending' THEN
      event := 'request_pending';
    END IF;
  ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
    decided := NEW.decided_by IS NOT NULL AND NEW.decided_by IS DISTINCT FROM OLD.decided_by;
    IF OLD.status = 'pending' AND NEW.status = 'booked' THEN
      event := 'request_approved';
    ELSIF OLD.status = 'pending' AND NEW.status = 'cancelled' AND decided THEN
      event := 'request_rejected';
    ELSIF NEW.status = 'released' AND decided
          AND starts_with(coalesce(NEW.decision_reason, ''), 'released: idle') THEN
      event := 'booking_released';
    END IF;
  END IF;
  IF event IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT jsonb_agg(s.name || ':' || g.index ORDER BY (s.name || ':' || g.index) COLLATE "C")
    INTO labels
    FROM public.bookings b JOIN public.gpus g ON g.id = b.gpu_id
    JOIN public.servers s ON s.id = g.server_id
    WHERE b.group_id = NEW.group_id;
  INSERT INTO public.outbox (kind, audience, user_name, dedup_key, payload, created_at)
  VALUES (event, CASE WHEN event = 'request_pending' THEN 'deciders' ELSE 'member' END,
          NEW.user_name, event || ':' || NEW.group_id,
          jsonb_build_object('group', NEW.group_id, 'user', NEW.user_name,
                             'gpus', coalesce(labels, '[]'::jsonb),
                             'start', {_TIME.format(col="NEW.start_ts")},
                             'end', {_TIME.format(col="NEW.end_ts")},
                             'reason', coalesce(NEW.decision_reason, ''),
                             'by', coalesce(NEW.decided_by, ''))::text,
          clock_timestamp())
  ON CONFLICT (dedup_key) DO NOTHING;
  RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_notify_job() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  r jsonb := to_jsonb(NEW);
  place text := CASE WHEN TG_TABLE_NAME = 'lab_jobs' THEN 'lab' ELSE 'cluster' END;
  started timestamptz := (r->>'started_at')::timestamptz;
  ended timestamptz := (r->>'ended_at')::timestamptz;
  event text;
BEGIN
  -- The same rule and payload as labgpu.core.notify.events.job_event.
  IF NEW.state NOT IN ({_FINAL}) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.state IN ({_FINAL}) THEN
      RETURN NULL;
    END IF;
  END IF;
  event := CASE WHEN NEW.state = 'completed' AND coalesce(NEW.exit_code, 0) = 0
                THEN 'job_ended' ELSE 'job_failed' END;
  -- A member writes their own job rows: at most {JOB_EVENTS_PER_MINUTE} job messages a minute
  -- each, so nobody floods an address through the lab's mail server (the job itself is kept).
  IF (SELECT count(*) FROM public.outbox o
      WHERE o.user_name = NEW.user_name AND o.kind IN ('job_ended', 'job_failed')
        AND o.created_at > clock_timestamp() - interval '1 minute')
     >= {JOB_EVENTS_PER_MINUTE} THEN
    RETURN NULL;
  END IF;
  INSERT INTO public.outbox (kind, audience, user_name, dedup_key, payload, created_at)
  VALUES (event, 'member', NEW.user_name, 'job:' || place || ':' || NEW.name || ':' || NEW.state,
          jsonb_build_object('job', NEW.name, 'id', NEW.id, 'on', place,
                             'where', r->CASE WHEN place = 'lab' THEN 'server' ELSE 'cluster' END,
                             'user', NEW.user_name, 'state', NEW.state,
                             'exit_code', NEW.exit_code,
                             'started', {_TIME.format(col="started")},
                             'ended', {_TIME.format(col="ended")},
                             'project', r->'project',
                             'reason', coalesce(NEW.reason, ''))::text,
          clock_timestamp())
  ON CONFLICT (dedup_key) DO NOTHING;
  RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_notify_inbox(after bigint, lim integer)
RETURNS TABLE (id integer, kind text, user_name text, created_at timestamptz, payload text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
  -- What the sender would send the login (services/notify/sender.py Sender.expand), newest
  -- ``lim`` after ``after``, oldest first. Roles as storage/outbox.py role_members reads them.
  WITH me AS (
    SELECT session_user::text AS name,
           EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                   JOIN pg_catalog.pg_roles r ON r.oid = m.member
                   WHERE r.rolname = session_user AND r.rolcanlogin
                     AND g.rolname IN ('labgpu_pi', 'labgpu_manager')) AS decides,
           EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                   JOIN pg_catalog.pg_roles r ON r.oid = m.member
                   WHERE r.rolname = session_user AND r.rolcanlogin
                     AND g.rolname = 'labgpu_manager') AS manages
  )
  SELECT n.id, n.kind, n.user_name, n.created_at, n.payload FROM (
    SELECT o.id, o.kind::text AS kind, o.user_name::text AS user_name, o.created_at, o.payload
    FROM public.outbox o CROSS JOIN me
    WHERE o.id > coalesce(after, 0)
      AND ((o.audience = 'member' AND o.user_name = me.name)
           OR (o.audience = 'deciders' AND me.decides AND o.user_name <> me.name)
           OR (o.audience = 'managers' AND me.manages))
    ORDER BY o.id DESC
    LIMIT greatest(least(coalesce(lim, 200), {INBOX_MOST}), 0)
  ) n
  ORDER BY n.id
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_notify_test() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  written integer;
BEGIN
  INSERT INTO public.outbox (kind, audience, user_name, dedup_key, payload, created_at)
  VALUES ('test', 'member', session_user,
          'test:' || session_user || ':'
            || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MI'),
          jsonb_build_object('user', session_user::text)::text, clock_timestamp())
  ON CONFLICT (dedup_key) DO NOTHING;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written > 0;
END
$f$;
"""

_SENT = ("outbox", "deliveries")
_FUNCTIONS = (
    "labgpu_notify_booking()",
    "labgpu_notify_job()",
    "labgpu_notify_test()",
    "labgpu_notify_inbox(bigint, integer)",
)


def apply(conn: Connection, tables: list[str]) -> None:
    """Functions, grants, policies and the trigger (after ``grant`` and ``create_policies``)."""
    if "outbox" not in tables:
        return
    everyone = ", ".join(GROUPS)
    execute(conn, FUNCTIONS_SQL)
    for fn in _FUNCTIONS:
        execute(conn, f"ALTER FUNCTION public.{fn} OWNER TO {OWNER}")
        execute(conn, f"REVOKE ALL ON FUNCTION public.{fn} FROM PUBLIC")
    for fn in ("labgpu_notify_test()", "labgpu_notify_inbox(bigint, integer)"):
        execute(conn, f"GRANT EXECUTE ON FUNCTION public.{fn} TO {everyone}")
    collector = "(SELECT public.labgpu_is('labgpu_collector'))"
    manager = "(SELECT public.labgpu_is('labgpu_manager'))"
    for table in _SENT:
        execute(conn, f"REVOKE ALL ON {table} FROM PUBLIC, {everyone}")
        execute(conn, f"GRANT SELECT ON {table} TO labgpu_manager")
        execute(conn, f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO labgpu_collector")
        _policy(conn, table, "labgpu_read", None)  # not everyone's to read
        _policy(conn, table, "labgpu_send", f"FOR ALL USING ({collector}) WITH CHECK ({collector})")
    _policy(conn, "outbox", "labgpu_enqueue", f"FOR ALL TO {OWNER} USING (true) WITH CHECK (true)")
    own = "user_name = session_user"
    execute(conn, "ALTER TABLE notify_settings ALTER COLUMN user_name SET DEFAULT session_user")
    execute(conn, f"GRANT SELECT, INSERT, UPDATE, DELETE ON notify_settings TO {everyone}")
    execute(conn, "REVOKE INSERT, UPDATE, DELETE ON notify_settings FROM labgpu_collector")
    _policy(conn, "notify_settings", "labgpu_read", None)
    _policy(
        conn,
        "notify_settings",
        "labgpu_read_own",
        f"FOR SELECT USING ({own} OR {collector} OR {manager})",
    )
    _policy(conn, "notify_settings", "labgpu_own", f"FOR ALL USING ({own}) WITH CHECK ({own})")
    replace_trigger(
        conn,
        "bookings",
        "labgpu_bookings_notify",
        "CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION public.labgpu_notify_booking()",
    )
    for table in ("lab_jobs", "offload_jobs"):
        if table in tables:
            replace_trigger(
                conn,
                table,
                f"labgpu_{table}_notify",
                "TRIGGER {name} AFTER INSERT OR UPDATE OF state ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION public.labgpu_notify_job()",
            )


def _policy(conn: Connection, table: str, name: str, body: str | None) -> None:
    execute(conn, f"DROP POLICY IF EXISTS {name} ON {table}")
    if body is not None:
        execute(conn, f"CREATE POLICY {name} ON {table} {body}")
