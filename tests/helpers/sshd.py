"""Real OpenSSH ``sshd`` instances on 127.0.0.1 acting as GPU servers (pytest plugin + library).

Each instance runs ``/usr/sbin/sshd -D`` from its own directory with its own host key and a
``SetEnv PATH=DIR/bin:...`` so that it has its own ``nvidia-smi`` stand-in. The remote user is
``labuser``; the client key is appended to its ``authorized_keys`` (and removed on stop).

Outside pytest (benchmarks): ``fleet = start_sshd_hosts(100, Path(dir))`` ... ``fleet.stop()``.
A missing ``sshd`` is a failure, never a skip (docs/architecture.md §9).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labgpu.core.inventory.servers import SshTarget
from labgpu.remote.ssh import SshPool
from tests.helpers.nvidia_smi_standin import FakeApp, FakeGpu, StandIn, make_gpus
from tests.helpers.sshd_support import (
    REMOTE_USER,
    HangingListener,
    authorize_key,
    free_port,
    key_fingerprint,
    keygen,
    unauthorize_key,
)

SSHD = Path("/usr/sbin/sshd")


def _sshd_version() -> tuple[int, int]:
    if not SSHD.exists():
        raise RuntimeError(f"{SSHD} is missing: install openssh-server (tests need a real sshd)")
    out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, check=False)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _config(root: Path, port: int, path_env: str) -> str:
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {root / 'host_key'}",
        f"PidFile {root / 'sshd.pid'}",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        f"AllowUsers {REMOTE_USER}",
        "UsePAM no",
        "StrictModes yes",
        "PrintMotd no",
        "MaxStartups 200:30:400",
        "MaxSessions 100",
        "AllowTcpForwarding yes",
        "Subsystem sftp internal-sftp",
        f"SetEnv PATH={path_env}",
    ]
    if _sshd_version() >= (9, 8):
        lines.append("PerSourcePenalties no")
    return "\n".join(lines) + "\n"


@dataclass
class SshdHost:
    """One fake GPU server: a running sshd (or, for error cases, a bare port)."""

    name: str
    root: Path
    port: int
    target: SshTarget
    standin: StandIn | None = None
    host_key_pub: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def fingerprint(self) -> str:
        """SHA256 fingerprint of the host key, from ``ssh-keygen -lf``."""
        assert self.host_key_pub is not None, f"{self.name} has no host key"
        return key_fingerprint(self.host_key_pub)

    def known_hosts_line(self, pub: Path | None = None) -> str:
        """A known_hosts line for this host with its own (or another) public key."""
        key_type, key_b64 = (
            (pub or self.host_key_pub or Path("/nonexistent")).read_text().split()[:2]
        )
        return f"[127.0.0.1]:{self.port} {key_type} {key_b64}\n"

    def set_utilization(self, percent: float | str, index: int | None = None) -> None:
        """Change what the stand-in reports as ``utilization.gpu``."""
        assert self.standin is not None, f"{self.name} has no nvidia-smi stand-in"
        self.standin.set_utilization(percent, index)

    def stop(self) -> None:
        """Stop sshd by its PID and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _wait_ready(host: SshdHost, deadline: float) -> bool:
    """True once sshd answers with an SSH banner; False if it exited (e.g. port taken)."""
    assert host.process is not None
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", host.port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"sshd {host.name} did not come up; see {host.root / 'sshd.log'}")


def _restricted_bin(bin_dir: Path) -> None:
    """Make ``bin_dir`` hold only what the probe needs besides nvidia-smi."""
    for tool in ("sh", "awk", "ps", "cat"):
        real = shutil.which(tool)
        assert real, f"{tool} not found"
        (bin_dir / tool).symlink_to(os.path.realpath(real))


