"""The what-if replay: the change's grammar, hand-computed replays, the replay of a history
booked for real giving back every recorded wait, and more GPUs never making a wait longer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.rules import BookingRules
from labgpu.core.booking.slots import SlotGpu
from labgpu.core.errors import UsageError
from labgpu.core.usage.figures import SlotRequest
from labgpu.core.usage.what_if import OffloadedJob, what_if
from labgpu.core.usage.what_if_change import (
    WHAT_IF_SERVER,
    GpuChange,
    changed_gpus,
    parse_change,
    resolve,
)
from labgpu.core.usage.what_if_replay import BookedGroup, History, Replay
from labgpu.services.usage.service import UsageService
from labgpu.services.usage.what_if import read_history, run_what_if
from labgpu.storage import Store
from tests.helpers.booking_lab import A40, A4000, seed_lab
from tests.usage.what_if_cases import MODELS, STEPS, book_history, histories

T = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)
LAB = (
    SlotGpu(1, "gpu-01", A4000, 16376),
    SlotGpu(2, "gpu-01", A4000, 16376),
    SlotGpu(3, "gpu-03", A40, 46068),
)


# -- the change -------------------------------------------------------------------------------


def test_changes_are_read_as_sign_count_model() -> None:
    assert parse_change("+8 A40") == (GpuChange(8, "A40"),)
    assert parse_change("+8 A40, -4  RTX A4000") == (
        GpuChange(8, "A40"),
        GpuChange(-4, "RTX A4000"),
    )
    assert parse_change("+2 x H100") == (GpuChange(2, "H100"),)
    assert parse_change("+0") == ()
    assert parse_change("  ") == ()


@pytest.mark.parametrize("text", ["8 A40", "+eight A40", "+8", "+8 A40,", "A40 +8", "-2"])
def test_a_change_that_is_not_one_says_the_grammar(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_change(text)
    assert caught.value.exit_code == 2
    assert '"+8 A40"' in str(caught.value)


def test_models_resolve_as_the_lab_names_them() -> None:
    assert resolve(parse_change("+8 A40, -1 A4000"), LAB) == (
        GpuChange(8, A40),
        GpuChange(-1, A4000),
    )
    assert resolve(parse_change("+2 H100"), LAB) == (GpuChange(2, "H100"),)  # new to the lab
    with pytest.raises(UsageError, match="several models"):
        resolve(parse_change("+1 NVIDIA"), LAB)
    with pytest.raises(UsageError, match="no 'H100' GPUs to remove"):
        resolve(parse_change("-1 H100"), LAB)


def test_added_gpus_sit_on_the_what_if_server_and_removed_ones_are_the_last() -> None:
    after = changed_gpus(LAB, resolve(parse_change("+2 A40, +1 H100, -1 A4000"), LAB))
    assert [g.id for g in after] == [1, 3, -1, -2, -3]
    assert after[2:] == [
        SlotGpu(-1, WHAT_IF_SERVER, A40, 46068),
        SlotGpu(-2, WHAT_IF_SERVER, A40, 46068),
        SlotGpu(-3, WHAT_IF_SERVER, "H100", None),
    ]
    with pytest.raises(UsageError, match="cannot remove 3 x NVIDIA RTX A4000: the lab has 2"):
        changed_gpus(LAB, resolve(parse_change("-3 A4000"), LAB))


# -- hand-computed replays --------------------------------------------------------------------


def _one_a40_history() -> tuple[History, list[OffloadedJob]]:
    """One A40, held 08-10 by a booking made the day before. Ann asks at 08:00 for it for 2 h
    (offered 10:00, a 2 h wait) and books it (10-12); Bo asks at 08:10 for 1 h (offered 12:00,
    3 h 50 min), books nothing and sends a 5 GPU-hour job to a cluster at 08:20."""
    a40 = (SlotGpu(3, "gpu-03", A40, 46068),)
    requests = (
        SlotRequest("ann", A40, 1, 2.0, T, T, T + 2 * H),
        SlotRequest("bo", A40, 1, 1.0, T + 10 * M, T + 10 * M, T + 4 * H),
    )
    groups = (
        BookedGroup("old", "cy", (3,), Window(T, T + 2 * H), T - 24 * H),
        BookedGroup("ann1", "ann", (3,), Window(T + 2 * H, T + 4 * H), T),
    )
    jobs = [OffloadedJob("bo", T + 20 * M, 5.0)]
    return History(a40, BookingRules(), requests, groups), jobs


def test_the_unchanged_replay_gives_back_what_happened() -> None:
    history, jobs = _one_a40_history()
    result = what_if(history, "+0", T, T + 24 * H, jobs)
    assert result.replayed == result.happened
    assert result.waits_before == (2.0, pytest.approx(3 + 50 / 60))
    happened = result.happened
    assert (happened.requests, happened.no_slot) == (2, 0)
    assert happened.wait_median_h == 2.0  # nearest rank: 1st of 2
    assert happened.wait_p90_h == pytest.approx(3 + 50 / 60)  # 2nd of 2
    assert (happened.unmet_requests, happened.unmet_gpu_h) == (2, 3.0)
    assert (happened.offloaded_gpu_h, happened.stayed_home_gpu_h) == (5.0, 0.0)


def test_two_more_a40s_serve_both_at_once_and_keep_the_job_home() -> None:
    history, jobs = _one_a40_history()
    result = what_if(history, "+2 A40", T, T + 24 * H, jobs)
    assert (result.gpus_before, result.gpus_after, result.method) == (1, 3, "monotone")
    assert result.waits_after == (0.0, 0.0)
    changed = result.changed
    assert (changed.wait_median_h, changed.wait_p90_h) == (0.0, 0.0)
    assert (changed.unmet_requests, changed.unmet_gpu_h) == (0, 0.0)
    assert (changed.offloaded_gpu_h, changed.stayed_home_gpu_h) == (0.0, 5.0)
    as_json = result.to_json()
    assert as_json["changes"] == [{"count": 2, "model": A40}]
    assert as_json["with_change"]["stayed_home_gpu_hours"] == 5.0
    assert as_json["happened"]["unmet_gpu_hours"] == 3.0


def test_one_more_a40_moves_ann_first_and_bo_to_what_ann_left() -> None:
    history, jobs = _one_a40_history()
    result = what_if(history, "+1 A40", T, T + 24 * H, jobs)
    # Ann moves to the new A40 at 08:00 (10-12 on the old one is free again); Bo, kept off
    # nothing else, gets 10:00 on the old A40: 1 h 50 min, still unmet, so the job still goes.
    assert result.waits_after == (0.0, pytest.approx(1 + 50 / 60))
    assert (result.changed.unmet_requests, result.changed.unmet_gpu_h) == (1, 1.0)
    assert result.changed.stayed_home_gpu_h == 0.0


def test_removing_the_only_a40_leaves_both_without_a_slot() -> None:
    history, jobs = _one_a40_history()
    result = what_if(history, "-1 A40", T, T + 24 * H, jobs)
    assert result.method == "greedy"
    assert result.waits_after == (None, None)
    assert (result.changed.no_slot, result.changed.wait_median_h) == (2, None)
    assert result.changed.unmet_gpu_h == 3.0


def test_a_request_a_rule_refused_is_not_counted() -> None:
    history, jobs = _one_a40_history()
    refused = SlotRequest("cy", A40, 1, 100.0, T, T, None, refused_rule="max_hours")
    history = History(history.gpus, history.rules, (*history.requests, refused), history.groups)
    result = what_if(history, "+2 A40", T, T + 24 * H, jobs)
    assert result.refused == 1
    assert result.changed.requests == 2


def _unreproduced_history() -> tuple[History, list[OffloadedJob]]:
    """``_one_a40_history`` plus one A4000 that cy's booking holds 08-10 in the record, yet
    dee, asking for it at 08:00 for 1 h, was offered 08:00 (cy cancelled: what the replay
    cannot know). The replay as is offers dee 10:00, a 2 h wait the lab never gave."""
    history, jobs = _one_a40_history()
    a4000 = SlotGpu(4, "gpu-04", A4000, 16376)
    dee = SlotRequest("dee", A4000, 1, 1.0, T, T, T)
    cy = BookedGroup("cy2", "cy", (4,), Window(T, T + 2 * H), T - 24 * H)
    gpus, groups = (*history.gpus, a4000), (*history.groups, cy)
    return History(gpus, history.rules, (*history.requests, dee), groups), jobs


def test_a_request_the_replay_cannot_reproduce_keeps_what_happened() -> None:
    history, jobs = _unreproduced_history()
    result = what_if(history, "+2 A40", T, T + 24 * H, jobs)
    assert result.waits_happened == (2.0, pytest.approx(3 + 50 / 60), 0.0)
    assert result.waits_before == (2.0, pytest.approx(3 + 50 / 60), 2.0)  # dee: 2 h, unmet
    assert result.not_reproduced == 1
    assert result.to_json()["not_reproduced"] == 1
    # dee keeps her real 08:00; the replay with two more A40s alone would still say 10:00.
    assert result.waits_after == (0.0, 0.0, 0.0)
    assert (result.replayed.unmet_requests, result.replayed.unmet_gpu_h) == (3, 4.0)
    assert (result.changed.unmet_requests, result.changed.unmet_gpu_h) == (0, 0.0)
    # one more A4000 serves dee at 08:00 in the replay too: the sooner of the two, the same.
    more = what_if(history, "+1 A4000", T, T + 24 * H, jobs)
    assert more.waits_after == (2.0, pytest.approx(3 + 50 / 60), 0.0)
    # with GPUs removed the replay's answer stands: dee waits 2 h there too.
    fewer = what_if(history, "-1 A40", T, T + 24 * H, jobs)
    assert (fewer.method, fewer.not_reproduced) == ("greedy", 1)
    assert fewer.waits_after == (None, None, 2.0)


def test_a_request_the_replay_answers_worse_takes_the_sooner_of_the_lab_and_the_change() -> None:
    """Bo really got 09:00 (someone gave the A40 back: the record cannot say); the replay as
    is offers him 12:00. With two more A40s the replay serves him at 08:10, sooner than the
    lab did: that stands."""
    history, jobs = _one_a40_history()
    ann, bo = history.requests
    bo = SlotRequest("bo", A40, 1, 1.0, T + 10 * M, T + 10 * M, T + H)
    history = History(history.gpus, history.rules, (ann, bo), history.groups)
    result = what_if(history, "+2 A40", T, T + 24 * H, jobs)
    assert result.waits_happened == (2.0, pytest.approx(50 / 60))
    assert result.waits_before == (2.0, pytest.approx(3 + 50 / 60))
    assert result.not_reproduced == 1
    assert result.waits_after == (0.0, 0.0)
    one = what_if(history, "+0", T, T + 24 * H, jobs)
    assert one.waits_after == (2.0, pytest.approx(50 / 60))  # the lab's 09:00, not the 12:00


def test_greedy_replay_would_make_a_member_wait_longer_with_more_gpus() -> None:
    """The case the property test found (what_if_replay's docstring): why the replay with GPUs
    added is monotone by construction."""
    a40s = (SlotGpu(2, "s1", A40, 46068), SlotGpu(3, "s1", A40, 46068))
    requests = (
        SlotRequest("ann", A40, 3, 1.0, T, T, None),  # three of two: unmet
        SlotRequest("bo", A40, 1, 1.0, T, T, T),  # served at once, not booked
    )
    history = History(a40s, BookingRules(), requests)
    more = changed_gpus(a40s, [GpuChange(1, A40)])
    base = Replay(history, a40s).greedy()
    greedy = Replay(history, more).greedy()
    assert [a.start for a in greedy] == [T, T + H]  # ann books all three: bo waits 1 h
    monotone = Replay(history, more).monotone(base)
    assert [a.start for a in monotone] == [T + H, T]  # ann keeps off bo's answer


# -- a history booked for real ------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    seed_lab(store)
    yield store
    store.close()


def test_replaying_a_booked_history_unchanged_gives_every_recorded_wait(store: Store) -> None:
    """Members book the earliest slot (and some only look) at a sequence of times on the
    booking lab (8 A4000s on two servers, 2 A40s); the replay of the lab as it is answers each
    request with the start the lab really offered."""
    book_history(store)
    recorded = UsageService(store).requests(T - H, T + 24 * H)
    assert len(recorded) == len(STEPS)
    # ann's A40 at 09:35 waits for her four A4000s to end (at most 4 GPUs at once): a rule's
    # delay, recorded apart and not counted, but replayed with her limit all the same.
    assert [r.refused_rule for r in recorded].count("max_gpus_at_once") == 1
    history = read_history(store, T - H, T + 24 * H)
    replay = Replay(history, history.gpus)
    assert len(replay.matched) == 8  # every booking found its request
    assert [a.start for a in replay.greedy()] == [r.earliest_at for r in recorded]
    waits = [r.wait / H for r in recorded if r.refused_rule is None and r.wait is not None]
    assert sum(w > 0 for w in waits) >= 3  # the history has waits to give back
    result = run_what_if(store, "+0", T - H, T + 24 * H)
    assert list(result.waits_before) == pytest.approx(waits)
    assert list(result.waits_after) == pytest.approx(waits)
    assert result.replayed == result.happened
    more = run_what_if(store, "+4 A4000, +2 A40", T - H, T + 24 * H)
    # cy's two A4000s, eve's look at an A40 and cy's two A40s later go to new GPUs at once;
    # eve's four A4000s wait for cy's two new ones (11:10: 2 h 40 min); bo still waits for
    # his own four to end (13:05, at most 4 at once); dee waits for the four new ones eve
    # holds until 13:10 and bo's old four, free at 13:05 (2 h 55 min).
    assert list(more.waits_after) == pytest.approx(
        [0, 0, 0, 0, 0, 2 + 40 / 60, 3 + 25 / 60, 2 + 55 / 60, 0]
    )


# -- more GPUs never make a wait longer ---------------------------------------------------------


def _longer(after: float | None, before: float | None) -> bool:
    if before is None:
        return False
    return after is None or after > before + 1e-9


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples every run: CI never meets a new one by chance
    suppress_health_check=[HealthCheck.too_slow],
)
@given(histories(), st.sampled_from((*MODELS, "H100")), st.integers(0, 3))
def test_adding_gpus_never_makes_a_wait_longer(history: History, model: str, n: int) -> None:
    result = what_if(history, f"+{n} {model}", T, T + 24 * H)
    assert len(result.waits_after) == len(result.waits_before) == len(result.waits_happened)
    waits = zip(result.waits_before, result.waits_after, result.waits_happened, strict=True)
    worse = 0
    for before, after, real in waits:
        assert not _longer(after, before)
        assert not _longer(after, real)  # no wait beyond what really happened
        worse += _longer(before, real)
        if n == 0:  # the replay as is, or what happened where the replay answered worse
            assert after == (real if _longer(before, real) else before)
    assert result.not_reproduced == worse
    assert result.changed.unmet_requests <= result.replayed.unmet_requests
