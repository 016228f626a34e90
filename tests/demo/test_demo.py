"""The demo lab: the seeded model, the database built from it, the simulated feed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.booking.bookings import LIVE_STATUSES, BookingStatus, check_no_conflicts
from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import SshTarget
from labgpu.demo import lab as demo
from labgpu.demo.feed import HISTORY_WINDOW, SimulatedFeed
from labgpu.demo.lab import build_database
from labgpu.demo.model import (
    A40,
    A4000,
    DEFAULT_SEED,
    DEMO_USER,
    JobKind,
    booked_jobs,
    generate_lab,
    gpu_point,
    iter_points,
    iter_probes,
)
from labgpu.demo.setup import demo_lab
from labgpu.services import Labgpu
from labgpu.services.inventory import collector as monitoring
from labgpu.services.platform import paths
from labgpu.storage import Store

NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)


def database_url(folder: Path) -> str:
    """The URL of the demo database a demo folder's JSON names."""
    info = demo.DemoInfo.read(folder / demo.INFO_NAME)
    assert info is not None
    return demo.sqlite_url(folder / info.database)


# -- the model --------------------------------------------------------------------------------


def test_reference_inventory_and_members() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    assert len({g.server for g in lab.gpus}) == 13
    assert Counter(g.model for g in lab.gpus) == {A4000: 48, A40: 4}
    assert {g.server for g in lab.gpus if g.model == A40} == {"a40-01"}
    assert len({g.uuid for g in lab.gpus}) == 52
    assert len(lab.members) == 15
    assert Counter(m.role for m in lab.members) == {"student": 13, "pi": 1, "manager": 1}
    assert DEMO_USER in {m.name for m in lab.members}


def test_same_seed_same_lab_other_seed_other_lab() -> None:
    first, again = generate_lab(7, NOW), generate_lab(7, NOW)
    assert first.jobs == again.jobs
    assert first.gpus == again.gpus
    assert first.unmet == again.unmet
    assert first.unmet  # the A40s are scarce: some work finds no slot (offload candidates)
    other = generate_lab(8, NOW)
    assert other.jobs != first.jobs


def test_gpu_point_is_pure_and_matches_the_plan() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    moments = [NOW - timedelta(minutes=m) for m in (0, 61, 3000, 60 * 24 * 80)]
    forward = [gpu_point(lab, g, ts) for ts in moments for g in range(52)]
    backward = [gpu_point(lab, g, ts) for ts in reversed(moments) for g in reversed(range(52))]
    assert sorted(forward, key=repr) == sorted(backward, key=repr)
    for job in lab.jobs[:200]:
        middle = job.start + (job.use_end - job.start) / 2
        owner = gpu_point(lab, job.gpus[0], middle).owner
        if job.kind in (JobKind.USED, JobKind.RELEASED, JobKind.UNBOOKED):
            assert owner == job.member
        elif job.kind in (JobKind.CANCELLED, JobKind.REJECTED):
            # Not used; someone who booked after it was given up may hold the GPUs then.
            other = lab.job_at(job.gpus[0], middle)
            assert other is not job
            assert owner == (None if other is None else other.member)
            if other is not None:
                assert other.requested_at >= job.requested_at


def test_probes_carry_the_points() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    span = (NOW - timedelta(minutes=2), NOW, timedelta(minutes=1))
    probes = list(iter_probes(lab, *span))
    assert len(probes) == 2 * 13
    points = {(g, p.ts): p for g, p in iter_points(lab, *span)}
    position = {gpu.uuid: i for i, gpu in enumerate(lab.gpus)}
    for _, probe in probes:
        for reading in probe.gpus:
            point = points[(position[reading.uuid], probe.taken_at)]
            assert reading.utilization_pct == point.util
        for process in probe.processes:
            point = points[(position[process.gpu_uuid], probe.taken_at)]
            if process.pid == point.pid:
                assert process.user == point.owner
            else:  # a guest on a GPU in use: another member, or a container nobody owns
                assert process.pid == (point.pid or 0) + 100_000
                assert process.user != point.owner


