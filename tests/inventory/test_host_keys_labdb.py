"""Host keys pinned in the lab database (issue 12, part 5): real sshd, real PostgreSQL.

A manager pins a server's key; a member's desktop and the collector, each with an empty
known_hosts, trust the server through the pin; a changed key is refused for everyone; only a
manager forgets it. The pool's side is also checked against a pin list without a database.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from labgpu.core.errors import DatabaseError, HostKeyChangedError, HostKeyUnknownError
from labgpu.core.inventory.host_keys import HostKey, HostKeyNotPinnedError
from labgpu.core.inventory.servers import ServerState, SshTarget
from labgpu.services import Labgpu
from labgpu.services.inventory.host_keys import LabHostKeys
from labgpu.storage import Store
from tests.booking.test_cli_booking import run
from tests.helpers.nvidia_smi_standin import make_gpus
from tests.helpers.postgres import PostgresServer
from tests.helpers.sshd import SSHD, Fleet, SshdHost, keygen, start_sshd
from tests.members.test_labdb_cli import as_member, names  # noqa: F401  (fixture)
from tests.test_ssh import MakePool


@pytest.fixture
def box(gpu_hosts: Fleet) -> Iterator[SshdHost]:
    """A GPU server of this test's own (its host key is changed by some tests)."""
    base = Path(tempfile.mkdtemp(prefix="labgpu-pin-"))
    base.chmod(0o755)
    host = start_sshd("pinbox", base / "pinbox", gpu_hosts.client_key,
                      gpus=make_gpus("pinbox", "NVIDIA RTX A4000", 16376))  # fmt: skip
    try:
        yield host
    finally:
        host.stop()
        shutil.rmtree(base, ignore_errors=True)


def new_host_key(host: SshdHost) -> None:
    """Restart ``host``'s sshd on the same port with a freshly generated host key."""
    host.stop()
    for path in (host.root / "host_key", host.root / "host_key.pub"):
        path.unlink()
    keygen(host.root / "host_key", "reinstalled")
    argv = [str(SSHD), "-D", "-f", str(host.root / "sshd_config"), "-E", str(host.root / "log2")]
    host.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", host.port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not come back on port {host.port}")


@dataclass
class Desktops:
    """One OS account per member: its own config dir and home (empty known_hosts)."""

    base: Path
    monkeypatch: pytest.MonkeyPatch

    def use(self, who: str) -> Path:
        """Switch HOME and LABGPU_CONFIG_DIR/LABGPU_DATA_DIR to ``who``'s; returns the home."""
        root = self.base / who
        home = root / "home"
        (home / ".ssh").mkdir(parents=True, exist_ok=True)
        self.monkeypatch.setenv("HOME", str(home))
        self.monkeypatch.setenv("LABGPU_CONFIG_DIR", str(root / "config"))
        self.monkeypatch.setenv("LABGPU_DATA_DIR", str(root / "data"))
        self.monkeypatch.delenv("LABGPU_SSH_CONFIG", raising=False)
        return home


@pytest.fixture
def desktops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desktops:
    return Desktops(tmp_path / "accounts", monkeypatch)


