"""The lab database's protection, proven with direct SQL as each kind of member (issue 4).

Every connection here is a plain psycopg connection logged in as the member's own role, the way
someone with ``psql`` would do it; labgpu's code only sets the database up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors

from labgpu.storage import db, labdb
from tests.helpers.labdb import Lab, lab

__all__ = ["lab"]  # the fixture


HOUR = "tstzrange(now() + interval '1 day', now() + interval '1 day 1 hour')"


def book(conn: psycopg.Connection, gpu_id: int, offset_h: int = 0, user: str | None = None) -> str:
    """Insert a one-hour booking (under ``user``, or the default: current_user); its group id."""
    group = uuid.uuid4().hex
    columns = "group_id, gpu_id, start_ts, end_ts, status, created_by"
    values = "%s, %s, now() + make_interval(hours => 24 + %s), "
    values += "now() + make_interval(hours => 25 + %s), 'booked', current_user"
    params: list[object] = [group, gpu_id, offset_h, offset_h]
    if user is not None:
        columns += ", user_name"
        values += ", %s"
        params.append(user)
    conn.execute(f"INSERT INTO bookings ({columns}) VALUES ({values})", params)
    return group


def refused(action: Callable[[], object]) -> str:
    with pytest.raises(errors.InsufficientPrivilege) as info:
        action()
    return str(info.value)


def test_student_books_as_themself_only(lab: Lab) -> None:
    with lab.connect("a") as a:
        group = book(a, lab.gpu_id)
        row = a.execute("SELECT user_name FROM bookings WHERE group_id = %s", (group,)).fetchone()
        assert row == (lab.names["a"],)
        message = refused(lambda: book(a, lab.gpu_id, 2, user=lab.names["b"]))
        assert "row-level security" in message
        forged = (
            "INSERT INTO bookings (group_id, gpu_id, start_ts, end_ts, status, created_by) "
            "VALUES ('g', %s, now() + interval '3 days', now() + interval '4 days', 'booked', %s)"
        )
        refused(lambda: a.execute(forged, (lab.gpu_id, lab.names["b"])))


def test_student_cannot_cancel_another_students_booking(lab: Lab) -> None:
    with lab.connect("a") as a, lab.connect("b") as b:
        group = book(a, lab.gpu_id)
        cancel = "UPDATE bookings SET status = 'cancelled' WHERE group_id = %s"
        message = refused(lambda: b.execute(cancel, (group,)))
        assert "a student can only change their own bookings" in message
        refused(lambda: b.execute("DELETE FROM bookings WHERE group_id = %s", (group,)))
        a.execute(cancel, (group,))  # the owner may
        status = b.execute("SELECT status FROM bookings WHERE group_id = %s", (group,)).fetchone()
        assert status == ("cancelled",)
        refused(lambda: a.execute("UPDATE bookings SET user_name = %s", (lab.names["b"],)))


def test_only_pi_and_manager_approve(lab: Lab) -> None:
    with (
        lab.connect("a") as a,
        lab.connect("b") as b,
        lab.connect("pi") as pi,
        lab.connect("manager") as mgr,
    ):
        group = book(a, lab.gpu_id)
        a.execute("UPDATE bookings SET status = 'pending' WHERE group_id = %s", (group,))
        approve = "UPDATE bookings SET status = 'booked', decided_by = current_user "
        approve += "WHERE group_id = %s"
        message = refused(lambda: a.execute(approve, (group,)))
        assert "only a PI or a lab manager can decide on a request" in message
        # another student deciding is told so, not "can only change their own bookings"
        message = refused(lambda: b.execute(approve, (group,)))
        assert "only a PI or a lab manager can decide on a request" in message
        reject = "UPDATE bookings SET status = 'cancelled', decided_by = current_user, "
        reject += "decision_reason = 'no' WHERE group_id = %s"
        message = refused(lambda: b.execute(reject, (group,)))
        assert "only a PI or a lab manager can decide on a request" in message
        forged = "UPDATE bookings SET decided_by = %s WHERE group_id = %s"
        message = refused(lambda: a.execute(forged, (lab.names["pi"], group)))
        assert "only a PI or a lab manager can decide" in message
        message = refused(lambda: pi.execute(forged, (lab.names["manager"], group)))
        assert "under your own name" in message
        pi.execute(approve, (group,))
        refused(lambda: pi.execute("UPDATE bookings SET end_ts = end_ts + interval '1 hour'"))
        mgr.execute(
            "UPDATE bookings SET note = 'moved by the manager' WHERE group_id = %s", (group,)
        )
        row = a.execute("SELECT status, decided_by, note FROM bookings").fetchone()
        assert row == ("booked", lab.names["pi"], "moved by the manager")


def test_everyone_reads_the_calendar_and_inventory(lab: Lab) -> None:
    with lab.connect("a") as a:
        book(a, lab.gpu_id)
    for who in ("a", "b", "pi", "manager", "collector"):
        with lab.connect(who) as conn:
            for table in ("bookings", "servers", "gpus", "gpu_samples", "gpu_processes",
                          "booking_rules", "maintenance", "audit_log", "users"):  # fmt: skip
                conn.execute(f"SELECT * FROM {table}").fetchall()
            assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (1,)


def test_only_managers_edit_servers_gpus_rules(lab: Lab) -> None:
    rename = "UPDATE servers SET host = 'elsewhere'"
    for who in ("a", "pi", "collector"):
        with lab.connect(who) as conn:
            refused(lambda conn=conn: conn.execute(rename))  # type: ignore[misc]
            refused(lambda conn=conn: conn.execute("DELETE FROM gpus"))  # type: ignore[misc]
            refused(
                lambda conn=conn: conn.execute(  # type: ignore[misc]
                    "INSERT INTO maintenance (start_ts, end_ts, created_by) "
                    "VALUES (now(), now() + interval '1 hour', 'x')"
                )
            )
    with lab.connect("manager") as mgr:
        mgr.execute(rename)
        mgr.execute("UPDATE gpus SET bookable = false")
        changed = mgr.execute(  # `lab init` stored the default rules
            "UPDATE booking_rules SET data = data, updated_by = current_user WHERE id = 1"
        )
        assert changed.rowcount == 1


def test_only_the_collector_records_samples_and_server_state(lab: Lab) -> None:
    sample = "INSERT INTO gpu_samples (gpu_id, ts, utilization_pct) VALUES (%s, now(), 50)"
    process = "INSERT INTO gpu_processes (gpu_id, ts, pid, process_name) VALUES (%s, now(), 1, 'p')"
    for who in ("a", "b", "pi"):
        with lab.connect(who) as conn:
            refused(lambda conn=conn: conn.execute(sample, (lab.gpu_id,)))  # type: ignore[misc]
            refused(lambda conn=conn: conn.execute(process, (lab.gpu_id,)))  # type: ignore[misc]
            refused(
                lambda conn=conn: conn.execute("UPDATE servers SET state = 'down'")  # type: ignore[misc]
            )
    with lab.connect("collector") as col:
        col.execute(sample, (lab.gpu_id,))
        col.execute(process, (lab.gpu_id,))
        col.execute("UPDATE servers SET state = 'up', last_seen = now()")
        refused(lambda: col.execute("UPDATE servers SET host = 'x'"))
        refused(lambda: book(col, lab.gpu_id))


def test_nobody_changes_the_audit_log(lab: Lab) -> None:
    with lab.connect("a") as a:
        book(a, lab.gpu_id)
    for who in ("a", "pi", "manager", "collector"):
        with lab.connect(who) as conn:
            refused(lambda conn=conn: conn.execute("DELETE FROM audit_log"))  # type: ignore[misc]
            refused(
                lambda conn=conn: conn.execute("UPDATE audit_log SET actor = 'x'")  # type: ignore[misc]
            )
            refused(lambda conn=conn: conn.execute("TRUNCATE audit_log"))  # type: ignore[misc]
    # Not even the superuser, short of dropping the triggers.
    with psycopg.connect(lab.server.conninfo(lab.dbname), autocommit=True) as admin:
        refused(lambda: admin.execute("DELETE FROM audit_log"))
        mine = "SELECT count(*) FROM audit_log WHERE actor <> 'postgres'"
        assert admin.execute(mine).fetchone() == (1,)


def test_psql_edits_are_audited_with_the_real_actor(lab: Lab) -> None:
    with lab.connect("a") as a, lab.connect("manager") as mgr:
        group = book(a, lab.gpu_id)
        a.execute("UPDATE bookings SET status = 'cancelled' WHERE group_id = %s", (group,))
        mgr.execute("UPDATE servers SET host = 'node1.lab'")
        # A forged actor is replaced by the login that wrote the line.
        a.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('mona', 'x', 'y')")
        rows = a.execute(
            "SELECT actor, action, subject, detail FROM audit_log "
            "WHERE actor <> 'postgres' ORDER BY id"  # the fixture's setup is audited too
        )
        lines = rows.fetchall()
    actions = [(actor, action, subject) for actor, action, subject, _ in lines]
    assert actions == [
        (lab.names["a"], "db.bookings.insert", group),
        (lab.names["a"], "db.bookings.update", group),
        (lab.names["manager"], "db.servers.update", "node1"),
        (lab.names["a"], "x", "y"),
    ]
    assert "status" in lines[1][3]
    assert "cancelled" in lines[1][3]
    assert "node1.lab" in lines[2][3]


def test_collector_state_updates_are_not_audited(lab: Lab) -> None:
    with lab.connect("collector") as col:
        col.execute("UPDATE servers SET state = 'up', state_reason = 'ok', last_seen = now()")
        mine = "SELECT count(*) FROM audit_log WHERE actor <> 'postgres'"
        assert col.execute(mine).fetchone() == (0,)


def test_an_audit_line_written_by_a_member_never_hides_the_database_line(lab: Lab) -> None:
    """Issue 12: an app-style line in the same transaction used to suppress the trigger's."""
    with lab.connect("a") as a:
        group = book(a, lab.gpu_id)
        with a.transaction():
            a.execute(
                "INSERT INTO audit_log (actor, action, subject, ts) "
                "VALUES ('mona', 'booking.update', %s, now() - interval '30 days')",
                (group,),
            )
            a.execute(
                "UPDATE bookings SET end_ts = end_ts + interval '1 hour' WHERE group_id = %s",
                (group,),
            )
        query = "SELECT actor, action, ts > now() - interval '1 hour' FROM audit_log "
        query += "WHERE actor <> 'postgres' ORDER BY id"
        rows = a.execute(query).fetchall()
    member = lab.names["a"]
    assert rows == [
        (member, "db.bookings.insert", True),
        (member, "booking.update", True),  # kept as context, under the writer's own name, now
        (member, "db.bookings.update", True),
    ]


