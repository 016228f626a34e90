"""Store: booking rules (JSON), maintenance windows, bookable flags, utilisation samples."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import BookingRules, Maintenance
from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import GpuReading, ProbeResult, SshTarget
from labgpu.storage import Store, db

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def readings(util: float | None = 0.0) -> list[GpuReading]:
    return [GpuReading(i, f"U{i}", "NVIDIA A40", 46068, 0, util, 30.0, 20.0) for i in range(3)]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings(), "admin")
    yield store
    store.close()


@pytest.fixture
def gpu_ids(store: Store) -> list[int]:
    return [g.id for g in store.inventory.list_gpus() if g.id is not None]


def execute(url: str, sql: str) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_rules_default_until_set_then_round_trip(store: Store) -> None:
    assert store.bookings.get_rules() == BookingRules()
    rules = BookingRules(
        max_hours=48.0,
        weekly_quota_gpu_hours=120.5,
        model_weights=(("A40", 3.0), ("RTX A6000", 2.0)),
        approval_models=(),
        auto_release=True,
    )
    store.bookings.set_rules(rules, "boss")
    stored = store.bookings.get_rules()
    assert stored == rules
    assert stored.model_weights[1] == ("RTX A6000", 2.0)  # tuples again, not lists
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("rules.update", "boss", "booking rules")
    assert "max_hours: 72.0 → 48.0" in entry.detail
    assert "weekly_quota_gpu_hours: - → 120.5" in entry.detail
    assert "approval_models: ['A40'] → []" in entry.detail
    assert "horizon_days" not in entry.detail  # unchanged fields are not listed
    store.bookings.set_rules(dataclasses.replace(rules, weekly_quota_gpu_hours=None), "boss")
    assert store.bookings.get_rules().weekly_quota_gpu_hours is None
    assert store.list_audit(limit=1)[0].detail == "weekly_quota_gpu_hours: 120.5 → -"


def test_setting_the_same_rules_is_not_audited(store: Store) -> None:
    before = len(store.list_audit())
    store.bookings.set_rules(BookingRules(), "boss")
    store.bookings.set_rules(BookingRules(), "boss")
    assert len(store.list_audit()) == before


def test_rules_written_by_another_labgpu_version(store: Store, db_url: str) -> None:
    execute(
        db_url,
        "INSERT INTO booking_rules (id, data, updated_by) VALUES "
        "(1, '{\"max_hours\": 12, \"from_the_future\": true}', 'x')",
    )
    assert store.bookings.get_rules() == BookingRules(max_hours=12)
    execute(db_url, "UPDATE booking_rules SET data = 'not json'")
    with pytest.raises(LabgpuError, match="not valid JSON"):
        store.bookings.get_rules()
    store.bookings.set_rules(BookingRules(), "boss")  # a manager can still replace unreadable rules
    assert store.bookings.get_rules() == BookingRules()
    assert "max_hours: - → 72.0" in store.list_audit(limit=1)[0].detail


def test_only_one_rules_row(store: Store, db_url: str) -> None:
    store.bookings.set_rules(BookingRules(), "boss")
    with pytest.raises(Exception, match="ck_booking_rules_single_row"):  # noqa: PT011
        execute(db_url, "INSERT INTO booking_rules (id, data, updated_by) VALUES (2, '{}', 'x')")


def test_maintenance_add_list_remove(store: Store, gpu_ids: list[int]) -> None:
    window = Window(T0, T0 + timedelta(hours=4))
    added = store.bookings.add_maintenance(
        [gpu_ids[2], gpu_ids[0]], window, "driver update", "admin"
    )
    assert added == Maintenance(
        added.id, (gpu_ids[0], gpu_ids[2]), window, "driver update", "admin"
    )
    later = store.bookings.add_maintenance(
        gpu_ids, Window(T0 + timedelta(days=1), T0 + timedelta(days=2)), "move rack", "admin"
    )
    assert store.bookings.list_maintenance() == [added, later]
    assert store.bookings.list_maintenance(start=T0 + timedelta(hours=4)) == [later]
    assert store.bookings.list_maintenance(end=T0 + timedelta(hours=1)) == [added]
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.subject) == ("maintenance.add", f"maintenance {later.id}")
    assert entry.detail.startswith("gpus gpu-01:0, gpu-01:1, gpu-01:2; 2030-03-05 09:00")
    assert added.id is not None
    store.bookings.remove_maintenance(added.id, "admin")
    assert store.bookings.list_maintenance() == [later]
    assert store.list_audit(limit=1)[0].action == "maintenance.remove"
    with pytest.raises(LabgpuError, match=f"no maintenance window {added.id}"):
        store.bookings.remove_maintenance(added.id, "admin")
    with pytest.raises(LabgpuError, match="no current GPU with id #777"):
        store.bookings.add_maintenance([777], window, "x", "admin")


def test_set_gpu_bookable(store: Store, gpu_ids: list[int]) -> None:
    store.bookings.set_gpu_bookable(gpu_ids[1], False, "admin")
    assert [g.bookable for g in store.inventory.list_gpus()] == [True, False, True]
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.subject, entry.detail) == (
        "gpu.bookable",
        "gpu-01/gpu1",
        "bookable: True → False",
    )
    store.bookings.set_gpu_bookable(gpu_ids[1], False, "admin")  # no change, no audit line
    assert store.list_audit(limit=1)[0] == entry
    with pytest.raises(LabgpuError, match="no GPU with id #777"):
        store.bookings.set_gpu_bookable(777, True, "admin")


def test_gpu_utilization_since(store: Store, gpu_ids: list[int]) -> None:
    for minute, util in [(0, 50.0), (10, 3.0), (20, None)]:
        taken = T0 + timedelta(minutes=minute)
        store.inventory.store_probe("gpu-01", ProbeResult("h1", taken, tuple(readings(util)), ()))
    found = store.inventory.gpu_utilization(
        [gpu_ids[0], gpu_ids[2], 777], T0 + timedelta(minutes=10)
    )
    assert found == {
        gpu_ids[0]: [(T0 + timedelta(minutes=10), 3.0), (T0 + timedelta(minutes=20), None)],
        gpu_ids[2]: [(T0 + timedelta(minutes=10), 3.0), (T0 + timedelta(minutes=20), None)],
        777: [],
    }
    assert found[gpu_ids[0]][0][0].tzinfo is not None
    assert store.inventory.gpu_utilization([], T0) == {}


def test_upgrade_from_the_first_schema_keeps_the_lab(db_url: str) -> None:
    """A lab that ran labgpu before bookings existed upgrades in place and can book."""
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(db.alembic_config(conn), "0001_initial")
    finally:
        engine.dispose()
    old = Store(db_url)
    try:
        old.inventory.register_server("gpu-01", SshTarget("h1"), readings(), "admin")
        old.upgrade()
        gpu = old.inventory.list_gpus()[0]
        assert gpu.id is not None
        window = Window(T0, T0 + timedelta(hours=1))
        made = old.bookings.create_bookings(
            "g", [gpu.id], "kim", window, BookingStatus.BOOKED, "", "kim"
        )
        assert [b.gpu_label for b in made] == ["gpu-01:0"]
        assert old.bookings.get_rules() == BookingRules()
    finally:
        old.close()