def start_sshd(
    name: str, root: Path, client_key: Path, *, gpus: Sequence[FakeGpu] = (), no_smi: bool = False
) -> SshdHost:
    """Start one sshd in ``root`` (created, mode 0755) with a stand-in reporting ``gpus``."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    keygen(root / "host_key", f"{name}-host")
    standin = StandIn(root)
    standin.install(gpus)
    path_env = f"{standin.bin_dir}:/usr/local/bin:/usr/bin:/bin"
    if no_smi:
        (standin.bin_dir / "nvidia-smi").unlink()
        _restricted_bin(standin.bin_dir)
        path_env = str(standin.bin_dir)
    for _attempt in range(8):
        port = free_port()
        (root / "sshd_config").write_text(_config(root, port, path_env))
        argv = [str(SSHD), "-D", "-f", str(root / "sshd_config"), "-E", str(root / "sshd.log")]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        target = SshTarget("127.0.0.1", port, REMOTE_USER, str(client_key))
        host = SshdHost(name, root, port, target, standin, root / "host_key.pub", process)
        if _wait_ready(host, time.monotonic() + 30):
            return host
        process.wait()
    raise RuntimeError(f"sshd {name} could not bind a port; see {root / 'sshd.log'}")


@dataclass
class Fleet:
    """Running fake GPU servers plus the client-side files that reach them."""

    base_dir: Path
    client_key: Path
    known_hosts: Path
    ssh_config: Path
    hosts: dict[str, SshdHost] = field(default_factory=dict)
    extras: list[HangingListener] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __getattr__(self, name: str) -> SshdHost:
        hosts = self.__dict__.get("hosts", {})
        if name in hosts:
            return hosts[name]
        raise AttributeError(name)

    def write_known_hosts(self, names: Sequence[str] | None = None) -> None:
        """Record the real keys of ``names`` (default: every sshd host) in ``known_hosts``."""
        chosen = names if names is not None else list(self.hosts)
        lines = [self.hosts[n].known_hosts_line() for n in chosen if self.hosts[n].host_key_pub]
        self.known_hosts.write_text("".join(lines))

    def stop(self) -> None:
        """Stop every sshd, listener and helper process; de-authorize the client key."""
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(SshdHost.stop, self.hosts.values()))
        for extra in self.extras:
            extra.stop()
        for proc in self.processes:
            proc.kill()
            proc.wait(10)
        unauthorize_key(self.client_key.with_suffix(".pub"))


def _new_fleet(base_dir: Path) -> Fleet:
    base_dir.mkdir(parents=True, exist_ok=True)
    base_dir.chmod(0o755)
    client_dir = base_dir / "client"
    client_dir.mkdir(mode=0o700, exist_ok=True)
    client_key = keygen(client_dir / "id_ed25519", "labgpu-test-client")
    authorize_key(client_key.with_suffix(".pub"))
    fleet = Fleet(base_dir, client_key, client_dir / "known_hosts", client_dir / "ssh_config")
    fleet.ssh_config.write_text("")
    return fleet


def start_sshd_hosts(
    n: int, base_dir: Path, prefix: str = "gpu", driver_latency_s: float = 0.0
) -> Fleet:
    """Start ``n`` sshd hosts (4× idle RTX A4000 each) concurrently under ``base_dir``.

    ``driver_latency_s`` makes each nvidia-smi query wait that long (see ``set_latency``).
    """
    _sshd_version()
    fleet = _new_fleet(base_dir)

    def one(i: int) -> SshdHost:
        name = f"{prefix}{i:03d}"
        gpus = make_gpus(name, "NVIDIA RTX A4000", 16376)
        host = start_sshd(name, base_dir / name, fleet.client_key, gpus=gpus)
        if host.standin is not None:
            host.standin.set_latency(driver_latency_s)
        return host

    try:
        with ThreadPoolExecutor(max_workers=min(32, max(n, 1))) as pool:
            for host in pool.map(one, range(n)):
                fleet.hosts[host.name] = host
    except BaseException:
        fleet.stop()
        raise
    fleet.write_known_hosts()
    return fleet


def stop_sshd_hosts(fleet: Fleet) -> None:
    """Stop what :func:`start_sshd_hosts` started."""
    fleet.stop()


def _spawn_sleeper(seconds: int) -> subprocess.Popen[bytes]:
    """A real process owned by labuser, for the stand-in to report as a GPU process."""
    return subprocess.Popen(
        ["sleep", str(seconds)], user=REMOTE_USER, group=REMOTE_USER, extra_groups=[]
    )


def _vanished_pid() -> int:
    limit = int(Path("/proc/sys/kernel/pid_max").read_text())
    pid = limit - 1
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


def _configure(fleet: Fleet) -> None:
    """Give each named host of the ``gpu_hosts`` fleet its nvidia-smi answers."""
    sleepers = [_spawn_sleeper(86400), _spawn_sleeper(86401)]
    fleet.processes.extend(sleepers)
    a4000 = fleet.hosts["a4000"]
    assert a4000.standin is not None
    gpus = a4000.standin.gpus
    gpus[0] = FakeGpu(0, gpus[0].uuid, gpus[0].name, "16376", "9123", "87", "71", "118.52")
    apps = [
        FakeApp(gpus[0].uuid, sleepers[0].pid, "8000", "python"),
        FakeApp(gpus[1].uuid, sleepers[1].pid, "1024", "/usr/bin/python3"),
        FakeApp(gpus[1].uuid, _vanished_pid(), "512", "python"),
    ]
    a4000.standin.set_state(gpus, apps)
    mig = fleet.hosts["mig"].standin
    assert mig is not None
    mig_gpus = [
        FakeGpu(g.index, g.uuid, "NVIDIA A100-SXM4-40GB", "40960", "1200", "[N/A]", "33", "[N/A]")
        for g in mig.gpus[:2]
    ]
    mig.set_state(mig_gpus, [FakeApp(mig_gpus[0].uuid, sleepers[0].pid, "[N/A]", "python")])
    garbage = fleet.hosts["garbage"].standin
    assert garbage is not None
    garbage.write_raw("gpus.csv", "0, GPU-x, NVIDIA RTX A4000, lots, 1, 2, 3\n")


_FLEET_LAYOUT: dict[str, tuple[str, int, bool]] = {
    "a4000": ("NVIDIA RTX A4000", 16376, False),
    "a40": ("NVIDIA A40", 46068, False),
    "mig": ("NVIDIA A100-SXM4-40GB", 40960, False),
    "garbage": ("NVIDIA RTX A4000", 16376, False),
    "no_smi": ("", 0, True),
    "changed_key": ("NVIDIA RTX A4000", 16376, False),
}


def start_gpu_hosts(base_dir: Path) -> Fleet:
    """The fleet behind the ``gpu_hosts`` fixture (see the module docstring)."""
    _sshd_version()
    fleet = _new_fleet(base_dir)

    def one(item: tuple[str, tuple[str, int, bool]]) -> SshdHost:
        name, (model, memory, no_smi) = item
        gpus = make_gpus(name, model, memory) if model else []
        return start_sshd(name, base_dir / name, fleet.client_key, gpus=gpus, no_smi=no_smi)

    try:
        with ThreadPoolExecutor(max_workers=len(_FLEET_LAYOUT)) as pool:
            for host in pool.map(one, _FLEET_LAYOUT.items()):
                fleet.hosts[host.name] = host
        _configure(fleet)
        _add_error_hosts(fleet)
    except BaseException:
        fleet.stop()
        raise
    fleet.write_known_hosts([n for n in fleet.hosts if n != "changed_key"])
    wrong = keygen(base_dir / "wrong_key", "not-the-real-key").with_suffix(".pub")
    with open(fleet.known_hosts, "a") as out:
        out.write(fleet.hosts["changed_key"].known_hosts_line(wrong))
    return fleet


def _add_error_hosts(fleet: Fleet) -> None:
    hanging = HangingListener()
    fleet.extras.append(hanging)
    key = str(fleet.client_key)
    root = fleet.base_dir
    fleet.hosts["hanging"] = SshdHost(
        "hanging", root, hanging.port, SshTarget("127.0.0.1", hanging.port, REMOTE_USER, key)
    )
    closed = free_port()
    fleet.hosts["closed"] = SshdHost(
        "closed", root, closed, SshTarget("127.0.0.1", closed, REMOTE_USER, key)
    )


@pytest.fixture(scope="session")
def gpu_hosts() -> Iterator[Fleet]:
    """Fake GPU servers: a4000, a40, mig, garbage, no_smi, changed_key, hanging, closed.

    ``known_hosts`` holds the real keys of the sshd hosts and a wrong key for changed_key;
    ``ssh_config`` is empty; ``client_key`` is authorized for ``labuser`` on all of them.
    """
    base = Path(tempfile.mkdtemp(prefix="labgpu-sshd-"))
    fleet = start_gpu_hosts(base)
    try:
        yield fleet
    finally:
        fleet.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_pool(gpu_hosts: Fleet, tmp_path: Path) -> Iterator[Callable[..., SshPool]]:
    """Build ``SshPool`` objects that never read the real ~/.ssh or ssh-agent; closed after.

    Defaults: labgpu known_hosts at ``tmp_path/labgpu/known_hosts``, the fleet's prepared
    known_hosts as the (read-only) user file, the fleet's empty ssh config, an empty home.
    """
    pools: list[SshPool] = []

    def make(**overrides: Any) -> SshPool:
        options: dict[str, Any] = {
            "known_hosts": tmp_path / "labgpu" / "known_hosts",
            "ssh_config": gpu_hosts.ssh_config,
            "home": tmp_path / "home",
            "user_known_hosts": gpu_hosts.known_hosts,
            "use_agent": False,
            "connect_timeout": 10.0,
        }
        options.update(overrides)
        pool = SshPool(**options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close_all()
