"""The lab's booking rules, enforced by PostgreSQL itself (the lab-database shape).

The app checks every rule in Python first (``labgpu.core.booking.rules``, ``services.booking``) so a
member sees the refusal before anything is written. This module holds the same rules as a
``BEFORE INSERT OR UPDATE`` trigger on ``bookings``, so a member who bypasses the app (``psql``)
meets them too: longest booking, horizon, no start in the past, GPUs held at once, the weekly
weighted quota, bookable GPUs, approval models and maintenance windows. Managers are exempt,
as they are in the app's permission model. ``tests/booking/test_labdb_rules.py`` proves with random
bookings (hypothesis, real PostgreSQL) that both give the same verdict.

A refusal is raised with SQLSTATE ``LGR01``, the app's message as the message and
``{"rule", "limit", "current"}`` as JSON in DETAIL; :func:`rule_refusal` turns it back into the
``RuleRefusedError`` the app raises itself (exit code 3 in the CLI).

Every function here sets its own ``search_path`` (``pg_catalog, pg_temp``: temporary objects
last) and names every table with its schema, so nothing a caller creates can stand in for a
lab table.

What changes of an existing booking may do, for everyone but managers:

- a cancelled, released or finished booking is history: it cannot change or come back;
- a booking that has started keeps its GPU and start; one that has ended keeps its end;
- ending early (``released``) moves the end earlier, to now at the earliest; cancelling is for
  a booking that has not started (or a request never approved);
- a longer window, a new GPU or a new start is checked like a new booking (the new part only,
  for held-at-once and quota).
"""

from __future__ import annotations

import json
import re

from labgpu.core import i18n
from labgpu.core.booking.rules import START_GRACE, BookingRules, RuleRefusedError
from labgpu.core.i18n import N_, _
from labgpu.storage import policies

#: SQLSTATE of a rule refusal raised by the database (class ``LG``: labgpu's own).
RULE_REFUSED = "LGR01"

_GRACE_SECONDS = int(START_GRACE.total_seconds())

