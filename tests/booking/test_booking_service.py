"""Booking use cases on real SQLite and PostgreSQL: rules, conflicts, approvals, changes,
reminders, reality checks, auto-release and the .ics export. Earliest slots and maintenance
are in test_booking_slots."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from labgpu.core.booking.bookings import BookingConflictError, BookingStatus, Window
from labgpu.core.booking.rules import BookingRules, ReminderKind, RuleRefusedError
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult
from labgpu.services import Labgpu
from labgpu.services.booking.calendar_export import export_ics
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.reality import AutoReleaser, check_reality, release_reminders
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.booking_lab import (
    A40,
    A4000,
    NOW,
    Clock,
    H,
    clock,
    gpus,
    kim,
    me,
    readings,
    seed_lab,
    store,
)

# The fixtures; test_booking_offers takes clock, gpus and me (and the helpers) from here.
__all__ = ["clock", "gpus", "kim", "me", "store"]


def test_book_and_list(me: BookingService, gpus: dict[str, int], clock: Clock) -> None:
    ids = [gpus["gpu-01:0"], gpus["gpu-01:1"]]
    group = me.book(ids, NOW + H, NOW + 3 * H, "  training  ")
    assert group.status is BookingStatus.BOOKED
    assert group.user == "tester"
    assert group.note == "training"
    assert group.gpu_labels == ("gpu-01:0", "gpu-01:1")
    assert {g.model for g in group.gpus} == {A4000}
    views = me.between(NOW, NOW + 24 * H)
    assert [v.gpu_label for v in views] == ["gpu-01:0", "gpu-01:1"]
    clock.now = NOW + 2 * H
    assert {v.status for v in me.between()} == {BookingStatus.ACTIVE}
    clock.now = NOW + 3 * H
    assert {v.status for v in me.between()} == {BookingStatus.FINISHED}
    assert me.group(str(views[0].id)).group_id == group.group_id  # by booking id
    assert me.group(group.group_id[:8]).group_id == group.group_id  # by prefix


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (NOW + H, NOW + H, "end_after_start"),
        (NOW + 2 * H, NOW + H, "end_after_start"),
        (NOW - H, NOW + H, "start_in_past"),
        (NOW + timedelta(days=20), NOW + timedelta(days=20, hours=2), "horizon_days"),
        (NOW + H, NOW + 80 * H, "max_hours"),
    ],
)
def test_bad_windows_refused_and_nothing_written(
    me: BookingService, gpus: dict[str, int], start: datetime, end: datetime, rule: str
) -> None:
    for attempt in (me.check, me.book):
        with pytest.raises(RuleRefusedError) as exc:
            attempt([gpus["gpu-01:0"]], start, end)
        assert exc.value.rule == rule
    assert me.between() == []


def test_bad_gpu_choices(me: BookingService, store: Store, gpus: dict[str, int]) -> None:
    with pytest.raises(RuleRefusedError) as exc:
        me.book([], NOW + H, NOW + 2 * H)
    assert exc.value.rule == "count"
    with pytest.raises(RuleRefusedError) as exc:
        me.book([gpus["gpu-01:0"], 99999], NOW + H, NOW + 2 * H)
    assert exc.value.rule == "gpu_ids"
    assert "99999" in str(exc.value)
    RulesService(me).set_gpu_bookable(gpus["gpu-02:3"], False)
    with pytest.raises(RuleRefusedError) as exc:
        me.book([gpus["gpu-02:3"]], NOW + H, NOW + 2 * H)
    assert exc.value.rule == "bookable"
    assert "gpu-02:3" in str(exc.value)
    assert me.between() == []


def test_conflict_names_holder_and_is_all_or_nothing(
    me: BookingService, kim: BookingService, gpus: dict[str, int]
) -> None:
    kim.book([gpus["gpu-01:1"]], NOW + 2 * H, NOW + 4 * H)
    wanted = [gpus["gpu-01:0"], gpus["gpu-01:1"]]
    for attempt in (me.check, me.book):
        with pytest.raises(BookingConflictError) as exc:
            attempt(wanted, NOW + H, NOW + 3 * H)
        assert "gpu-01:1" in str(exc.value)
        assert "kim" in str(exc.value)
        assert exc.value.exit_code == 3
    assert me.between(mine=True) == []
    me.book(wanted, NOW + 4 * H, NOW + 6 * H)  # back to back is fine


def test_held_at_once(me: BookingService, gpus: dict[str, int]) -> None:
    RulesService(me).save(BookingRules(max_gpus_at_once=3))
    me.book([gpus["gpu-01:0"], gpus["gpu-01:1"]], NOW + H, NOW + 5 * H)
    with pytest.raises(RuleRefusedError) as exc:
        me.book([gpus["gpu-02:0"], gpus["gpu-02:1"]], NOW + 4 * H, NOW + 6 * H)
    assert (exc.value.rule, exc.value.limit, exc.value.current) == (
        "max_gpus_at_once",
        "3 GPUs",
        "4 GPUs",
    )
    me.book([gpus["gpu-02:0"], gpus["gpu-02:1"]], NOW + 5 * H, NOW + 6 * H)


def test_weekly_quota_weighted(
    me: BookingService, kim: BookingService, gpus: dict[str, int]
) -> None:
    RulesService(me).save(BookingRules(weekly_quota_gpu_hours=30.0, approval_models=()))
    me.book([gpus["gpu-01:0"]], NOW + H, NOW + 13 * H)  # 12 h
    with pytest.raises(RuleRefusedError) as exc:
        me.book([gpus["gpu-03:0"]], NOW + 20 * H, NOW + 27 * H)  # 7 A40 h = 21 -> 33
    assert (exc.value.limit, exc.value.current) == ("30 h", "33 h")
    assert "A40 counts x3" in str(exc.value)
    me.book([gpus["gpu-03:0"]], NOW + 20 * H, NOW + 26 * H)  # 18 -> 30 exactly
    kim.book([gpus["gpu-03:1"]], NOW + 20 * H, NOW + 26 * H)  # quotas are per member


def test_extending_counts_the_hours_already_booked(
    me: BookingService, gpus: dict[str, int]
) -> None:
    """The group's own hours count toward the quota when it grows (issue 12: the database's
    check counted them and the app's did not)."""
    RulesService(me).save(BookingRules(weekly_quota_gpu_hours=15.0, approval_models=()))
    group = me.book([gpus["gpu-01:0"]], NOW + H, NOW + 13 * H)  # 12 h
    with pytest.raises(RuleRefusedError) as exc:
        me.extend(group.group_id, NOW + 20 * H)  # 19 h in the week, not 7 h
    assert (exc.value.rule, exc.value.current) == ("weekly_quota_gpu_hours", "19 h")
    me.extend(group.group_id, NOW + 16 * H)  # 15 h: the quota


