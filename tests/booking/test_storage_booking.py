"""Store bookings on SQLite and PostgreSQL: no overlaps, groups all or nothing, edits, audit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from labgpu.core.booking.bookings import Booking, BookingConflictError, BookingStatus, Window
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.storage import Store, db
from labgpu.storage.bookings import MaintenanceClashError

DAY = datetime(2030, 3, 4, tzinfo=UTC)  # a Monday
BOOKED = BookingStatus.BOOKED


def at(hour: float) -> datetime:
    """``hour`` hours after midnight of DAY (UTC)."""
    return DAY + timedelta(hours=hour)


def win(start: float, end: float) -> Window:
    return Window(at(start), at(end))


def gid() -> str:
    return str(uuid.uuid4())


def readings(count: int, prefix: str) -> list[GpuReading]:
    return [
        GpuReading(i, f"{prefix}-{i}", "NVIDIA RTX A4000", 16376, 0, 0.0, 30.0, 20.0)
        for i in range(count)
    ]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server("gpu-01", SshTarget("h1"), readings(4, "A"), "admin")
    store.inventory.register_server("gpu-02", SshTarget("h2"), readings(2, "B"), "admin")
    yield store
    store.close()


@pytest.fixture
def ids(store: Store) -> dict[str, int]:
    """GPU ids by label (``gpu-01:0`` ...)."""
    return {
        f"{g.server_name}:{g.index}": g.id for g in store.inventory.list_gpus() if g.id is not None
    }


def book(
    store: Store,
    gpu_ids: list[int],
    window: Window,
    user: str = "kim",
    status: BookingStatus = BOOKED,
    group_id: str | None = None,
) -> list[Booking]:
    return store.bookings.create_bookings(
        group_id or gid(), gpu_ids, user, window, status, "", user
    )


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_create_and_list_a_group(store: Store, ids: dict[str, int]) -> None:
    group = gid()
    made = store.bookings.create_bookings(
        group, [ids["gpu-01:1"], ids["gpu-01:0"]], "kim", win(10, 12), BOOKED, "training", "kim"
    )
    assert [(b.gpu_label, b.group_id, b.user_name, b.note) for b in made] == [
        ("gpu-01:0", group, "kim", "training"),
        ("gpu-01:1", group, "kim", "training"),
    ]
    assert all(b.id is not None and b.window == win(10, 12) for b in made)
    assert store.bookings.list_bookings() == made
    assert store.bookings.list_bookings(group_id=group) == made
    assert store.bookings.list_bookings(user="lee") == []
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("booking.create", "kim", group)
    assert entry.detail == "gpus gpu-01:0, gpu-01:1; 2030-03-04 10:00 to 12:00 UTC; status booked"


def test_list_filters_by_window_user_and_status(store: Store, ids: dict[str, int]) -> None:
    a = book(store, [ids["gpu-01:0"]], win(10, 12), "kim")
    b = book(store, [ids["gpu-02:1"]], win(8, 9), "lee", BookingStatus.PENDING)
    c = book(store, [ids["gpu-01:0"]], win(12, 14), "lee", BookingStatus.CANCELLED)
    assert store.bookings.list_bookings() == b + a + c  # by start
    assert store.bookings.list_bookings(start=at(12)) == c  # [10,12) ends where the range starts
    assert store.bookings.list_bookings(end=at(10)) == b
    assert store.bookings.list_bookings(start=at(9), end=at(12)) == a
    assert store.bookings.list_bookings(user="lee") == b + c
    assert store.bookings.list_bookings(statuses=[BookingStatus.PENDING, BOOKED]) == b + a
    assert store.bookings.list_bookings(statuses=[BookingStatus.ACTIVE]) == a  # derived from booked
    assert store.bookings.list_bookings(statuses=[]) == []


def test_overlap_is_refused_naming_gpu_holder_and_window(store: Store, ids: dict[str, int]) -> None:
    book(store, [ids["gpu-01:1"]], win(10, 12), "kim")
    with pytest.raises(BookingConflictError) as info:
        book(store, [ids["gpu-01:0"], ids["gpu-01:1"]], win(11, 13), "lee")
    (conflict,) = info.value.conflicts
    assert (conflict.gpu_label, conflict.holder, conflict.window) == (
        "gpu-01:1",
        "kim",
        win(10, 12),
    )
    assert str(info.value) == (
        "GPU gpu-01:1 is booked by kim from 2030-03-04 10:00 to 12:00 UTC; "
        "choose another time or GPU"
    )
    assert info.value.exit_code == 3
    # all or nothing: gpu-01:0 was free, yet nothing of lee's group was written
    assert [b.user_name for b in store.bookings.list_bookings()] == ["kim"]
    assert [e.action for e in store.list_audit(limit=1)] == ["booking.create"]


def test_back_to_back_is_allowed(store: Store, ids: dict[str, int]) -> None:
    gpu = ids["gpu-01:0"]
    book(store, [gpu], win(10, 12))
    book(store, [gpu], win(12, 14), "lee")
    book(store, [gpu], win(8, 10), "park")
    assert [b.window for b in store.bookings.list_bookings()] == [
        win(8, 10),
        win(10, 12),
        win(12, 14),
    ]


def test_pending_blocks_and_dead_statuses_do_not(store: Store, ids: dict[str, int]) -> None:
    gpu = ids["gpu-02:0"]
    pending = book(store, [gpu], win(10, 12), "kim", BookingStatus.PENDING)
    with pytest.raises(BookingConflictError, match="requested by kim \\(pending approval\\)"):
        book(store, [gpu], win(11, 12), "lee")
    for status in (BookingStatus.CANCELLED, BookingStatus.RELEASED, BookingStatus.FINISHED):
        store.bookings.update_group(pending[0].group_id, actor="kim", status=status)
        book(store, [gpu], win(11, 12), "lee", group_id=f"{status}-lee")
        store.bookings.update_group(f"{status}-lee", actor="lee", status=BookingStatus.CANCELLED)
    assert [b.status for b in store.bookings.list_bookings(user="lee")] == [
        BookingStatus.CANCELLED
    ] * 3


def test_bad_requests_write_nothing(store: Store, ids: dict[str, int]) -> None:
    gpu = ids["gpu-01:0"]
    with pytest.raises(LabgpuError, match="no current GPU with id #999"):
        book(store, [gpu, 999], win(10, 12))
    with pytest.raises(LabgpuError, match="listed twice"):
        book(store, [gpu, gpu], win(10, 12))
    with pytest.raises(LabgpuError, match="no GPU given"):
        book(store, [], win(10, 12))
    with pytest.raises(LabgpuError, match="1 to 36 characters"):
        book(store, [gpu], win(10, 12), group_id="x" * 37)
    with pytest.raises(ValueError, match="derived for display"):
        book(store, [gpu], win(10, 12), status=BookingStatus.ACTIVE)
    assert store.bookings.list_bookings() == []


def test_retired_gpu_cannot_be_booked_but_keeps_its_label(
    store: Store, ids: dict[str, int]
) -> None:
    old = book(store, [ids["gpu-02:1"]], win(1, 2))
    store.inventory.sync_gpus("gpu-02", readings(1, "B"), "admin")  # B-1 leaves the server
    with pytest.raises(LabgpuError, match=f"#{ids['gpu-02:1']}"):
        book(store, [ids["gpu-02:1"]], win(10, 12))
    assert store.bookings.list_bookings() == old
    assert (
        store.bookings.update_group(old[0].group_id, actor="kim", end=at(1.5))[0].gpu_label
        == "gpu-02:1"
    )


def test_removing_a_server_removes_its_bookings(
    store: Store, ids: dict[str, int], db_url: str
) -> None:
    book(store, [ids["gpu-02:0"]], win(1, 2))
    keep = book(store, [ids["gpu-01:0"]], win(1, 2))
    store.inventory.remove_server("gpu-02", "admin")
    assert store.bookings.list_bookings() == keep
    assert rows(db_url, "SELECT count(*) FROM bookings") == [(1,)]


def test_approve_and_reject_are_audited(store: Store, ids: dict[str, int], db_url: str) -> None:
    group = book(store, [ids["gpu-01:0"]], win(10, 12), status=BookingStatus.PENDING)[0].group_id
    approved = store.bookings.update_group(group, actor="pi", status=BOOKED, decided_by="pi")
    assert [b.status for b in approved] == [BOOKED]
    entry = store.list_audit(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("booking.update", "pi", group)
    assert entry.detail == "status: pending → booked; decided_by: - → pi"
    other = book(store, [ids["gpu-01:1"]], win(10, 12), status=BookingStatus.PENDING)
    reason = "rejected by pi: the A40s are reserved for the deadline"
    store.bookings.update_group(
        other[0].group_id,
        actor="pi",
        status=BookingStatus.CANCELLED,
        decided_by="pi",
        decision_reason=reason,
    )
    sql = f"SELECT status, decided_by, decision_reason FROM bookings WHERE id = {other[0].id}"
    assert rows(db_url, sql) == [("cancelled", "pi", reason)]
    assert "decision_reason: - → rejected by pi" in store.list_audit(limit=1)[0].detail


def test_extend_rechecks_conflicts_excluding_itself(store: Store, ids: dict[str, int]) -> None:
    a, b = ids["gpu-01:0"], ids["gpu-01:1"]
    mine = book(store, [a, b], win(10, 12))[0].group_id
    book(store, [b], win(13, 15), "lee")
    extended = store.bookings.update_group(mine, actor="kim", end=at(13))  # up to lee's start: fine
    assert [x.window for x in extended] == [win(10, 13)] * 2
    with pytest.raises(BookingConflictError, match="gpu-01:1 is booked by lee") as info:
        store.bookings.update_group(mine, actor="kim", end=at(14))
    assert [c.holder for c in info.value.conflicts] == ["lee"]
    assert {x.window for x in store.bookings.list_bookings(group_id=mine)} == {win(10, 13)}
    assert "end: 2030-03-04T12:00:00+00:00 → 2030-03-04T13:00:00+00:00" in (
        store.list_audit(limit=1)[0].detail
    )
    shortened = store.bookings.update_group(
        mine, actor="kim", end=at(11), status=BookingStatus.RELEASED
    )
    assert {(x.window, x.status) for x in shortened} == {(win(10, 11), BookingStatus.RELEASED)}
    with pytest.raises(LabgpuError, match="not after the booking's start"):
        store.bookings.update_group(mine, actor="kim", end=at(10))
    with pytest.raises(LabgpuError, match="no booking group nope"):
        store.bookings.update_group("nope", actor="kim", status=BookingStatus.CANCELLED)


def test_reviving_a_group_rechecks_conflicts(store: Store, ids: dict[str, int]) -> None:
    gpu = ids["gpu-01:2"]
    first = book(store, [gpu], win(10, 12))[0].group_id
    store.bookings.update_group(first, actor="kim", status=BookingStatus.CANCELLED)
    book(store, [gpu], win(11, 12), "lee")
    with pytest.raises(BookingConflictError, match="booked by lee"):
        store.bookings.update_group(first, actor="kim", status=BOOKED)


def test_maintenance_blocks_bookings_and_extensions(store: Store, ids: dict[str, int]) -> None:
    gpu = ids["gpu-01:3"]
    store.bookings.add_maintenance([gpu, ids["gpu-01:2"]], win(12, 16), "new PSU", "admin")
    with pytest.raises(MaintenanceClashError) as info:
        book(store, [ids["gpu-01:0"], gpu], win(11, 13))
    assert str(info.value) == (
        "GPU gpu-01:3 is in maintenance from 2030-03-04 12:00 to 16:00 UTC (new PSU); "
        "choose another time or GPU"
    )
    assert isinstance(info.value, RefusedError)
    assert store.bookings.list_bookings() == []
    group = book(store, [gpu], win(10, 12))[0].group_id  # back to back with maintenance
    with pytest.raises(MaintenanceClashError):
        store.bookings.update_group(group, actor="kim", end=at(12.5))
    book(store, [gpu], win(16, 17))
    assert store.bookings.create_bookings(
        gid(), [gpu], "kim", win(13, 14), BookingStatus.CANCELLED, "", "k"
    )


def test_database_refuses_double_booking_itself(postgres_url: str) -> None:
    """On PostgreSQL a member with psql cannot book over someone: the constraint refuses."""
    store = Store(postgres_url)
    try:
        store.upgrade()
        store.inventory.register_server("s", SshTarget("h"), readings(1, "P"), "admin")
        gpu = store.inventory.list_gpus()[0].id
        book(store, [gpu], win(10, 12))
        insert = (
            "INSERT INTO bookings (group_id, gpu_id, user_name, start_ts, end_ts, status, "
            f"created_by) VALUES ('g', {gpu}, 'x', '2030-03-04 11:00Z', '2030-03-04 13:00Z', "
            "'{status}', 'x')"
        )
        engine = db.make_engine(postgres_url)
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"), engine.begin() as c:
            c.execute(text(insert.format(status="pending")))
        with engine.begin() as conn:
            conn.execute(text(insert.format(status="cancelled")))  # dead rows never clash
        engine.dispose()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("column", "value"), [("end_ts", "'2030-03-04 09:00:00+00'"), ("status", "'active'")]
)
def test_database_checks_window_and_status(
    store: Store, ids: dict[str, int], db_url: str, column: str, value: str
) -> None:
    book(store, [ids["gpu-01:0"]], win(10, 12))
    engine = db.make_engine(db_url)
    try:
        with pytest.raises(IntegrityError, match="ck_bookings"), engine.begin() as conn:
            conn.execute(text(f"UPDATE bookings SET {column} = {value}"))
    finally:
        engine.dispose()


@contextmanager
def booking_held_open(url: str, gpu_ids: list[int], window: Window) -> Iterator[None]:
    """Inside: another Store's booking (group ``first``, kim) is written but not committed."""
    inside, errors = threading.Event(), []
    slow = Store(url)
    slow.booking_hook = lambda: (inside.set(), time.sleep(0.5))

    def first() -> None:
        try:
            book(slow, gpu_ids, window, "kim", group_id="first")
        except Exception as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(10)
        yield
    finally:
        thread.join()
        slow.close()
    assert errors == []


