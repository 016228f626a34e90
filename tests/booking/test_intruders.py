"""A GPU used by someone other than its holder (issue 15, point 5), against a real sshd GPU
server whose monitoring account is ``labuser``: a real process of another OS user
(``labintruder``) on a real pseudo-terminal is reported by the nvidia-smi stand-in on a GPU
``labuser`` holds. The rule ``show`` audits and tells the holder; ``message`` writes on the
intruder's terminal (the monitoring account in group ``tty``, as the README says); ``stop``
signals the intruder's processes as that user through the README's sudoers line, after the
grace, and never the holder's own process on the same GPU."""

from __future__ import annotations

import grp
import os
import pty
import pwd
import select
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.booking.bookings import Booking, Window
from labgpu.core.booking.intruders import due_signal, find_intrusions
from labgpu.core.booking.rules import ReminderKind
from labgpu.core.inventory.servers import Gpu, GpuProcess, GpuReading, GpuStatus, ServerState
from labgpu.remote.intruders import message_script, stop_script
from labgpu.remote.probe import probe
from labgpu.remote.ssh import SshPool
from labgpu.services.booking.intruders import IntruderWatch
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.nvidia_smi_standin import FakeApp
from tests.helpers.run_host import booked_server
from tests.helpers.sshd import Fleet, SshdHost
from tests.helpers.sshd_support import REMOTE_USER

INTRUDER = "labintruder"
SUDOERS = Path("/etc/sudoers.d/labgpu-test")
#: The README's lines for the monitoring account (here: labuser).
SUDOERS_LINE = f"{REMOTE_USER} ALL=(ALL,!root) NOPASSWD: /usr/bin/kill, /bin/kill\n"
T0 = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


# -- as values ---------------------------------------------------------------------------------


def status(procs: tuple[GpuProcess, ...]) -> GpuStatus:
    return GpuStatus(
        "gpu05", ServerState.ONLINE, "", 2, "GPU-2", "NVIDIA A40", 46068,
        sampled_at=T0, processes=procs,
    )  # fmt: skip


def test_only_known_non_root_owners_other_than_the_holder_are_acted_on() -> None:
    gpu = Gpu("gpu05", 2, "GPU-2", "NVIDIA A40", 46068, id=7)
    held = Booking(1, "g-1", 7, "kim", Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    procs = (
        GpuProcess("GPU-2", 10, 100, "python", "kim", 60),  # the holder's own
        GpuProcess("GPU-2", 11, 100, "python", "lee", 120),
        GpuProcess("GPU-2", 12, 100, "python", "lee", 30),
        GpuProcess("GPU-2", 13, 100, "python", None, 50, container="vit-train"),
        GpuProcess("GPU-2", 14, 100, "nvidia-persistenced", "root", 9000),
        GpuProcess("GPU-2", 15, 100, "python", None),  # exited meanwhile
    )
    found = find_intrusions([status(procs)], {"GPU-2": gpu}, [held], T0)
    by_user = {i.user: i for i in found}
    assert set(by_user) == {"lee", None, "root"}
    assert by_user["lee"].pids == (11, 12)
    assert by_user["lee"].since == T0 - timedelta(seconds=120)
    assert by_user["lee"].actionable
    assert not by_user[None].actionable  # owner unknown: shown, never acted on
    assert by_user[None].container == "vit-train"
    assert not by_user["root"].actionable
    not_started = replace(held, window=Window(T0 + timedelta(minutes=5), T0 + timedelta(hours=1)))
    assert find_intrusions([status(procs)], {"GPU-2": gpu}, [not_started], T0) == []


def test_the_stop_rule_waits_the_grace_then_terms_then_kills() -> None:
    grace = timedelta(minutes=10)
    assert due_signal("stop", T0, T0 + timedelta(minutes=9), grace) is None
    assert due_signal("stop", T0, T0 + grace, grace) == "TERM"
    assert due_signal("stop", T0, T0 + 2 * grace, grace) == "KILL"
    assert due_signal("message", T0, T0 + 3 * grace, grace) is None


def test_scripts_quote_what_they_are_given() -> None:
    with pytest.raises(ValueError, match="account name"):
        message_script("lee; rm -rf ~", "hello")  # never a name a shell would read
    text = message_script("lee", "it's $(reboot)\x1b[2J")
    assert "user=lee" in text
    assert "$(reboot)" in text.split("msg=")[1].split("\n")[0]  # inside single quotes
    assert "\x1b" not in text  # no terminal control sequences reach another's terminal
    assert "for p in 1 2; do" in stop_script("lee", [1, 2], "TERM")
    with pytest.raises(ValueError, match="HUP"):
        stop_script("lee", [1], "HUP")


# -- on a real server ---------------------------------------------------------------------------


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True)
        return pwd.getpwnam(name)