def test_approval_flow(me: BookingService, kim: BookingService, gpus: dict[str, int]) -> None:
    asked = kim.book([gpus["gpu-03:0"]], NOW + H, NOW + 3 * H, "big model")
    assert asked.status is BookingStatus.PENDING
    assert [g.group_id for g in me.pending_approvals()] == [asked.group_id]
    with pytest.raises(BookingConflictError, match="pending approval"):
        me.book([gpus["gpu-03:0"]], NOW + 2 * H, NOW + 4 * H)  # a request holds the GPU
    assert me.approve(asked.group_id).status is BookingStatus.BOOKED
    assert me.pending_approvals() == []
    with pytest.raises(RefusedError, match="only a pending"):
        me.approve(asked.group_id)
    other = kim.book([gpus["gpu-03:1"]], NOW + H, NOW + 3 * H)
    with pytest.raises(LabgpuError, match="reason"):
        me.reject(other.group_id, "  ")
    rejected = me.reject(other.group_id, "the A40s are reserved for the deadline")
    assert rejected.status is BookingStatus.CANCELLED
    stored = me.store.bookings.list_bookings(group_id=other.group_id)[0]
    assert stored.status is BookingStatus.CANCELLED
    me.book([gpus["gpu-03:1"]], NOW + H, NOW + 3 * H)  # the GPU is free again