_RULES_SQL = r"""
CREATE OR REPLACE FUNCTION public.labgpu_rules() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT '__DEFAULTS__'::jsonb
         || coalesce((SELECT r.data::jsonb FROM public.booking_rules r WHERE r.id = 1), '{}')
$f$;

-- ``72``, ``1.5``: a figure as the app writes it (``f"{round(x, 2):g}"``).
CREATE OR REPLACE FUNCTION public.labgpu_num(x double precision) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT rtrim(rtrim(round(x::numeric, 2)::text, '0'), '.')
$f$;

-- ``72 h``, ``1.5 h``: the app's hours_text.
CREATE OR REPLACE FUNCTION public.labgpu_hours(hours double precision) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT public.labgpu_num(hours) || ' h'
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_at(moment timestamptz) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT to_char(moment, 'YYYY-MM-DD HH24:MI TZ')
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_model_matches(query text, model text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT cardinality(public.labgpu_words(query)) > 0
     AND public.labgpu_words(query) <@ public.labgpu_words(model)
$f$;

-- The quota weight of one GPU-hour of ``model``: the first matching entry, else 1.
CREATE OR REPLACE FUNCTION public.labgpu_weight(rules jsonb, model text)
RETURNS double precision
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT coalesce((
    SELECT (w.entry ->> 1)::double precision
    FROM jsonb_array_elements(coalesce(rules -> 'model_weights', '[]'))
         WITH ORDINALITY AS w(entry, n)
    WHERE public.labgpu_model_matches(w.entry ->> 0, model)
    ORDER BY w.n LIMIT 1), 1.0)
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_needs_approval(rules jsonb, model text)
RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(coalesce(rules -> 'approval_models', '[]')) q(query)
    WHERE public.labgpu_model_matches(q.query, model))
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_refuse(rule text, lim text, cur text, message text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'LGR01', MESSAGE = message,
    DETAIL = jsonb_build_object('rule', rule, 'limit', lim, 'current', cur)::text;
END
$f$;

-- The most of ``holder``'s live bookings (``NEW`` and the other rows of its transaction
-- included, the row ``skip`` left out) that overlap at one instant of ``span``, plus one for
-- the row being written.
CREATE OR REPLACE FUNCTION public.labgpu_peak(holder text, skip integer, span tstzrange)
RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  WITH mine AS (
    SELECT b.start_ts, b.end_ts FROM public.bookings b
    WHERE b.user_name = holder AND b.end_ts > lower(span) AND b.start_ts < upper(span)
      AND b.status IN ('pending', 'booked') AND b.id IS DISTINCT FROM skip
  ), instants AS (
    SELECT lower(span) AS t
    UNION SELECT m.start_ts FROM mine m WHERE m.start_ts > lower(span)
  )
  SELECT 1 + coalesce(max((SELECT count(*) FROM mine m
                           WHERE m.start_ts <= i.t AND m.end_ts > i.t)), 0)::integer
  FROM instants i
$f$;

-- Weighted GPU-hours of ``holder`` in ``week``: their counted bookings (pending, booked,
-- released), the row ``skip`` left out.
CREATE OR REPLACE FUNCTION public.labgpu_week_hours(rules jsonb, holder text, skip integer,
                                                    week tstzrange)
RETURNS double precision
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT coalesce(sum(
           extract(epoch FROM least(b.end_ts, upper(week)) - greatest(b.start_ts, lower(week)))
           / 3600.0 * public.labgpu_weight(rules, g.model)), 0)
  FROM public.bookings b JOIN public.gpus g ON g.id = b.gpu_id
  WHERE b.user_name = holder AND b.end_ts > lower(week) AND b.start_ts < upper(week)
    AND b.status IN ('pending', 'booked', 'released') AND b.id IS DISTINCT FROM skip
$f$;

-- Lock ``holder``'s row until the transaction ends (see migration 0007). Run as the table's
-- owner: members have no right to write booking_holders themselves.
CREATE OR REPLACE FUNCTION public.labgpu_lock_holder(holder text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
  INSERT INTO public.booking_holders AS h (user_name, changes) VALUES (holder, 1)
  ON CONFLICT (user_name) DO UPDATE SET changes = h.changes + 1
$f$;

-- A slot request is recorded when it is asked, as it is asked: the PI's evidence of waits and
-- missing capacity cannot be back-dated or edited by members (managers may correct it).
CREATE OR REPLACE FUNCTION public.labgpu_unmet_as_asked() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF public.labgpu_is('labgpu_manager') THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'permission denied: a slot request stays as it was recorded'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  NEW.asked_at := clock_timestamp();
  RETURN NEW;
END
$f$;

CREATE OR REPLACE FUNCTION public.labgpu_bookings_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  rules jsonb;
  now_ts timestamptz := clock_timestamp();
  grace interval := make_interval(secs => __GRACE__);
  is_new boolean := TG_OP = 'INSERT';
  moved boolean := false;
  restarted boolean := false;
  longer boolean := false;
  hours double precision;
  lim double precision;
  gpu record;
  spans tstzrange[] := ARRAY[]::tstzrange[];
  span tstzrange;
  week_start timestamptz;
  week tstzrange;
  peak integer;
  before double precision;
  adding double precision;
  block record;
  what text := 'booking';
BEGIN
  IF NOT (isfinite(NEW.start_ts) AND isfinite(NEW.end_ts)) THEN
    PERFORM public.labgpu_refuse('window', 'a finite start and end',
      NEW.start_ts || ' to ' || NEW.end_ts, 'a booking has a finite start and end; '
      || 'give both as times');
  END IF;
  hours := extract(epoch FROM NEW.end_ts - NEW.start_ts) / 3600.0;
  IF NEW.user_name IN ('labgpu_owner', 'labgpu_student', 'labgpu_pi', 'labgpu_manager',
                       'labgpu_collector') THEN
    PERFORM public.labgpu_refuse('holder', 'a lab member', NEW.user_name,
      'a booking is held by a member''s own login, not by the group role ' || NEW.user_name);
  END IF;
  IF public.labgpu_is('labgpu_manager') THEN
    RETURN NEW;
  END IF;
  IF is_new THEN
    NEW.created_at := now_ts;  -- members cannot date a booking back
    NEW.decided_by := NULL;  -- nor make a request look decided
    NEW.decision_reason := NULL;
    IF EXISTS (SELECT 1 FROM public.bookings b WHERE b.group_id = NEW.group_id
               AND (b.user_name <> NEW.user_name OR b.start_ts <> NEW.start_ts
                    OR b.end_ts <> NEW.end_ts)) THEN
      PERFORM public.labgpu_refuse('group', 'a group of your own, one window',
        NEW.group_id, 'booking group ' || NEW.group_id || ' exists with another holder or '
        || 'window; a new booking starts a group of its own');
    END IF;
    IF NEW.status NOT IN ('pending', 'booked') THEN
      PERFORM public.labgpu_refuse('status', 'booked or pending', NEW.status,
        'a new booking is booked or pending (a request); ' || NEW.status
        || ' bookings are history the lab records itself');
    END IF;
    moved := true;
    restarted := true;
    longer := true;
    spans := ARRAY[tstzrange(NEW.start_ts, NEW.end_ts)];
  ELSE
    what := 'booking ' || OLD.id;
    moved := NEW.gpu_id IS DISTINCT FROM OLD.gpu_id;
    restarted := NEW.start_ts IS DISTINCT FROM OLD.start_ts;
    longer := NEW.end_ts > OLD.end_ts;
    NEW.created_at := OLD.created_at;
    IF NOT (moved OR restarted OR NEW.end_ts IS DISTINCT FROM OLD.end_ts
            OR NEW.status IS DISTINCT FROM OLD.status) THEN
      RETURN NEW;
    END IF;
    IF OLD.status NOT IN ('pending', 'booked') THEN
      PERFORM public.labgpu_refuse('history', 'pending or booked', OLD.status,
        what || ' is ' || OLD.status || '; a cancelled, released or finished booking '
        || 'is history and cannot change; book again');
    END IF;
    IF (moved OR restarted) AND OLD.start_ts < now_ts - grace THEN
      PERFORM public.labgpu_refuse('started', 'not started', 'started '
        || public.labgpu_at(OLD.start_ts), what || ' started at '
        || public.labgpu_at(OLD.start_ts) || '; a started booking keeps its GPU and start '
        || '(end it early and book again)');
    END IF;
    IF NEW.end_ts IS DISTINCT FROM OLD.end_ts AND OLD.end_ts < now_ts - grace THEN
      PERFORM public.labgpu_refuse('finished', 'not ended', 'ended '
        || public.labgpu_at(OLD.end_ts), what || ' ended at ' || public.labgpu_at(OLD.end_ts)
        || '; a finished booking cannot change; book again');
    END IF;
    IF NEW.end_ts < OLD.end_ts AND NEW.end_ts < now_ts - grace THEN
      PERFORM public.labgpu_refuse('end_in_past', 'end now or later', 'end '
        || public.labgpu_at(NEW.end_ts), 'the new end (' || public.labgpu_at(NEW.end_ts)
        || ') is in the past; a booking ends now at the earliest');
    END IF;
    IF NEW.status NOT IN ('pending', 'booked') THEN
      IF NEW.status = 'finished' THEN
        PERFORM public.labgpu_refuse('status', 'cancelled or released', 'finished',
          'a booking finishes by itself at its end; end it early (released) or cancel it');
      END IF;
      IF moved OR restarted OR longer THEN
        PERFORM public.labgpu_refuse('history', 'the same GPU and an earlier end', NEW.status,
          'ending or cancelling a booking does not move it or make it longer');
      END IF;
      IF NEW.status = 'cancelled' AND OLD.status = 'booked'
         AND OLD.start_ts < now_ts - grace THEN
        PERFORM public.labgpu_refuse('started', 'not started', 'started '
          || public.labgpu_at(OLD.start_ts), what || ' started at '
          || public.labgpu_at(OLD.start_ts) || '; end it early (released) instead of '
          || 'cancelling it');
      END IF;
      IF NEW.status = 'released' AND OLD.status <> 'booked' THEN
        PERFORM public.labgpu_refuse('status', 'booked', OLD.status,
          'a request that was never approved is cancelled, not released');
      END IF;
      RETURN NEW;
    END IF;
    IF moved THEN
      spans := ARRAY[tstzrange(NEW.start_ts, NEW.end_ts)];
    ELSE
      IF NEW.end_ts > OLD.end_ts THEN
        spans := spans || tstzrange(greatest(OLD.end_ts, NEW.start_ts), NEW.end_ts);
      END IF;
      IF NEW.start_ts < OLD.start_ts THEN
        spans := spans || tstzrange(NEW.start_ts, least(OLD.start_ts, NEW.end_ts));
      END IF;
      IF OLD.status = 'pending' AND NEW.status = 'booked' AND NOT longer AND NOT restarted THEN
        RETURN NEW;  -- an approval: labgpu_bookings_guard says who may
      END IF;
    END IF;
  END IF;

  rules := public.labgpu_rules();
  IF restarted THEN
    IF NEW.start_ts < now_ts - grace THEN
      PERFORM public.labgpu_refuse('start_in_past', 'start now or later',
        'start ' || public.labgpu_at(NEW.start_ts), 'the start ('
        || public.labgpu_at(NEW.start_ts) || ') is in the past; choose a start from now on');
    END IF;
    lim := (rules ->> 'horizon_days')::double precision;
    IF NEW.start_ts > now_ts + make_interval(secs => lim * 86400) THEN
      PERFORM public.labgpu_refuse('horizon_days', public.labgpu_num(lim) || ' days ahead',
        to_char(extract(epoch FROM NEW.start_ts - now_ts)
        / 86400.0, 'FM999990.0') || ' days ahead', 'the start ('
        || public.labgpu_at(NEW.start_ts) || ') is beyond the booking horizon of '
        || public.labgpu_num(lim) || ' days (until '
        || public.labgpu_at(now_ts + make_interval(secs => lim * 86400))
        || '); choose an earlier start');
    END IF;
  END IF;
  lim := (rules ->> 'max_hours')::double precision;
  IF (restarted OR longer) AND hours > lim + 1e-9 THEN
    PERFORM public.labgpu_refuse('max_hours', public.labgpu_hours(lim),
      public.labgpu_hours(hours), 'a booking may last at most ' || public.labgpu_hours(lim)
      || ', this one lasts ' || public.labgpu_hours(hours) || '; book a shorter window '
      || '(extend it later if it stays free)');
  END IF;

  SELECT g.id, g.model, g.bookable, s.name || ':' || g.index AS label INTO gpu
  FROM public.gpus g JOIN public.servers s ON s.id = g.server_id WHERE g.id = NEW.gpu_id;
  IF moved AND gpu.id IS NOT NULL THEN
    IF NOT gpu.bookable THEN
      PERFORM public.labgpu_refuse('bookable', 'bookable GPUs', gpu.label, 'GPU ' || gpu.label
        || ' is first-come (not bookable); use it without a booking or choose another GPU');
    END IF;
    IF NEW.status = 'booked' AND public.labgpu_needs_approval(rules, gpu.model)
       AND NOT public.labgpu_is('labgpu_pi') THEN
      RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
        'permission denied: bookings of ' || gpu.model || ' need the approval of a PI or a lab '
        || 'manager; ask for one (status pending)';
    END IF;
  END IF;

  IF cardinality(spans) > 0 THEN
    -- One member's changes one after another: a concurrent transaction's bookings count.
    PERFORM public.labgpu_lock_holder(NEW.user_name);
  END IF;
  FOREACH span IN ARRAY spans LOOP
    lim := (rules ->> 'max_gpus_at_once')::double precision;
    peak := public.labgpu_peak(NEW.user_name, NEW.id, span);
    IF peak > lim THEN
      PERFORM public.labgpu_refuse('max_gpus_at_once', lim::integer || ' GPUs', peak || ' GPUs',
        NEW.user_name || ' would hold ' || peak || ' GPUs at once between '
        || public.labgpu_at(lower(span)) || ' and ' || public.labgpu_at(upper(span))
        || '; the limit is ' || lim::integer || '; book fewer GPUs or another time');
    END IF;
  END LOOP;
  lim := (rules ->> 'weekly_quota_gpu_hours')::double precision;
  IF lim IS NOT NULL THEN
    FOREACH span IN ARRAY spans LOOP
      week_start := date_trunc('week', lower(span) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
      WHILE week_start < upper(span) LOOP
        week := tstzrange(week_start, week_start + interval '7 days');
        before := public.labgpu_week_hours(rules, NEW.user_name, NEW.id, week);
        adding := extract(epoch FROM least(NEW.end_ts, upper(week))
                                     - greatest(NEW.start_ts, lower(week))) / 3600.0
                  * public.labgpu_weight(rules, gpu.model);
        IF tstzrange(NEW.start_ts, NEW.end_ts) && week AND before + adding > lim + 1e-9 THEN
          PERFORM public.labgpu_refuse('weekly_quota_gpu_hours', public.labgpu_hours(lim),
            public.labgpu_hours(before + adding), NEW.user_name || ' would use '
            || public.labgpu_num(before + adding) || ' weighted GPU-hours in the week of '
            || to_char(week_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' ('
            || public.labgpu_hours(before) || ' booked + ' || public.labgpu_hours(adding)
            || ' for this GPU; ' || gpu.model || ' counts x'
            || public.labgpu_weight(rules, gpu.model) || '); the weekly quota is '
            || public.labgpu_hours(lim) || '; book fewer hours or GPUs');
        END IF;
        week_start := week_start + interval '7 days';
      END LOOP;
    END LOOP;
  END IF;

  IF moved OR longer OR restarted THEN
    SELECT m.start_ts, m.end_ts, m.reason INTO block
    FROM public.maintenance m JOIN public.maintenance_gpus mg ON mg.maintenance_id = m.id
    WHERE mg.gpu_id = NEW.gpu_id
      AND tstzrange(m.start_ts, m.end_ts) && tstzrange(NEW.start_ts, NEW.end_ts)
    ORDER BY m.start_ts LIMIT 1;
    IF FOUND THEN
      PERFORM public.labgpu_refuse('maintenance', 'no maintenance', gpu.label,
        'GPU ' || gpu.label || ' is in maintenance from ' || public.labgpu_at(block.start_ts)
        || ' to ' || public.labgpu_at(block.end_ts)
        || coalesce(' (' || nullif(block.reason, '') || ')', '')
        || '; choose another time or GPU');
    END IF;
  END IF;
  RETURN NEW;
END
$f$;
"""


