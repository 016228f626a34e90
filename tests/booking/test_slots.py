"""Earliest-slot search (core.booking.slots): examples, then hypothesis against brute force."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.slots import SlotGpu, SlotOption, find_earliest_slots, select_gpus

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def m(minutes: int) -> datetime:
    """``T0`` plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def w(start: int, end: int) -> Window:
    return Window(m(start), m(end))


HOUR = timedelta(hours=1)
LAB = [
    SlotGpu(1, "gpu-01", "NVIDIA RTX A4000", 16376),
    SlotGpu(2, "gpu-01", "NVIDIA RTX A4000", 16376),
    SlotGpu(3, "gpu-02", "NVIDIA RTX A4000", 16376),
    SlotGpu(4, "gpu-02", "NVIDIA RTX A4000", 16376),
    SlotGpu(5, "gpu-02", "NVIDIA RTX A4000", 16376),
    SlotGpu(6, "gpu-03", "NVIDIA A40", 46068),
]


def test_all_free_starts_now_on_fewest_servers() -> None:
    [first, *_] = find_earliest_slots(LAB, {}, 3, HOUR, m(0))
    assert first == SlotOption(m(0), m(60), (3, 4, 5), ("gpu-02",))
    assert first.window == w(0, 60)


def test_ties_go_to_lower_server_names_and_ids() -> None:
    options = find_earliest_slots(LAB, {}, 2, HOUR, m(0), same_server=True)
    assert [(o.servers, o.gpu_ids) for o in options] == [
        (("gpu-01",), (1, 2)),
        (("gpu-02",), (3, 4)),
    ]


def test_starts_when_a_busy_window_ends_back_to_back() -> None:
    busy = {1: [w(0, 60)], 2: [w(30, 90)]}
    options = find_earliest_slots(LAB[:2], busy, 2, HOUR, m(0))
    assert [o.start for o in options] == [m(90)]


def test_slot_may_end_exactly_when_a_busy_window_starts() -> None:
    options = find_earliest_slots(LAB[:1], {1: [w(60, 120)]}, 1, HOUR, m(0))
    assert options[0].start == m(0)


def test_gap_too_short_is_skipped() -> None:
    busy = {1: [w(0, 60), w(100, 200)]}  # a 40-minute gap cannot hold an hour
    options = find_earliest_slots(LAB[:1], busy, 1, HOUR, m(0))
    assert options[0].start == m(200)


def test_overlapping_busy_windows_are_merged() -> None:
    busy = {1: [w(50, 120), w(0, 60), w(120, 130)]}  # maintenance + bookings, unsorted
    options = find_earliest_slots(LAB[:1], busy, 1, HOUR, m(0), alternatives=1)
    assert options == [SlotOption(m(130), m(190), (1,), ("gpu-01",))]


def test_alternatives_are_next_distinct_starts() -> None:
    busy = {1: [w(0, 30)], 2: [w(0, 10)], 3: [w(0, 20)]}
    options = find_earliest_slots(LAB[:3], busy, 2, HOUR, m(0), alternatives=3)
    # At 20 only GPUs 2 and 3 are free; at 30 all are, and one server is preferred to two.
    assert [(o.start, o.gpu_ids) for o in options] == [(m(20), (2, 3)), (m(30), (1, 2))]
    # After the last busy end nothing new opens: later starts would be the same GPUs again.
    options = find_earliest_slots(LAB[:3], busy, 3, HOUR, m(0), alternatives=3)
    assert [o.start for o in options] == [m(30)]


def test_same_server_gives_earliest_per_server() -> None:
    busy = {3: [w(0, 120)], 1: [w(0, 60)]}
    options = find_earliest_slots(LAB, busy, 2, HOUR, m(0), same_server=True)
    assert [(o.start, o.servers, o.gpu_ids) for o in options] == [
        (m(0), ("gpu-02",), (4, 5)),
        (m(60), ("gpu-01",), (1, 2)),
    ]


def test_same_server_needs_enough_gpus_on_one_server() -> None:
    assert find_earliest_slots(LAB, {}, 4, HOUR, m(0), same_server=True) == []
    [spread] = find_earliest_slots(LAB, {}, 4, HOUR, m(0), alternatives=1)
    assert spread.servers == ("gpu-01", "gpu-02")


