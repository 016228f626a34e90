"""``labgpu run`` and ``labgpu jobs`` from the command line (issue 15, point 2), against a real
sshd GPU server logged in to as the member (``labuser``, by their own ssh config): JSON, the
log, the exit codes of refusals, and the booking given back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labgpu.core.inventory.servers import GpuReading
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.storage import Store
from tests.booking.test_run import run_host
from tests.helpers.booking_lab import run
from tests.helpers.sshd import Fleet, SshdHost
from tests.helpers.sshd_support import REMOTE_USER

__all__ = ["run_host"]  # a fixture


@pytest.fixture
def url(
    tmp_path: Path, gpu_hosts: Fleet, run_host: SshdHost, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A SQLite lab with server gpu-r (the real sshd); the member is ``labuser`` and their
    ``~/.ssh`` reaches it."""
    monkeypatch.setenv("LABGPU_USER", REMOTE_USER)
    db = f"sqlite:///{tmp_path / 'lab.db'}"
    store = Store(db)
    store.upgrade()
    assert run_host.standin is not None
    readings = [
        GpuReading(g.index, g.uuid, g.name, 46068, 0, 0.0, 30, 50) for g in run_host.standin.gpus
    ]
    store.inventory.register_server("gpu-r", run_host.target, readings, "admin")
    rules = store.bookings.get_rules()
    from dataclasses import replace

    store.bookings.set_rules(replace(rules, approval_models=()), "admin")
    store.close()
    ssh = Path.home() / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    (ssh / "config").write_text(
        f"Host 127.0.0.1\n  User {REMOTE_USER}\n  IdentityFile {gpu_hosts.client_key}\n"
    )
    (ssh / "known_hosts").write_text(run_host.known_hosts_line())
    return db


def cli_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    code, out, err = run(capsys, url, *argv)
    assert code == 0, err
    return json.loads(out)


def test_run_then_jobs_follow_the_job_to_its_end(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    booked = cli_json(capsys, url, "book", "--gpu", "gpu-r:1", "--hours", "1", "--json")
    group_id = booked["group_id"]
    job = cli_json(capsys, url, "run", group_id, "--json", "--", "echo", "hello from", "$HOME")
    assert job["where"] == "gpu-r"
    assert job["booking"] == group_id
    assert job["state"] in ("queued", "running")
    assert job["command"] == "echo 'hello from' '$HOME'"  # each word quoted, as typed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = cli_json(capsys, url, "jobs", "list", "--json")
        if jobs[0]["state"] not in ("queued", "running"):
            break
        time.sleep(0.3)
    assert jobs[0]["state"] == "completed"
    assert jobs[0]["exit_code"] == 0
    assert jobs[0]["released_at"] is not None
    code, out, _err = run(capsys, url, "jobs", "log", str(job["id"]))
    assert code == 0
    assert "hello from $HOME" in out  # not expanded: the words were quoted
    code, out, _err = run(capsys, url, "jobs", "status", str(job["id"]))
    assert code == 0
    assert "completed" in out
    assert "booking given back" in out
    since = (datetime.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    bookings = cli_json(capsys, url, "bookings", "--mine", "--from", since, "--json")
    assert {b["status"] for b in bookings if b["group_id"] == group_id} == {"released"}
    code, out, _err = run(capsys, url, "jobs")
    assert code == 0
    assert "gpu-r" in out


def test_one_list_holds_jobs_on_bookings_and_on_clusters(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    store = Store(url)
    now = datetime.now(UTC)
    store.offload.add_job(
        OffloadJob(
            0, "labgpu-labuser-1", "neuron", REMOTE_USER, JobState.COMPLETED, 1, "", 1.0,
            "python x.py", "/l", "r", "j", "#!", now - timedelta(hours=2),
        )
    )  # fmt: skip
    store.close()
    booked = cli_json(capsys, url, "book", "--gpu", "gpu-r:3", "--hours", "1", "--json")
    cli_json(capsys, url, "run", booked["group_id"], "--json", "--", "sleep", "30")
    jobs = cli_json(capsys, url, "jobs", "list", "--json")
    assert [(j["kind"], j["ref"], j["where"]) for j in jobs] == [
        ("lab", "1", "gpu-r"),  # newest first
        ("cluster", "c1", "neuron"),
    ]
    code, out, _err = run(capsys, url, "jobs")
    assert code == 0
    assert "c1" in out
    assert "neuron" in out
    status = cli_json(capsys, url, "jobs", "status", "c1", "--json")
    assert (status["kind"], status["ref"], status["where"]) == ("cluster", "c1", "neuron")
    code, out, _err = run(capsys, url, "jobs", "status", "c1")
    assert code == 0
    assert out.splitlines()[1].startswith("c1 ")  # named as the list names it
    cancelled = cli_json(capsys, url, "jobs", "cancel", "1", "--json")
    assert cancelled["state"] == "cancelled"


def test_refusals_and_usage_errors_have_their_exit_codes(
    capsys: pytest.CaptureFixture[str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABGPU_USER", "kim")
    theirs = cli_json(capsys, url, "book", "--gpu", "gpu-r:2", "--hours", "1", "--json")
    monkeypatch.setenv("LABGPU_USER", REMOTE_USER)
    code, _out, err = run(capsys, url, "run", theirs["group_id"], "--", "nvidia-smi")
    assert code == 3
    assert "kim's, not yours" in err
    code, _out, err = run(capsys, url, "run", theirs["group_id"])
    assert code == 2
    assert "after --" in err
    code, _out, err = run(capsys, url, "run", theirs["group_id"], "--warn-before", "-1", "--", "x")
    assert code == 2
    code, _out, err = run(capsys, url, "jobs", "cancel", "99")
    assert code == 1
    assert "no job 99" in err
    code, out, _err = run(capsys, url, "jobs")
    assert code == 0
    assert "no jobs yet" in out
    assert cli_json(capsys, url, "jobs", "--json") == []
    code, _out, err = run(capsys, url, "jobs", "log", "x7")
    assert code == 2
    assert "c7" in err
