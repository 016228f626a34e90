"""A year of usage history at lab scale: 52 GPUs sampled every 10 s for 365 days, rolled up
through the real rollup and retention path (``Store.usage``), then the PI's graphs read back.

Each simulated day's raw samples (52 x 8,640 rows, plus a process row per busy sample) are
generated inside SQLite (``INSERT ... SELECT`` from a recursive CTE: the generator is not what
is measured), then ``rollup`` and ``apply_retention`` run exactly as the collector runs them,
with the default retention (raw 7 days, minutes 30 days, hours for ever). Figures (medians):

  year_graph_ms        lab utilisation over the last year: UsageService.series + pyqtgraph
                       render of the points (offscreen)            target <= 300
  year_render_ms       baseline: rendering the same points only   (ratio year_graph_ratio)
  month_raw_gpu_ms     one GPU over the last 30 days at the finest resolution kept
                       (UsageService.gpu_series: 7 days raw + 23 days of minutes)
                                                                   target <= 200
  raw_week_select_ms   baseline: a bare SELECT of that GPU's raw week (ratio month_raw_gpu_ratio)
  saturation_year_ms   the Usage page's saturation series over the year (UsageService.
                       saturation_series: a point per model and day) on the year's hourly rollups
                       and a year of bookings (12-hour blocks, about a third of each GPU's time)
                                                                   target <= 300
  db_mb                database file after the year                target <= 1024
  raw_year_mb          baseline: what a year of raw samples would take (7 days' size x 52)
  rollup_cpu_fraction  CPU of the collector's minute job (rollup; retention hourly) per second
                       of wall time, one simulated hour at 52 GPUs / 10 s, at the year's end
                                                                   target <= 0.01
  store_cpu_fraction   baseline: CPU of storing that hour's probes (Store.inventory.store_probe)

Usage: .venv/bin/python bench/usage_scale.py [--days 365] [--keep FILE.db [--reuse]]
(``--reuse`` measures again on a year kept by an earlier ``--keep`` run: about a minute.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult, SshTarget  # noqa: E402
from labgpu.services.usage.service import UsageService  # noqa: E402
from labgpu.storage import Store  # noqa: E402
from labgpu.storage.usage import LAG_S  # noqa: E402

SERVERS = [f"gpu{n:02d}" for n in range(1, 13)] + ["a40-01"]
INTERVAL_S = 10
PER_DAY = 86400 // INTERVAL_S
DAY = timedelta(days=1)

_DAY_SQL = f"""
WITH RECURSIVE t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < {PER_DAY - 1})
INSERT INTO gpu_samples (gpu_id, ts, utilization_pct, memory_used_mb, temperature_c, power_w)
SELECT g.id,
       strftime('%Y-%m-%d %H:%M:%S', :day0 + t.n * {INTERVAL_S}, 'unixepoch') || '.000000',
       CASE WHEN ((t.n / 360 + g.id * 7 + :dayno * 3) % 10) < 6
            THEN 40 + abs(random()) % 61 ELSE 0 END,
       1000 + abs(random()) % 15000, 40 + abs(random()) % 30, 30 + abs(random()) % 100
FROM gpus g, t
"""
_PROCESSES_SQL = """
INSERT INTO gpu_processes (gpu_id, ts, pid, user_name, process_name, command, used_memory_mb,
                           elapsed_s)
SELECT gpu_id, ts, 1000 + gpu_id, 'member' || ((gpu_id + :dayno) % 15), 'python',
       'python train.py --config configs/base.yaml', memory_used_mb, 0
