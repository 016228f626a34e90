"""The lab database protects jobs run on bookings as it protects offloaded jobs (direct SQL as
each member), and a member's release of their booking by a job's end goes through it, audited
under their own login (issue 15, point 2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg

from labgpu.core.booking.bookings import BookingStatus
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.members.test_labdb import Lab, lab, refused

__all__ = ["lab"]  # the fixture, shared with test_labdb

COLUMNS = "name, group_id, server, state, command, job_dir, starts_at, ends_at"


def add_job(conn: psycopg.Connection, name: str, user: str | None = None) -> None:
    """Insert a running job (under ``user``, or the default: the login)."""
    columns = COLUMNS
    values = "%s, 'g-1', 'gpu05', 'running', 'python x.py', '.labgpu/jobs/x', now(), now()"
    params: list[object] = [name]
    if user is not None:
        columns += ", user_name"
        values += ", %s"
        params.append(user)
    conn.execute(f"INSERT INTO lab_jobs ({columns}) VALUES ({values})", params)


def test_a_member_writes_only_their_own_jobs(lab: Lab) -> None:
    with lab.connect("a") as a, lab.connect("b") as b, lab.connect("manager") as mgr:
        add_job(a, "run-a")
        owner = b.execute("SELECT user_name FROM lab_jobs WHERE name = 'run-a'").fetchone()
        assert owner == (lab.names["a"],)
        finish = "UPDATE lab_jobs SET state = 'completed' WHERE name = 'run-a'"
        message = refused(lambda: b.execute(finish))
        assert "can change this job on a booking" in message
        refused(lambda: b.execute("DELETE FROM lab_jobs WHERE name = 'run-a'"))
        refused(lambda: add_job(b, "forged", user=lab.names["a"]))
        refused(lambda: a.execute("UPDATE lab_jobs SET user_name = %s", (lab.names["b"],)))
        a.execute(finish)  # the owner may
        mgr.execute("UPDATE lab_jobs SET reason = 'checked' WHERE name = 'run-a'")
        state = b.execute("SELECT state, reason FROM lab_jobs WHERE name = 'run-a'").fetchone()
        assert state == ("completed", "checked")


def test_a_release_by_a_jobs_end_is_the_members_own_audited_change(lab: Lab) -> None:
    member = lab.names["a"]
    store = Store(lab.url.replace("postgres@", f"{member}@"))
    try:
        service = BookingService(store, member)
        now = datetime.now(UTC)
        group = service.book([lab.gpu_id], now + timedelta(seconds=1), now + timedelta(hours=2))
        time.sleep(1.5)  # the booking has started when its job ends
        store.bookings.update_group(
            group.group_id,
            actor=member,
            status=BookingStatus.RELEASED,
            end=datetime.now(UTC) + timedelta(seconds=30),
            why="released by the end of job run-x",
        )
        assert service.group(group.group_id).window.end < now + timedelta(hours=1)
    finally:
        store.close()
    with lab.admin() as admin:
        rows = admin.execute(
            "SELECT actor, detail FROM audit_log WHERE action = 'booking.release_by_job' "
            "AND subject = %s",
            (group.group_id,),
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][0] == member  # the database's own record of who
    assert "released by the end of job run-x" in rows[0][1]
