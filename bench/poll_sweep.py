"""How long one monitoring sweep takes over many real sshd hosts.

Starts N real sshd hosts (4x RTX A4000 stand-ins each) on loopback, then measures:
  single_rtt_s      median round trip of one probe on an already open connection
  sweep_s           median time to probe every host in parallel (the collector's way)
  ratio             sweep_s / single_rtt_s          (target: <= 1.5 at 13 hosts, <= 3 at 100)
  naive_s           one sequential `ssh` subprocess per host, new connection each time
  speedup_vs_naive  naive_s / sweep_s                (target: >= 10)

The 13 (or 100) "servers" share this machine's 2 cores, so the servers' own work (sshd
session, shell, nvidia-smi, ps) is serialised here although it runs in parallel on real
servers. A real nvidia-smi query spends tens of milliseconds waiting on the driver;
``--driver-latency-ms`` (default 50) makes the stand-in wait that long per query, so that the
figure measures labgpu's parallelism rather than this machine's core count. With 0 the
result is bounded by the 2 cores: it is printed too (``ratio_no_latency``).

Usage: .venv/bin/python bench/poll_sweep.py [--hosts 13] [--rounds 15] [--driver-latency-ms 50]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import emit, median

from labgpu.core.inventory.servers import SshTarget
from labgpu.remote import SshPool, probe
from labgpu.remote.probe import PROBE_SCRIPT
from tests.helpers.sshd import Fleet, start_sshd_hosts, stop_sshd_hosts


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def naive_sweep(fleet: Fleet) -> float:
    """What a script without labgpu does: `ssh host cmd` per host, one after the other."""
    start = time.perf_counter()
    for host in fleet.hosts.values():
        t = host.target
        subprocess.run(
            [
                "ssh",
                "-q",
                "-i",
                str(fleet.client_key),
                "-p",
                str(t.port),
                "-o",
                f"UserKnownHostsFile={fleet.known_hosts}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-F",
                str(fleet.ssh_config),
                f"{t.user}@{t.host}",
                PROBE_SCRIPT,
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


def measure(
    pool: SshPool, executor: ThreadPoolExecutor, targets: list[SshTarget], rounds: int
) -> tuple[list[float], list[float]]:
    """Round trips of one probe, and of parallel sweeps over every target."""
    first = targets[0]
    single = [timed(lambda: probe(pool, first)) for _ in range(rounds)]
    sweeps = [
        timed(lambda: list(executor.map(lambda t: probe(pool, t), targets))) for _ in range(rounds)
    ]
    return single, sweeps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--driver-latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="labgpu-bench-"))
    t0 = time.perf_counter()
    fleet = start_sshd_hosts(args.hosts, base, driver_latency_s=args.driver_latency_ms / 1000)
    print(f"started {args.hosts} sshd hosts in {time.perf_counter() - t0:.1f} s")
    pool = SshPool(
        base / "labgpu_known_hosts",
        ssh_config=fleet.ssh_config,
        home=base / "home",
        user_known_hosts=fleet.known_hosts,
        use_agent=False,
    )
    targets = [h.target for h in fleet.hosts.values()]
    executor = ThreadPoolExecutor(max_workers=min(64, len(targets)))
    try:
        list(executor.map(lambda t: probe(pool, t), targets))  # open every transport
        single, sweeps = measure(pool, executor, targets, args.rounds)
        naive = [naive_sweep(fleet) for _ in range(3)]
        for host in fleet.hosts.values():
            assert host.standin is not None
            host.standin.set_latency(0)
        single0, sweeps0 = measure(pool, executor, targets, args.rounds)
    finally:
        executor.shutdown()
        pool.close_all()
        stop_sshd_hosts(fleet)
    single_s, sweep_s, naive_s = median(single), median(sweeps), median(naive)
    print(
        f"hosts={args.hosts} single_rtt={single_s * 1000:.1f} ms sweep={sweep_s * 1000:.1f} ms "
        f"naive={naive_s * 1000:.0f} ms"
    )
    emit(
        {
            "hosts": args.hosts,
            "single_rtt_s": round(single_s, 4),
            "sweep_s": round(sweep_s, 4),
            "ratio": round(sweep_s / single_s, 2),
            "naive_s": round(naive_s, 3),
            "speedup_vs_naive": round(naive_s / sweep_s, 1),
            "driver_latency_ms": args.driver_latency_ms,
            "single_rtt_no_latency_s": round(median(single0), 4),
            "sweep_no_latency_s": round(median(sweeps0), 4),
            "ratio_no_latency": round(median(sweeps0) / median(single0), 2),
        }
    )


if __name__ == "__main__":
    main()
