"""A real single-node Slurm (slurmctld + slurmd + munge) with two fake A100 GPUs as GRES,
reached through a real sshd "login node" as ``labuser`` (pytest plugin + library).

Slurm's ports are fixed (6817/6818): one Slurm per machine, so this is a session fixture.
Daemons are started from the system binaries in a temporary directory and stopped by PID;
munged is started only if none runs (and then stopped again). A missing binary is a failure,
never a skip (docs/architecture.md §9).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.sshd import SSHD, Fleet, SshdHost, _config, _new_fleet, _wait_ready
from tests.helpers.sshd_support import REMOTE_USER, free_port, keygen

SLURMCTLD = Path("/usr/sbin/slurmctld")
SLURMD = Path("/usr/sbin/slurmd")
MUNGED = Path("/usr/sbin/munged")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
PORTS = (6817, 6818)

SLURM_CONF = """\
ClusterName=labgputest
SlurmctldHost=localhost
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MessageTimeout=20
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} Gres=gpu:a100:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""
GRES_CONF = """\
AutoDetect=off
NodeName=localhost Name=gpu Type=a100 File={root}/dev/nvidia[0-1]
"""


@dataclass
class SlurmCluster:
    """The running Slurm, its login node and the client files that reach it."""

    root: Path
    conf: Path
    login: SshdHost
    fleet: Fleet
    work_base: str  # a fresh directory in labuser's home for this session's jobs
    pids: list[int] = field(default_factory=list)
    started_munged: int | None = None

    def env(self) -> dict[str, str]:
        """Environment for running Slurm's client tools locally (as root)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def scontrol(self, *args: str) -> str:
        """Run ``scontrol`` locally and return its output."""
        done = subprocess.run(
            ["scontrol", *args], capture_output=True, text=True, env=self.env(), check=False
        )
        return done.stdout + done.stderr

    def stop_login(self) -> None:
        """Stop the login node's sshd (the cluster becomes unreachable; jobs keep running)."""
        self.login.stop()

    def start_login(self) -> None:
        """Start the login node's sshd again on the same port."""
        argv = [str(SSHD), "-D", "-f", str(self.login.root / "sshd_config")]
        argv += ["-E", str(self.login.root / "sshd.log")]
        self.login.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        if not _wait_ready(self.login, time.monotonic() + 30):
            raise RuntimeError(f"login node sshd did not restart; see {self.login.root}")


def _require(path: Path, package: str) -> None:
    if not path.exists():
        raise RuntimeError(f"{path} is missing: install {package} (tests need a real Slurm)")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _munge_works() -> bool:
    if not MUNGE_SOCKET.exists():
        return False
    cred = subprocess.run(["munge", "-n"], capture_output=True, check=False)
    check = subprocess.run(["unmunge"], input=cred.stdout, capture_output=True, check=False)
    return cred.returncode == 0 and check.returncode == 0


def _start_munged() -> int | None:
    """Start munged unless a working one runs; return the PID of the one started."""
    if _munge_works():
        return None
    _require(MUNGED, "munge")
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
    run_dir = Path("/run/munge")
    run_dir.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", str(MUNGED), "--force"], check=True)
    deadline = time.monotonic() + 10
    while not _munge_works():
        if time.monotonic() > deadline:
            raise RuntimeError("munged did not start; see /var/log/munge/munged.log")
        time.sleep(0.1)
    pidfile = run_dir / "munged.pid"
    return int(pidfile.read_text()) if pidfile.exists() else None