def test_deadline_bounds_the_end() -> None:
    busy = {1: [w(0, 60)]}
    assert find_earliest_slots(LAB[:1], busy, 1, HOUR, m(0), deadline=m(119)) == []
    options = find_earliest_slots(LAB[:1], busy, 1, HOUR, m(0), deadline=m(120))
    assert options == [SlotOption(m(60), m(120), (1,), ("gpu-01",))]


def test_more_gpus_than_exist_finds_nothing() -> None:
    assert find_earliest_slots(LAB, {}, 7, HOUR, m(0)) == []


def test_step_rounds_starts_up_onto_the_grid() -> None:
    busy = {1: [w(0, 47)]}
    options = find_earliest_slots(LAB[:1], busy, 1, HOUR, m(5), step=timedelta(minutes=15))
    assert options[0].start == m(50)


def test_busy_gpus_outside_the_pool_are_ignored() -> None:
    options = find_earliest_slots(LAB[:1], {99: [w(0, 600)]}, 1, HOUR, m(0))
    assert options[0].start == m(0)


def test_result_is_in_utc() -> None:
    after = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Seoul"))
    [first, *_] = find_earliest_slots(LAB[:1], {}, 1, HOUR, after)
    assert first.start == after
    assert first.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "count must be at least 1"),
        ({"duration": timedelta(0)}, "duration must be positive"),
        ({"alternatives": 0}, "alternatives must be at least 1"),
        ({"step": timedelta(0)}, "step must be positive"),
        ({"after": datetime(2026, 12, 1)}, "search start .* no time zone"),
        ({"deadline": datetime(2026, 12, 2)}, "deadline .* no time zone"),
    ],
)
def test_bad_arguments_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"count": 1, "duration": HOUR, "after": m(0)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        find_earliest_slots(LAB, {}, **args)  # type: ignore[arg-type]


def test_select_gpus_by_model_and_memory() -> None:
    assert [g.id for g in select_gpus(LAB, model="A40")] == [6]
    assert [g.id for g in select_gpus(LAB, model="a4000")] == [1, 2, 3, 4, 5]
    assert [g.id for g in select_gpus(LAB, min_memory_mb=40 * 1024)] == [6]
    assert select_gpus(LAB, model="A100") == []
    unknown = SlotGpu(7, "gpu-04", "NVIDIA A40", None)
    assert select_gpus([unknown], min_memory_mb=1) == []
    assert select_gpus([unknown]) == [unknown]


# --- property tests against a brute-force search over every minute -------------------------


@dataclass(frozen=True)
class Instance:
    gpus: tuple[SlotGpu, ...]
    spans: Mapping[int, Sequence[tuple[int, int]]]  # gpu id -> busy [start, end) in minutes
    count: int
    duration: int  # minutes
    after: int
    deadline: int | None
    same_server: bool
    alternatives: int
    step: int | None

    def run(self) -> list[SlotOption]:
        return find_earliest_slots(
            self.gpus,
            {i: [w(start, end) for start, end in spans] for i, spans in self.spans.items()},
            self.count,
            timedelta(minutes=self.duration),
            m(self.after),
            None if self.deadline is None else m(self.deadline),
            same_server=self.same_server,
            alternatives=self.alternatives,
            step=None if self.step is None else timedelta(minutes=self.step),
        )