def test_cancel_end_early_extend(
    me: BookingService, kim: BookingService, gpus: dict[str, int], clock: Clock
) -> None:
    g0 = gpus["gpu-01:0"]
    group = me.book([g0], NOW + H, NOW + 3 * H)
    assert me.cancel(group.group_id).status is BookingStatus.CANCELLED
    with pytest.raises(RefusedError, match="cancelled"):
        me.cancel(group.group_id)
    group = me.book([g0], NOW + H, NOW + 3 * H)
    extended = me.extend(group.group_id, NOW + 5 * H)
    assert extended.window.end == NOW + 5 * H
    with pytest.raises(RuleRefusedError) as exc:
        me.extend(group.group_id, NOW + 4 * H)
    assert exc.value.rule == "extend_later"
    with pytest.raises(RuleRefusedError) as exc:
        me.extend(group.group_id, NOW + 80 * H)
    assert exc.value.rule == "max_hours"
    kim.book([g0], NOW + 6 * H, NOW + 8 * H)
    with pytest.raises(BookingConflictError, match="kim"):
        me.extend(group.group_id, NOW + 7 * H)
    clock.now = NOW + 2 * H
    ended = me.end_early(group.group_id)
    assert ended.status is BookingStatus.RELEASED
    assert ended.window.end == NOW + 2 * H
    me.book([g0], NOW + 2 * H, NOW + 4 * H)  # released time is free again
    actions = [e.action for e in me.store.list_audit()]
    assert "booking.create" in actions
    assert "booking.update" in actions


def test_rule_change_keeps_bookings(me: BookingService, gpus: dict[str, int]) -> None:
    me.book([gpus["gpu-01:0"]], NOW + H, NOW + 60 * H)
    RulesService(me).save(BookingRules(max_hours=8))
    assert me.rules().max_hours == 8
    assert len(me.between()) == 1
    with pytest.raises(LabgpuError, match="max_hours"):
        RulesService(me).save(BookingRules(max_hours=0))


def test_reminders(me: BookingService, kim: BookingService, gpus: dict[str, int]) -> None:
    mine = me.book([gpus["gpu-01:0"]], NOW + 10 * timedelta(minutes=1), NOW + 2 * H)
    kim.book([gpus["gpu-01:1"]], NOW + 10 * timedelta(minutes=1), NOW + 2 * H)
    soon = me.upcoming_reminders(NOW, timedelta(minutes=15))
    assert [(r.group_id, r.kind) for r in soon] == [(mine.group_id, ReminderKind.STARTS)]
    later = me.upcoming_reminders(NOW + 110 * timedelta(minutes=1), timedelta(minutes=15))
    assert [r.kind for r in later] == [ReminderKind.ENDS]


def book_earlier(
    service: BookingService, clock: Clock, ids: list[int], start: datetime, end: datetime
) -> str:
    """Book as if at ``start`` (the clock goes back), then return to ``NOW``."""
    clock.now = start
    try:
        return service.book(ids, start, end).group_id
    finally:
        clock.now = NOW


def probe_at(
    store: Store, server: str, at: datetime, util: float, procs: tuple[GpuProcess, ...] = ()
) -> None:
    model, count = (A40, 2) if server == "gpu-03" else (A4000, 4)
    result = ProbeResult(server, at, tuple(readings(model, count, server, util)), procs)
    store.inventory.store_probe(server, result)


