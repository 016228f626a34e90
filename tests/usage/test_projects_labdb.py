"""Projects in a lab database, probed by direct SQL as an adversarial member would with
``psql`` (issue 16, point 4): only managers keep the list; a booking, offloaded job or slot
request names a project that exists and is active; a member sets projects only on their own
rows; a PI decides on others' bookings but does not change their project. No probe leaves a
row behind that the app would count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors

from labgpu.core.booking.rules import RuleRefusedError
from labgpu.core.errors import RefusedError, UsageError
from labgpu.services.booking.service import BookingService
from labgpu.services.usage.projects import ProjectsService
from labgpu.storage import Store
from tests.helpers.labdb import lab
from tests.helpers.rules_lab import DAY, RulesLab, denied, insert, rlab, rule_refused

__all__ = ["lab", "rlab"]  # the fixtures

LATER = "now() + interval '1 day 2 hours'"
JOB_COLUMNS = "name, cluster, state, gpus, hours, command, local_dir, remote_dir, job_dir, script"


def add_project(rlab: RulesLab, name: str, active: bool = True) -> None:
    """A project, added by the lab's manager (as the app does, with plain SQL)."""
    with rlab.connect("manager") as m:
        m.execute("INSERT INTO projects (name, title, active) VALUES (%s, '', %s)", (name, active))


def book(conn: psycopg.Connection, rlab: RulesLab, gpu: int, project: str | None) -> int:
    """One booking a day from now with ``project``; its id."""
    return insert(conn, gpu, DAY, LATER, extra=f", project|, {_literal(project)}")


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def add_job(conn: psycopg.Connection, project: str | None) -> None:
    values = "%s, 'neuron', 'queued', 1, 1.0, 'x', '/l', '/r', '/j', '#!', %s"
    conn.execute(
        f"INSERT INTO offload_jobs ({JOB_COLUMNS}, project) VALUES ({values})",
        (f"job-{uuid.uuid4().hex[:8]}", project),
    )


def add_request(conn: psycopg.Connection, project: str | None) -> None:
    conn.execute(
        "INSERT INTO slot_requests (user_name, model, count, hours, wanted_at, project) "
        "VALUES (session_user, 'NVIDIA A40', 1, 2, now(), %s)",
        (project,),
    )


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (fixed names)
    assert row is not None
    return int(row[0])


def test_members_read_projects_and_only_managers_write_them(rlab: RulesLab) -> None:
    add_project(rlab, "nrf-2026")
    for who, group in (("a", "labgpu_student"), ("pi", "labgpu_pi")):
        with rlab.connect(who) as conn:
            assert conn.execute("SELECT name FROM projects").fetchall() == [("nrf-2026",)]
            denied(lambda c=conn: c.execute("INSERT INTO projects (name) VALUES ('mine')"))
            denied(lambda c=conn: c.execute("UPDATE projects SET active = false"))
            denied(lambda c=conn: c.execute("UPDATE projects SET title = 'renamed'"))
            denied(lambda c=conn: c.execute("DELETE FROM projects"))
            # A group role is no way round: identity is the login, and a member is no manager.
            conn.execute(f"SET ROLE {group}")
            denied(lambda c=conn: c.execute("INSERT INTO projects (name) VALUES ('mine')"))
            conn.execute("RESET ROLE")
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SET ROLE labgpu_manager")
    with rlab.connect("manager") as m:
        assert m.execute("SELECT name, title, active FROM projects").fetchall() == [
            ("nrf-2026", "", True)
        ]
        m.execute("UPDATE projects SET active = false WHERE name = 'nrf-2026'")
        # The database audits a manager's changes itself, by the project's name.
        lines = m.execute(
            "SELECT action, subject FROM audit_log WHERE action LIKE 'db.projects.%' ORDER BY id"
        ).fetchall()
    assert lines == [("db.projects.insert", "nrf-2026"), ("db.projects.update", "nrf-2026")]


def test_a_student_inserting_a_project_through_the_app_is_refused(rlab: RulesLab) -> None:
    lab = rlab.lab
    student = Store(
        f"postgresql+psycopg://{lab.names['a']}@127.0.0.1:{lab.server.port}/{lab.dbname}"
    )
    try:
        from labgpu.core.usage.projects import Project

        with pytest.raises(RefusedError, match="permission denied"):
            student.projects.add(Project("mine"), lab.names["a"])
        assert student.projects.list() == []
    finally:
        student.close()