@st.composite
def instances(draw: st.DrawFn, *, with_step: bool = False) -> Instance:
    # A coarse unit makes windows touch often: back-to-back edges are where mistakes hide.
    unit = draw(st.sampled_from([1, 10, 30]))

    def minutes(low: int, high: int) -> int:
        return draw(st.integers(low // unit, high // unit)) * unit

    n_servers = draw(st.integers(1, 3))
    ids = draw(st.lists(st.integers(1, 50), min_size=1, max_size=6, unique=True))
    gpus = tuple(SlotGpu(i, f"s{draw(st.integers(1, n_servers))}", "NVIDIA A4000") for i in ids)
    busy: dict[int, list[tuple[int, int]]] = {}
    for gpu in gpus:
        starts = [minutes(0, 300) for _ in range(draw(st.integers(0, 4)))]
        busy[gpu.id] = [(start, start + minutes(unit, 90)) for start in starts]
    after = minutes(0, 120)
    return Instance(
        gpus=gpus,
        spans=busy,
        count=draw(st.integers(1, 4)),
        duration=minutes(unit, 120),
        after=after,
        deadline=draw(st.none() | st.just(after + minutes(0, 400))),
        same_server=draw(st.booleans()),
        alternatives=draw(st.integers(1, 4)),
        step=draw(st.sampled_from([1, 5, 7, 15, 30])) if with_step else None,
    )


def _is_free(inst: Instance, gpu_id: int, start: int, end: int) -> bool:
    """Brute force on whole minutes, independent of ``Window.overlaps``."""
    return all(e <= start or end <= s for s, e in inst.spans.get(gpu_id, ()))


def _feasible_at(inst: Instance, start: int, server: str | None = None) -> bool:
    """Brute force: can ``count`` GPUs (on one server if asked) be held from ``start``?"""
    if inst.deadline is not None and start + inst.duration > inst.deadline:
        return False
    free = [g for g in inst.gpus if _is_free(inst, g.id, start, start + inst.duration)]
    if server is not None:
        return sum(g.server == server for g in free) >= inst.count
    if inst.same_server:
        return any(sum(g.server == s for g in free) >= inst.count for s in {g.server for g in free})
    return len(free) >= inst.count


def _starts(inst: Instance, until: int | None = None) -> range:
    """Every start the brute force must try: each minute (or grid point) up to ``until``."""
    horizon = max([inst.after, *(e for spans in inst.spans.values() for _, e in spans)])
    step = inst.step or 1
    # Past the last busy end everything is free: one grid point beyond it is enough.
    last = horizon + step - 1 if inst.deadline is None else inst.deadline
    stop = last + 1 if until is None else until
    return range(inst.after, stop, step)


def _minutes(moment: datetime) -> int:
    seconds = (moment - T0).total_seconds()
    assert seconds % 60 == 0
    return int(seconds // 60)


def _check_feasible(inst: Instance, option: SlotOption) -> None:
    by_id = {g.id: g for g in inst.gpus}
    assert option.end - option.start == timedelta(minutes=inst.duration)
    assert len(set(option.gpu_ids)) == len(option.gpu_ids) == inst.count
    assert option.gpu_ids == tuple(sorted(option.gpu_ids))
    assert option.servers == tuple(sorted({by_id[i].server for i in option.gpu_ids}))
    start, end = _minutes(option.start), _minutes(option.end)
    assert all(_is_free(inst, i, start, end) for i in option.gpu_ids)
    assert option.start >= m(inst.after)
    assert inst.deadline is None or option.end <= m(inst.deadline)
    assert not inst.same_server or len(option.servers) == 1
    assert (_minutes(option.start) - inst.after) % (inst.step or 1) == 0


def _check_earliest(inst: Instance, options: list[SlotOption]) -> None:
    if not options:
        assert not any(_feasible_at(inst, t) for t in _starts(inst))
        return
    first = _minutes(options[0].start)
    assert not any(_feasible_at(inst, t) for t in _starts(inst, until=first))
    assert _feasible_at(inst, first)


def _check_alternatives(inst: Instance, options: list[SlotOption]) -> None:
    assert len(options) <= inst.alternatives
    starts = [o.start for o in options]
    assert starts == sorted(starts)
    if not inst.same_server:
        assert len(set(starts)) == len(starts)
        return
    servers = [o.servers[0] for o in options]
    assert len(set(servers)) == len(servers)
    for option, server in zip(options, servers, strict=True):  # each is its server's earliest
        start = _minutes(option.start)
        assert not any(_feasible_at(inst, t, server) for t in _starts(inst, until=start))
    feasible_servers = {
        s
        for s in {g.server for g in inst.gpus}
        if any(_feasible_at(inst, t, s) for t in _starts(inst))
    }
    assert len(options) == min(inst.alternatives, len(feasible_servers))


@settings(max_examples=200, deadline=None)
@given(instances())
def test_slots_are_feasible_and_earliest(inst: Instance) -> None:
    options = inst.run()
    for option in options:
        _check_feasible(inst, option)
    _check_earliest(inst, options)
    _check_alternatives(inst, options)


@settings(max_examples=100, deadline=None)
@given(instances(with_step=True))
def test_slots_on_a_step_grid_are_feasible_and_earliest(inst: Instance) -> None:
    options = inst.run()
    for option in options:
        _check_feasible(inst, option)
    _check_earliest(inst, options)
    _check_alternatives(inst, options)