def test_unbooked_use_and_idle_booking(
    me: BookingService, store: Store, gpus: dict[str, int], clock: Clock
) -> None:
    group_id = book_earlier(
        me, clock, [gpus["gpu-01:0"], gpus["gpu-01:1"]], NOW - 2 * H, NOW + 2 * H
    )
    kim_proc = GpuProcess("gpu-01-2", 4242, 1000, "python", "kim", 600, "python train.py")
    mine_proc = GpuProcess("gpu-01-0", 4243, 1000, "python", "tester", 600, "python x.py")
    for minutes in range(0, 50, 5):
        at = NOW - 45 * timedelta(minutes=1) + minutes * timedelta(minutes=1)
        probe_at(store, "gpu-01", at, 1.0, (kim_proc, mine_proc))
    report = check_reality(me, NOW)
    assert [(u.gpu_id, u.user) for u in report.unbooked_use] == [(gpus["gpu-01:2"], "kim")]
    assert report.unbooked_use[0].since == NOW - timedelta(minutes=10)
    assert [i.group_id for i in report.idle_bookings] == [group_id]
    assert report.idle_bookings[0].idle_since == NOW - 45 * timedelta(minutes=1)
    # one busy sample on one GPU of the group: idle only from the sample after it
    busy = readings(A4000, 4, "gpu-01", 1.0)
    busy[1] = GpuReading(1, "gpu-01-1", A4000, 16376, 0, 90.0, 30, 50)
    store.inventory.store_probe(
        "gpu-01", ProbeResult("gpu-01", NOW + timedelta(minutes=1), tuple(busy))
    )
    assert check_reality(me, NOW + timedelta(minutes=2)).idle_bookings == []


def test_idle_needs_fresh_samples(
    me: BookingService, store: Store, gpus: dict[str, int], clock: Clock
) -> None:
    book_earlier(me, clock, [gpus["gpu-01:0"]], NOW - 2 * H, NOW + 2 * H)
    probe_at(store, "gpu-01", NOW - 2 * H, 0.0)
    probe_at(store, "gpu-01", NOW - H, 0.0)  # then the server went quiet
    assert check_reality(me, NOW).idle_bookings == []


def test_auto_release_warns_first(
    me: BookingService, store: Store, gpus: dict[str, int], clock: Clock
) -> None:
    rules = BookingRules(auto_release=True, auto_release_minutes=60, release_warning_minutes=15)
    RulesService(me).save(rules)
    group_id = book_earlier(me, clock, [gpus["gpu-01:0"]], NOW - 3 * H, NOW + 2 * H)
    for minutes in range(0, 181, 5):
        probe_at(store, "gpu-01", NOW - 3 * H + minutes * timedelta(minutes=1), 0.0)
    releaser = AutoReleaser(me)
    # idle for 3 h already when the rule starts: warned now, released 15 min later at the earliest
    assert releaser.run(NOW) == []
    assert group_id in releaser.pending_warnings()
    reminders = release_reminders(me, NOW, timedelta(minutes=30))
    assert [r.kind for r in reminders] == [ReminderKind.RELEASE]
    probe_at(store, "gpu-01", NOW + 10 * timedelta(minutes=1), 0.0)
    assert releaser.run(NOW + 10 * timedelta(minutes=1)) == []
    probe_at(store, "gpu-01", NOW + 16 * timedelta(minutes=1), 0.0)
    assert releaser.run(NOW + 16 * timedelta(minutes=1)) == [group_id]
    clock.now = NOW + 16 * timedelta(minutes=1)
    released = me.group(group_id)
    assert released.status is BookingStatus.RELEASED
    assert released.window.end == NOW + 16 * timedelta(minutes=1)
    assert "booking.release_warning" in [e.action for e in store.list_audit()]