def test_the_plan_has_every_kind_of_work_over_90_days() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    kinds = Counter(j.kind for j in lab.jobs)
    assert set(kinds) == set(JobKind)
    assert min(j.start for j in lab.jobs) <= NOW - timedelta(days=89)
    assert any(j.start <= NOW < j.end for j in lab.jobs)
    assert max(j.start for j in lab.jobs) > NOW + timedelta(days=7)
    points = list(iter_points(lab, NOW - timedelta(days=90), NOW, timedelta(hours=2)))
    busy = sum(1 for _, p in points if p.owner is not None) / len(points)
    assert 0.2 < busy < 0.8  # a lab that is busy, not full


# -- the database -----------------------------------------------------------------------------


def test_demo_database_holds_the_lab(demo_template: tuple[Path, object]) -> None:
    folder, lab = demo_template
    store = Store(database_url(folder))
    try:
        assert len(store.inventory.list_servers()) == 13
        gpus = store.inventory.list_gpus()
        assert Counter(g.model for g in gpus) == {A4000: 48, A40: 4}
        assert len(store.list_users()) == 15
        bookings = store.bookings.list_bookings()
        assert len({b.group_id for b in bookings}) == len(booked_jobs(lab))  # type: ignore[arg-type]
        statuses = Counter(b.status for b in bookings)
        for status in (
            BookingStatus.BOOKED,
            BookingStatus.PENDING,
            BookingStatus.CANCELLED,
            BookingStatus.RELEASED,
        ):
            assert statuses[status] > 0, status
        audit = store.list_audit(limit=100_000)
        assert any("rejected by park.jiwon" in e.detail for e in audit)
        span = max(b.window.end for b in bookings) - min(b.window.start for b in bookings)
        assert span > timedelta(days=95)
        assert store.bookings.get_rules() == demo.DEMO_RULES
        assert len(store.bookings.list_maintenance()) == 2
        status = store.inventory.latest_status()
        assert len(status) == 52
        assert any(s.processes for s in status)
    finally:
        store.close()


def test_generated_bookings_never_overlap(demo_template: tuple[Path, object]) -> None:
    folder, _ = demo_template
    store = Store(database_url(folder))
    try:
        live = [b for b in store.bookings.list_bookings() if b.status in LIVE_STATUSES]
    finally:
        store.close()
    for booking in live:
        others = [b for b in live if b.group_id != booking.group_id]
        check_no_conflicts([booking.gpu_id], booking.window, others)


def test_same_seed_builds_the_same_bookings(tmp_path: Path) -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)

    def built(name: str) -> list[tuple[object, ...]]:
        url = f"sqlite:///{(tmp_path / name).as_posix()}"
        build_database(url, lab, history=timedelta(minutes=5))
        store = Store(url)
        try:
            return [
                (b.user_name, b.gpu_label, b.window, b.status, b.note)
                for b in store.bookings.list_bookings()
            ]
        finally:
            store.close()

    assert built("a.db") == built("b.db")


