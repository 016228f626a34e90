"""What-if replay of a month: "what would 8 more A40s have changed?" (issue 16, point 6).

The lab: 52 GPUs (12 servers x 4 RTX A4000 + 1 server x 4 A40) and a month (November 2030) of
5,000 slot requests from 30 members, recorded the way the lab records them: each asked at a
random moment (now, or for a start up to two days ahead), answered with the earliest start
the slot search offered on what was booked then, and booked in 7 of 10 cases (the booking
made when asked); 300 more bookings are made on the calendar without a search. A member
whose request went unserved for 30 min or more sends half the time a job to a cluster. The
history is built with the same search, so the replay of the lab as it is must give it back
(``replay_matches_history``).

Figures (medians of ``--runs``):
  replay_s             ``what_if(history, "+8 A40")``: the unchanged replay and the monotone
                       replay with 8 A40s added, and the figures (target <= 5)
  baseline_s           one pass of the plain slot search over the same 5,000 requests on the
                       month's bookings as they stand, each given its horizon's windows (no
                       replay): the replay runs the search two or three times per request
  ratio                replay_s / baseline_s, same run
  what_if_sqlite_s     ``lab.usage.what_if`` on a SQLite lab holding that month's requests and
                       bookings (no offloaded jobs: those need clusters): reading, then the
                       replay
  waits (h), unmet GPU-hours and offloaded GPU-hours that stay home, as the replay says

Usage: .venv/bin/python bench/what_if.py [--requests 5000] [--runs 3] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import BookingRules
from labgpu.core.booking.slots import SlotGpu, find_earliest_slots, select_gpus
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.core.usage.figures import SlotRequest
from labgpu.core.usage.what_if import OffloadedJob, what_if
from labgpu.core.usage.what_if_replay import BookedGroup, History
from labgpu.services.usage.service import UsageService
from labgpu.storage import Store

MONTH = datetime(2030, 11, 1, tzinfo=UTC)
MONTH_END = datetime(2030, 12, 1, tzinfo=UTC)
H = timedelta(hours=1)
A4000, A40 = "NVIDIA RTX A4000", "NVIDIA A40"
MEMBERS = [f"member{i:02d}" for i in range(30)]
RULES = BookingRules(max_gpus_at_once=64)  # the members' own limits never bind here
CHANGE = "+8 A40"


def lab_gpus() -> tuple[SlotGpu, ...]:
    """13 servers of 4 GPUs, ids 1..52 (as ``seed_store`` registers them)."""
    gpus = []
    for n in range(13):
        model = A40 if n == 12 else A4000
        for i in range(4):
            gpus.append(
                SlotGpu(n * 4 + i + 1, f"gpu-{n + 1:02d}", model, 46068 if n == 12 else 16376)
            )
    return tuple(gpus)


def _ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def build_history(count: int, rng: random.Random) -> tuple[History, list[OffloadedJob]]:
    """The month's requests and bookings, each answered by the slot search on what was booked
    when it was asked."""
    gpus = lab_gpus()
    busy: dict[int, list[Window]] = defaultdict(list)
    asked = sorted(MONTH + rng.random() * (MONTH_END - MONTH) for _ in range(count + 300))
    calendar = set(rng.sample(range(len(asked)), 300))
    requests: list[SlotRequest] = []
    groups: list[BookedGroup] = []
    jobs: list[OffloadedJob] = []
    for n, at in enumerate(asked):
        at = at.replace(microsecond=0)
        user = rng.choice(MEMBERS)
        model = rng.choice((A4000, A4000, A4000, A40, "any"))
        gpu_count = rng.choice((1, 1, 1, 1, 2, 2, 4))
        hours = float(rng.choice((1, 2, 2, 4, 4, 8, 12)))
        ahead = 0 if rng.random() < 0.7 else rng.randint(1, 48)
        wanted = at + ahead * H
        duration = hours * H
        after = _ceil_minute(wanted)
        deadline = at + timedelta(days=RULES.horizon_days) + duration
        pool = select_gpus(gpus, None if model == "any" else model)
        options = find_earliest_slots(
            pool, busy, gpu_count, duration, after, deadline, alternatives=1
        )
        option = options[0] if options else None
        if n in calendar:  # booked on the calendar: no request recorded
            if option is not None:  # by whoever keeps the calendar, not a member's search
                group_id = str(uuid.uuid4())
                groups.append(BookedGroup(group_id, "calendar", option.gpu_ids, option.window, at))
                for g in option.gpu_ids:
                    busy[g].append(option.window)
            continue
        start = None if option is None else option.start
        request = SlotRequest(user, model, gpu_count, hours, at, wanted, start)
        requests.append(request)
        if option is not None and rng.random() < 0.7:
            groups.append(BookedGroup(str(uuid.uuid4()), user, option.gpu_ids, option.window, at))
            for g in option.gpu_ids:
                busy[g].append(option.window)
        elif request.unmet and rng.random() < 0.5:
            jobs.append(OffloadedJob(user, at + 10 * timedelta(minutes=1), gpu_count * hours))
    return History(gpus, RULES, tuple(requests), tuple(groups)), jobs


def plain_pass(history: History) -> float:
    """Seconds of one plain slot search per request on the month's bookings as they stand,
    each given the windows of its horizon only (as ``SlotFinder`` reads them)."""
    by_gpu: dict[int, list[Window]] = defaultdict(list)
    for group in history.groups:
        for g in group.gpu_ids:
            by_gpu[g].append(group.window)
    starts = {g: sorted(w.start for w in ws) for g, ws in by_gpu.items()}
    windows = {g: sorted(ws, key=lambda w: w.start) for g, ws in by_gpu.items()}
    longest = max((w.duration for ws in by_gpu.values() for w in ws), default=H)
    began = time.perf_counter()
    for r in history.requests:
        pool = select_gpus(history.gpus, None if r.model == "any" else r.model)
        after = _ceil_minute(r.wanted_at)
        deadline = r.asked_at + timedelta(days=RULES.horizon_days) + r.hours * H
        busy = {}
        for gpu in pool:
            first = bisect_left(starts.get(gpu.id, []), after - longest)
            last = bisect_left(starts.get(gpu.id, []), deadline)
            busy[gpu.id] = [w for w in windows.get(gpu.id, [])[first:last] if w.end > after]
        find_earliest_slots(pool, busy, r.count, r.hours * H, after, deadline, alternatives=1)
    return time.perf_counter() - began


def seed_store(store: Store, history: History, jobs: list[OffloadedJob]) -> None:
    """The same month in a SQLite lab: GPUs, bookings (made when asked), requests."""
    for n in range(13):
        name = f"gpu-{n + 1:02d}"
        model = A40 if n == 12 else A4000
        readings = [
            GpuReading(i, f"{name}-{i}", model, 16376, 0, 0.0, 30.0, 50.0) for i in range(4)
        ]
        store.inventory.register_server(name, SshTarget(f"{name}.lab"), readings, "bench")
    store.bookings.set_rules(RULES, "bench")
    for g in history.groups:
        store.bookings.create_bookings(
            g.group_id, g.gpu_ids, g.user_name, g.window, BookingStatus.BOOKED, "", "bench",
            created_at=g.created_at,
        )  # fmt: skip
    store.usage.add_requests(history.requests)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    rng = random.Random(16)
    history, jobs = build_history(args.requests, rng)
    groups = len(history.groups)
    print(f"{len(history.requests)} requests, {groups} booking groups, {len(jobs)} offloaded jobs")
    replays, plains = [], []
    result = None
    for _ in range(args.runs):
        began = time.perf_counter()
        result = what_if(history, CHANGE, MONTH, MONTH_END, jobs)
        replays.append(time.perf_counter() - began)
        plains.append(plain_pass(history))
    assert result is not None
    figures: dict[str, object] = {
        "requests": len(history.requests),
        "replay_s": round(median(replays), 3),
        "baseline_s": round(median(plains), 3),
        "ratio": round(median(replays) / median(plains), 2),
        "replay_matches_history": result.replayed == result.happened,
        "happened_wait_median_h": _hours(result.happened.wait_median_h),
        "happened_wait_p90_h": _hours(result.happened.wait_p90_h),
        "with_change_wait_median_h": _hours(result.changed.wait_median_h),
        "with_change_wait_p90_h": _hours(result.changed.wait_p90_h),
        "happened_unmet_gpu_h": round(result.happened.unmet_gpu_h, 1),
        "with_change_unmet_gpu_h": round(result.changed.unmet_gpu_h, 1),
        "stayed_home_gpu_h": round(result.changed.stayed_home_gpu_h, 1),
    }
    for name, value in figures.items():
        print(f"  {name:28} {value}")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(dir="/tmp") as folder:
            store = Store(f"sqlite:///{Path(folder) / 'lab.db'}")
            store.upgrade()
            seed_store(store, history, jobs)
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                UsageService(store).what_if(CHANGE, MONTH, MONTH_END)
                times.append(time.perf_counter() - began)
            store.close()
        figures["what_if_sqlite_s"] = round(median(times), 3)
        print(f"  {'what_if_sqlite_s':28} {figures['what_if_sqlite_s']}")
    emit(figures)


if __name__ == "__main__":
    main()
