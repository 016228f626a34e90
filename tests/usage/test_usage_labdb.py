"""Usage history in a lab database: the collector rolls up and applies retention, managers set
retention, members record only their own unmet requests — enforced by PostgreSQL itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from labgpu.core.errors import RefusedError
from labgpu.core.usage.figures import MINUTE, Retention, SlotRequest
from labgpu.storage import Store
from tests.members.test_labdb import Lab, lab, refused

__all__ = ["lab"]  # the fixture


def store_as(lab: Lab, who: str) -> Store:
    name = lab.names.get(who, who)
    return Store(f"postgresql+psycopg://{name}@127.0.0.1:{lab.server.port}/{lab.dbname}")


def test_collector_rolls_up_and_applies_retention_members_cannot(lab: Lab) -> None:
    # On an hour boundary, so the five minutes fall in one hour whatever the clock says.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
    with lab.connect("collector") as col:
        for minute in range(5):
            col.execute(
                "INSERT INTO gpu_samples (gpu_id, ts, utilization_pct) VALUES (%s, %s, 80)",
                (lab.gpu_id, start + timedelta(minutes=minute)),
            )
    collector = store_as(lab, "collector")
    try:
        report = collector.usage.rollup(start + timedelta(minutes=10))
        assert report.minute_to > report.minute_from
        rows = collector.usage.buckets(MINUTE, 0, 2**40)
        assert [b.busy_s for b in rows] == [60.0] * 5
        collector.usage.rollup(start + timedelta(days=1))  # the hour too, then retention
        deleted = collector.usage.apply_retention(datetime.now(UTC))
        assert deleted.deleted["gpu_samples"] == 5
    finally:
        collector.close()
    for who in ("a", "pi"):
        with lab.connect(who) as conn:
            refused(
                lambda conn=conn: conn.execute(  # type: ignore[misc]
                    "INSERT INTO usage_minute VALUES (0, %s, 1, 1, 1, 1, 1, 1, 1, 60, 60)",
                    (lab.gpu_id,),
                )
            )
            refused(lambda conn=conn: conn.execute("DELETE FROM usage_hour"))  # type: ignore[misc]
            refused(lambda conn=conn: conn.execute("DELETE FROM gpu_samples"))  # type: ignore[misc]
            refused(
                lambda conn=conn: conn.execute(  # type: ignore[misc]
                    "UPDATE usage_state SET value = 0 WHERE name = 'minute_done'"
                )
            )
            # Everyone reads the history.
            assert conn.execute("SELECT count(*) FROM usage_hour").fetchone() == (1,)


def test_only_managers_change_retention(lab: Lab) -> None:
    student, manager = store_as(lab, "a"), store_as(lab, "manager")
    try:
        with pytest.raises(RefusedError, match="only a lab manager"):
            student.usage.set_retention(Retention(3, 10, None))
        assert student.usage.retention() == Retention()
        manager.usage.set_retention(Retention(3, 10, 400))
        assert student.usage.retention() == Retention(3, 10, 400)
    finally:
        student.close()
        manager.close()


def test_members_record_only_their_own_slot_requests(lab: Lab) -> None:
    now = datetime.now(UTC)
    alice, bob = lab.names["a"], lab.names["b"]
    student = store_as(lab, "a")
    try:
        student.usage.add_request(SlotRequest(alice, "A100", 2, 24.0, now, now, None))
        with pytest.raises(RefusedError, match="permission denied"):
            student.usage.add_request(SlotRequest(bob, "A100", 2, 24.0, now, now, None))
        assert [
            u.user_name for u in student.usage.requests(now - timedelta(1), now + timedelta(1))
        ] == [alice]
    finally:
        student.close()
    with lab.connect("b") as conn:
        assert conn.execute("SELECT count(*) FROM slot_requests").fetchone() == (1,)
        refused(lambda: conn.execute("DELETE FROM slot_requests"))
    with psycopg.connect(lab.server.conninfo(lab.dbname), autocommit=True) as admin:
        assert admin.execute("SELECT count(*) FROM slot_requests").fetchone() == (1,)
