"""Every booking rule holds against a member using ``psql`` (issue 12), one rule at a time.

Each probe is direct SQL over a plain psycopg connection logged in as the member: far and long
bookings, made-up history, moving a row instead of inserting one, many statements in one
transaction, quotas and maintenance. Bypass attempts are in test_labdb_bypass, roles in
test_labdb_roles, and the agreement with the app's Python rules in test_labdb_agreement.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from labgpu.core.booking.rules import BookingRules, RuleRefusedError
from labgpu.core.errors import RefusedError
from labgpu.storage.store import Store
from tests.helpers.labdb import lab
from tests.helpers.rules_lab import DAY, RulesLab, denied, insert, rlab, rule_refused

__all__ = ["lab", "rlab"]  # the fixtures


def test_length_and_horizon(rlab: RulesLab) -> None:
    g = rlab.a4000[0]
    with rlab.connect("a") as a:
        rule, message = rule_refused(
            lambda: insert(a, g, "now() + interval '20 days'", "now() + interval '385 days'")
        )
        assert rule == "horizon_days"
        assert "beyond the booking horizon of 14 days" in message
        rule, message = rule_refused(lambda: insert(a, g, DAY, "now() + interval '366 days'"))
        assert (rule, message.split(";")[0]) == (
            "max_hours",
            "a booking may last at most 72 h, this one lasts 8760 h",
        )
        insert(a, g, DAY, "now() + interval '3 days'")  # 48 h, 1 day ahead: fine
    with rlab.connect("manager") as m:  # managers are not bound by the rules
        insert(m, g, "now() + interval '20 days'", "now() + interval '385 days'")


def test_no_made_up_history(rlab: RulesLab) -> None:
    g = rlab.a4000[0]
    past = ("now() - interval '3 days'", "now() - interval '2 days'")
    with rlab.connect("a") as a:
        rule, message = rule_refused(lambda: insert(a, g, *past, status="finished"))
        assert rule == "status"
        assert "history the lab records itself" in message
        for status in ("cancelled", "released"):
            assert rule_refused(lambda s=status: insert(a, g, DAY, DAY + " + interval '1 hour'",
                                                        status=s))[0] == "status"  # fmt: skip
        assert rule_refused(lambda: insert(a, g, *past))[0] == "start_in_past"
        # A forged creation date is replaced by the real one.
        booking = insert(
            a, g, DAY, DAY + " + interval '1 hour'", extra=", created_at|, '2020-01-01'"
        )
        row = a.execute(
            "SELECT created_at > now() - interval '1 minute' FROM bookings WHERE id = %s",
            (booking,),
        ).fetchone()
        assert row == (True,)


def test_moving_a_row_is_checked_like_a_new_booking(rlab: RulesLab) -> None:
    with rlab.connect("a") as a, rlab.connect("pi") as pi:
        booking = insert(a, rlab.a4000[0], DAY, DAY + " + interval '2 hours'")
        move = "UPDATE bookings SET gpu_id = %s WHERE id = %s"
        message = denied(lambda: a.execute(move, (rlab.a40, booking)))
        assert "bookings of NVIDIA A40 need the approval of a PI" in message
        assert rule_refused(lambda: a.execute(move, (rlab.closed, booking)))[0] == "bookable"
        a.execute(move, (rlab.a4000[1], booking))  # another A4000: fine
        # Moved earlier than now, or later than the horizon, or made longer than allowed.
        for change, rule in (
            ("start_ts = now() - interval '1 day'", "start_in_past"),
            ("start_ts = now() + interval '30 days', end_ts = now() + interval '31 days'",
             "horizon_days"),
            ("end_ts = start_ts + interval '100 hours'", "max_hours"),
        ):  # fmt: skip
            sql = f"UPDATE bookings SET {change} WHERE id = {booking}"
            assert rule_refused(lambda sql=sql: a.execute(sql))[0] == rule
        # A cancelled booking is history: it cannot be revived, moved or ended.
        a.execute("UPDATE bookings SET status = 'cancelled' WHERE id = %s", (booking,))
        for change in ("status = 'booked'", "status = 'released'", "end_ts = end_ts + '1h'"):
            sql = f"UPDATE bookings SET {change} WHERE id = {booking}"
            assert rule_refused(lambda sql=sql: a.execute(sql))[0] == "history"
        # A PI who approves a request still moves nothing.
        request = insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'", status="pending")
        pi.execute("UPDATE bookings SET status = 'booked' WHERE id = %s", (request,))


def test_started_and_finished_bookings_keep_their_past(rlab: RulesLab) -> None:
    g = rlab.a4000[0]
    member = rlab.lab.names["a"]
    with rlab.lab.admin() as admin:  # history the lab recorded (as the app would have)
        running = insert(admin, g, "now() - interval '2 hours'", "now() + interval '2 hours'",
                         extra=f", user_name|, '{member}'")  # fmt: skip
        done = insert(admin, rlab.a4000[1], "now() - interval '5 hours'",
                      "now() - interval '3 hours'", extra=f", user_name|, '{member}'")  # fmt: skip
    with rlab.connect("a") as a:
        sql = "UPDATE bookings SET {} WHERE id = %s"
        for change, rule in (
            ("status = 'cancelled'", "started"),
            ("start_ts = start_ts - interval '1 hour'", "started"),
            (f"gpu_id = {rlab.a4000[2]}", "started"),
            ("status = 'released', end_ts = start_ts + interval '1 minute'", "end_in_past"),
            ("status = 'released', end_ts = end_ts + interval '1 hour'", "history"),
            ("status = 'finished'", "status"),
        ):
            statement = sql.format(change)
            got = rule_refused(lambda s=statement: a.execute(s, (running,)))[0]
            assert got == rule, change
        assert rule_refused(lambda: a.execute(sql.format("end_ts = now()"), (done,)))[0] == (
            "finished"
        )
        # What the app does: extend within the rules, then end it now.
        a.execute(sql.format("end_ts = end_ts + interval '1 hour'"), (running,))
        a.execute(sql.format("status = 'released', end_ts = now()"), (running,))


def test_held_at_once_counts_every_statement_of_a_transaction(rlab: RulesLab) -> None:
    with rlab.connect("a") as a:

        def five() -> None:  # five GPUs over the same window in one transaction; limit 4
            with a.transaction():
                for gpu_id in rlab.a4000:
                    insert(a, gpu_id, DAY, DAY + " + interval '1 hour'")

        with pytest.raises(psycopg.DatabaseError) as info:
            five()
        assert json.loads(info.value.diag.message_detail or "{}") == {
            "rule": "max_gpus_at_once",
            "limit": "4 GPUs",
            "current": "5 GPUs",
        }
        assert a.execute("SELECT count(*) FROM bookings").fetchone() == (0,)
        # Back to back is not at once.
        for gpu_id in rlab.a4000[:4]:
            insert(a, gpu_id, DAY, DAY + " + interval '1 hour'")
        insert(a, rlab.a4000[4], DAY + " + interval '1 hour'", DAY + " + interval '2 hours'")
        # Growing into the others' window is.
        last = "UPDATE bookings SET start_ts = start_ts - interval '30 minutes' "
        last += "WHERE gpu_id = %s"
        assert rule_refused(lambda: a.execute(last, (rlab.a4000[4],)))[0] == "max_gpus_at_once"


def test_weekly_quota_and_weights(rlab: RulesLab) -> None:
    rlab.set_rules(BookingRules(weekly_quota_gpu_hours=10))
    with rlab.connect("a") as a:
        monday = "date_trunc('week', now() + interval '7 days')"
        rule, message = rule_refused(
            lambda: insert(a, rlab.a40, monday, monday + " + interval '4 hours'", "pending")
        )
        assert rule == "weekly_quota_gpu_hours"
        assert "NVIDIA A40 counts x3" in message
        insert(a, rlab.a4000[0], monday, monday + " + interval '8 hours'")
        extend = "UPDATE bookings SET end_ts = end_ts + interval '3 hours'"
        assert rule_refused(lambda: a.execute(extend))[0] == "weekly_quota_gpu_hours"
        a.execute("UPDATE bookings SET end_ts = end_ts + interval '2 hours'")  # 10 h: the quota


def test_maintenance_and_first_come_gpus(rlab: RulesLab) -> None:
    g = rlab.a4000[0]
    day = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    at = {f"h{h}": f"'{(day + timedelta(hours=h)).isoformat()}'::timestamptz" for h in range(-2, 6)}
    with rlab.lab.admin() as admin:
        row = admin.execute(
            "INSERT INTO maintenance (start_ts, end_ts, reason, created_by) "
            f"VALUES ({at['h0']}, {at['h4']}, 'new fans', 'mona') RETURNING id"
        ).fetchone()
        assert row is not None
        admin.execute("INSERT INTO maintenance_gpus VALUES (%s, %s)", (row[0], g))
    with rlab.connect("a") as a:
        rule, message = rule_refused(lambda: insert(a, g, at["h3"], at["h5"]))
        assert rule == "maintenance"
        assert "(new fans)" in message
        before = insert(a, g, at["h-2"], at["h0"])  # up to the maintenance: fine
        extend = "UPDATE bookings SET end_ts = end_ts + interval '1 hour' WHERE id = %s"
        assert rule_refused(lambda: a.execute(extend, (before,)))[0] == "maintenance"
        assert rule_refused(lambda: insert(a, rlab.closed, DAY, DAY + " + '1h'"))[0] == "bookable"


def test_the_app_reports_a_database_refusal_as_a_rule(rlab: RulesLab) -> None:
    """A write that reaches the database past the app's own checks gets the same refusal."""
    from labgpu.core.booking.bookings import BookingStatus, Window

    url = rlab.lab.url.replace("postgres@", f"{rlab.lab.names['a']}@")
    store = Store(url)
    try:
        start = datetime.now(UTC) + timedelta(days=1)
        with pytest.raises(RuleRefusedError) as info:
            store.bookings.create_bookings(
                str(uuid.uuid4()),
                [rlab.a4000[0]],
                rlab.lab.names["a"],
                Window(start, start + timedelta(hours=100)),
                BookingStatus.BOOKED,
                "",
                rlab.lab.names["a"],
            )
        assert (info.value.rule, info.value.limit, info.value.current) == (
            "max_hours",
            "72 h",
            "100 h",
        )
        assert isinstance(info.value, RefusedError)  # exit code 3 in the CLI
    finally:
        store.close()
