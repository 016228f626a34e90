"""The evidence read from a real database (SQLite and PostgreSQL): saturated hours from the hourly
rollups and held bookings, waits and demand from recorded slot requests and offloaded jobs, a
slot search's wait as the slot finder records it — all hand-computed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import BookingRules
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.core.usage.evidence import DemandFigure, SaturationFigure
from labgpu.core.usage.figures import SlotRequest, UsageBucket
from labgpu.services.booking.service import BookingService
from labgpu.services.usage.service import UsageService
from labgpu.storage import Store
from tests.helpers.booking_lab import NOW, Clock, seed_lab
from tests.helpers.labdb import Lab, lab

__all__ = ["lab"]  # the fixture

T = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
A40, A4000 = "NVIDIA A40", "NVIDIA RTX A4000"
MONTH = "2026-03"

#: busy seconds per hour H0..H3 of each GPU (None: no readings that hour).
BUSY: dict[str, list[float | None]] = {
    "a0": [3600, 1800, 0, 0],
    "a1": [1799, 3600, 0, None],
    "b0": [0, 0, 3600, 3600],
    "b1": [0, 0, 0, 0],  # not bookable: never keeps the A4000s from being saturated
}


def _reading(index: int, uid: str, model: str) -> GpuReading:
    return GpuReading(index, uid, model, 16376, 0, 0.0, 30, 50)


def _hour(gpu: int, start: int, busy: float) -> UsageBucket:
    return UsageBucket(start, 3600, gpu, 360, 360, 0.0, 0.0, 0, 0.0, None, 3600.0, busy)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = _build(db_url)
    yield store
    store.close()


def _build(db_url: str, filler: int = 0) -> Store:
    """a40 (a0, a1: A40) and a4k (b0, b1: A4000; b1 first-come) for four hours from ``T``.

    Held bookings: a1 00:00-00:30 (half an hour: taken in H0), a0 02:00-03:00, a1 03:00-03:20
    (a third of H3: not taken); a1's cancelled and pending bookings in H2 are not held. So the
    A40s are saturated in H0 (a0 busy, a1 booked half) and H1 (a0 busy exactly half, a1 busy),
    not in H2 (a1 free) nor H3 (a1 has no readings and a third booked); the A4000 b0 in H2 and
    H3. ``filler`` GPUs without history registered between the two servers put the A4000s' ids
    far from the A40s'.
    """
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server(
        "a40", SshTarget("a40"), [_reading(0, "a0", A40), _reading(1, "a1", A40)], "admin"
    )
    if filler:
        spare = [_reading(i, f"t{i}", "NVIDIA T4") for i in range(filler)]
        store.inventory.register_server("t4", SshTarget("t4"), spare, "admin")
    store.inventory.register_server(
        "a4k", SshTarget("a4k"), [_reading(0, "b0", A4000), _reading(1, "b1", A4000)], "admin"
    )
    ids = {g.uuid: g.id or 0 for g in store.inventory.list_gpus()}
    store.bookings.set_gpu_bookable(ids["b1"], False, "admin")
    t0 = int(T.timestamp())
    rows = [
        _hour(ids[uid], t0 + n * 3600, busy)
        for uid, hours in BUSY.items()
        for n, busy in enumerate(hours)
        if busy is not None
    ]
    store.usage.import_hours(rows, [], t0 + 4 * 3600)
    for uid, a, z, status in (
        ("a1", T, T + H / 2, BookingStatus.BOOKED),
        ("a0", T + 2 * H, T + 3 * H, BookingStatus.FINISHED),
        ("a1", T + 2 * H, T + 3 * H, BookingStatus.CANCELLED),
        ("a1", T + 2 * H, T + 3 * H, BookingStatus.PENDING),
        ("a1", T + 3 * H, T + 3 * H + H / 3, BookingStatus.RELEASED),
    ):
        store.bookings.create_bookings(
            str(uuid.uuid4()), [ids[uid]], "amy", Window(a, z), status, "", "amy"
        )
    return store


def test_saturated_hours_from_rollups_and_bookings(store: Store) -> None:
    usage = UsageService(store, clock=lambda: T + 5 * H)
    evidence = usage.evidence(T, T + 24 * H)
    assert evidence.until == T + 5 * H
    assert list(evidence.saturation) == [
        SaturationFigure(MONTH, A40, 2, 4, 2),
        SaturationFigure(MONTH, A4000, 1, 4, 2),
    ]
    assert evidence.saturation[0].share == 0.5
    # Per hour: the page's line at one point per hour.
    lines = usage.saturation_series(T, T + 4 * H, step=H)
    assert [(s.model, s.shares) for s in lines] == [
        (A40, (1.0, 1.0, 0.0, 0.0)),
        (A4000, (0.0, 0.0, 1.0, 1.0)),
    ]
    (day,) = [s for s in usage.saturation_series(T, T + 24 * H) if s.model == A40]
    assert (day.starts, day.shares) == ((int(T.timestamp()),), (0.5,))


def test_saturation_with_gpu_ids_far_apart(db_url: str) -> None:
    # 70 GPUs between the servers: the ids no longer fit one 62-bit mask column.
    store = _build(db_url, filler=70)
    try:
        ids = sorted(g.id or 0 for g in store.inventory.list_gpus())
        assert ids[-1] - ids[0] > 62
        usage = UsageService(store, clock=lambda: T + 5 * H)
        assert list(usage.evidence(T, T + 24 * H).saturation) == [
            SaturationFigure(MONTH, A40, 2, 4, 2),
            SaturationFigure(MONTH, A4000, 1, 4, 2),
        ]
        lines = usage.saturation_series(T, T + 4 * H, step=H)
        assert [(s.model, s.shares) for s in lines] == [
            (A40, (1.0, 1.0, 0.0, 0.0)),
            (A4000, (0.0, 0.0, 1.0, 1.0)),
        ]
    finally:
        store.close()


def test_hours_not_reached_yet_are_not_counted(store: Store) -> None:
    usage = UsageService(store, clock=lambda: T + 2 * H)  # now: only H0 and H1 have passed
    figures = usage.evidence(T, T + 24 * H).saturation
    assert [(f.model, f.hours, f.saturated_hours) for f in figures] == [
        (A40, 2, 2),
        (A4000, 2, 0),
    ]


def _job(user: str, at: datetime) -> OffloadJob:
    return OffloadJob(
        0,
        f"job-{uuid.uuid4().hex[:8]}",
        "hpc",
        user,
        JobState.SUBMITTING,
        2,
        "a100",
        6.0,
        "python train.py",
        "/tmp/x",
        "/scratch/x",
        "/scratch/x/job",
        "#!/bin/sh",
        at,
    )


def test_waits_queues_and_demand(store: Store) -> None:
    def ask(
        user: str,
        model: str,
        n: int,
        h: float,
        at: timedelta,
        wait: float | None,
        rule: str | None = None,
    ) -> None:
        asked = T + at
        earliest = None if wait is None else asked + wait * H
        store.usage.add_request(SlotRequest(user, model, n, h, asked, asked, earliest, rule))

    ask("amy", A40, 1, 2.0, timedelta(minutes=10), 1.0)  # unmet: 2 GPU-h
    ask("amy", A40, 1, 3.0, timedelta(minutes=20), 0.0)  # met at once
    ask("amy", A40, 1, 1.0, timedelta(minutes=30), 3.0)  # unmet: 1 GPU-h
    ask("amy", A40, 2, 4.0, timedelta(minutes=40), None)  # no slot: 8 GPU-h
    ask("cy", A40, 1, 100.0, timedelta(minutes=50), None, "max_hours")  # refused: 100 GPU-h
    ask("bo", A4000, 1, 5.0, timedelta(minutes=5), None)  # no slot; bo offloads: 5 GPU-h
    # bo's job: submitted 01:00, started 01:30, ended 03:30 on two GPUs: 4 GPU-hours.
    job = store.offload.add_job(_job("bo", T + H))
    store.offload.update_job(
        job.id,
        state=JobState.COMPLETED.value,
        started_at=T + 1.5 * H,
        ended_at=T + 3.5 * H,
        elapsed_s=7200,
    )
    queued = store.offload.add_job(_job("dee", T + 2 * H))
    store.offload.update_job(queued.id, state=JobState.QUEUED.value)
    usage = UsageService(store, clock=lambda: T + 5 * H)
    evidence = usage.evidence(T, T + 24 * H)

    waits = {w.model: w for w in evidence.waits}
    # A40 waits 1, 0, 3 h (no slot counted apart, refusal left out): median rank 2 -> 1 h,
    # p90 rank ceil(2.7) = 3 -> 3 h.
    a40 = waits[A40]
    assert (a40.requests, a40.median_h, a40.p90_h, a40.no_slot) == (4, 1.0, 3.0, 1)
    assert (waits[A4000].requests, waits[A4000].median_h, waits[A4000].no_slot) == (1, None, 1)

    (queue,) = evidence.queues
    assert (queue.cluster, queue.jobs, queue.median_wait_h, queue.p90_wait_h) == (
        "hpc",
        2,
        0.5,
        0.5,
    )
    assert queue.median_turnaround_h == 2.5
    assert queue.gpu_hours == 4.0

    # Served: a1 0.5 h + a0 1 h + a1 1/3 h (the cancelled booking is not served).
    assert list(evidence.demand) == [
        DemandFigure(MONTH, A40, 0.5 + 1.0 + 1 / 3, 2.0 + 1.0 + 8.0, 0.0, 100.0),
        DemandFigure(MONTH, A4000, 0.0, 0.0, 5.0, 0.0),
    ]
    rows = evidence.to_json()["demand"]
    assert rows == [
        {
            "month": MONTH,
            "model": A40,
            "served_gpu_hours": 1.833,
            "unserved_gpu_hours": 11.0,
            "offloaded_gpu_hours": 0.0,
            "refused_gpu_hours": 100.0,
        },
        {
            "month": MONTH,
            "model": A4000,
            "served_gpu_hours": 0.0,
            "unserved_gpu_hours": 0.0,
            "offloaded_gpu_hours": 5.0,
            "refused_gpu_hours": 0.0,
        },
    ]


def test_a_slot_search_is_recorded_with_its_wait(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    try:
        ids = seed_lab(store)  # two A40s on gpu-03
        # A40s booked at once (not pending), so that kim's booking is served GPU-time.
        store.bookings.set_rules(BookingRules(approval_models=()), "admin")
        clock = Clock(NOW)
        kim = BookingService(store, "kim", clock)
        kim.book([ids["gpu-03:0"], ids["gpu-03:1"]], NOW, NOW + 3 * H)
        me = BookingService(store, "tester", clock)
        options = me.find_slots("A40", 1, 2 * H)
        assert options[0].start == NOW + 3 * H
        clock.now = NOW + H  # an hour later the member books the earliest slot of one A4000
        group = me.book_earliest("A4000", 1, H)
        assert group.window.start == NOW + H
        clock.now = NOW + 2 * H
        evidence = UsageService(store, clock).evidence(NOW - H, NOW + 4 * H)
        figures = {w.model: (w.requests, w.median_h, w.p90_h, w.no_slot) for w in evidence.waits}
        assert figures == {A40: (1, 3.0, 3.0, 0), A4000: (1, 0.0, 0.0, 0)}
        # Up to now: kim's two A40s for 2 h, the member's A4000 for its hour.
        served = {d.model: d.served_gpu_h for d in evidence.demand}
        assert served == {A40: 2 * 2.0, A4000: 1.0}
        unserved = {d.model: d.unserved_gpu_h for d in evidence.demand}
        assert unserved == {A40: 2.0, A4000: 0.0}
    finally:
        store.close()


def test_every_member_reads_the_same_evidence_in_a_lab_database(lab: Lab) -> None:
    """Under row-level security a student, the PI and the owner see the same figures: the
    evidence reads other members' bookings, requests and jobs, which every member may read."""
    t0 = int(T.timestamp())
    with lab.admin() as admin:
        for n, busy in enumerate((3600, 0)):
            admin.execute(
                "INSERT INTO usage_hour VALUES (%s, %s, 360, 360, 0, 0, 0, 0, NULL, 3600, %s)",
                (t0 + n * 3600, lab.gpu_id, busy),
            )
    owner = Store(lab.url)
    try:
        owner.bookings.create_bookings(
            str(uuid.uuid4()), [lab.gpu_id], lab.names["b"], Window(T + H, T + 2 * H),
            BookingStatus.BOOKED, "", lab.names["b"],
        )  # fmt: skip
    finally:
        owner.close()
    with lab.admin() as admin:  # a member's own rows are stamped now: the owner back-dates
        admin.execute(
            "INSERT INTO slot_requests (user_name, model, count, hours, asked_at, wanted_at, "
            "earliest_at) VALUES (%s, 'A100', 1, 3.0, %s, %s, %s)",
            (lab.names["a"], T, T, T + 2 * H),
        )
    found = []
    for who in ("a", "pi", None):
        url = lab.url if who is None else store_as(lab, who)
        store = Store(url)
        try:
            found.append(UsageService(store, clock=lambda: T + 3 * H).evidence(T, T + 3 * H))
        finally:
            store.close()
    first = found[0]
    assert [(f.model, f.hours, f.saturated_hours) for f in first.saturation] == [("A100", 2, 2)]
    assert [(w.requests, w.median_h) for w in first.waits] == [(1, 2.0)]
    assert [(d.model, d.served_gpu_h, d.unserved_gpu_h) for d in first.demand] == [
        ("A100", 1.0, 3.0)
    ]
    assert all(e == first for e in found[1:])


def store_as(lab: Lab, who: str) -> str:
    name = lab.names.get(who, who)
    return f"postgresql+psycopg://{name}@127.0.0.1:{lab.server.port}/{lab.dbname}"