def rules_sql() -> str:
    """The functions of the rules trigger, with the app's default rules and grace filled in."""
    defaults = policies.rules_to_json(BookingRules()).replace("'", "''")
    return _RULES_SQL.replace("__DEFAULTS__", defaults).replace("__GRACE__", str(_GRACE_SECONDS))


def rule_refusal(orig: BaseException | None) -> RuleRefusedError | None:
    """The app's refusal for a rule the database refused (SQLSTATE ``LGR01``), else ``None``."""
    if getattr(orig, "sqlstate", None) != RULE_REFUSED:
        return None
    diag = getattr(orig, "diag", None)
    message = getattr(diag, "message_primary", None) or str(orig).strip().splitlines()[0]
    try:
        detail = json.loads(getattr(diag, "message_detail", None) or "{}")
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    rule, limit, current = (
        str(detail.get("rule", "rule")),
        str(detail.get("limit", "")),
        str(detail.get("current", "")),
    )
    return RuleRefusedError(rule, limit, current, refusal_text(rule, limit, current, str(message)))


#: The database's refusals in the catalogue, by rule: built from DETAIL's ``limit`` and
#: ``current`` (their figures; the English words around them are dropped).
_REFUSALS = {
    "window": N_("a booking has a finite start and end; give both as times"),
    "holder": N_("a booking is held by a member's own login, not by the group role {current}"),
    "group": N_(
        "booking group {current} exists with another holder or window; a new booking starts a "
        "group of its own"
    ),
    "history": N_(
        "the booking is {current}; a cancelled, released or finished booking is history and "
        "cannot change; book again"
    ),
    "started": N_(
        "the booking started at {current}; a started booking keeps its GPU and start "
        "(end it early and book again)"
    ),
    "finished": N_("the booking ended at {current}; a finished booking cannot change; book again"),
    "end_in_past": N_("the new end ({current}) is in the past; a booking ends now at the earliest"),
    "status": N_("a booking cannot change to or from {current} that way"),
    "start_in_past": N_("the start ({current}) is in the past; choose a start from now on"),
    "horizon_days": N_(
        "the start is {current} days ahead, beyond the booking horizon of {limit} days; "
        "choose an earlier start"
    ),
    "max_hours": N_(
        "a booking may last at most {limit}, this one lasts {current}; "
        "book a shorter window (extend it later if it stays free)"
    ),
    "bookable": N_(
        "GPU {current} is first-come (not bookable); use it without a booking or choose another GPU"
    ),
    "max_gpus_at_once": N_(
        "this would hold {current} GPUs at once; the limit is {limit}; "
        "book fewer GPUs or another time"
    ),
    "weekly_quota_gpu_hours": N_(
        "this would use {current} weighted GPU-hours in a week; the weekly quota is {limit}; "
        "book fewer hours or GPUs"
    ),
    "maintenance": N_(
        "GPU {current} is in maintenance during that window; choose another time or GPU"
    ),
    "project_unknown": N_("unknown project {current}; see `labgpu projects`"),
    "project_retired": N_("project {current} is retired; pick an active one (`labgpu projects`)"),
}

_WORDS = re.compile(r"^(start|started|end|ended) | (GPUs|days ahead)$")


def refusal_text(rule: str, limit: str, current: str, message: str) -> str:
    """The database's refusal ``message`` in the language of the messages: as it came for
    English (or a rule the catalogue does not know), else rebuilt from ``limit`` and
    ``current``."""
    if i18n.language() == i18n.ENGLISH or rule not in _REFUSALS:
        return message
    if rule == "history" and "does not move" in message:
        return _("ending or cancelling a booking does not move it or make it longer")
    return _(_REFUSALS[rule]).format(limit=_WORDS.sub("", limit), current=_WORDS.sub("", current))
