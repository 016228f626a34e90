"""CPU cost of the collector: ``labgpu collect --interval 5`` against 13 real sshd hosts.

Registers 13 hosts (4x RTX A4000 stand-ins each) in a fresh SQLite database, runs the real
``labgpu collect`` process, and reads its CPU time (user + system, all threads) from /proc
after a warm-up and again ``--seconds`` later. Baseline, in the same run: the same command
with no server registered (the cost of the process merely idling).
  cpu_fraction           CPU seconds per wall second with 13 hosts   (target: <= 0.02)
  baseline_cpu_fraction  the same with no server
  ratio_to_target        cpu_fraction / 0.02

Usage: .venv/bin/python bench/collector_cpu.py [--hosts 13] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emit

from labgpu.services import Labgpu
from tests.helpers.sshd import start_sshd_hosts, stop_sshd_hosts

TARGET = 0.02
WARMUP_S = 8.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_collector(env: dict[str, str], seconds: float) -> float:
    """CPU seconds per wall second of one ``labgpu collect --interval 5`` after warm-up."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "labgpu", "collect", "--interval", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(WARMUP_S)
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return (cpu1 - cpu0) / (wall1 - wall0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=13)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="labgpu-collector-"))
    base.chmod(0o755)  # the remote test user must reach the stand-ins below it
    fleet = start_sshd_hosts(args.hosts, base / "hosts")
    try:
        env = dict(
            os.environ,
            LABGPU_CONFIG_DIR=str(base / "config"),
            LABGPU_DATA_DIR=str(base / "data"),
            LABGPU_SSH_CONFIG=str(fleet.ssh_config),
            HOME=str(base / "home"),
        )
        env.pop("SSH_AUTH_SOCK", None)
        empty_env = dict(env, LABGPU_DATABASE_URL=f"sqlite:///{base / 'empty.db'}")
        (base / "home").mkdir()
        (base / "config").mkdir(mode=0o700)
        shutil.copy(fleet.known_hosts, base / "config" / "known_hosts")
        os.environ.update(env)
        lab = Labgpu()
        lab.open()
        for host in fleet.hosts.values():
            lab.inventory.add_server(host.target, host.name)
        lab.close()
        subprocess.run(
            [sys.executable, "-m", "labgpu", "db", "upgrade"],
            env=empty_env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        loaded = run_collector(env, args.seconds)
        idle = run_collector(empty_env, args.seconds / 2)
        samples = len(Labgpu().store.inventory.sample_times(next(iter(fleet.hosts))))
    finally:
        stop_sshd_hosts(fleet)
    print(
        f"collector with {args.hosts} hosts: {loaded:.4f} CPU s/s; idle: {idle:.4f}; "
        f"{samples} sweeps stored for the first host"
    )
    emit(
        {
            "hosts": args.hosts,
            "seconds": args.seconds,
            "cpu_fraction": round(loaded, 4),
            "baseline_cpu_fraction": round(idle, 4),
            "ratio_to_target": round(loaded / TARGET, 2),
            "sweeps_stored_first_host": samples,
        }
    )


if __name__ == "__main__":
    main()
