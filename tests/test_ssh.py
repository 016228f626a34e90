"""The SSH pool against real OpenSSH servers (tests/helpers/sshd.py)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest

from labgpu.core.errors import (
    AuthFailedError,
    ConfigError,
    HostKeyChangedError,
    HostKeyUnknownError,
    RemoteTimeoutError,
    UnreachableError,
)
from labgpu.core.inventory.servers import SshTarget
from labgpu.remote.ssh import SshPool
from labgpu.remote.ssh_config import parse_jump
from tests.helpers.sshd import Fleet, key_fingerprint, keygen

MakePool = Callable[..., SshPool]


def accepted_logins(fleet: Fleet, name: str) -> int:
    """How many successful logins the host's sshd has logged."""
    return (fleet.hosts[name].root / "sshd.log").read_text().count("Accepted publickey")


def test_arguments_arrive_literally(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    words = ["a b", "it's", '"double"', "$(id -u)", "`id`", "; echo pwned", "*", "\\n", ""]
    result = make_pool().run(gpu_hosts.a4000.target, ["printf", "[%s]\\n", *words])
    assert result.exit_status == 0
    assert result.stderr == ""
    assert result.stdout.splitlines() == [f"[{w}]" for w in words]


def test_exit_status_stdout_and_stderr(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    result = make_pool().run_script(gpu_hosts.a40.target, "echo out; echo err >&2; exit 3")
    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_exit_status_arriving_after_output_closed(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    script = "echo early; exec >&- 2>&-; sleep 1; exit 4"
    result = make_pool().run_script(gpu_hosts.a40.target, script, timeout=60)
    assert (result.exit_status, result.stdout, result.stderr) == (4, "early\n", "")


def test_large_output_on_both_streams_does_not_deadlock(
    gpu_hosts: Fleet, make_pool: MakePool
) -> None:
    script = (
        "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 2500000 /dev/zero | tr '\\0' o; "
        "head -c 1200000 /dev/zero | tr '\\0' E >&2"
    )
    result = make_pool().run_script(gpu_hosts.a4000.target, script, timeout=120)
    assert result.exit_status == 0
    assert len(result.stdout) == 2_500_000
    assert set(result.stdout) == {"o"}
    assert len(result.stderr) == 4_200_000
    assert set(result.stderr) == {"e", "E"}


def test_command_timeout_leaves_the_transport_usable(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    pool = make_pool()
    target = gpu_hosts.a40.target
    transport = pool.connect(target)
    with pytest.raises(RemoteTimeoutError, match="did not finish within 1 s"):
        pool.run(target, ["sleep", "60"], timeout=1)
    assert pool.run(target, ["echo", "still here"]).stdout == "still here\n"
    assert pool.connect(target) is transport


def test_transport_is_reused(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    pool = make_pool()
    target = gpu_hosts.a4000.target
    before = accepted_logins(gpu_hosts, "a4000")
    first = pool.connect(target)
    for _ in range(3):
        assert pool.run(target, ["true"]).exit_status == 0
    assert pool.connect(target) is first
    assert accepted_logins(gpu_hosts, "a4000") == before + 1


def test_reconnects_after_the_transport_dies(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    pool = make_pool()
    target = gpu_hosts.a40.target
    first = pool.connect(target)
    first.close()
    assert pool.run(target, ["echo", "back"]).stdout == "back\n"
    second = pool.connect(target)
    assert second is not first
    assert second.is_active()


def test_parallel_commands_on_several_hosts(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    pool = make_pool()
    targets = [gpu_hosts.a4000.target, gpu_hosts.a40.target, gpu_hosts.mig.target] * 6
    with ThreadPoolExecutor(max_workers=12) as executor:
        results = list(executor.map(lambda t: pool.run(t, ["echo", str(t.port)]), targets))
    assert [r.stdout.strip() for r in results] == [str(t.port) for t in targets]
    assert len({id(pool.connect(t)) for t in targets}) == 3


def test_unknown_host_key_is_refused_before_login(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    pool = make_pool(user_known_hosts=tmp_path / "none")
    host = gpu_hosts.a40
    before = accepted_logins(gpu_hosts, "a40")
    with pytest.raises(HostKeyUnknownError) as info:
        pool.run(host.target, ["true"])
    assert info.value.fingerprint == host.fingerprint
    assert info.value.key_type == "ssh-ed25519"
    assert host.fingerprint in str(info.value)
    assert accepted_logins(gpu_hosts, "a40") == before
    assert pool.host_key_fingerprint(host.target) == (host.fingerprint, "ssh-ed25519")


def test_trusted_fingerprint_is_accepted_and_saved(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    known = tmp_path / "cfg" / "known_hosts"
    host = gpu_hosts.mig
    pool = make_pool(known_hosts=known, user_known_hosts=tmp_path / "none")
    pool.connect(host.target, trusted_fingerprint=host.fingerprint)
    assert pool.run(host.target, ["echo", "ok"]).stdout == "ok\n"
    assert f"[127.0.0.1]:{host.port} ssh-ed25519 " in known.read_text()
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.parent.stat().st_mode) == 0o700
    again = make_pool(known_hosts=known, user_known_hosts=tmp_path / "none")
    assert again.run(host.target, ["true"]).exit_status == 0


def test_trust_host_key_without_login(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    known = tmp_path / "kh"
    pool = make_pool(known_hosts=known, user_known_hosts=tmp_path / "none")
    pool.trust_host_key(gpu_hosts.a40.target, gpu_hosts.a40.fingerprint)
    assert pool.run(gpu_hosts.a40.target, ["true"]).exit_status == 0


def test_wrong_trusted_fingerprint_is_refused(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    known = tmp_path / "kh"
    pool = make_pool(known_hosts=known, user_known_hosts=tmp_path / "none")
    wrong = key_fingerprint(keygen(tmp_path / "other").with_suffix(".pub"))
    with pytest.raises(HostKeyUnknownError) as info:
        pool.connect(gpu_hosts.a40.target, trusted_fingerprint=wrong)
    assert info.value.fingerprint == gpu_hosts.a40.fingerprint
    assert not known.exists() or gpu_hosts.a40.fingerprint not in known.read_text()


def test_changed_key_is_refused_even_when_trusted(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    pool = make_pool()
    host = gpu_hosts.changed_key
    wrong_pub = gpu_hosts.base_dir / "wrong_key.pub"
    for trusted in (None, host.fingerprint):
        with pytest.raises(HostKeyChangedError) as info:
            pool.connect(host.target, trusted_fingerprint=trusted)
        assert info.value.fingerprint == host.fingerprint
        assert info.value.known_fingerprint == key_fingerprint(wrong_pub)


def test_forget_host_key_then_trust_again(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    host = gpu_hosts.changed_key
    known = tmp_path / "kh"
    known.write_text(host.known_hosts_line(gpu_hosts.base_dir / "wrong_key.pub"))
    pool = make_pool(known_hosts=known, user_known_hosts=tmp_path / "none")
    with pytest.raises(HostKeyChangedError):
        pool.connect(host.target, trusted_fingerprint=host.fingerprint)
    assert pool.forget_host_key(host.target) == 1
    pool.connect(host.target, trusted_fingerprint=host.fingerprint)
    assert pool.run(host.target, ["true"]).exit_status == 0


def test_closed_port_is_unreachable(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    with pytest.raises(UnreachableError, match="connection refused") as info:
        make_pool().run(gpu_hosts.closed.target, ["true"], timeout=30)
    assert info.value.host == f"127.0.0.1:{gpu_hosts.closed.port}"


def test_unresolvable_name_is_unreachable(make_pool: MakePool) -> None:
    with pytest.raises(UnreachableError, match="cannot resolve"):
        make_pool().run(SshTarget("no-such-host.invalid", 22, "labuser"), ["true"])


def test_silent_server_times_out(gpu_hosts: Fleet, make_pool: MakePool) -> None:
    start = time.monotonic()
    with pytest.raises(RemoteTimeoutError, match="no SSH handshake within 2 s"):
        make_pool().run(gpu_hosts.hanging.target, ["true"], timeout=2)
    assert time.monotonic() - start < 30  # generous: only proves it does not hang


def test_unauthorized_key_fails_auth_and_is_not_retried(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    stranger = keygen(tmp_path / "stranger")
    host = gpu_hosts.a40
    target = SshTarget("127.0.0.1", host.port, "labuser", str(stranger))
    pool = make_pool()
    with pytest.raises(AuthFailedError, match="labuser") as first:
        pool.run(target, ["true"])
    attempts = (host.root / "sshd.log").read_text().count("Connection closed by")
    with pytest.raises(AuthFailedError) as second:
        pool.run(target, ["true"])
    assert second.value is first.value
    assert (host.root / "sshd.log").read_text().count("Connection closed by") == attempts
    pool.close(target)
    with pytest.raises(AuthFailedError):
        pool.run(target, ["true"])


def test_default_key_from_home(gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(gpu_hosts.client_key, home / ".ssh" / "id_ed25519")
    target = SshTarget("127.0.0.1", gpu_hosts.a40.port, "labuser")
    assert make_pool(home=home).run(target, ["whoami"]).stdout == "labuser\n"


def test_encrypted_key_is_skipped_without_prompting(
    gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw", "-f", str(key)], check=True)
    target = SshTarget("127.0.0.1", gpu_hosts.a40.port, "labuser")
    with pytest.raises(AuthFailedError, match="no keys found"):
        make_pool(home=home).run(target, ["true"])


def test_bad_ssh_config_is_a_config_error(make_pool: MakePool, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host gpu-01\n  Port twenty-two\n")
    with pytest.raises(ConfigError, match="gpu-01"):
        make_pool(ssh_config=config).run(SshTarget("gpu-01"), ["true"])


@pytest.fixture
def ssh_agent(gpu_hosts: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real ssh-agent holding the client key, exported as SSH_AUTH_SOCK."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(gpu_hosts.client_key)], env=env, check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield str(sock)
    finally:
        agent.terminate()
        agent.wait(10)


def test_ssh_agent_key(gpu_hosts: Fleet, make_pool: MakePool, ssh_agent: str) -> None:
    target = SshTarget("127.0.0.1", gpu_hosts.a4000.port, "labuser")
    assert make_pool(use_agent=True).run(target, ["whoami"]).stdout == "labuser\n"


def write_config(path: Path, fleet: Fleet) -> Path:
    path.write_text(
        f"Host jumpbox\n  HostName 127.0.0.1\n  Port {fleet.a4000.port}\n  User labuser\n"
        f"  IdentityFile {fleet.client_key}\n\n"
        f"Host inner\n  HostName 127.0.0.1\n  Port {fleet.a40.port}\n  User labuser\n"
        f"  IdentityFile {fleet.client_key}\n  ProxyJump jumpbox\n"
    )
    return path


def test_proxy_jump_from_ssh_config(gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path) -> None:
    pool = make_pool(ssh_config=write_config(tmp_path / "config", gpu_hosts))
    result = pool.run(SshTarget("inner"), ["sh", "-c", "echo $SSH_CONNECTION"])
    assert result.stdout.split()[-1] == str(gpu_hosts.a40.port)
    inner, jump = pool.connect(SshTarget("inner")), pool.connect(SshTarget("jumpbox"))
    assert isinstance(inner.sock, paramiko.Channel)
    assert inner.sock.get_transport() is jump


def test_resolve_applies_ssh_config(gpu_hosts: Fleet, make_pool: MakePool, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "Host gpu-*\n  User alice\n  IdentityFile ~/.ssh/lab_key\n  Port 2222\n"
        "Host gpu-01\n  HostName 10.0.0.1\n"
    )
    pool = make_pool(ssh_config=config, home=tmp_path / "h")
    end = pool.resolve(SshTarget("gpu-01"))
    assert (end.hostname, end.port, end.user, end.label) == (
        "10.0.0.1",
        2222,
        "alice",
        "gpu-01:2222",
    )
    assert end.identity_files == (tmp_path / "h" / ".ssh" / "lab_key",)
    explicit = pool.resolve(SshTarget("gpu-01", 22, "bob", "/k", "bastion"))
    assert (explicit.port, explicit.user, explicit.label) == (22, "bob", "gpu-01")
    assert explicit.identity_files[0] == Path("/k")
    assert explicit.jump == SshTarget("bastion")


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        ("bastion", SshTarget("bastion")),
        ("me@bastion:2200", SshTarget("bastion", 2200, "me")),
        ("[fe80::1]:2200", SshTarget("fe80::1", 2200)),
        ("a,me@b:22", SshTarget("b", 22, "me", None, "a")),
    ],
)
def test_parse_jump(spec: str, target: SshTarget) -> None:
    assert parse_jump(spec) == target
