"""Job events and the notification list in the lab database, by direct SQL as each member and
through the app's storage (issue 17): a job turning final is written to the outbox by the
database in the transaction of the change, whoever makes it; members still cannot read or write
the outbox, under their login or a group role; ``labgpu_notify_inbox`` gives each login what it
would be sent, chosen by the login, never by an argument."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from labgpu.core.booking.run import LabJob
from labgpu.core.notify import events as ev
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.services.notify.member import NotifyService
from labgpu.storage import Store
from tests.helpers.labdb import Lab, lab
from tests.helpers.rules_lab import DAY, RulesLab, denied, insert, rlab
from tests.notify.test_outbox_labdb import outbox, store_as

__all__ = ["lab", "rlab"]  # the fixtures

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def student(lab: Lab) -> Iterator[Store]:
    store = store_as(lab, "a")
    yield store
    store.close()


def lab_job(user: str, name: str) -> LabJob:
    return LabJob(
        id=0, name=name, group_id="g-1", server="node1", user_name=user,
        state=JobState.RUNNING, command="python train.py", local_dir="", remote_dir="w",
        job_dir=f".labgpu/jobs/{name}", submitted_at=T0, starts_at=T0,
        ends_at=T0 + timedelta(hours=2),
    )  # fmt: skip


def cluster_job(user: str, name: str) -> OffloadJob:
    return OffloadJob(
        id=0, name=name, cluster="neuron", user_name=user, state=JobState.QUEUED, gpus=1,
        gpu_type="A100", hours=2.0, command="python x.py", local_dir="/l", remote_dir="/r",
        job_dir="/j", script="#!/bin/sh", submitted_at=T0,
    )  # fmt: skip


def test_a_members_job_turning_final_through_the_app_writes_its_event(
    lab: Lab, student: Store
) -> None:
    a = lab.names["a"]
    run = student.lab_jobs.add(lab_job(a, "run-a-1"))
    sent = student.offload.add_job(cluster_job(a, "a-neuron-1"))
    ended = T0 + timedelta(hours=1, seconds=42, microseconds=5)
    student.lab_jobs.update(run.id, started_at=T0)
    with lab.admin() as admin:
        assert outbox(admin) == []  # running: nothing to tell
    student.lab_jobs.update(run.id, state=JobState.COMPLETED, exit_code=0, ended_at=ended)
    student.lab_jobs.update(run.id, state=JobState.COMPLETED, fetched_at=ended)  # polled again
    student.offload.update_job(sent.id, state=JobState.RUNNING, remote_id="811")
    student.offload.update_job(
        sent.id, state=JobState.COMPLETED, exit_code=2, ended_at=ended, reason="exit 2"
    )
    with lab.admin() as admin:
        rows = outbox(admin)
    assert [(k, au, u, d) for k, au, u, d, _p in rows] == [
        ("job_ended", "member", a, "job:lab:run-a-1:completed"),
        ("job_failed", "member", a, "job:cluster:a-neuron-1:completed"),
    ]
    # The same facts the SQLite path writes (labgpu.core.notify.events.job_event).
    assert rows[0][4] == {
        "job": "run-a-1",
        "id": run.id,
        "on": "lab",
        "where": "node1",
        "user": a,
        "state": "completed",
        "exit_code": 0,
        "started": "2026-12-02T09:00:00+00:00",
        "ended": "2026-12-02T10:00:42+00:00",
        "project": None,
        "reason": "",
    }
    expected = ev.job_event(
        "cluster",
        {"id": sent.id, "name": "a-neuron-1", "cluster": "neuron", "user_name": a,
         "state": "completed", "exit_code": 2, "started_at": None, "ended_at": ended,
         "project": None, "reason": "exit 2"},
        "running",
    )  # fmt: skip
    assert expected is not None
    assert rows[1][4] == expected.payload


def test_a_job_ended_by_direct_sql_is_told_and_a_rolled_back_one_is_not(lab: Lab) -> None:
    columns = "name, group_id, server, state, command, job_dir, starts_at, ends_at"
    with lab.connect("b") as b:
        for name in ("run-b-1", "run-b-2"):
            b.execute(
                f"INSERT INTO lab_jobs ({columns}) VALUES "
                "(%s, 'g-2', 'node1', 'running', 'x', '.labgpu/jobs/x', now(), now())",
                (name,),
            )
        b.execute("BEGIN")
        b.execute("UPDATE lab_jobs SET state = 'failed', exit_code = 1 WHERE name = 'run-b-1'")
        b.execute("ROLLBACK")
        with lab.admin() as admin:
            assert outbox(admin) == []
        b.execute("UPDATE lab_jobs SET state = 'cancelled' WHERE name = 'run-b-2'")
        b.execute("UPDATE lab_jobs SET state = 'cancelled', reason = 'x' WHERE name = 'run-b-2'")
        # Inserted final (a job recorded after the fact) is told once too.
        b.execute(
            f"INSERT INTO lab_jobs ({columns}, exit_code) VALUES "
            "('run-b-3', 'g-2', 'node1', 'completed', 'x', '.labgpu/jobs/y', now(), now(), 0)"
        )
    with lab.admin() as admin:
        rows = outbox(admin)
    assert [(k, u, d) for k, _a, u, d, _p in rows] == [
        ("job_failed", lab.names["b"], "job:lab:run-b-2:cancelled"),
        ("job_ended", lab.names["b"], "job:lab:run-b-3:completed"),
    ]


def test_members_still_cannot_read_or_write_the_outbox_under_any_role(lab: Lab) -> None:
    for who in ("a", "pi"):
        with lab.connect(who) as conn:
            for role in (None, "labgpu_student" if who == "a" else "labgpu_pi"):
                if role is not None:
                    conn.execute(f"SET ROLE {role}")
                denied(lambda: conn.execute("SELECT * FROM outbox"))
                denied(
                    lambda: conn.execute(
                        "INSERT INTO outbox (kind, audience, user_name, dedup_key) "
                        "VALUES ('job_ended', 'member', 'victim', 'job:lab:forged:completed')"
                    )
                )
                denied(lambda: conn.execute("SELECT public.labgpu_notify_job()"))
                conn.execute("RESET ROLE")
            denied(lambda: conn.execute("SET ROLE labgpu_owner"))
            denied(lambda: conn.execute("SET ROLE labgpu_collector"))
    with lab.admin() as admin:
        assert outbox(admin) == []


def test_the_inbox_gives_each_login_what_it_would_be_sent(rlab: RulesLab, student: Store) -> None:
    lab = rlab.lab
    a, b, pi = lab.names["a"], lab.names["b"], lab.names["pi"]
    with lab.connect("a") as conn:
        insert(conn, rlab.a40, DAY, DAY + " + interval '1 hour'", "pending")  # to PIs, managers
        assert conn.execute("SELECT public.labgpu_notify_test()").fetchone() == (True,)
    with lab.connect("pi") as conn:  # a PI's own request is not theirs to decide
        insert(conn, rlab.a40, DAY + " + interval '2 hours'", DAY + " + interval '3 hours'",
               "pending")  # fmt: skip
    with lab.connect("b") as conn:
        conn.execute("SELECT public.labgpu_notify_test()")
    collector = store_as(lab, "collector")
    try:
        offline = ev.Event(
            ev.SERVER_OFFLINE, ev.MANAGERS, "node2", "offline:node2:x", {"server": "node2"}
        )
        assert collector.notify.enqueue([offline]) == 1
        assert collector.notify.told_since("offline:node2:", T0) is False  # 'x' is no time
    finally:
        collector.close()

    def inbox(who: str, after: object = 0, lim: object = 200) -> list[tuple[str, str]]:
        with lab.connect(who) as conn:
            rows = conn.execute(
                "SELECT kind, user_name FROM public.labgpu_notify_inbox(%s, %s)", (after, lim)
            ).fetchall()
        return [(k, u) for k, u in rows]

    assert inbox("a") == [("test", a)]
    assert inbox("b") == [("test", b)]
    assert inbox("pi") == [("request_pending", a)]
    assert inbox("manager") == [
        ("request_pending", a), ("request_pending", pi), ("server_offline", "node2")
    ]  # fmt: skip
    # No argument reaches another member's events.
    for after, lim in ((-1, 10**6), (None, None), (0, -5), (-(2**62), 2**31 - 1)):
        assert set(inbox("a", after, lim)) <= {("test", a)}
    with lab.connect("a") as conn:
        conn.execute("SET ROLE labgpu_student")
        rows = conn.execute("SELECT user_name FROM public.labgpu_notify_inbox(0, 100)").fetchall()
        assert rows == [(a,)]
        denied(lambda: conn.execute(f"SET SESSION AUTHORIZATION {pi}"))
    # Through the app: the member's own, whatever name the service is given.
    mine = NotifyService(student, a).inbox()
    assert [(e.kind, e.user) for e in mine] == [("test", a)]
    assert [(e.kind, e.user) for e in NotifyService(student, b).inbox()] == [("test", a)]
    assert mine[0].created_at.tzinfo is not None
    assert mine[0].payload == {"user": a}
    assert NotifyService(student, a).inbox(after_id=mine[0].id) == []
    manager = store_as(lab, "manager")
    try:
        entries = manager.notify.inbox("whoever", limit=2)  # the newest two, oldest first
        assert [e.kind for e in entries] == ["request_pending", "server_offline"]
        assert entries[0].payload["user"] == pi
    finally:
        manager.close()


def test_a_student_cannot_enqueue_what_the_collector_tells(lab: Lab, student: Store) -> None:
    from labgpu.core.errors import LabgpuError

    forged = ev.Event(ev.GPU_INTRUDER, ev.MEMBER, lab.names["b"], "gpu_intruder:x", {})
    with pytest.raises(LabgpuError):
        student.notify.enqueue([forged])
    with pytest.raises(LabgpuError):
        student.notify.told_since("gpu_intruder:", T0)


def test_the_collector_tells_an_intrusion_and_an_idle_warning_once_in_the_lab_database(
    lab: Lab,
) -> None:
    from labgpu.core.booking.rules import BookingRules
    from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult
    from labgpu.services.booking.intruders import IntruderWatch
    from labgpu.services.booking.reality import AutoReleaser
    from labgpu.services.booking.service import BookingService
    from labgpu.storage import policies

    a = lab.names["a"]
    rules = BookingRules(auto_release=True, auto_release_minutes=60, release_warning_minutes=15)
    with lab.admin() as admin:  # a booking held for an hour already, and the idle rule on
        admin.execute(
            "INSERT INTO bookings (group_id, gpu_id, user_name, start_ts, end_ts, status, "
            "created_by) VALUES ('held-1', %s, %s, now() - interval '70 minutes', "
            "now() + interval '1 hour', 'booked', %s)",
            (lab.gpu_id, a, a),
        )
        admin.execute(
            "UPDATE booking_rules SET data = %s WHERE id = 1", (policies.rules_to_json(rules),)
        )
        uuid = admin.execute("SELECT uuid FROM gpus WHERE id = %s", (lab.gpu_id,)).fetchone()
    assert uuid is not None
    now = datetime.now(UTC).replace(microsecond=0)
    lee = GpuProcess(uuid[0], 4242, 900, "python", "lee", 600, "python steal.py")
    collector = store_as(lab, "collector")
    try:
        for minutes in range(65, -1, -5):  # idle (0 %) for 65 minutes, lee's process at the end
            reading = GpuReading(0, uuid[0], "A100", 40960, 900, 0.0, 30, 50)
            at = now - timedelta(minutes=minutes)
            procs = (lee,) if minutes == 0 else ()
            collector.inventory.store_probe("node1", ProbeResult("node1", at, (reading,), procs))
        service = BookingService(collector, lab.names["collector"], lambda: now)
        IntruderWatch(service, lambda: pytest.fail("no server is reached")).run(now)
        IntruderWatch(service, lambda: pytest.fail("no server is reached")).run(now)  # restarted
        assert AutoReleaser(service).run(now) == []  # warned, not released yet
        assert AutoReleaser(service).run(now) == []  # restarted: warned again, not told again
    finally:
        collector.close()
    with lab.admin() as admin:
        rows = outbox(admin)
    assert [(k, au, u) for k, au, u, _d, _p in rows] == [
        ("gpu_intruder", "member", a),
        ("booking_idle", "member", a),
    ]
    assert rows[0][4]["intruder"] == "lee"
    assert rows[0][4]["since"] == ev.utc_text(now - timedelta(seconds=600))
    assert rows[1][4]["group"] == "held-1"


def test_a_member_cannot_flood_their_address_with_job_messages(lab: Lab) -> None:
    """Members write their own job rows: forty jobs inserted already final by direct SQL make
    at most ``JOB_EVENTS_PER_MINUTE`` messages; the rows themselves are all kept."""
    from labgpu.storage.labdb_notify import JOB_EVENTS_PER_MINUTE

    columns = "name, group_id, server, state, command, job_dir, starts_at, ends_at, exit_code"
    with lab.connect("b") as b:
        for n in range(40):
            b.execute(
                f"INSERT INTO lab_jobs ({columns}) VALUES "
                "(%s, 'g-2', 'node1', 'completed', 'x', %s, now(), now(), 0)",
                (f"flood-{n}", f".labgpu/jobs/flood-{n}"),
            )
        kept = b.execute("SELECT count(*) FROM lab_jobs WHERE name LIKE 'flood-%'").fetchone()
    assert kept is not None
    assert kept[0] == 40
    with lab.admin() as admin:
        rows = outbox(admin)
    assert len(rows) == JOB_EVENTS_PER_MINUTE
    assert {d for _k, _a, _u, d, _p in rows} == {
        f"job:lab:flood-{n}:completed" for n in range(JOB_EVENTS_PER_MINUTE)
    }
