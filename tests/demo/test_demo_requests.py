"""The demo lab's evidence: the slot requests behind its bookings and the waits its own calendar
imposed, its projects on bookings, offloaded jobs and requests, and its example prices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import BookingStatus
from labgpu.demo import lab as demo
from labgpu.demo.model import A40, A4000, DEFAULT_SEED, DemoLab, JobKind, generate_lab
from labgpu.demo.offload_model import plan_offload
from labgpu.demo.reference import PROJECTS, cancelled_at, decided_at
from labgpu.demo.requests import booking_requests
from labgpu.storage import Store
from labgpu.storage.models import BookingRow

NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)
#: Bookings that hold their GPUs in the stored history (a released one up to its release).
HOLDING = {BookingStatus.BOOKED.value, BookingStatus.PENDING.value, BookingStatus.RELEASED.value}

Span = tuple[datetime, datetime]


def database_url(folder: Path) -> str:
    info = demo.DemoInfo.read(folder / demo.INFO_NAME)
    assert info is not None
    return demo.sqlite_url(folder / info.database)


@pytest.fixture
def store(demo_template: tuple[Path, DemoLab]) -> Iterator[Store]:
    store = Store(database_url(demo_template[0]))
    yield store
    store.close()


def booking_rows(store: Store) -> list[BookingRow]:
    """Every stored booking row, read by direct SQL (created and decided times included)."""
    engine = create_engine(store.url)
    try:
        with Session(engine) as s:
            rows = list(s.scalars(select(BookingRow)))
            s.expunge_all()
            return rows
    finally:
        engine.dispose()


def held_when_asked(
    rows: Sequence[BookingRow], gpu_id: int, asked: datetime, group: str = ""
) -> list[Span]:
    """The windows in which ``gpu_id`` was held by a booking that existed at ``asked`` (other
    than ``group``): made by then and still holding (booked, pending, released up to its
    release) or a request not yet rejected then; cancelled bookings are left out."""
    spans = []
    for row in rows:
        if row.gpu_id != gpu_id or row.created_at > asked or row.group_id == group:
            continue
        # A rejected request is stored cancelled, with the PI's decision time.
        rejected_later = row.status == BookingStatus.CANCELLED.value and (
            row.decided_at is not None and row.decided_at > asked
        )
        if row.status in HOLDING or rejected_later:
            spans.append((row.start_ts, row.end_ts))
    return sorted(spans)


def free_gpus(held: Sequence[Sequence[Span]], lo: datetime, hi: datetime) -> int:
    """How many GPUs (one list of held windows each) are free over ``[lo, hi)``."""
    return sum(not any(a < hi and lo < b for a, b in spans) for spans in held)


def test_free_gpus_counts_those_free_for_the_whole_window() -> None:
    t = NOW
    h = timedelta(hours=1)
    held = [[(t, t + 2 * h)], [(t + 3 * h, t + 5 * h)], [], [(t - h, t), (t + 4 * h, t + 6 * h)]]
    assert free_gpus(held, t, t + h) == 3  # the first is held; the last was held until t
    assert free_gpus(held, t + 2 * h, t + 4 * h) == 3  # only the second (from 3 h) is held
    assert free_gpus(held, t + 2 * h, t + 5 * h) == 2  # and the last, from 4 h
    assert free_gpus(held, t + h, t + 3 * h) == 3  # a window may end where a booking starts


# -- the model ------------------------------------------------------------------------------


def test_every_searched_booking_is_a_request_and_most_wait_nothing() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    requests = booking_requests(lab)
    searched = [j for j in lab.jobs if j.searched]
    assert len(requests) == len(searched) > 300
    starts = Counter((j.member, j.start, j.requested_at) for j in searched)
    assert Counter((r.member, r.earliest_at, r.asked_at) for r in requests) == starts
    for request in requests:
        assert request.asked_at is not None
        assert request.earliest_at is not None
        assert request.asked_at <= request.wanted_at <= request.earliest_at
        assert request.refused_rule is None
    waits = {model: [r.wait for r in requests if r.model == model] for model in (A4000, A40)}
    # 15 members holding at most 4 GPUs each never take all 48 A4000s: nobody waits for them.
    assert set(waits[A4000]) == {timedelta(0)}
    waited = [w for w in waits[A40] if w]
    assert waited  # the four A40s are all taken now and then
    assert len(waited) < len(waits[A40]) / 3  # most A40 requests are served when wanted
    assert all(timedelta(0) < w <= timedelta(hours=48) for w in waited if w)
    assert booking_requests(generate_lab(DEFAULT_SEED, NOW)) == requests


def test_the_unserved_had_no_slot_before_the_one_the_lab_offered() -> None:
    """An unserved request with a slot (too late: the member offloaded) had no earlier one:
    at its wanted start and each moment a GPU of its model came free before the slot, fewer
    GPUs than it asked for were free for its whole length, as the lab stood when asked
    (booked or busy; a booking cancelled, rejected or given back by then held nothing)."""
    lab = generate_lab(DEFAULT_SEED, NOW)
    holds: dict[int, list[tuple[datetime, datetime, datetime, datetime | None]]] = {}
    for job in lab.jobs:
        gone: datetime | None = None
        if job.kind is JobKind.CANCELLED:
            gone = cancelled_at(job.requested_at, job.start)
        elif job.kind is JobKind.REJECTED:
            gone = decided_at(job.requested_at, job.start, lab.now)
        made = job.start if job.kind is JobKind.UNBOOKED else job.requested_at
        spans = [(job.start, job.end, made, gone)]
        if job.released_at is not None:
            spans = [(job.start, job.released_at, made, None)]
            spans.append((job.released_at, job.end, made, job.released_at))
        for gpu in job.gpus:
            holds.setdefault(gpu, []).extend(spans)
    for block in lab.maintenance:
        for gpu in block.gpus:
            holds.setdefault(gpu, []).append((block.start, block.end, lab.start, None))

    def free(gpu: int, lo: datetime, hi: datetime, asked: datetime) -> bool:
        return not any(
            a < hi and lo < b and (made <= asked or a <= asked) and (gone is None or gone > asked)
            for a, b, made, gone in holds.get(gpu, [])
        )

    late = [u for u in lab.unmet if u.earliest_at is not None]
    assert late
    for request in late:
        assert request.earliest_at is not None
        gpus = [i for i, g in enumerate(lab.gpus) if g.model == request.model]
        ends = {b for g in gpus for _a, b, _m, _g in holds.get(g, [])}
        moments = {request.wanted_at} | {
            t for t in ends if request.wanted_at < t < request.earliest_at
        }
        length = timedelta(hours=request.hours)
        for t in sorted(moments):
            n = sum(free(g, t, t + length, request.wanted_at) for g in gpus)
            assert n < request.count, (request, t)


def test_members_work_for_their_usual_project() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    known = {name for name, _title in PROJECTS}
    for member in lab.members:
        named = Counter(j.project for j in lab.jobs if j.member == member.name)
        assert named.most_common(1)[0][0] == member.project
        assert set(named) <= known | {None}
    assert sum(j.project is None for j in lab.jobs) < len(lab.jobs) / 10
    assert all(r.project == lab.member(r.member).project or r.project in known | {None}
               for r in lab.unmet)  # fmt: skip


# -- the database ---------------------------------------------------------------------------


def test_stored_requests_are_the_bookings_searches_and_the_unserved(
    store: Store, demo_template: tuple[Path, DemoLab]
) -> None:
    lab = demo_template[1]
    stored = store.usage.requests(lab.start - timedelta(days=14), lab.now + timedelta(days=1))
    expected = booking_requests(lab)
    assert len(stored) == len(expected) + len(lab.unmet)
    groups: dict[tuple[str, datetime, datetime], set[tuple[int, str | None]]] = {}
    for row in booking_rows(store):
        key = (row.user_name, row.created_at, row.start_ts)
        groups.setdefault(key, set()).add((row.gpu_id, row.project))
    served = [r for r in stored if r.refused_rule is None and r.earliest_at is not None]
    matched = 0
    for request in served:
        assert request.earliest_at is not None
        group = groups.get((request.user_name, request.asked_at, request.earliest_at))
        if group is None:
            continue  # an unserved one: its slot was too late and the member offloaded
        matched += 1
        assert len(group) == request.count
        assert {project for _gpu, project in group} == {request.project}
    assert matched == len(expected)


def test_every_wait_is_one_the_demos_bookings_imposed(
    store: Store, demo_template: tuple[Path, DemoLab]
) -> None:
    """Checked against the stored bookings by direct SQL: from the wanted start, at it and
    at each moment a booking of the model ended before the offered start (where free windows
    begin), fewer GPUs than asked for were free for the request's whole length, as the lab
    stood when it was asked; at the offered start there were enough."""
    lab = demo_template[1]
    stored = store.usage.requests(lab.start - timedelta(days=14), lab.now + timedelta(days=1))
    rows = booking_rows(store)
    # The requests behind bookings: the group booked as asked, on the start the lab offered.
    groups = {(r.user_name, r.created_at, r.start_ts): r.group_id for r in rows}
    gpus = {model: [g.id or 0 for g in store.inventory.list_gpus() if g.model == model]
            for model in (A4000, A40)}  # fmt: skip
    waited = 0
    for request in stored:
        group = groups.get((request.user_name, request.asked_at, request.earliest_at))
        if request.refused_rule is not None or group is None or not request.wait:
            continue
        waited += 1
        assert request.earliest_at is not None
        assert request.asked_at <= request.wanted_at < request.earliest_at
        held = [held_when_asked(rows, g, request.asked_at, group) for g in gpus[request.model]]
        ends = {b for spans in held for _a, b in spans}
        length = timedelta(hours=request.hours)
        moments = {request.wanted_at} | {
            t for t in ends if request.wanted_at < t < request.earliest_at
        }
        for t in sorted(moments):
            assert free_gpus(held, t, t + length) < request.count, (request, t)
        start = request.earliest_at
        assert free_gpus(held, start, start + length) >= request.count, request
    assert waited


def test_bookings_offloaded_jobs_and_requests_carry_projects(
    store: Store, demo_template: tuple[Path, DemoLab]
) -> None:
    lab = demo_template[1]
    assert [(p.name, p.title, p.active) for p in store.projects.list()] == sorted(
        (name, title, True) for name, title in PROJECTS
    )
    known = {name for name, _title in PROJECTS}
    bookings = store.bookings.list_bookings()
    named = Counter(b.project for b in bookings)
    assert set(named) <= known | {None}
    assert named[None] < len(bookings) / 10
    assert len(set(named) - {None}) == len(PROJECTS)
    jobs = store.offload.list_jobs()
    assert jobs
    plans = {p.name: p.project for p in plan_offload(lab)}
    assert {j.name: j.project for j in jobs} == plans
    assert all(j.project in known for j in jobs if j.project is not None)
    requests = store.usage.requests(lab.start - timedelta(days=14), lab.now + timedelta(days=1))
    assert {r.project for r in requests} - {None} == known
    # A member's default project (their newest work's) is one of the lab's.
    assert store.projects.newest_of(lab.members[2].name) in known


def test_prices_are_set_for_both_models(store: Store) -> None:
    prices = {p.model: p for p in store.prices.list()}
    assert set(prices) == {A4000, A40}
    for price in prices.values():
        assert price.currency == "USD"
        assert price.cloud_per_gpu_h is not None
        assert price.cluster_per_gpu_h is not None
        assert price.purchase_per_gpu is not None
        assert 0 < price.cluster_per_gpu_h < price.cloud_per_gpu_h
        assert price.updated_by == "lee.seungho"  # the lab's manager set them
    cheap, dear = prices[A4000], prices[A40]
    assert cheap.purchase_per_gpu is not None
    assert dear.purchase_per_gpu is not None
    assert 0 < cheap.purchase_per_gpu < dear.purchase_per_gpu
    assert cheap.cloud_per_gpu_h is not None
    assert dear.cloud_per_gpu_h is not None
    assert cheap.cloud_per_gpu_h < dear.cloud_per_gpu_h
