"""How long one monitoring sweep takes over many real sshd hosts.

Starts N real sshd hosts (4x RTX A4000 stand-ins each) on loopback, then measures:
  single_rtt_s      median round trip of one probe on an already open connection
  sweep_s           median time to probe every host in parallel (the collector's way)
  ratio             sweep_s / single_rtt_s          (target: <= 1.5 at 13 hosts, <= 3 at 100)
  naive_s           one sequential `ssh` subprocess per host, new connection each time
  speedup_vs_naive  naive_s / sweep_s                (target: >= 10)
  remote_cpu_ratio  the probe's CPU on a host (user+sys of the remote shell and its children,
                    from `times`) with container attribution over the probe without it
                    (target: <= 1.2), in a steady lab: what inspect and getent said is reused
                    for ten minutes, so a sweep asks them only for new containers;
                    ``remote_cpu_ratio_first_probe``: a probe that asks both; and
                    ``remote_cpu_ratio_real_docker`` that first probe with the host's real
                    docker client (no daemon runs here) instead of the stand-in

Container attribution is on: every host reports two GPU processes, real sleepers placed in
real cgroups (a labelled Docker scope and a rootless Podman scope in a user namespace), so
every probe reads their cgroups and uid maps, runs one `docker inspect` (a stand-in: no daemon
runs here) and one `getent`. Creating cgroups needs root, as the tests do.

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
import shlex
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from _common import emit, median

from labgpu.core.inventory.nvidia_smi import parse_probe_output
from labgpu.core.inventory.servers import SshTarget
from labgpu.remote import SshPool, probe
from labgpu.remote.probe import PROBE_SCRIPT, probe_script, script_for
from tests.helpers.cgroups import CgroupLab, container_id
from tests.helpers.docker_standin import FakeContainer, installed
from tests.helpers.nvidia_smi_standin import FakeApp
from tests.helpers.sshd import Fleet, start_sshd_hosts, stop_sshd_hosts
from tests.helpers.sshd_support import REMOTE_USER

CPU_LOOPS = 40  # probes per remote CPU measurement (`times` counts in clock ticks)


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
    pool: SshPool,
    executor: ThreadPoolExecutor,
    targets: list[SshTarget],
    rounds: int,
    containers: bool = True,
) -> tuple[list[float], list[float]]:
    """Round trips of one probe, and of parallel sweeps over every target; ``containers``
    False runs the probe script without its container part (the same run's baseline)."""
    old = probe_script(None)

    def one(target: SshTarget) -> object:
        if containers:
            return probe(pool, target)
        return parse_probe_output("h", pool.run_script(target, old).stdout, datetime.now(UTC))

    single = [timed(lambda: one(targets[0])) for _ in range(rounds)]
    sweeps = [timed(lambda: list(executor.map(one, targets))) for _ in range(rounds)]
    return single, sweeps


def put_in_containers(fleet: Fleet, cgroups: CgroupLab) -> None:
    """Two GPU processes per host: a labelled Docker container and a rootless Podman one."""
    labelled, rootless = container_id(), container_id()
    pids = [
        cgroups.spawn(["sleep", "86400"], cgroups.v2(f"system.slice/docker-{labelled}.scope")),
        cgroups.spawn(
            ["unshare", "--user", "--map-root-user", "sleep", "86400"],
            cgroups.v2(f"user.slice/user-1001.slice/libpod-{rootless}.scope/container"),
        ),
    ]
    for host in fleet.hosts.values():
        assert host.standin is not None
        gpus = host.standin.gpus
        apps = [FakeApp(gpus[i].uuid, pid, "4000", "python") for i, pid in enumerate(pids)]
        host.standin.set_state(gpus, apps)
        docker = installed(host.standin.bin_dir, host.standin.state_dir)
        docker.set_containers([FakeContainer(labelled, "vit-train", {"labgpu.user": REMOTE_USER})])


def remote_cpu_s(pool: SshPool, fleet: Fleet, script: str) -> float:
    """CPU seconds (user + sys, children included) of ``CPU_LOOPS`` runs of ``script`` on the
    first host, from the remote shell's own ``times``."""
    target = next(iter(fleet.hosts.values())).target
    loop = (
        f"i=0; while [ $i -lt {CPU_LOOPS} ]; do sh -c {shlex.quote(script)} >/dev/null; "
        "i=$((i+1)); done; times"
    )
    out = pool.run_script(target, loop, timeout=300).stdout.split()
    # `times`: shell user, shell sys, children user, children sys (like 0m0.010s).
    return sum(_seconds(v) for v in out[-4:])


def _seconds(value: str) -> float:
    minutes, _, rest = value.partition("m")
    return int(minutes) * 60 + float(rest.rstrip("s"))


def cpu_ratio(pool: SshPool, fleet: Fleet, rounds: int, steady: bool = True) -> float:
    """Median of new/old remote CPU over ``rounds`` alternating measurements. ``steady``: the
    script a sweep sends once earlier probes know the host's containers (as every sweep after
    the first does for ten minutes); else a first probe's, which asks inspect and getent."""
    old_script = probe_script(None)
    target = next(iter(fleet.hosts.values())).target
    if steady:
        probe(pool, target)  # what a collector has learnt by its second sweep
    new_script = script_for(pool, target) if steady else PROBE_SCRIPT
    ratios = []
    for _ in range(rounds):
        old = remote_cpu_s(pool, fleet, old_script)
        new = remote_cpu_s(pool, fleet, new_script)
        ratios.append(new / old)
    return median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--driver-latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="labgpu-bench-"))
    t0 = time.perf_counter()
    fleet = start_sshd_hosts(args.hosts, base, driver_latency_s=args.driver_latency_ms / 1000)
    cgroups = CgroupLab()
    put_in_containers(fleet, cgroups)
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
        single_old, sweeps_old = measure(pool, executor, targets, args.rounds, containers=False)
        naive = [naive_sweep(fleet) for _ in range(3)]
        for host in fleet.hosts.values():
            assert host.standin is not None
            host.standin.set_latency(0)
        single0, sweeps0 = measure(pool, executor, targets, args.rounds)
        attributed = probe(pool, targets[0]).processes
        assert [p.user for p in attributed] == [REMOTE_USER] * 2, attributed
        cpu = cpu_ratio(pool, fleet, 5)
        cpu_cold = cpu_ratio(pool, fleet, 5, steady=False)
        for host in fleet.hosts.values():  # the host's real docker client, without a daemon
            (host.root / "bin" / "docker").unlink()
        cpu_real = cpu_ratio(pool, fleet, 5, steady=False)
    finally:
        executor.shutdown()
        pool.close_all()
        stop_sshd_hosts(fleet)
        cgroups.cleanup()
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
            "containers": True,
            "ratio_without_containers": round(median(sweeps_old) / median(single_old), 2),
            "remote_cpu_ratio": round(cpu, 2),
            "remote_cpu_ratio_first_probe": round(cpu_cold, 2),
            "remote_cpu_ratio_real_docker": round(cpu_real, 2),
        }
    )


if __name__ == "__main__":
    main()