@dataclass
class Terminal:
    """A login-like pseudo-terminal of ``labintruder`` with a process on it."""

    master: int
    process: subprocess.Popen[bytes]

    def read(self, seconds: float = 10) -> str:
        got = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    got += os.read(self.master, 4096)
                except OSError:
                    break
                if b"\n" in got.split(b"labgpu:", 1)[-1]:
                    break
        return got.decode(errors="replace")


@pytest.fixture(scope="module")
def server_access() -> Iterator[None]:
    """The README's setup of the monitoring account: group tty and the sudoers line."""
    _ensure_user(INTRUDER)
    if not Path("/usr/bin/sudo").exists():
        raise RuntimeError("sudo is missing: tests/run.sh installs it (apt package sudo)")
    subprocess.run(["usermod", "-aG", "tty", REMOTE_USER], check=True)
    SUDOERS.write_text(SUDOERS_LINE)
    SUDOERS.chmod(0o440)
    try:
        yield
    finally:
        SUDOERS.unlink(missing_ok=True)
        subprocess.run(["gpasswd", "-d", REMOTE_USER, "tty"], check=False, capture_output=True)


@pytest.fixture
def terminal(server_access: None) -> Iterator[Terminal]:
    user = pwd.getpwnam(INTRUDER)
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.chown(path, user.pw_uid, grp.getgrnam("tty").gr_gid)  # as sshd's login does
    os.chmod(path, 0o620)
    process = subprocess.Popen(
        ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
         "setsid", "--ctty", "sleep", "300"],
        stdin=slave, stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    try:
        yield Terminal(master, process)
    finally:
        process.kill()
        process.wait(10)
        os.close(master)


@pytest.fixture(scope="module")
def intruded_host(gpu_hosts: Fleet) -> Iterator[SshdHost]:
    with booked_server(gpu_hosts) as host:
        yield host


@dataclass
class Watched:
    store: Store
    bookings: BookingService
    watch: IntruderWatch
    holder_process: subprocess.Popen[bytes]
    host: SshdHost
    monitor: SshPool


@pytest.fixture
def watched(
    intruded_host: SshdHost, gpu_hosts: Fleet, terminal: Terminal, tmp_path: Path
) -> Iterator[Watched]:
    host = intruded_host
    assert host.standin is not None
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    readings = [
        GpuReading(g.index, g.uuid, g.name, 46068, 0, 0.0, 30, 50) for g in host.standin.gpus
    ]
    store.inventory.register_server("gpu-i", host.target, readings, "admin")
    store.bookings.set_rules(replace(store.bookings.get_rules(), approval_models=()), "admin")
    bookings = BookingService(store, REMOTE_USER)
    gpu_id = min(g.id for g in store.inventory.list_gpus() if g.id is not None)
    now = datetime.now(UTC)
    bookings.book([gpu_id], now - timedelta(seconds=30), now + timedelta(hours=2))
    holder = pwd.getpwnam(REMOTE_USER)
    holder_process = subprocess.Popen(
        ["setpriv", f"--reuid={holder.pw_uid}", f"--regid={holder.pw_gid}", "--clear-groups",
         "sleep", "300"]
    )  # fmt: skip
    uuid = host.standin.gpus[0].uuid
    host.standin.set_state(
        host.standin.gpus,
        [
            FakeApp(uuid, holder_process.pid, "900", "python"),
            FakeApp(uuid, terminal.process.pid, "900", "python"),
        ],
    )
    monitor = SshPool(
        tmp_path / "known_hosts",
        home=tmp_path / "home",
        use_agent=False,
        user_known_hosts=_known(tmp_path, host),
    )
    store.inventory.store_probe("gpu-i", probe(monitor, host.target))
    watch = IntruderWatch(bookings, lambda: monitor)
    try:
        yield Watched(store, bookings, watch, holder_process, host, monitor)
    finally:
        holder_process.kill()
        holder_process.wait(10)
        host.standin.set_state(host.standin.gpus, [])
        monitor.close_all()
        store.close()