@pytest.fixture
def pin_lab(postgres_url: str, names: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """An initialised lab (no servers) with manager max, student ann and collector col."""
    admin = Labgpu(postgres_url)
    try:
        admin.open()
        admin.members.init_lab()
        admin.members.add(names["max"], "manager")
        admin.members.add(names["ann"], "student")
        admin.members.add(names["col"], "collector")
    finally:
        admin.close()
    urls = {who: as_member(postgres_url, names[who]) for who in ("max", "ann", "col")}
    return {"admin": postgres_url, **urls}


def add_args(host: SshdHost, name: str) -> list[str]:
    target = host.target
    return ["servers", "add", target.host, "--port", str(target.port), "--user",
            str(target.user), "--identity", str(target.identity_file), "--name", name]  # fmt: skip


def pinned(url: str, server: str = "pinbox") -> list[str]:
    store = Store(url)
    try:
        return [p.key.fingerprint for p in store.host_keys.list(server)]
    finally:
        store.close()


def state_of(url: str, server: str = "pinbox") -> tuple[ServerState, str]:
    store = Store(url)
    try:
        found = {s.name: (s.state, s.state_reason) for s in store.inventory.list_servers()}
    finally:
        store.close()
    return found[server]


def discover_as(url: str, target: SshTarget, trust: str | None = None) -> int:
    """Probe ``target`` from the current desktop as the login of ``url``; the GPU count."""
    lab = Labgpu(url)
    try:
        lab.open()
        return len(lab.inventory.discover(target, trust).gpus)
    finally:
        lab.close()


def collect_once(capsys: pytest.CaptureFixture[str], desktops: Desktops, url: str) -> str:
    desktops.use("collector")
    code, out, err = run(capsys, url, "collect", "--once")
    return out + err


def test_pinned_by_a_manager_trusted_by_members_and_the_collector(
    box: SshdHost,
    pin_lab: dict[str, str],
    desktops: Desktops,
    names: dict[str, str],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = box.fingerprint
    desktops.use("manager")
    code, out, err = run(capsys, pin_lab["max"], *add_args(box, "pinbox"), "--trust-host-key", old)
    assert code == 0, err
    assert pinned(pin_lab["admin"]) == [old]
    store = Store(pin_lab["admin"])
    try:
        [key] = store.host_keys.list("pinbox")
        actions = [(a.action, a.subject) for a in store.list_audit()]
    finally:
        store.close()
    assert key.added_by == names["max"]
    assert ("server.pin_key", "pinbox") in actions

    # Another member's desktop and the collector's account know no key of their own.
    desktops.use("student")
    assert discover_as(pin_lab["ann"], box.target) == 4
    assert not (desktops.base / "student" / "config" / "known_hosts").exists()
    output = collect_once(capsys, desktops, pin_lab["col"])
    assert state_of(pin_lab["admin"]) == (ServerState.ONLINE, ""), output

    # Reinstalled: a different key is refused for everyone, trusted or not.
    new_host_key(box)
    new = box.fingerprint
    assert new != old
    collect_once(capsys, desktops, pin_lab["col"])
    state, reason = state_of(pin_lab["admin"])
    assert state is ServerState.HOST_KEY_CHANGED
    assert new in reason
    assert old in reason
    desktops.use("student")
    with pytest.raises(HostKeyChangedError):
        discover_as(pin_lab["ann"], box.target)
    desktops.use("manager")
    with pytest.raises(HostKeyChangedError):
        discover_as(pin_lab["max"], box.target, trust=new)
    code, out, err = run(capsys, pin_lab["max"], *add_args(box, "pinbox"), "--trust-host-key", new)
    assert code == 1
    assert "host key changed" in err
    assert pinned(pin_lab["admin"]) == [old]

    # Only a manager forgets the pinned key.
    desktops.use("student")
    code, out, err = run(capsys, pin_lab["ann"], "servers", "forget-key", "pinbox")
    assert code == 3
    assert "permission denied" in err
    assert pinned(pin_lab["admin"]) == [old]
    desktops.use("manager")
    code, out, err = run(capsys, pin_lab["max"], "servers", "forget-key", "pinbox")
    assert code == 0, err
    assert "forgot 1 key(s) of pinbox pinned in the lab database" in out
    assert pinned(pin_lab["admin"]) == []

    # Unpinned: the collector and members are refused without being asked.
    collect_once(capsys, desktops, pin_lab["col"])
    state, reason = state_of(pin_lab["admin"])
    assert state is ServerState.HOST_KEY_UNKNOWN
    assert "not pinned in the lab database" in reason
    desktops.use("student")
    with pytest.raises(HostKeyNotPinnedError):
        discover_as(pin_lab["ann"], box.target, trust=new)
    assert pinned(pin_lab["admin"]) == []

    # The manager confirms the new key: everyone trusts it again.
    desktops.use("manager")
    code, out, err = run(capsys, pin_lab["max"], *add_args(box, "pinbox"), "--trust-host-key", new)
    assert code == 0, err
    assert pinned(pin_lab["admin"]) == [new]
    collect_once(capsys, desktops, pin_lab["col"])
    assert state_of(pin_lab["admin"])[0] is ServerState.ONLINE

    # Removing the server removes its pinned key with it.
    desktops.use("manager")
    code, out, err = run(capsys, pin_lab["max"], "servers", "remove", "pinbox", "--yes")
    assert code == 0, err
    assert pinned(pin_lab["admin"]) == []


def test_upgrade_pins_keys_a_manager_already_trusts(
    box: SshdHost,
    pin_lab: dict[str, str],
    desktops: Desktops,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server registered before keys were pinned: the manager's known_hosts key is pinned
    at their next connection, and the collector recovers."""
    store = Store(pin_lab["admin"])
    try:
        store.inventory.upsert_server("pinbox", box.target, "postgres")
    finally:
        store.close()
    collect_once(capsys, desktops, pin_lab["col"])
    assert state_of(pin_lab["admin"])[0] is ServerState.HOST_KEY_UNKNOWN

    home = desktops.use("manager")
    (home / ".ssh" / "known_hosts").write_text(box.known_hosts_line())
    code, out, err = run(capsys, pin_lab["max"], "status", "--probe", "--json")
    assert code == 0, err
    assert pinned(pin_lab["admin"]) == [box.fingerprint]
    collect_once(capsys, desktops, pin_lab["col"])
    assert state_of(pin_lab["admin"])[0] is ServerState.ONLINE


def test_members_cannot_write_host_keys_with_sql(
    box: SshdHost,
    pin_lab: dict[str, str],
    desktops: Desktops,
    postgres_server: PostgresServer,
    names: dict[str, str],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    desktops.use("manager")
    code, out, err = run(capsys, pin_lab["max"], *add_args(box, "pinbox"), "--trust-host-key",
                         box.fingerprint)  # fmt: skip
    assert code == 0, err
    dbname = pin_lab["admin"].rsplit("/", 1)[1]
    statements = [
        "INSERT INTO host_keys (server_id, key_type, key_base64, fingerprint, added_by) "
        "SELECT id, 'ssh-rsa', 'AAAA', 'SHA256:forged', current_user FROM servers",
        "UPDATE host_keys SET key_base64 = 'AAAA', fingerprint = 'SHA256:forged'",
        "DELETE FROM host_keys",
    ]
    for who in ("ann", "col"):
        conninfo = postgres_server.conninfo(dbname).replace("user=postgres", f"user={names[who]}")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM host_keys").fetchone() == (1,)
            for statement in statements:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    assert pinned(pin_lab["admin"]) == [box.fingerprint]

    # A manager using psql may; the database audits it.
    conninfo = postgres_server.conninfo(dbname).replace("user=postgres", f"user={names['max']}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM host_keys")
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log")]
    assert "db.host_keys.delete" in actions
    assert pinned(pin_lab["admin"]) == []


# -- the pool's side, against a pin list (no database) ------------------------------------------


@dataclass
class Pins:
    """A ``HostKeyPins`` over a dict: target → pinned keys."""

    keys: dict[SshTarget, list[HostKey]]
    manager: bool
    pinned_now: list[HostKey] = field(default_factory=list)

    def pinned(self, target: SshTarget) -> Sequence[HostKey] | None:
        return self.keys.get(target)

    def may_pin(self) -> bool:
        return self.manager

    def pin(self, target: SshTarget, key: HostKey) -> None:
        self.keys[target].append(key)
        self.pinned_now.append(key)


def _key(host: SshdHost, pub: Path | None = None) -> HostKey:
    key_type, blob = (pub or host.host_key_pub or Path()).read_text().split()[:2]
    return HostKey(key_type, blob, host.fingerprint)


def test_pool_checks_pinned_targets_against_the_pins(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    a4000, a40 = gpu_hosts.a4000, gpu_hosts.a40
    empty = tmp_path / "empty_known_hosts"
    pins = Pins({a4000.target: [_key(a4000)], a40.target: []}, manager=False)
    pool = make_pool(user_known_hosts=empty, pins=pins)
    assert pool.run(a4000.target, ["true"]).exit_status == 0  # pinned, no known_hosts
    with pytest.raises(HostKeyNotPinnedError):
        pool.connect(a40.target, trusted_fingerprint=a40.fingerprint)
    with pytest.raises(HostKeyUnknownError) as unknown:  # not a registered server
        pool.connect(gpu_hosts.mig.target)
    assert not isinstance(unknown.value, HostKeyNotPinnedError)
    assert pins.pinned_now == []

    wrong = keygen(tmp_path / "wrong", "wrong").with_suffix(".pub")
    pins = Pins({a4000.target: [_key(a4000, wrong)]}, manager=True)
    with pytest.raises(HostKeyChangedError):
        make_pool(pins=pins).connect(a4000.target, trusted_fingerprint=a4000.fingerprint)
    assert pins.pinned_now == []


def test_a_manager_pins_a_key_their_known_hosts_holds_or_they_confirm(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    a4000, a40 = gpu_hosts.a4000, gpu_hosts.a40
    pins = Pins({a4000.target: [], a40.target: []}, manager=True)
    pool = make_pool(pins=pins)  # the fleet's known_hosts holds both keys
    pool.connect(a4000.target)
    assert [k.fingerprint for k in pins.pinned_now] == [a4000.fingerprint]

    pins = Pins({a40.target: []}, manager=True)
    pool = make_pool(user_known_hosts=tmp_path / "empty", pins=pins)
    with pytest.raises(HostKeyUnknownError):
        pool.connect(a40.target)
    pool.trust_host_key(a40.target, a40.fingerprint)
    assert [k.fingerprint for k in pins.pinned_now] == [a40.fingerprint]
    assert pool.host_key(a40.target).fingerprint == a40.fingerprint
    assert not (tmp_path / "labgpu" / "known_hosts").exists()  # pinned, not saved locally


def test_pins_last_read_serve_while_the_database_is_away() -> None:
    """The collector reconnects during a database outage: the pins it read before still
    decide; a target never read before fails with the database's error."""
    key = HostKey("ssh-ed25519", "AAAA", "SHA256:x")
    answers: list[object] = [{"gpu-01": [key]}, DatabaseError("the database is away")]

    class FakeHostKeys:
        def for_target(self, target: SshTarget) -> object:
            answer = answers.pop(0) if answers else DatabaseError("still away")
            if isinstance(answer, Exception):
                raise answer
            return answer

    class FakeLab:
        def is_lab(self) -> bool:
            return True

    class FakeStore:
        lab = FakeLab()
        host_keys = FakeHostKeys()

    pins = LabHostKeys(lambda: FakeStore(), lambda: "col")  # type: ignore[arg-type, return-value]
    known = SshTarget("gpu-01", 22)
    assert pins.pinned(known) == [key]
    assert pins.pinned(known) == [key]  # read again, the database away
    with pytest.raises(DatabaseError):
        pins.pinned(SshTarget("gpu-02", 22))