def test_demo_never_touches_the_real_database(demo_folder: Path) -> None:
    real = Labgpu()
    real.open()
    real.close()
    path = paths.data_dir() / "labgpu.db"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    lab = demo_lab()
    try:
        lab.open()
        assert Path(lab.db_url.removeprefix("sqlite:///")).parent == demo_folder
        lab.inventory.start_collector(0.05)
        assert lab.inventory.status()
    finally:
        lab.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_demo_is_rebuilt_when_the_generator_changes(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not demo.ensure_demo().built
    monkeypatch.setattr(demo, "GENERATOR_VERSION", demo.GENERATOR_VERSION + 1)
    monkeypatch.setattr(demo, "BUILD_HISTORY", timedelta(minutes=5))
    build = demo.ensure_demo(now=datetime.now(UTC))
    assert build.built
    info = demo.DemoInfo.read(demo_folder / demo.INFO_NAME)
    assert info is not None
    assert info.generator == demo.GENERATOR_VERSION
    assert info.database == build.path.name
    assert sorted(p.name for p in demo_folder.glob("*.db")) == [build.path.name]


def test_a_stale_demo_is_not_reused() -> None:
    info = demo.DemoInfo(demo.GENERATOR_VERSION, DEFAULT_SEED, NOW, "x.db")
    assert demo.is_current(info, DEFAULT_SEED, NOW + timedelta(days=2))
    assert not demo.is_current(info, DEFAULT_SEED, NOW + demo.MAX_AGE)
    assert not demo.is_current(info, DEFAULT_SEED + 1, NOW)
    assert not demo.is_current(info, DEFAULT_SEED, NOW - timedelta(hours=1))  # clock went back
    assert not demo.is_current(None, DEFAULT_SEED, NOW)


def test_reset_throws_the_demos_changes_away(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "BUILD_HISTORY", timedelta(minutes=5))
    lab = demo_lab()
    try:
        lab.open()
        assert lab.user == DEMO_USER
        assert not lab.setup.built
        mine = lab.bookings.between(mine=True)
        for group in {b.group_id for b in mine if b.status is BookingStatus.BOOKED}:
            lab.bookings.cancel(group)
        old_url = lab.db_url
        lab.reset()
        assert lab.setup.built
        assert lab.db_url != old_url
        # Every booked group was cancelled above; the rebuilt lab has booked ones again. (Not a
        # count comparison: the rebuild happens at a later "now", which may shift the window.)
        assert any(b.status is BookingStatus.BOOKED for b in lab.bookings.between(mine=True))
    finally:
        lab.close()


def test_cli_reads_the_demo_lab(demo_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labgpu.cli.main import main

    assert main(["--demo", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert len(status["gpus"]) == 52
    assert len(status["servers"]) == 13
    assert main(["--demo", "bookings", "--mine", "--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert mine
    assert {b["user"] for b in mine} == {DEMO_USER}
    assert main(["--demo", "collect", "--once"]) == 0  # one reading of the model
    assert capsys.readouterr().out.count(": online (4 GPUs)") == 13
    assert main(["--demo", "collect"]) == 1  # no collector loop: no server to probe
    assert "simulated" in capsys.readouterr().err


def test_demo_user_may_be_chosen_among_the_members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABGPU_USER", "park.jiwon")
    assert demo_lab().user == "park.jiwon"
    monkeypatch.setenv("LABGPU_USER", "someone-else")
    assert demo_lab().user == DEMO_USER


# -- live data --------------------------------------------------------------------------------


def test_demo_never_starts_the_ssh_collector(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_collector(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the SSH collector was started in demo mode")

    monkeypatch.setattr(monitoring.Collector, "__init__", no_collector)
    lab = demo_lab()
    try:
        lab.open()
        lab.inventory.start_collector(0.05)
        feed = lab.inventory.feed
        assert feed is not None
        assert feed.is_running()
        with pytest.raises(LabgpuError, match="simulated"):
            lab.inventory.make_collector()
        with pytest.raises(LabgpuError, match="simulated"):
            lab.inventory.discover(SshTarget("gpu01.lab.example"))
        fresh = lab.inventory.status(probe_first=True)  # asks the model, not a server
        assert len(fresh) == 52
        assert all(datetime.now(UTC) - s.sampled_at < timedelta(minutes=1) for s in fresh)  # type: ignore[operator]
    finally:
        lab.close()
    assert not feed.is_running()  # closing the lab stopped it


def test_feed_writes_fresh_samples_and_stops(demo_folder: Path) -> None:
    lab = demo_lab()
    try:
        lab.open()
        assert lab.setup.lab is not None
        newest = lab.store.inventory.latest_sample_time()
        assert newest is not None
        feed = SimulatedFeed(lab.store, lab.setup.lab, interval_s=0.05)
        later = datetime.now(UTC) + timedelta(minutes=3)
        assert feed.backfill(later) >= 52 * 2  # the minutes since the build, the day before
        oldest, _ = lab.store.inventory.sample_span()
        # From where the usage rollup stopped (the model's hours end there), else a day back.
        minute_done, _ = lab.store.usage.watermarks()
        assert minute_done is not None
        resume = datetime.fromtimestamp(minute_done, UTC)
        assert oldest == min(resume, (later - HISTORY_WINDOW).replace(second=0, microsecond=0))
        assert feed.backfill(later) == 0
        assert feed.tick(later + timedelta(seconds=5)) == 52
        assert lab.store.inventory.latest_sample_time() == (later + timedelta(seconds=5)).replace(
            microsecond=0
        )
        assert feed.tick(later) == 0  # that second is stored already
        kept_house: list[int] = []
        feed = SimulatedFeed(
            lab.store, lab.setup.lab, interval_s=0.05, housekeeping=lambda: kept_house.append(1)
        )
        feed.start()
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while feed.ticks < 2 and datetime.now(UTC) < deadline:
            feed._stop.wait(0.05)
        feed.stop()
        assert feed.ticks >= 2
        assert kept_house == [1]  # the idle rule, once a minute
        assert not feed.is_running()
    finally:
        lab.close()