def test_a_race_lost_at_commit_is_a_conflict(
    store: Store, ids: dict[str, int], db_url: str
) -> None:
    """Two writers pass their checks at once; the later one gets a named conflict.

    SQLite: the second waits at BEGIN IMMEDIATE, then its check sees the first. PostgreSQL: its
    check sees nothing, the exclusion constraint refuses it at insert (23P01), mapped here.
    """
    gpu = ids["gpu-01:0"]
    with (
        booking_held_open(db_url, [gpu], win(10, 12)),
        pytest.raises(BookingConflictError, match="gpu-01:0 is booked by kim") as info,
    ):
        book(store, [ids["gpu-01:1"], gpu], win(11, 13), "lee")
    assert info.value.conflicts[0].group_id == "first"
    assert [b.group_id for b in store.bookings.list_bookings()] == ["first"]


def test_an_extension_racing_a_booking_is_a_conflict(
    store: Store, ids: dict[str, int], db_url: str
) -> None:
    gpu = ids["gpu-01:0"]
    mine = book(store, [ids["gpu-01:1"], gpu], win(8, 10), "lee")[0].group_id
    with (
        booking_held_open(db_url, [gpu], win(11, 12)),
        pytest.raises(BookingConflictError, match="gpu-01:0 is booked by kim") as info,
    ):
        store.bookings.update_group(mine, actor="lee", end=at(11.5))
    assert [c.group_id for c in info.value.conflicts] == ["first"]
    assert {b.window for b in store.bookings.list_bookings(group_id=mine)} == {win(8, 10)}
