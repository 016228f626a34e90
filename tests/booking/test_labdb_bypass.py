"""An adversarial member cannot slip past the booking rules with ``psql`` (issue 12):
temporary tables that shadow the rules, two transactions racing for the same limit, forged
authors, groups, decisions and dates. Each probe is direct SQL logged in as the member.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest
from psycopg import errors

from tests.helpers.labdb import Lab, lab
from tests.helpers.rules_lab import (
    DAY,
    RULE_REFUSED,
    RulesLab,
    denied,
    insert,
    rlab,
    rule_refused,
)

__all__ = ["lab", "rlab"]  # the fixtures


def test_temporary_tables_cannot_shadow_the_rules(rlab: RulesLab) -> None:
    shadow = "CREATE TEMP TABLE booking_rules (id int, data text)"
    with rlab.connect("a") as a:
        assert "permission denied to create temporary tables" in denied(lambda: a.execute(shadow))
        denied(lambda: a.execute("CREATE TABLE public.booking_rules_copy (id int)"))
        denied(lambda: a.execute("CREATE SCHEMA mine"))
    # Even where a careless administrator granted TEMPORARY, the functions look nowhere else.
    with rlab.lab.admin() as admin:
        admin.execute(f'GRANT TEMPORARY ON DATABASE "{rlab.lab.dbname}" TO "{rlab.lab.names["a"]}"')
    with rlab.connect("a") as a:
        a.execute(shadow)
        a.execute("""INSERT INTO booking_rules VALUES (1, '{"approval_models": [],
                     "max_hours": 10000, "horizon_days": 10000}')""")
        a.execute("CREATE TEMP TABLE gpus AS SELECT * FROM public.gpus")
        a.execute("UPDATE pg_temp.gpus SET model = 'free', bookable = true")
        a.execute("SET search_path = pg_temp, public")
        message = denied(lambda: insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'"))
        assert "bookings of NVIDIA A40 need the approval" in message
        assert rule_refused(lambda: insert(a, rlab.closed, DAY, DAY + " + '1h'"))[0] == "bookable"
        long = DAY + " + interval '200 hours'"
        assert rule_refused(lambda: insert(a, rlab.a4000[0], DAY, long))[0] == "max_hours"


def _wait_until_blocked(lab: Lab, pid: int) -> None:
    """Return once backend ``pid`` waits for a lock (polled: no sleep decides the outcome)."""
    with lab.admin() as admin:
        for _ in range(600):
            row = admin.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row is not None and row[0] == "Lock":
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} never waited for a lock")


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_two_transactions_of_one_member_cannot_both_pass_held_at_once(
    rlab: RulesLab, isolation: str
) -> None:
    """Each transaction books 3 GPUs (limit 4); the second one counts the first's."""
    first, second = rlab.connect("a"), rlab.connect("a")
    outcome: list[psycopg.DatabaseError | None] = []
    try:
        second.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {isolation}")
        first.execute("BEGIN")
        for gpu_id in rlab.a4000[:3]:
            insert(first, gpu_id, DAY, DAY + " + interval '1 hour'")
        second.execute("BEGIN")
        second.execute("SELECT count(*) FROM bookings")  # its snapshot: before the first commits

        def book_three_more() -> None:
            try:
                for gpu_id in [*rlab.a4000[3:], rlab.a40]:
                    insert(second, gpu_id, DAY, DAY + " + interval '1 hour'", "pending")
                second.execute("COMMIT")
                outcome.append(None)
            except psycopg.DatabaseError as exc:
                second.execute("ROLLBACK")
                outcome.append(exc)

        worker = threading.Thread(target=book_three_more)
        worker.start()
        _wait_until_blocked(rlab.lab, second.info.backend_pid)
        first.execute("COMMIT")
        worker.join(timeout=30)
    finally:
        first.close()
        second.close()
    [error] = outcome
    assert error is not None, "both transactions committed: 6 GPUs held at once"
    if isolation == "read committed":  # it waited, then counted the first one's three
        assert error.sqlstate == RULE_REFUSED
        assert "would hold 4" not in str(error)
        assert json.loads(error.diag.message_detail or "{}")["rule"] == "max_gpus_at_once"
    else:  # its snapshot cannot see them: it fails instead of counting too few
        assert isinstance(error, errors.SerializationFailure)
    with rlab.connect("a") as a:
        assert a.execute("SELECT count(*) FROM bookings").fetchone() == (3,)