FROM gpu_samples WHERE ts >= :lo AND ts < :hi AND utilization_pct >= 5
"""


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build_lab(store: Store) -> None:
    for server in SERVERS:
        model = "NVIDIA A40" if server.startswith("a40") else "NVIDIA RTX A4000"
        readings = [
            GpuReading(i, f"GPU-{server}-{i}", model, 16376, None, None, None, None)
            for i in range(4)
        ]
        store.inventory.register_server(server, SshTarget(f"{server}.lab"), readings, "bench")


def generate_year(store: Store, db: Path, start: datetime, days: int) -> float:
    """Raw samples day by day, each day rolled up and retention applied; returns seconds."""
    import sqlite3

    began = time.perf_counter()
    conn = sqlite3.connect(db)
    try:
        for n in range(days):
            day0 = start + n * DAY
            with conn:
                conn.execute(_DAY_SQL, {"day0": int(day0.timestamp()), "dayno": n})
                conn.execute(
                    _PROCESSES_SQL,
                    {"lo": _stamp(day0), "hi": _stamp(day0 + DAY), "dayno": n},
                )
            now = day0 + DAY + timedelta(seconds=LAG_S)
            store.usage.rollup(now)
            store.usage.apply_retention(now)
            if n % 30 == 29 or n == days - 1:
                elapsed = time.perf_counter() - began
                print(f"day {n + 1}/{days}: {elapsed:.0f} s", flush=True)
    finally:
        conn.close()
    return time.perf_counter() - began


def add_year_of_bookings(db: Path, start: datetime, end: datetime) -> int:
    """Finished bookings over ``[start, end)`` in 12-hour blocks, about a third of each GPU's
    time, unless the database has bookings already (a ``--reuse`` run); returns how many."""
    import random
    import sqlite3
    import uuid

    conn = sqlite3.connect(db)
    try:
        with conn:
            found = int(conn.execute("SELECT count(*) FROM bookings").fetchone()[0])
            if found:
                return found
            rnd = random.Random(16)
            block = timedelta(hours=12)
            rows = []
            for (gpu,) in conn.execute("SELECT id FROM gpus ORDER BY id").fetchall():
                at = start
                while at < end:
                    if rnd.random() < 0.33:
                        user = f"member{(gpu + len(rows)) % 15}"
                        rows.append(
                            (str(uuid.uuid4()), gpu, user, _stamp(at), _stamp(at + block),
                             "finished", "", _stamp(at - timedelta(hours=1)), user)
                        )  # fmt: skip
                    at += block
            conn.executemany(
                "INSERT INTO bookings (group_id, gpu_id, user_name, start_ts, end_ts, status, "
                "note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return len(rows)
    finally:
        conn.close()


def timed(action: Callable[[], object], rounds: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(rounds):
        began = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - began) * 1000)
    return median(samples), result


def render(points: list[tuple[float, float, float]]) -> None:
    """Plot utilisation and busy GPUs the way the Usage page does, and paint it once."""
    import pyqtgraph as pg

    widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    widget.resize(1000, 400)
    xs = [p[0] for p in points]
    widget.plot(xs, [p[1] for p in points], pen=pg.mkPen("#1f77b4", width=1.5))
    widget.plot(xs, [p[2] for p in points], pen=pg.mkPen("#ff7f0e", width=1.5))
    widget.grab()
    widget.deleteLater()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the database here (default: temporary)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure again on the year kept by an earlier --keep run (no generation)",
    )
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="labgpu-usage-bench-"))
    db = args.keep or folder / "year.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    if args.reuse:
        if args.keep is None or not args.keep.exists():
            raise SystemExit("--reuse needs --keep FILE of an earlier run")
        latest = store.inventory.sample_span()[1]
        assert latest is not None, "no samples in the kept database"
        end = latest.replace(hour=0, minute=0, second=0, microsecond=0)  # the year's end
        generate_s = 0.0
    else:
        build_lab(store)
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - args.days * DAY
        generate_s = generate_year(store, db, start, args.days)
    now = end + timedelta(seconds=LAG_S)
    usage = UsageService(store, clock=lambda: now)

    # -- the year graph: query + render, and render only -------------------------------------
    def year_graph() -> object:
        _level, series = usage.series(end - 365 * DAY, end)
        points = [(b.start, b.util_mean or 0.0, b.busy_gpus) for b in series["lab"]]
        render(points)
        app.processEvents()
        return points

    year_graph()  # warm caches once, as a second look in the app would
    year_ms, points = timed(year_graph, args.rounds)
    assert isinstance(points, list)
    render_ms, _ = timed(lambda: render(points), args.rounds)

    # -- saturation per model and day over the year (issue 16) ---------------------------------
    bookings = add_year_of_bookings(db, end - 365 * DAY, end)
    usage.saturation_series(end - 365 * DAY, end)  # warm caches once, as the page's second look
    saturation_ms, lines = timed(lambda: usage.saturation_series(end - 365 * DAY, end), args.rounds)
    assert isinstance(lines, list), lines
    assert lines, "no saturation lines"

    # -- one GPU, 30 days at the finest resolution kept --------------------------------------
    gpu = store.inventory.list_gpus()[0].id or 0
    month_ms, found = timed(lambda: usage.gpu_series(gpu, end - 30 * DAY, end), args.rounds)
    level, gpu_points = found  # type: ignore[misc]
    raw_from = end - 7 * DAY

    def raw_week() -> object:
        return store.usage.raw_points(gpu, raw_from, end)

    raw_ms, _ = timed(raw_week, args.rounds)

    # -- size ------------------------------------------------------------------------------------
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw_rows = conn.execute("SELECT count(*) FROM gpu_samples").fetchone()[0]
        raw_bytes = (
            sum(
                r[0]
                for r in conn.execute(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN ('gpu_samples', "
                    "'ix_gpu_samples_ts', 'sqlite_autoindex_gpu_samples_1', 'gpu_processes', "
                    "'ix_gpu_processes_ts', 'ix_gpu_processes_gpu_id_ts') GROUP BY name"
                )
            )
            if _has_dbstat(conn)
            else 0
        )
    db_mb = db.stat().st_size / 2**20
    raw_days = raw_rows / (len(SERVERS) * 4 * PER_DAY) or 1
    raw_year_mb = raw_bytes / 2**20 / raw_days * 365 if raw_bytes else None

    # -- the collector's minute job at the year's end ---------------------------------------------
    latest = store.inventory.sample_span()[1] or end
    steady_from = max(end, (latest + timedelta(minutes=1)).replace(second=0, microsecond=0))
    rollup_cpu, store_cpu = steady_state(store, steady_from, minutes=60)
    rollup_fraction = rollup_cpu / 3600
    store_fraction = store_cpu / 3600
    store.close()

    figures = {
        "days": args.days,
        "gpus": len(SERVERS) * 4,
        "generate_s": round(generate_s, 1),
        "year_graph_ms": round(year_ms, 1),
        "year_render_ms": round(render_ms, 1),
        "year_graph_ratio": round(year_ms / render_ms, 2),
        "year_points": len(points),
        "month_raw_gpu_ms": round(month_ms, 1),
        "month_gpu_points": len(gpu_points),
        "month_gpu_level": str(level),
        "raw_week_select_ms": round(raw_ms, 1),
        "saturation_year_ms": round(saturation_ms, 1),
        "saturation_bookings": bookings,
        "saturation_points": sum(len(line.starts) for line in lines),
        "month_raw_gpu_ratio": round(month_ms / raw_ms, 2),
        "db_mb": round(db_mb, 1),
        "raw_year_mb": None if raw_year_mb is None else round(raw_year_mb, 1),
        "db_ratio": None if not raw_year_mb else round(db_mb / raw_year_mb, 3),
        "rollup_cpu_fraction": round(rollup_fraction, 5),
        "store_cpu_fraction": round(store_fraction, 5),
        "rollup_vs_store_ratio": round(rollup_cpu / store_cpu, 3) if store_cpu else None,
    }
    if args.keep is None:
        db.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        folder.rmdir()
    emit(figures)


def _has_dbstat(conn: object) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1")  # type: ignore[attr-defined]
        return True
    except Exception:  # noqa: BLE001 — SQLite built without the dbstat table
        return False


def steady_state(store: Store, start: datetime, minutes: int) -> tuple[float, float]:
    """Feed ``minutes`` of probes (52 GPUs / 10 s) through ``store.inventory.store_probe`` and run
    the collector's minute job as it runs it; returns (CPU s of the minute job, CPU s of
    storing)."""
    clock_now = [start]
    usage = UsageService(store, clock=lambda: clock_now[0])
    usage.housekeep(monotonic=0.0)  # catch up to ``start``; retention due again in an hour
    rollup_cpu: list[float] = []
    store_cpu = 0.0
    for tick in range(minutes * 60 // INTERVAL_S):
        at = start + timedelta(seconds=tick * INTERVAL_S)
        clock_now[0] = at
        began = time.process_time()
        for server in SERVERS:
            busy = (tick // 90 + hash(server)) % 3 != 0
            readings = tuple(
                GpuReading(i, f"GPU-{server}-{i}", "x", 16376, 5000, 70.0 if busy else 0.0, 50, 99)
                for i in range(4)
            )
            processes = tuple(
                GpuProcess(f"GPU-{server}-{i}", 4000 + i, 5000, "python", f"member{i}")
                for i in range(4)
                if busy
            )
            store.inventory.store_probe(server, ProbeResult(server, at, readings, processes))
        store_cpu += time.process_time() - began
        if tick % (60 // INTERVAL_S) == 0:
            began = time.process_time()
            usage.housekeep(monotonic=float(tick * INTERVAL_S))
            rollup_cpu.append(time.process_time() - began)
    print(
        f"minute job CPU ms: median {statistics.median(rollup_cpu) * 1000:.1f}, "
        f"max {max(rollup_cpu) * 1000:.1f} (with the hourly retention)",
        flush=True,
    )
    return sum(rollup_cpu), store_cpu


if __name__ == "__main__":
    main()