def test_unknown_or_retired_projects_are_refused_on_every_table(rlab: RulesLab) -> None:
    add_project(rlab, "live")
    add_project(rlab, "ended", active=False)
    with rlab.connect("a") as a:
        for name, rule in (("nope", "project_unknown"), ("ended", "project_retired")):
            assert rule_refused(lambda n=name: book(a, rlab, rlab.a4000[0], n))[0] == rule
            assert rule_refused(lambda n=name: add_job(a, n))[0] == rule
            assert rule_refused(lambda n=name: add_request(a, n))[0] == rule
        assert (count(a, "bookings"), count(a, "offload_jobs"), count(a, "slot_requests")) == (
            0,
            0,
            0,
        )
        booking = book(a, rlab, rlab.a4000[0], "live")
        add_job(a, "live")
        add_request(a, None)
        # Setting a retired or unknown project later is refused too, on the member's own rows.
        for name, rule in (("ended", "project_retired"), ("nope", "project_unknown")):
            assert (
                rule_refused(
                    lambda n=name: a.execute(
                        "UPDATE bookings SET project = %s WHERE id = %s", (n, booking)
                    )
                )[0]
                == rule
            )
            assert (
                rule_refused(
                    lambda n=name: a.execute("UPDATE offload_jobs SET project = %s", (n,))
                )[0]
                == rule
            )
        assert a.execute("SELECT project FROM bookings").fetchall() == [("live",)]
    # Once a manager retires it, a row keeping its project may still change otherwise...
    with rlab.connect("manager") as m:
        m.execute("UPDATE projects SET active = false WHERE name = 'live'")
    with rlab.connect("a") as a:
        a.execute("UPDATE bookings SET note = 'kept', project = project WHERE id = %s", (booking,))
        # ...but nothing new names it, not even a manager's row.
        assert rule_refused(lambda: add_request(a, "live"))[0] == "project_retired"
    with rlab.connect("manager") as m:
        assert rule_refused(lambda: add_job(m, "live"))[0] == "project_retired"


def test_the_app_hears_a_database_refusal_in_its_own_words(rlab: RulesLab) -> None:
    """A project retired between the app's check and its write: the trigger's refusal comes
    back as the app's rule refusal (one line), not as a database error."""
    add_project(rlab, "ended", active=False)
    lab = rlab.lab
    url = f"postgresql+psycopg://{lab.names['a']}@127.0.0.1:{lab.server.port}/{lab.dbname}"
    student = Store(url)
    try:
        with pytest.raises(RuleRefusedError, match="project 'ended' is retired"):
            raw_write(student)
    finally:
        student.close()


def raw_write(store: Store) -> None:
    """The write the app's own check guards, without the check."""
    with store._write() as s:  # noqa: SLF001
        s.connection().exec_driver_sql(
            "INSERT INTO slot_requests (user_name, model, count, hours, wanted_at, project) "
            "VALUES (session_user, 'A40', 1, 1, now(), 'ended')"
        )


def test_members_set_projects_only_on_their_own_rows(rlab: RulesLab) -> None:
    add_project(rlab, "p1")
    add_project(rlab, "p2")
    with rlab.connect("a") as a:
        booking = book(a, rlab, rlab.a4000[0], "p1")
        add_job(a, "p1")
        add_request(a, "p1")
    with rlab.connect("b") as b:
        # Another student's booking, job and request: refused with a plain message.
        message = denied(
            lambda: b.execute("UPDATE bookings SET project = 'p2' WHERE id = %s", (booking,))
        )
        assert "only change their own bookings" in message
        assert "only" in denied(lambda: b.execute("UPDATE offload_jobs SET project = 'p2'"))
        assert "can change this slot request" in denied(
            lambda: b.execute("UPDATE slot_requests SET project = 'p2'")
        )
        # Rows charged to someone else from the start are refused by the policies.
        with pytest.raises(errors.InsufficientPrivilege):
            b.execute(
                f"INSERT INTO offload_jobs ({JOB_COLUMNS}, user_name, project) VALUES "
                "('x', 'neuron', 'queued', 1, 1.0, 'x', '/l', '/r', '/j', '#!', %s, 'p2')",
                (rlab.lab.names["a"],),
            )
        with pytest.raises(errors.InsufficientPrivilege):
            b.execute(
                "INSERT INTO slot_requests (user_name, model, count, hours, wanted_at, project) "
                "VALUES (%s, 'A40', 1, 1, now(), 'p2')",
                (rlab.lab.names["a"],),
            )
    with rlab.connect("a") as a:
        # A member's own rows: the booking's and job's project may change (to an active one),
        # but neither may move to another member, project and all.
        a.execute("UPDATE bookings SET project = 'p2' WHERE id = %s", (booking,))
        a.execute("UPDATE offload_jobs SET project = NULL")
        # A slot request stays as it was asked, its project too.
        assert "stays as it was recorded" in denied(
            lambda: a.execute("UPDATE slot_requests SET project = 'p2'")
        )
        assert "someone else" in denied(
            lambda: a.execute(
                "UPDATE bookings SET user_name = %s WHERE id = %s", (rlab.lab.names["b"], booking)
            )
        )
        assert "someone else" in denied(
            lambda: a.execute("UPDATE offload_jobs SET user_name = %s", (rlab.lab.names["b"],))
        )
        assert a.execute("SELECT user_name, project FROM bookings").fetchall() == [
            (rlab.lab.names["a"], "p2")
        ]