def test_members_list_set_role_remove(lab: Lab) -> None:
    engine = db.make_engine(lab.url)
    try:
        with engine.begin() as conn:
            members = {m.name: m.role for m in labdb.list_members(conn)}
            assert members[lab.names["a"]] == "student"
            assert members[lab.names["collector"]] == "collector"
            labdb.set_member_role(conn, lab.names["b"], "pi")
        with lab.connect("b") as b, lab.connect("a") as a:
            group = book(a, lab.gpu_id)
            a.execute("UPDATE bookings SET status = 'pending' WHERE group_id = %s", (group,))
            b.execute("UPDATE bookings SET status = 'booked' WHERE group_id = %s", (group,))
        with engine.begin() as conn:
            labdb.remove_member(conn, lab.names["a"])
            assert lab.names["a"] not in {m.name for m in labdb.list_members(conn)}
        with lab.connect("b") as b:  # history stays
            assert b.execute("SELECT user_name FROM bookings").fetchone() == (lab.names["a"],)
        with pytest.raises(psycopg.OperationalError):
            lab.connect("a")
    finally:
        engine.dispose()


def test_scarce_models_need_approval_even_through_psql(lab: Lab) -> None:
    """The lab's rules (A40 needs approval by default) hold for a student using psql."""
    with psycopg.connect(lab.server.conninfo(lab.dbname), autocommit=True) as admin:
        server_id = admin.execute("SELECT id FROM servers WHERE name = 'node1'").fetchone()
        assert server_id is not None
        row = admin.execute(
            "INSERT INTO gpus (server_id, index, uuid, model) "
            "VALUES (%s, 1, %s, 'NVIDIA A40') RETURNING id",
            (server_id[0], f"GPU-A40-{uuid.uuid4().hex[:8]}"),
        ).fetchone()
        assert row is not None
    a40 = row[0]
    with lab.connect("a") as a, lab.connect("pi") as pi:
        message = refused(lambda: book(a, a40))
        assert message.startswith(
            "permission denied: bookings of NVIDIA A40 need the approval of a PI or a lab "
            "manager; ask for one (status pending)\n"
        )
        group = uuid.uuid4().hex
        a.execute(
            "INSERT INTO bookings (group_id, gpu_id, start_ts, end_ts, status, created_by) "
            "VALUES (%s, %s, now() + interval '26 hours', now() + interval '27 hours', "
            "'pending', current_user)",
            (group, a40),
        )
        a.execute("UPDATE bookings SET status = 'cancelled' WHERE group_id = %s", (group,))
        with pytest.raises(psycopg.DatabaseError) as info:  # history: issue 12
            a.execute("UPDATE bookings SET status = 'booked' WHERE group_id = %s", (group,))
        assert info.value.sqlstate == "LGR01"
        book(a, lab.gpu_id)  # the A100 needs no approval
        book(pi, a40, offset_h=4)  # a PI books an A40 directly
        statuses = a.execute(
            "SELECT status FROM bookings WHERE gpu_id = %s ORDER BY start_ts", (a40,)
        ).fetchall()
    assert statuses == [("cancelled",), ("booked",)]