def test_a_booking_records_who_made_it_and_its_group_truthfully(rlab: RulesLab) -> None:
    with rlab.connect("b") as b:
        theirs = b.execute(
            "INSERT INTO bookings (group_id, gpu_id, start_ts, end_ts, status, created_by) "
            f"VALUES ('their-group', %s, {DAY}, {DAY} + interval '1 hour', 'booked', "
            "session_user) RETURNING id",
            (rlab.a4000[0],),
        ).fetchone()
        assert theirs is not None
    with rlab.connect("a") as a:
        # A request cannot arrive already decided.
        mine = insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'", "pending",
                      extra=", decided_by, decision_reason|, 'pia', 'approved by pia'")  # fmt: skip
        row = a.execute("SELECT decided_by, decision_reason FROM bookings WHERE id = %s", (mine,))
        assert row.fetchone() == (None, None)
        for change in ("created_by = 'pia'", "created_at = '2020-01-01'",
                       "group_id = 'their-group'"):  # fmt: skip
            sql = f"UPDATE bookings SET {change} WHERE id = {mine}"
            assert "stay as they were" in denied(lambda sql=sql: a.execute(sql))
        # Nor can a row of one's own join someone else's group (they could no longer cancel it).
        rule, message = rule_refused(
            lambda: a.execute(
                "INSERT INTO bookings (group_id, gpu_id, start_ts, end_ts, status, created_by) "
                f"VALUES ('their-group', %s, {DAY}, {DAY} + interval '1 hour', 'booked', "
                "session_user)",
                (rlab.a4000[1],),
            )
        )
        assert rule == "group"
        assert rule_refused(lambda: insert(a, rlab.a4000[2], DAY, "'infinity'"))[0] == "window"
        # The database's own audit names cannot be borrowed.
        forged = (
            "INSERT INTO audit_log (actor, action, subject) VALUES ('x', 'db.bookings.update', 'g')"
        )
        assert "written by the database only" in denied(lambda: a.execute(forged))


def test_unmet_demand_is_recorded_as_asked(rlab: RulesLab) -> None:
    """The PI's evidence: a member cannot back-date or edit an unmet request."""
    with rlab.connect("a") as a:
        row = a.execute(
            "INSERT INTO slot_requests (user_name, model, count, hours, asked_at, wanted_at) "
            "VALUES (session_user, 'A40', 4, 48, '2020-01-01', '2020-01-01') "
            "RETURNING asked_at > now() - interval '1 minute'"
        ).fetchone()
        assert row == (True,)
        message = denied(lambda: a.execute("UPDATE slot_requests SET count = 40"))
        assert "stays as it was recorded" in message


def test_a_decision_is_dated_by_the_database(rlab: RulesLab) -> None:
    """Approvals and rejections count in the month they were made (issue 13, point 18): the
    database stamps the time, a member cannot date a decision at all, a PI only by deciding."""
    with rlab.connect("a") as a:
        request = insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'", "pending",
                         extra=", decided_at|, '2020-01-01'")  # fmt: skip
        row = a.execute("SELECT decided_at FROM bookings WHERE id = %s", (request,)).fetchone()
        assert row == (None,)  # a request cannot arrive dated either
        sql = f"UPDATE bookings SET decided_at = '2020-01-01' WHERE id = {request}"
        assert "keeps the time it was made" in denied(lambda: a.execute(sql))
    with rlab.connect("pi") as pi:
        pi.execute(
            "UPDATE bookings SET status = 'booked', decided_by = session_user, "
            "decided_at = '2020-01-01' WHERE id = %s",
            (request,),
        )
        row = pi.execute(
            "SELECT decided_at > now() - interval '1 minute' FROM bookings WHERE id = %s",
            (request,),
        ).fetchone()
        assert row == (True,)  # the server's clock, not the one given
        sql = f"UPDATE bookings SET decided_at = '2020-01-01' WHERE id = {request}"
        assert "keeps the time it was made" in denied(lambda: pi.execute(sql))
