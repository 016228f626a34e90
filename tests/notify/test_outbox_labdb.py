"""The outbox in the lab database, by direct SQL as each member (issue 17): booking events are
written by the database in the transaction of the change, one per group, and members can
neither read nor write the outbox; a member reads and writes only their own settings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from labgpu.core.notify.events import NotifySettings
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import Sender
from labgpu.storage import Store
from tests.helpers.labdb import Lab, lab
from tests.helpers.notify_receivers import Mailbox, smtp
from tests.helpers.rules_lab import DAY, RulesLab, denied, insert, rlab

__all__ = ["lab", "rlab", "smtp"]  # the fixtures


def outbox(conn: psycopg.Connection) -> list[tuple[str, str, str, str, dict[str, object]]]:
    rows = conn.execute(
        "SELECT kind, audience, user_name, dedup_key, payload FROM outbox ORDER BY id"
    ).fetchall()
    return [(k, a, u, d, json.loads(p)) for k, a, u, d, p in rows]


def store_as(lab: Lab, who: str) -> Store:
    name = lab.names.get(who, who)
    return Store(f"postgresql://{name}@127.0.0.1:{lab.server.port}/{lab.dbname}")


@pytest.fixture
def collector(lab: Lab) -> Iterator[Store]:
    store = store_as(lab, "collector")
    yield store
    store.close()


def test_a_pending_request_enqueues_one_event_for_each_decider(
    rlab: RulesLab, collector: Store, smtp: tuple[Mailbox, int]
) -> None:
    lab = rlab.lab
    a, pi, manager = lab.names["a"], lab.names["pi"], lab.names["manager"]
    with lab.connect("a") as conn, conn.transaction():
        group = "req-1"
        conn.execute(
            "INSERT INTO bookings (group_id, gpu_id, start_ts, end_ts, status, created_by) "
            f"VALUES (%s, %s, {DAY}, {DAY} + interval '2 hours', 'pending', session_user)",
            (group, rlab.a40),
        )
    with lab.admin() as admin:
        rows = outbox(admin)
    assert [(k, au, u, d) for k, au, u, d, _p in rows] == [
        ("request_pending", "deciders", a, "request_pending:req-1")
    ]
    payload = rows[0][4]
    assert payload["gpus"] == ["node2:2"]
    assert payload["user"] == a
    assert payload["group"] == group
    for who in ("a", "b", "pi", "manager"):
        with lab.connect(who) as conn:
            conn.execute(
                "INSERT INTO notify_settings (email) VALUES (%s)", (f"{lab.names[who]}@lab.test",)
            )
    box, port = smtp
    config = NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security="none")
    Sender(collector.notify, config).expand()
    with lab.admin() as admin:
        got = admin.execute(
            "SELECT user_name, channel FROM deliveries ORDER BY user_name"
        ).fetchall()
    assert got == sorted([(manager, "email"), (pi, "email")])
    # The collector claims, sends and marks them under the lab database's policies.
    assert Sender(collector.notify, config).run().sent == 2
    to = sorted(str(m["To"]) for m in box.mails)
    assert to == sorted([f"{manager}@lab.test", f"{pi}@lab.test"])
    assert {str(m["Subject"]) for m in box.mails} == {f"labgpu: {a} asks for 1 GPU(s)"}
    assert collector.notify.delivery_counts() == {"sent": 2}


def test_decisions_and_an_idle_release_reach_the_member(rlab: RulesLab) -> None:
    lab = rlab.lab
    with lab.connect("a") as a:
        approved = insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'", "pending")
        rejected = insert(
            a, rlab.a40, DAY + " + interval '3 hours'", DAY + " + interval '4 hours'", "pending"
        )
        booked = insert(a, rlab.a4000[0], DAY, DAY + " + interval '1 hour'")
        groups = {
            i: a.execute("SELECT group_id FROM bookings WHERE id = %s", (i,)).fetchone()[0]  # type: ignore[index]
            for i in (approved, rejected, booked)
        }
    with lab.connect("pi") as pi:
        pi.execute(
            "UPDATE bookings SET status = 'booked', decided_by = session_user WHERE id = %s",
            (approved,),
        )
        pi.execute(
            "UPDATE bookings SET status = 'cancelled', decided_by = session_user, "
            "decision_reason = 'rejected by pia: the A40 is promised' WHERE id = %s",
            (rejected,),
        )
    with lab.connect("collector") as c:
        c.execute(
            "UPDATE bookings SET status = 'released', decided_by = 'labgpu', "
            "decision_reason = 'released: idle since 2026-12-02T10:00:00+00:00' WHERE id = %s",
            (booked,),
        )
    with lab.admin() as admin:
        rows = outbox(admin)[2:]  # after the two requests
    kinds = [(k, au, u, d) for k, au, u, d, _p in rows]
    a_name = lab.names["a"]
    assert kinds == [
        ("request_approved", "member", a_name, f"request_approved:{groups[approved]}"),
        ("request_rejected", "member", a_name, f"request_rejected:{groups[rejected]}"),
        ("booking_released", "member", a_name, f"booking_released:{groups[booked]}"),
    ]
    assert rows[0][4]["by"] == lab.names["pi"]
    assert rows[1][4]["reason"] == "rejected by pia: the A40 is promised"
    assert rows[2][4]["gpus"] == ["node1:1"]


def test_a_rolled_back_change_enqueues_nothing(rlab: RulesLab) -> None:
    with rlab.lab.connect("a") as a:
        a.execute("BEGIN")
        insert(a, rlab.a40, DAY, DAY + " + interval '1 hour'", "pending")
        with rlab.lab.admin() as admin:  # not before the commit, not from outside
            assert outbox(admin) == []
        a.execute("ROLLBACK")
    with rlab.lab.admin() as admin:
        assert outbox(admin) == []


def test_members_cannot_read_or_write_the_outbox(lab: Lab) -> None:
    for who in ("a", "pi"):
        with lab.connect(who) as conn:
            for table in ("outbox", "deliveries"):
                denied(lambda t=table: conn.execute(f"SELECT * FROM {t}"))
            denied(
                lambda: conn.execute(
                    "INSERT INTO outbox (kind, audience, user_name, dedup_key) "
                    "VALUES ('test', 'member', 'victim', 'spam:1')"
                )
            )
            denied(
                lambda: conn.execute(
                    "UPDATE deliveries SET address = 'victim@example.org', state = 'pending'"
                )
            )
            denied(lambda: conn.execute("SELECT public.labgpu_notify_booking()"))
            # The one door: a test message to their own login, once a minute.
            assert conn.execute("SELECT public.labgpu_notify_test()").fetchone() == (True,)
    with lab.connect("manager") as m:
        assert m.execute("SELECT count(*) FROM outbox").fetchone() == (2,)
        denied(lambda: m.execute("DELETE FROM outbox"))
    with lab.admin() as admin:
        assert [(k, u) for k, _a, u, _d, _p in outbox(admin)] == [
            ("test", lab.names["a"]),
            ("test", lab.names["pi"]),
        ]


def test_a_member_reads_and_writes_only_their_own_settings(lab: Lab, collector: Store) -> None:
    a, b = lab.names["a"], lab.names["b"]
    with lab.connect("b") as conn:
        conn.execute("INSERT INTO notify_settings (email) VALUES ('b@lab.test')")
    with lab.connect("a") as conn:
        conn.execute("INSERT INTO notify_settings (email, lead_minutes) VALUES ('a@lab.test', 15)")
        assert conn.execute("SELECT user_name, email FROM notify_settings").fetchall() == [
            (a, "a@lab.test")
        ]
        # Another member's row: not visible, so not changed or deleted.
        conn.execute("UPDATE notify_settings SET email = 'a@evil.test' WHERE user_name = %s", (b,))
        conn.execute("DELETE FROM notify_settings WHERE user_name = %s", (b,))
        denied(
            lambda: conn.execute(
                "INSERT INTO notify_settings (user_name, email) VALUES (%s, 'x')", (b,)
            )
        )
        # Nor can they move their own row onto someone else.
        denied(lambda: conn.execute("UPDATE notify_settings SET user_name = %s", (b,)))
        # No temporary table can stand in for the settings either.
        message = denied(lambda: conn.execute("CREATE TEMP TABLE notify_settings (user_name text)"))
        assert "temporary" in message
    with lab.connect("pi") as conn:
        assert conn.execute("SELECT count(*) FROM notify_settings").fetchone() == (0,)
    with lab.connect("manager") as conn:
        assert conn.execute("SELECT count(*) FROM notify_settings").fetchone() == (2,)
    everyone = collector.notify.all_settings()
    assert everyone[b] == NotifySettings(b, "b@lab.test")
    assert everyone[a] == NotifySettings(a, "a@lab.test", lead_minutes=15)


def test_the_store_saves_a_members_own_settings(lab: Lab) -> None:
    store = store_as(lab, "a")
    try:
        a = lab.names["a"]
        from datetime import UTC, datetime

        saved = store.notify.save_settings(
            NotifySettings(a, "a@lab.test", muted=("booking_ends",), language="ko"),
            datetime.now(UTC),
        )
        assert store.notify.settings(a) == saved
        assert store.notify.enqueue_test(a, datetime.now(UTC)) is True
        with pytest.raises(Exception, match="permission denied"):
            store.notify.save_settings(
                NotifySettings(lab.names["b"], "x@lab.test"), datetime.now(UTC)
            )
    finally:
        store.close()


def test_the_collector_enqueues_time_events_and_a_student_cannot(rlab: RulesLab) -> None:
    from datetime import UTC, datetime, timedelta

    from labgpu.services.notify.watch import NotifyWatch, time_events

    lab = rlab.lab
    with lab.connect("a") as a:
        insert(a, rlab.a4000[0], DAY, DAY + " + interval '1 hour'")
        start = a.execute("SELECT start_ts FROM bookings").fetchone()[0]  # type: ignore[index]
    at = start - timedelta(minutes=5)
    collector, student = store_as(lab, "collector"), store_as(lab, "a")
    try:
        NotifyWatch(student, lambda: at, load_config=lambda: None).run()  # refused, logged
        assert len(time_events(collector, at)) == 1
        NotifyWatch(collector, lambda: at, load_config=lambda: None).run()
        NotifyWatch(collector, lambda: at, load_config=lambda: None).run()
    finally:
        collector.close()
        student.close()
    with lab.admin() as admin:
        rows = outbox(admin)
    assert [(k, u) for k, _a, u, _d, _p in rows] == [("booking_starts", lab.names["a"])]
    assert rows[0][3].startswith("starts:")
    assert datetime.fromisoformat(str(rows[0][4]["start"])) == start.astimezone(UTC).replace(
        microsecond=0
    )
