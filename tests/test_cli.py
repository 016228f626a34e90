"""The CLI end to end against real sshd hosts and real databases (README *Using it*)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from labgpu import __version__
from labgpu.cli.main import main
from labgpu.core.inventory.servers import ServerState
from labgpu.services import Labgpu
from labgpu.services.platform import paths
from tests.helpers.sshd import Fleet, SshdHost


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_args(host: SshdHost, name: str, *extra: str) -> list[str]:
    t = host.target
    assert t.port is not None
    assert t.user is not None
    assert t.identity_file is not None
    return [
        "servers",
        "add",
        t.host,
        "--name",
        name,
        "--port",
        str(t.port),
        "--user",
        t.user,
        "--identity",
        t.identity_file,
        *extra,
    ]


def register(capsys: pytest.CaptureFixture[str], host: SshdHost, name: str) -> None:
    code, out, err = run(capsys, *add_args(host, name, "--trust-host-key", host.fingerprint))
    assert code == 0, err


def status_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "status", "--json", *extra)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture
def ssh_env(gpu_hosts: Fleet, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    monkeypatch.setenv("LABGPU_SSH_CONFIG", str(gpu_hosts.ssh_config))
    return gpu_hosts


def test_unknown_host_key_is_refused_with_fingerprint(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *add_args(ssh_env.a4000, "gpu-01"))
    assert code == 1
    assert ssh_env.a4000.fingerprint in err
    assert "--trust-host-key" in err
    assert out == ""
    assert run(capsys, "servers", "list", "--json")[1].strip() == "[]"


def test_wrong_trusted_fingerprint_stores_nothing(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = ssh_env.a40.fingerprint  # a real fingerprint, of another host
    code, _, err = run(capsys, *add_args(ssh_env.a4000, "gpu-01", "--trust-host-key", wrong))
    assert code == 1
    assert ssh_env.a4000.fingerprint in err
    assert json.loads(run(capsys, "servers", "list", "--json")[1]) == []
    assert not paths.known_hosts_path().exists() or "127.0.0.1" not in (
        paths.known_hosts_path().read_text()
    )


def test_add_discovers_registers_and_shows_gpus(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, *add_args(ssh_env.a4000, "gpu-01", "--trust-host-key", ssh_env.a4000.fingerprint)
    )
    assert code == 0, err
    assert out.count("NVIDIA RTX A4000") == 4
    assert "registered gpu-01: 4 GPU(s); 4 added" in out
    # the key is now known: a second run needs no --trust-host-key and adds nothing
    code, out, err = run(capsys, *add_args(ssh_env.a4000, "gpu-01", "--json"))
    assert code == 0, err
    again = json.loads(out)
    assert again["added"] == []
    assert again["gpus"] == 4
    data = status_json(capsys)
    assert [g["index"] for g in data["gpus"]] == [0, 1, 2, 3]
    busy = data["gpus"][0]
    assert busy["model"] == "NVIDIA RTX A4000"
    assert busy["memory_total_mb"] == 16376
    assert busy["utilization_pct"] == 87
    assert busy["owners"] == ["labuser"]
    assert busy["free"] is False
    assert busy["processes"][0]["command"].startswith("sleep")
    # gpu 1 has one live process and one that exited between the two queries
    procs = data["gpus"][1]["processes"]
    assert sorted(p["user"] is None for p in procs) == [False, True]
    assert data["servers"][0]["state"] == "online"
    audit = Labgpu().store.list_audit()
    assert any(e.action == "server.add" and e.subject == "gpu-01" for e in audit)


def test_garbage_host_is_a_clear_error_and_stores_nothing(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    host = ssh_env.garbage
    code, out, err = run(capsys, *add_args(host, "junk", "--trust-host-key", host.fingerprint))
    assert code == 1
    assert "lots" in err  # the offending line is quoted
    assert json.loads(run(capsys, "servers", "list", "--json")[1]) == []


def test_collect_once_gives_each_broken_host_its_state(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    register(capsys, ssh_env.a4000, "good")
    register(capsys, ssh_env.mig, "mig")
    # Hosts that can't be discovered are put in the database as a manager would have
    # registered them before they broke.
    paths.known_hosts_path().write_text(
        paths.known_hosts_path().read_text() + ssh_env.known_hosts.read_text()
    )
    lab = Labgpu()
    lab.open()
    for name in ("hanging", "closed", "changed_key", "garbage"):
        lab.store.inventory.upsert_server(name, getattr(ssh_env, name).target, "tester")
    lab.close()
    code, out, _ = run(capsys, "collect", "--once")
    assert code == 1  # some servers failed
    states = {s["name"]: s for s in json.loads(run(capsys, "servers", "list", "--json")[1])}
    assert states["good"]["state"] == "online"
    assert states["mig"]["state"] == "online"
    assert states["closed"]["state"] == "offline"
    assert "refused" in states["closed"]["reason"]
    assert states["hanging"]["state"] == "offline"
    assert states["changed_key"]["state"] == "host_key_changed"
    assert states["garbage"]["state"] == "probe_error"
    assert "lots" in states["garbage"]["reason"]
    mig = [g for g in status_json(capsys)["gpus"] if g["server"] == "mig"]
    assert mig[0]["utilization_pct"] is None  # [N/A] on a MIG GPU
    assert mig[0]["processes"][0]["used_memory_mb"] is None


def test_status_probe_shows_live_values(ssh_env: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    register(capsys, ssh_env.a40, "a40")
    ssh_env.a40.set_utilization(42)
    try:
        gpus = status_json(capsys, "--probe")["gpus"]
        assert {g["utilization_pct"] for g in gpus} == {42}
        ssh_env.a40.set_utilization(7, index=2)
        gpus = status_json(capsys, "--probe")["gpus"]
        assert [g["utilization_pct"] for g in gpus] == [42, 42, 7, 42]
        assert all(g["free"] for g in gpus)
    finally:
        ssh_env.a40.set_utilization(0)


def test_collector_loop_is_not_delayed_by_a_hanging_host(
    ssh_env: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    register(capsys, ssh_env.a40, "a40")
    lab = Labgpu()
    lab.open()
    lab.store.inventory.upsert_server("hanging", ssh_env.hanging.target, "tester")
    collector = lab.inventory.make_collector(interval_s=0.2)
    collector.start()
    try:
        deadline = time.monotonic() + 120
        hanging = lab.store.inventory.get_server("hanging")
        while time.monotonic() < deadline:
            hanging = lab.store.inventory.get_server("hanging")
            assert hanging is not None
            if hanging.state is not ServerState.UNKNOWN:
                break
            time.sleep(0.2)
    finally:
        collector.stop()
    assert hanging is not None
    assert hanging.state is ServerState.OFFLINE
    assert "no SSH handshake" in hanging.state_reason
    # While the hanging host's first probe was stuck, the healthy host kept being swept.
    during = [t for t in lab.store.inventory.sample_times("a40") if t < hanging.state_since]
    lab.close()
    assert len(during) >= 3


def test_remove_server(ssh_env: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    register(capsys, ssh_env.a40, "a40")
    code, out, err = run(capsys, "servers", "remove", "a40", "--yes")
    assert code == 0, err
    assert json.loads(run(capsys, "servers", "list", "--json")[1]) == []
    assert status_json(capsys)["gpus"] == []
    code, _, err = run(capsys, "servers", "remove", "a40", "--yes")
    assert code == 1
    assert "no server named 'a40'" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["servers", "add"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["collect", "--interval", "0"])
    assert exc.value.code == 2


def test_database_newer_than_program_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    db_file = Path(paths.resolve_database_url().removeprefix("sqlite:///"))
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    before = db_file.read_bytes()
    code, out, err = run(capsys, "status")
    assert code == 1
    assert "newer labgpu" in err
    assert out == ""
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "f00dfeed9999",
        )
    assert len(before) > 0


def test_db_upgrade_on_postgresql(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", postgres_url, "db", "upgrade")
    assert code == 0, err
    code, out, err = run(capsys, "--db", postgres_url, "status", "--json")
    assert code == 0, err
    assert json.loads(out) == {"servers": [], "gpus": []}


def test_sqlite_path_under_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    code, out, err = run(capsys, "--db", f"sqlite:///{blocker}/lab.db", "status")
    assert code == 1
    assert "cannot create the folder" in err
    assert str(blocker) in err
    assert "Traceback" not in err
    assert blocker.read_text() == "mine"  # nothing touched


def test_python_dash_m_and_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labgpu", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"labgpu {__version__}"


def test_a_reader_that_has_gone_ends_the_command_quietly(demo_folder: Path) -> None:
    """The reader of stdout closed the pipe before the first line (``… | head`` done early):
    every write meets EPIPE; labgpu exits 141 (128 + SIGPIPE) with nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "labgpu", "--demo", "status", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_json_piped_into_head(demo_folder: Path) -> None:
    """``labgpu --demo status --json | head -3`` (40 kB, more than head reads): three lines, no
    traceback (0 if everything fit into the pipe before head left, 141 if not)."""
    with subprocess.Popen(
        [sys.executable, "-m", "labgpu", "--demo", "status", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as labgpu:
        assert labgpu.stdout is not None
        assert labgpu.stderr is not None
        head = subprocess.run(
            ["head", "-3"], stdin=labgpu.stdout, capture_output=True, text=True, check=True
        )
        labgpu.stdout.close()  # head has gone: only it held the pipe's other end
        err = labgpu.stderr.read().decode()
        assert labgpu.wait(120) in (0, 141), err
    assert err == ""
    assert head.stdout.splitlines()[0] == "{"
    assert len(head.stdout.splitlines()) == 3


@pytest.mark.parametrize("journal", [False, True])
def test_log_lines_for_a_terminal_and_for_the_journal(tmp_path: Path, journal: bool) -> None:
    """-v shows labgpu's own lines, not Alembic's; under systemd the journal stamps the time."""
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    if journal:
        env["JOURNAL_STREAM"] = "8:12345"
    command = [sys.executable, "-m", "labgpu", "-v", "--db", f"sqlite:///{tmp_path / 'x.db'}",
               "collect", "--interval", "1"]  # fmt: skip
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if "collector started" in line:
                break
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert "collector started: database sqlite:///" in lines[-1]
    assert not any("Context impl" in line for line in lines)
    stamped = [line for line in lines if line[:4].isdigit()]
    assert stamped == ([] if journal else lines)