def test_auto_release_off_by_default(
    me: BookingService, store: Store, gpus: dict[str, int], clock: Clock
) -> None:
    book_earlier(me, clock, [gpus["gpu-01:0"]], NOW - 3 * H, NOW + 2 * H)
    for minutes in range(0, 181, 5):
        probe_at(store, "gpu-01", NOW - 3 * H + minutes * timedelta(minutes=1), 0.0)
    assert AutoReleaser(me).run(NOW) == []
    assert check_reality(me, NOW).idle_bookings  # still shown as idle


def test_ics_export_parses_back(
    me: BookingService, kim: BookingService, gpus: dict[str, int], tmp_path: Path
) -> None:
    mine = me.book([gpus["gpu-01:0"], gpus["gpu-01:1"]], NOW + H, NOW + 3 * H, "ablation, run 2")
    asked = kim.book([gpus["gpu-03:0"]], NOW + H, NOW + 2 * H)
    gone = kim.book([gpus["gpu-02:0"]], NOW + H, NOW + 2 * H)
    kim.cancel(gone.group_id)
    path = tmp_path / "lab.ics"  # an existing folder (a missing one is an error)
    assert export_ics(me, path, mine=False) == 2
    cal = Calendar.from_ical(path.read_bytes())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{mine.group_id}@labgpu", f"{asked.group_id}@labgpu"}
    event = events[f"{mine.group_id}@labgpu"]
    assert event.decoded("dtstart") == NOW + H
    assert event.decoded("dtend") == NOW + 3 * H
    assert "gpu-01:0, gpu-01:1" in str(event["description"])
    assert "ablation, run 2" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"
    pending = [e for e in cal.walk("VEVENT") if str(e["status"]) == "TENTATIVE"]
    assert len(pending) == 1  # kim's A40 request
    assert export_ics(me, tmp_path / "mine.ics", mine=True) == 1


def test_facade_books_with_the_real_clock(db_url: str) -> None:
    lab = Labgpu(db_url)
    lab.open()
    try:
        gpus = seed_lab(lab.store)
        start = datetime.now(UTC).replace(microsecond=0) + H
        lab.bookings.check([gpus["gpu-02:0"]], start, start + H)
        group = lab.bookings.book([gpus["gpu-02:0"]], start, start + H, "facade")
        assert [v.group_id for v in lab.bookings.between(mine=True)] == [group.group_id]
        assert lab.members.can_approve()
        assert lab.members.can_manage()
        lab.bookings.extend(group.group_id, start + 2 * H)
        assert lab.bookings.upcoming_reminders(start - timedelta(minutes=5), timedelta(minutes=10))
        report = lab.bookings.reality()
        assert report.unbooked_use == []
        lab.bookings.cancel(group.group_id)
        assert lab.bookings.between()[0].status is BookingStatus.CANCELLED
        assert len(lab.inventory.list_gpus()) == 10
    finally:
        lab.close()


def test_collector_loop_runs_the_idle_rule(db_url: str) -> None:
    lab = Labgpu(db_url)
    lab.open()
    try:
        gpus = seed_lab(lab.store)
        lab.rules.save(BookingRules(auto_release=True, auto_release_minutes=30))
        now = datetime.now(UTC)
        window = Window(now - 2 * H, now + 2 * H)
        group_id = "11111111-2222-3333-4444-555555555555"
        lab.store.bookings.create_bookings(
            group_id, [gpus["gpu-01:0"]], "tester", window, BookingStatus.BOOKED, "", "tester"
        )
        for minutes in range(0, 121, 5):
            probe_at(lab.store, "gpu-01", now - 2 * H + minutes * timedelta(minutes=1), 0.0)
        lab.inventory.start_collector(interval_s=0.05)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "booking.release_warning" in [e.action for e in lab.store.list_audit()]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the collector loop never ran the idle rule")
        reminders = lab.bookings.upcoming_reminders(datetime.now(UTC), timedelta(minutes=20))
        assert [(r.group_id, r.kind) for r in reminders] == [(group_id, ReminderKind.RELEASE)]
    finally:
        lab.close()