def _known(tmp_path: Path, host: SshdHost) -> Path:
    path = tmp_path / "user_known_hosts"
    path.write_text(host.known_hosts_line())
    return path


def set_rule(w: Watched, action: str) -> None:
    rules = replace(w.store.bookings.get_rules(), intruder_action=action, intruder_grace_minutes=5)
    w.store.bookings.set_rules(rules, "admin")


def audit(w: Watched, action: str) -> list[str]:
    return [a.detail for a in w.store.list_audit() if a.action == action]


def test_show_audits_once_and_tells_the_holder(watched: Watched, terminal: Terminal) -> None:
    assert watched.watch.run() == []
    watched.watch.run()
    seen = audit(watched, "intruder.seen")
    assert len(seen) == 1
    assert INTRUDER in seen[0]
    assert str(terminal.process.pid) in seen[0]
    reminders = watched.bookings.upcoming_reminders(datetime.now(UTC), timedelta(minutes=10))
    told = [r for r in reminders if r.kind is ReminderKind.INTRUDER]
    assert [r.note for r in told] == [INTRUDER]
    assert audit(watched, "intruder.message") == []
    assert terminal.process.poll() is None


def test_message_lands_on_the_intruders_terminal(watched: Watched, terminal: Terminal) -> None:
    set_rule(watched, "message")
    done = watched.watch.run()
    assert done
    text = terminal.read()
    assert "labgpu: GPU gpu-i:0 is booked by labuser" in text
    assert str(terminal.process.pid) in text
    assert "pts/" in audit(watched, "intruder.message")[0]
    watched.watch.run()  # once per intrusion
    assert len(audit(watched, "intruder.message")) == 1
    assert terminal.process.poll() is None  # a message stops nothing


def test_stop_signals_the_intruder_after_the_grace_and_spares_the_holder(
    watched: Watched, terminal: Terminal
) -> None:
    set_rule(watched, "stop")
    now = datetime.now(UTC)
    watched.watch.run(now)
    assert "stops them in 5 min" in terminal.read()
    assert terminal.process.poll() is None  # within the grace
    watched.watch.run(now + timedelta(minutes=5))
    terminal.process.wait(10)  # SIGTERM, sent as labintruder
    stops = audit(watched, "intruder.stop")
    assert stops == [f"SIGTERM to {INTRUDER}: {terminal.process.pid}"]
    assert watched.holder_process.poll() is None  # the holder's process on that GPU


def test_a_system_account_is_never_signalled(
    intruded_host: SshdHost, server_access: None, tmp_path: Path
) -> None:
    """The sudoers line allows any user but root; labgpu itself keeps to members' uids."""
    from labgpu.remote.intruders import check_name, send_signal

    daemon = pwd.getpwnam("daemon")
    assert daemon.pw_uid < 1000
    process = subprocess.Popen(
        ["setpriv", f"--reuid={daemon.pw_uid}", f"--regid={daemon.pw_gid}", "--clear-groups",
         "sleep", "60"]
    )  # fmt: skip
    monitor = SshPool(
        tmp_path / "known_hosts",
        home=tmp_path / "home",
        use_agent=False,
        user_known_hosts=_known(tmp_path, intruded_host),
    )
    try:
        sent = send_signal(monitor, intruded_host.target, "daemon", [process.pid], "TERM")
        assert sent.done == ()
        assert sent.refused == (str(process.pid),)
        assert process.poll() is None
        with pytest.raises(ValueError, match="account name"):
            check_name("#-1")
    finally:
        process.kill()
        process.wait(10)
        monitor.close_all()
