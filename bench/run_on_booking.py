"""What ``labgpu run`` costs on top of starting the same command by hand, on a real sshd.

Starts one sshd GPU server on this machine, a SQLite lab with it registered and a booking of
two of its GPUs held by the member (``labuser``, logged in by their own ssh config), then, on
one warm SSH connection, measures:
  raw_start_s       ``ssh host 'nohup COMMAND > log 2>&1 &'`` of the same command (baseline)
  run_start_s       ``lab.runs.start``: record the job, write the wrapper and command files
                    over SFTP, start the wrapper detached and wait for its PID, store the state
  run_overhead_s    run_start_s - raw_start_s (target: <= 1 s)
  restage_start_s   the same with ``--dir`` of 200 small files that did not change since the
                    last run (only a listing is sent)
Medians of --rounds runs; the last line is JSON.

Usage: .venv/bin/python bench/run_on_booking.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median

from labgpu.core.booking.run import RunRequest
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.remote.ssh import SshPool
from labgpu.services.booking.run import RunService
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.sshd import start_sshd_hosts
from tests.helpers.sshd_support import REMOTE_USER

COMMAND = "sleep 0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="labgpu-bench-run-"))
    fleet = start_sshd_hosts(1, base / "hosts")
    pool: SshPool | None = None
    store: Store | None = None
    try:
        host = next(iter(fleet.hosts.values()))
        assert host.standin is not None
        home = base / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "config").write_text(
            f"Host 127.0.0.1\n  User {REMOTE_USER}\n  IdentityFile {fleet.client_key}\n"
        )
        (home / ".ssh" / "known_hosts").write_text(host.known_hosts_line())
        store = Store(f"sqlite:///{base / 'lab.db'}")
        store.upgrade()
        readings = [
            GpuReading(g.index, g.uuid, g.name, 16376, 0, 0.0, 30, 50) for g in host.standin.gpus
        ]
        store.inventory.register_server("gpu-b", host.target, readings, "admin")
        rules = replace(store.bookings.get_rules(), approval_models=())
        store.bookings.set_rules(rules, "admin")
        pool = SshPool(base / "known_hosts", home=home, use_agent=False)
        bookings = BookingService(store, REMOTE_USER)
        ids = sorted(g.id for g in store.inventory.list_gpus() if g.id is not None)[:2]
        now = datetime.now(UTC)
        group = bookings.book(ids, now + timedelta(seconds=1), now + timedelta(hours=2))
        runs = RunService(store, lambda p=pool: p, bookings)
        me = SshTarget("127.0.0.1", host.port)
        folder = base / "project"
        for i in range(200):
            (folder / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
            (folder / f"d{i % 10}" / f"f{i:03d}.py").write_bytes(os.urandom(2048))
        raw_script = f"cd /tmp && nohup {COMMAND} > /dev/null 2>&1 < /dev/null & echo $!"
        pool.run_script(me, raw_script)  # warm the connection
        runs.start(RunRequest(group.group_id, COMMAND, local_dir=str(folder)))  # first staging
        raw, run, restage = [], [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            pool.run_script(me, raw_script)
            raw.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            runs.start(RunRequest(group.group_id, COMMAND))
            run.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            runs.start(RunRequest(group.group_id, COMMAND, local_dir=str(folder)))
            restage.append(time.perf_counter() - t0)
        figures = {
            "raw_start_s": round(median(raw), 4),
            "run_start_s": round(median(run), 4),
            "run_overhead_s": round(median(run) - median(raw), 4),
            "restage_start_s": round(median(restage), 4),
            "rounds": args.rounds,
        }
        print(
            f"raw nohup start {figures['raw_start_s']:.3f} s, labgpu run "
            f"{figures['run_start_s']:.3f} s (overhead {figures['run_overhead_s']:.3f} s, "
            f"target <= 1), with an unchanged 200-file folder {figures['restage_start_s']:.3f} s"
        )
        emit(figures)
        made = {j.job_dir for j in runs.jobs()} | {
            j.remote_dir for j in runs.jobs() if j.remote_dir
        }
        pool.run_script(me, "rm -rf " + " ".join(sorted(made)))
    finally:
        if pool is not None:
            pool.close_all()
        if store is not None:
            store.close()
        fleet.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
