"""The PI's usage figures for a known lab: graphs' series, per-member booked vs used, idle while
booked, in use without a booking, tables per user/GPU/server/model, unmet demand; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult, SshTarget
from labgpu.core.usage.figures import HOUR, MINUTE, RAW, read_csv
from labgpu.services.booking.service import BookingService
from labgpu.services.usage.service import UsageService, month_range
from labgpu.storage import Store
from labgpu.storage.usage import LAG_S

BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
A4000, A6000 = "NVIDIA RTX A4000", "NVIDIA RTX A6000"
END = BASE + timedelta(hours=3)


def _reading(index: int, uuid: str, model: str, util: float) -> GpuReading:
    return GpuReading(index, uuid, model, 16376, 1000, util, 40.0, 60.0)


@pytest.fixture
def lab(db_url: str) -> Iterator[Store]:
    """Three GPUs watched once a minute for three hours:

    - gpu-01/0 (A4000): amy trains at 80 % for two hours (booked), then it is idle;
    - gpu-01/1 (A4000): bo runs at 50 % for three hours without a booking;
    - a6k-01/0 (A6000): carl's notebook holds it idle (0 %) for the last two hours he booked.
    """
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server(
        "gpu-01", SshTarget("h1"), [_reading(0, "U-a", A4000, 0), _reading(1, "U-b", A4000, 0)], "m"
    )
    store.inventory.register_server("a6k-01", SshTarget("h2"), [_reading(0, "U-c", A6000, 0)], "m")
    ids = {g.uuid: g.id or 0 for g in store.inventory.list_gpus()}
    before = BASE - timedelta(hours=1)
    BookingService(store, "amy", clock=lambda: before).book(
        [ids["U-a"]], BASE, BASE + timedelta(hours=2)
    )
    BookingService(store, "carl", clock=lambda: before).book(
        [ids["U-c"]], BASE + timedelta(hours=1), END
    )
    one, two = [], []
    for minute in range(180):
        at = BASE + timedelta(minutes=minute, seconds=7)
        training = minute < 120
        held = minute >= 60
        one.append(
            ProbeResult(
                "h1",
                at,
                (
                    _reading(0, "U-a", A4000, 80.0 if training else 0.0),
                    _reading(1, "U-b", A4000, 50.0),
                ),
                tuple(
                    [GpuProcess("U-a", 10, 900, "python", "amy")] * training
                    + [GpuProcess("U-b", 11, 900, "python", "bo")]
                ),
            )
        )
        two.append(
            ProbeResult(
                "h2",
                at,
                (_reading(0, "U-c", A6000, 0.0),),
                tuple([GpuProcess("U-c", 12, 900, "jupyter", "carl")] * held),
            )
        )
    store.inventory.store_probes("gpu-01", one)
    store.inventory.store_probes("a6k-01", two)
    yield store
    store.close()


def service(store: Store, rolled_up_to: datetime | None = END) -> UsageService:
    """The usage service, after rolling up to ``rolled_up_to``."""
    if rolled_up_to is not None:
        store.usage.rollup(rolled_up_to + timedelta(seconds=LAG_S))
    return UsageService(store, clock=lambda: END + timedelta(minutes=5))


def test_lab_series_over_a_short_range_reads_minutes(lab: Store) -> None:
    level, series = service(lab).series(BASE, END)
    assert level is MINUTE
    points = series["lab"]
    assert len(points) == 180
    assert points[0].util_mean == pytest.approx((80 + 50 + 0) / 3)
    assert points[0].busy_gpus == pytest.approx(2.0)
    assert points[-1].busy_gpus == pytest.approx(1.0)  # bo only
    assert all(p.observed_gpus == pytest.approx(3.0) for p in points)


def test_series_per_model_server_gpu(lab: Store) -> None:
    usage = service(lab)
    _, by_model = usage.series(BASE, END, by="model")
    assert set(by_model) == {A4000, A6000}
    assert by_model[A6000][0].util_mean == 0.0
    assert by_model[A4000][0].util_mean == pytest.approx(65.0)
    _, by_gpu = usage.series(BASE, END, by="gpu")
    assert list(by_gpu) == ["a6k-01/0", "gpu-01/0", "gpu-01/1"]
    assert by_gpu["gpu-01/0"][130].util_mean == 0.0
    _, by_server = usage.series(BASE, END, by="server")
    assert by_server["gpu-01"][0].gpus == 2
    with pytest.raises(LabgpuError, match="cannot group usage by 'user'"):
        usage.series(BASE, END, by="user")
    with pytest.raises(LabgpuError, match="must end after it starts"):
        usage.series(END, BASE)


def test_long_ranges_read_hours_and_the_last_incomplete_hour_from_minutes(lab: Store) -> None:
    # Rolled up to 2 h 30: hours 0-1 complete, the third hour only in minutes so far.
    usage = service(lab, BASE + timedelta(hours=2, minutes=30))
    assert usage.store.usage.watermarks()[1] == int((BASE + timedelta(hours=2)).timestamp())
    level, series = usage.series(BASE - timedelta(days=5), END)
    assert level is HOUR
    hours = [p for p in series["lab"] if p.observed_s]
    assert [p.start for p in hours] == [
        int((BASE + timedelta(hours=h)).timestamp()) for h in range(3)
    ]
    assert [p.busy_s / 3600 for p in hours] == pytest.approx([2.0, 2.0, 0.5])
    members = {m.user_name: m for m in usage.members(BASE - timedelta(days=5), END)}
    assert members["bo"].process_h == pytest.approx(2.5)


def test_member_figures(lab: Store) -> None:
    for start in (BASE, BASE - timedelta(days=10)):  # minutes, then hours
        members = {m.user_name: m for m in service(lab).members(start, END)}
        amy, bo, carl = members["amy"], members["bo"], members["carl"]
        assert (amy.booked_h, amy.process_h, amy.idle_booked_h, amy.unbooked_h) == pytest.approx(
            (2.0, 2.0, 0.0, 0.0)
        )
        assert (bo.booked_h, bo.process_h, bo.idle_booked_h, bo.unbooked_h) == pytest.approx(
            (0.0, 3.0, 0.0, 3.0)
        )
        # carl held his booked GPU for two hours without computing: all of it idle.
        assert (
            carl.booked_h,
            carl.process_h,
            carl.idle_booked_h,
            carl.unbooked_h,
        ) == pytest.approx((2.0, 2.0, 2.0, 0.0))


def test_summary_and_tables(lab: Store) -> None:
    usage = service(lab)
    summary = usage.summary(BASE, END)
    assert summary.gpus == 3
    assert summary.capacity_h == pytest.approx(9.0)
    assert summary.observed_h == pytest.approx(9.0)
    assert summary.busy_h == pytest.approx(5.0)
    assert summary.mean_util_pct == pytest.approx((80 * 120 + 50 * 180) / 540)
    assert (summary.booked_h, summary.idle_booked_h, summary.unbooked_h) == pytest.approx(
        (4.0, 2.0, 3.0)
    )
    by_server = {r["server"]: r for r in usage.table("server", BASE, END).as_dicts()}
    assert by_server["gpu-01"]["busy_gpu_hours"] == pytest.approx(5.0)
    assert by_server["gpu-01"]["booked_gpu_hours"] == pytest.approx(2.0)
    assert by_server["a6k-01"]["busy_pct"] == 0.0
    by_model = {r["model"]: r for r in usage.table("model", BASE, END).as_dicts()}
    assert by_model[A4000]["gpus"] == 2
    assert by_model[A4000]["mean_util_pct"] == pytest.approx(round((80 * 120 + 50 * 180) / 360, 1))
    table = usage.table("user", BASE, END)
    again = read_csv(table.to_csv())
    assert again.columns == table.columns
    assert [r[0] for r in again.rows] == [str(r[0]) for r in table.rows]
    with pytest.raises(LabgpuError, match="cannot list usage by 'lab'"):
        usage.table("lab", BASE, END)


def test_gpu_series_is_raw_where_kept(lab: Store) -> None:
    gpu = next(g for g in lab.inventory.list_gpus() if g.uuid == "U-a")
    level, points = service(lab).gpu_series(gpu.id or 0, BASE, END)
    assert level is RAW
    assert len(points) == 180
    assert points[0][1] == 80.0


def test_unmet_requests_are_recorded_once(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    try:
        store.inventory.register_server(
            "gpu-01", SshTarget("h1"), [_reading(0, "U-a", A4000, 0)], "m"
        )
        gpu = store.inventory.list_gpus()[0].id or 0
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        BookingService(store, "amy").book(
            [gpu], now + timedelta(minutes=5), now + timedelta(hours=20)
        )
        bo = BookingService(store, "bo")
        options = bo.find_slots("A4000", 1, timedelta(hours=4))
        assert options[0].start >= now + timedelta(hours=20)
        bo.find_slots("A4000", 1, timedelta(hours=4))  # asked again: still one request
        unmet = service(store, None).unmet(now - timedelta(hours=1), now + timedelta(hours=1))
        assert [(u.user_name, u.model, u.count, u.hours) for u in unmet] == [
            ("bo", A4000, 1, 4.0)  # the model as the lab names it, whatever was typed
        ]
        assert unmet[0].earliest_at == options[0].start
        assert unmet[0].wait is not None
        # A request the lab serves at once is not unmet.
        BookingService(store, "cy").find_slots(
            "A4000", 1, timedelta(hours=1), after=now + timedelta(days=2)
        )
        assert (
            len(service(store, None).unmet(now - timedelta(hours=1), now + timedelta(hours=1))) == 1
        )
    finally:
        store.close()


def test_month_range() -> None:
    assert month_range("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(LabgpuError, match="write it as YYYY-MM"):
        month_range("December")


def test_the_collectors_minute_job_rolls_up(lab: Store, db_url: str) -> None:
    """The collector a lab runs (single seat or ``labgpu collect``) keeps the rollups current."""
    from labgpu.services import Labgpu

    app = Labgpu(db_url)
    try:
        collector = app.inventory.make_collector(interval_s=60)
        assert lab.usage.watermarks() == (None, None)
        collector._keep_house()  # what its loop runs once a minute
        minute_done, hour_done = lab.usage.watermarks()
        assert minute_done is not None
        assert minute_done >= int(END.timestamp())
        assert hour_done is not None
        assert hour_done >= int(END.timestamp())  # up to the real clock: nothing after END
        assert len(lab.usage.buckets(HOUR, 0, 2**40)) == 3
    finally:
        app.close()