def test_a_pi_decides_on_a_booking_but_does_not_change_its_project(rlab: RulesLab) -> None:
    add_project(rlab, "p1")
    add_project(rlab, "p2")
    with rlab.connect("a") as a:
        pending = insert(a, rlab.a40, DAY, LATER, status="pending", extra=", project|, 'p1'")
    with rlab.connect("pi") as pi:
        message = denied(
            lambda: pi.execute("UPDATE bookings SET project = 'p2' WHERE id = %s", (pending,))
        )
        assert "does not edit them" in message
        message = denied(
            lambda: pi.execute(
                "UPDATE bookings SET status = 'booked', decided_by = session_user, "
                "project = NULL WHERE id = %s",
                (pending,),
            )
        )
        assert "does not edit them" in message
        pi.execute(
            "UPDATE bookings SET status = 'booked', decided_by = session_user WHERE id = %s",
            (pending,),
        )
        assert pi.execute("SELECT status, project FROM bookings").fetchall() == [("booked", "p1")]


def test_two_tables_in_one_transaction_stand_or_fall_together(rlab: RulesLab) -> None:
    """A member's transaction that records a request for a project and books for a retired
    one, or reactivates the project on the way, leaves nothing behind."""
    add_project(rlab, "live")
    add_project(rlab, "ended", active=False)
    with rlab.connect("a") as a:

        def request_and_book() -> None:
            with a.transaction():
                add_request(a, "live")
                book(a, rlab, rlab.a4000[0], "ended")

        def reactivate_and_book() -> None:
            with a.transaction():
                add_request(a, "live")
                a.execute("UPDATE projects SET active = true WHERE name = 'ended'")
                book(a, rlab, rlab.a4000[0], "ended")

        assert rule_refused(request_and_book)[0] == "project_retired"
        denied(reactivate_and_book)
        assert (count(a, "bookings"), count(a, "slot_requests")) == (0, 0)
        assert a.execute("SELECT active FROM projects WHERE name = 'ended'").fetchone() == (False,)


def test_a_temporary_table_cannot_stand_in_for_the_projects(rlab: RulesLab) -> None:
    shadow = "CREATE TEMP TABLE projects (name text, title text, active boolean)"
    with rlab.connect("a") as a:
        assert "temporary tables" in denied(lambda: a.execute(shadow))
    # Even where a careless administrator granted TEMPORARY, the trigger reads public.projects.
    with rlab.lab.admin() as admin:
        admin.execute(f'GRANT TEMPORARY ON DATABASE "{rlab.lab.dbname}" TO "{rlab.lab.names["a"]}"')
    with rlab.connect("a") as a:
        a.execute(shadow)
        a.execute("INSERT INTO projects VALUES ('fake', '', true)")
        a.execute("SET search_path = pg_temp, public")
        assert a.execute("SELECT name FROM projects").fetchall() == [("fake",)]
        assert rule_refused(lambda: book(a, rlab, rlab.a4000[0], "fake"))[0] == "project_unknown"
        assert rule_refused(lambda: add_request(a, "fake"))[0] == "project_unknown"
        assert count(a, "public.bookings") == 0


def test_a_member_books_for_a_project_through_the_app(rlab: RulesLab) -> None:
    """The app on a lab database, signed in as a student: books for a project, remembers it
    as the default, cannot change the list (said before the database is asked)."""
    add_project(rlab, "live")
    add_project(rlab, "ended", active=False)
    lab = rlab.lab
    name = lab.names["a"]
    store = Store(f"postgresql+psycopg://{name}@127.0.0.1:{lab.server.port}/{lab.dbname}")
    try:
        me = BookingService(store, name)
        projects = ProjectsService(me)
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
        group = me.book([rlab.a4000[1]], start, start + timedelta(hours=1), "", "live")
        assert (group.project, projects.default()) == ("live", "live")
        with pytest.raises(UsageError, match="is retired"):
            me.book([rlab.a4000[2]], start, start + timedelta(hours=1), "", "ended")
        with pytest.raises(RefusedError, match="only a lab manager can add projects"):
            projects.add("mine")
        assert [p.name for p in projects.list()] == ["ended", "live"]
        assert len(store.bookings.list_bookings()) == 1
    finally:
        store.close()
