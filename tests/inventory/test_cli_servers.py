"""``labgpu servers`` against real sshd hosts (issue 13, point 15): registering a server that
is down, removing only with a confirmation, messages that name the real command and page,
probe errors that name host:port, and *Last seen* with its date."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest

from labgpu.cli.main import main
from labgpu.services import Labgpu
from labgpu.services.platform import paths
from tests.helpers.sshd import Fleet, SshdHost
from tests.test_cli import add_args, register, run, status_json


@pytest.fixture
def ssh_env(gpu_hosts: Fleet, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    monkeypatch.setenv("LABGPU_SSH_CONFIG", str(gpu_hosts.ssh_config))
    return gpu_hosts


def _servers(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    code, out, err = run(capsys, "servers", "list", "--json")
    assert code == 0, err
    return {s["name"]: s for s in json.loads(out)}


def _know_every_host_key(fleet: Fleet) -> None:
    path = paths.known_hosts_path()
    old = path.read_text() if path.exists() else ""
    path.write_text(old + fleet.known_hosts.read_text())


def test_no_probe_registers_a_server_that_is_down_and_the_first_sweep_adds_its_gpus(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    closed: SshdHost = ssh_env.closed
    code, out, err = run(capsys, *add_args(closed, "down", "--no-probe"))
    assert code == 0, err
    assert "first sweep" in out
    code, out, err = run(capsys, *add_args(ssh_env.a4000, "later", "--no-probe", "--json"))
    assert code == 0, err
    assert json.loads(out)["gpus"] == 0
    assert set(_servers(capsys)) == {"down", "later"}
    assert status_json(capsys)["gpus"] == []
    _know_every_host_key(ssh_env)
    assert run(capsys, "collect", "--once")[0] == 1  # "down" is still down
    servers = _servers(capsys)
    assert servers["down"]["state"] == "offline"
    assert servers["later"]["state"] == "online"
    gpus = [g for g in status_json(capsys)["gpus"] if g["server"] == "later"]
    assert len(gpus) == 4
    assert all(g["sampled_at"] for g in gpus)  # registered and sampled by the same sweep


def test_remove_without_a_terminal_needs_yes(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register(capsys, ssh_env.a40, "a40")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal
    code, out, err = run(capsys, "servers", "remove", "a40")
    assert (code, out) == (2, "")
    assert "--yes" in err
    assert "a40" in _servers(capsys)
    assert json.loads(run(capsys, "servers", "remove", "a40", "--yes", "--json")[1]) == {
        "removed": "a40"
    }
    assert _servers(capsys) == {}


def test_broken_hosts_messages_name_the_server_command_page_and_port(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    _know_every_host_key(ssh_env)
    lab = Labgpu()
    lab.open()
    for name in ("changed_key", "garbage"):
        lab.store.inventory.upsert_server(name, getattr(ssh_env, name).target, "tester")
    lab.close()
    run(capsys, "collect", "--once")
    servers = _servers(capsys)
    changed = servers["changed_key"]["reason"]
    assert "`labgpu servers forget-key changed_key`" in changed
    assert "Servers page" in changed
    assert "Settings" not in changed
    garbage: SshdHost = ssh_env.garbage
    assert f"{garbage.target.host}:{garbage.target.port}" in servers["garbage"]["reason"]
    code, out, err = run(capsys, *add_args(ssh_env.changed_key, "changed_key"))
    assert code == 1
    assert "`labgpu servers forget-key changed_key`" in err


def test_last_seen_has_a_date(ssh_env: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    register(capsys, ssh_env.a40, "a40")
    code, out, err = run(capsys, "servers", "list")
    assert code == 0, err
    assert "LAST SEEN" in out
    seen = datetime.fromisoformat(_servers(capsys)["a40"]["last_seen"]).astimezone()
    assert seen.strftime("%Y-%m-%d %H:%M") in out


def test_usage_error_without_host_key_confirmation_for_no_probe(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = add_args(ssh_env.a40, "a40", "--no-probe", "--trust-host-key", "SHA256:x")
    assert main(argv) == 2
    assert "--no-probe" in capsys.readouterr().err


def test_lab_database_collector_cannot_add_gpus_and_keeps_sweeping(
    postgres_url: str, caplog: pytest.LogCaptureFixture, postgres_server: Any
) -> None:
    """A server registered with --no-probe in the lab database: the collector may not add
    GPUs (a manager does, with `servers add`); its probe still marks the server online."""
    import uuid

    import psycopg

    from labgpu.core.inventory.servers import GpuReading, ProbeResult, ServerState, SshTarget
    from labgpu.storage import Store

    name = f"col_{uuid.uuid4().hex[:8]}"
    admin = Labgpu(postgres_url)
    try:
        admin.members.init_lab()
        admin.members.add(name, "collector")
        admin.inventory.add_server_unprobed(SshTarget("nobox.example.org"), "nobox")
    finally:
        admin.close()
    collector = Store(postgres_url.replace("postgres@", f"{name}@", 1))
    try:
        reading = GpuReading(0, "GPU-nobox-0", "NVIDIA A40", 46068, 0, 0.0, 30, 50)
        probe = ProbeResult("nobox.example.org", datetime.now().astimezone(), (reading,))
        assert collector.inventory.store_probe("nobox", probe) == 0
        [server] = [s for s in collector.inventory.list_servers() if s.name == "nobox"]
        assert server.state is ServerState.ONLINE
        assert [g for g in collector.inventory.list_gpus() if g.server_name == "nobox"] == []
        assert "could not register its 1 GPU(s)" in caplog.text
    finally:
        collector.close()
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


class _Terminal(io.StringIO):
    """Standard input that is a terminal, with the answers typed in advance."""

    def isatty(self) -> bool:
        return True


def test_questions_go_to_stderr_so_json_stays_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labgpu.core.inventory.servers import SshTarget

    lab = Labgpu()
    lab.open()
    lab.store.inventory.upsert_server("box", SshTarget("box.example.org"), "tester")
    lab.close()
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = run(capsys, "servers", "remove", "box", "--json")
    assert (code, out) == (1, "")
    assert "Remove box" in err
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, err = run(capsys, "servers", "remove", "box", "--json")
    assert code == 0, err
    assert json.loads(out) == {"removed": "box"}