def _write_conf(root: Path) -> Path:
    for sub in ("state", "spool", "log", "dev"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in (0, 1):
        os.mknod(root / "dev" / f"nvidia{i}", 0o666 | 0o020000, os.makedev(1, 3))
    cpus = 2
    conf = root / "slurm.conf"
    conf.write_text(SLURM_CONF.format(root=root, cpus=cpus))
    (root / "gres.conf").write_text(GRES_CONF.format(root=root))
    return conf


def _wait_idle(cluster: SlurmCluster, deadline: float) -> None:
    while time.monotonic() < deadline:
        out = cluster.scontrol("show", "node", "localhost")
        if "State=IDLE" in out:
            return
        if "State=DOWN" in out or "DRAIN" in out:
            cluster.scontrol("update", "nodename=localhost", "state=resume")
        time.sleep(0.2)
    raise RuntimeError(
        f"slurm node never became idle: {cluster.scontrol('show', 'node', 'localhost')}; "
        f"see {cluster.root / 'log'}"
    )


def _start_login(fleet: Fleet, root: Path, conf: Path) -> SshdHost:
    root.mkdir(mode=0o755, exist_ok=True)
    keygen(root / "host_key", "slurm-login-host")
    # SetEnv takes several NAME=VALUE words: the login node knows where slurm.conf is.
    env = f"/usr/local/bin:/usr/bin:/bin SLURM_CONF={conf}"
    for _attempt in range(8):
        port = free_port()
        (root / "sshd_config").write_text(_config(root, port, env))
        argv = [str(SSHD), "-D", "-f", str(root / "sshd_config"), "-E", str(root / "sshd.log")]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        from labgpu.core.inventory.servers import SshTarget

        target = SshTarget("127.0.0.1", port, REMOTE_USER, str(fleet.client_key))
        host = SshdHost("login", root, port, target, None, root / "host_key.pub", process)
        if _wait_ready(host, time.monotonic() + 30):
            fleet.hosts["login"] = host
            fleet.write_known_hosts()
            return host
        process.wait()
    raise RuntimeError(f"login sshd could not bind a port; see {root / 'sshd.log'}")


def _kill_pidfile(path: Path) -> None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def start_slurm(base: Path) -> SlurmCluster:
    """Start munge (if needed), slurmctld, slurmd and the login node under ``base``."""
    _require(SLURMCTLD, "slurmctld")
    _require(SLURMD, "slurmd")
    _require(Path("/usr/bin/sbatch"), "slurm-client")
    busy = [p for p in PORTS if not _port_free(p)]
    if busy:
        raise RuntimeError(
            f"port(s) {busy} are taken: another Slurm runs on this machine; stop it first"
        )
    base.chmod(0o755)
    munged = _start_munged()
    root = base / "slurm"
    root.mkdir(mode=0o755)
    conf = _write_conf(root)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    fleet = _new_fleet(base / "ssh")
    home = Path(pwd.getpwnam(REMOTE_USER).pw_dir)
    cluster = SlurmCluster(
        root,
        conf,
        None,
        fleet,
        str(home / f"labgpu-tests-{uuid.uuid4().hex[:8]}"),  # type: ignore[arg-type]
        started_munged=munged,
    )
    try:
        subprocess.run([str(SLURMCTLD), "-f", str(conf)], env=env, check=True)
        subprocess.run([str(SLURMD), "-f", str(conf), "-N", "localhost"], env=env, check=True)
        _wait_idle(cluster, time.monotonic() + 30)
        cluster.login = _start_login(fleet, base / "login", conf)
    except BaseException:
        stop_slurm(cluster)
        raise
    return cluster


def stop_slurm(cluster: SlurmCluster) -> None:
    """Cancel every job, stop the daemons this module started, the login node and the fleet."""
    subprocess.run(["scancel", "--user", REMOTE_USER], env=cluster.env(), check=False)
    _kill_pidfile(cluster.root / "slurmd.pid")
    _kill_pidfile(cluster.root / "slurmctld.pid")
    if cluster.started_munged is not None:
        _kill(cluster.started_munged)
    cluster.fleet.stop()
    shutil.rmtree(cluster.work_base, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A real Slurm with two A100 GRES, behind a real sshd login node (see module docstring)."""
    base = Path(tempfile.mkdtemp(prefix="labgpu-slurm-"))
    cluster = start_slurm(base)
    try:
        yield cluster
    finally:
        stop_slurm(cluster)
        shutil.rmtree(base, ignore_errors=True)
