"""Cluster logins held for the CLI (issue 15, point 6), against the in-process OTP login node.

``labgpu clusters login`` starts the member's real login agent (a separate process); later
``offload`` commands run through the login it holds, without a prompt, and the login node
counts every login attempt. The terminal's questions are answered by a stand-in ``getpass``.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from labgpu.cli import cluster_commands
from labgpu.cli.main import main
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.services.offload import agent
from labgpu.storage import Store
from tests.helpers.otp_server import OTP, PASSWORD, OtpServer, serve_otp, trust

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix socket and SO_PEERCRED")


class Terminal:
    """The member at the terminal: answers each hidden question from a queue, and counts."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.asked: list[str] = []

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise AssertionError("no echoed question expected")

    def getpass(self, prompt: str = "") -> str:
        self.asked.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected question: {prompt}")
        return self.answers.pop(0)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    term = Terminal()
    monkeypatch.setattr(cluster_commands.getpass, "getpass", term.getpass)
    monkeypatch.setattr(sys, "stdin", term)
    return term


def _gone(pid: int) -> bool:
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)  # the agent is this process's child here
        return done == pid
    except ChildProcessError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _agent_pid() -> int | None:
    try:
        return int(agent.agent_place().pid_file.read_text())
    except (OSError, ValueError):
        return None


def _wait_until(done: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        time.sleep(0.1)


@pytest.fixture
def otp_server() -> Iterator[OtpServer]:
    with serve_otp() as server:
        yield server


@pytest.fixture
def lab(otp_server: OtpServer, tmp_path: Path) -> Iterator[list[str]]:
    """A lab with the OTP cluster ``neuron`` (its key known); the agent stopped after."""
    trust(otp_server, Path(os.environ["LABGPU_CONFIG_DIR"]) / "known_hosts")
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    add = ["--db", url, "clusters", "add", "neuron", "--host", "127.0.0.1", "--user",
           "kisti01", "--scheduler", "slurm", "--port", str(otp_server.port),
           "--login", "interactive"]  # fmt: skip
    assert main(add) == 0
    yield ["--db", url]
    pid = _agent_pid()
    agent.logout(None)  # holding nothing, the agent exits
    if pid is not None:
        try:
            _wait_until(lambda: _gone(pid), "the agent to exit")
        finally:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def job(lab: list[str], tmp_path: Path) -> int:
    """A recorded job on ``neuron`` whose folder holds its output (the cluster is this host)."""
    job_dir = tmp_path / "remote" / "job"
    job_dir.mkdir(parents=True)
    (job_dir / "labgpu-stdout.txt").write_text("trained\n")
    store = Store(lab[1])
    try:
        recorded = store.offload.add_job(
            OffloadJob(
                id=0, name="labgpu-tester-1", cluster="neuron", user_name="tester",
                state=JobState.SUBMITTING, gpus=1, gpu_type="", hours=1.0, command="true",
                local_dir=str(tmp_path), remote_dir=str(tmp_path / "remote"),
                job_dir=str(job_dir), script="", submitted_at=datetime.now(UTC),
            )
        )  # fmt: skip
        store.offload.update_job(recorded.id, remote_id="4242", state=JobState.QUEUED)
    finally:
        store.close()
    return recorded.id


def _login(lab: list[str], terminal: Terminal, *extra: str, otp: str = OTP) -> int:
    terminal.answers = [otp, PASSWORD]
    return main([*lab, "clusters", "login", "neuron", *extra])


def _held(lab: list[str], capsys: pytest.CaptureFixture[str]) -> str | None:
    capsys.readouterr()
    assert main([*lab, "clusters", "list", "--json"]) == 0
    [cluster] = json.loads(capsys.readouterr().out)
    assert cluster["name"] == "neuron"  # the old fields are all still there
    return cluster["held_until"]


def test_one_login_serves_later_commands_without_a_prompt(
    lab: list[str], job: int, terminal: Terminal, otp_server: OtpServer,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert _login(lab, terminal) == 0
    assert "later commands use this login until" in capsys.readouterr().out
    assert terminal.asked == ["neuron Password(OTP): ", "neuron Password: "]
    assert _held(lab, capsys) is not None
    assert main([*lab, "offload", "list", "--json"]) == 0  # the refresh runs on the cluster
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["state"] == "unknown"  # no squeue there, and no exit file yet
    assert main([*lab, "offload", "status", str(job)]) == 0  # the tail comes over SFTP
    assert "trained" in capsys.readouterr().out
    out = tmp_path / "results"
    assert main([*lab, "offload", "fetch", str(job), "--to", str(out)]) == 0
    assert (out / "labgpu-stdout.txt").read_text() == "trained\n"
    assert len(terminal.asked) == 2  # asked once, at `clusters login`
    assert otp_server.attempts == 1


def test_the_agent_is_the_members_alone(
    lab: list[str], terminal: Terminal, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _login(lab, terminal) == 0
    place = agent.agent_place()
    assert stat.S_IMODE(place.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(place.address).st_mode) == 0o600
    assert stat.S_IMODE(place.key_file.stat().st_mode) == 0o600
    with pytest.raises(AuthenticationError):
        Client(place.address, "AF_UNIX", authkey=b"someone else's guess").close()
    assert _held(lab, capsys) is not None  # the agent still serves its member


def test_a_wrong_otp_is_one_attempt_and_nothing_is_held(
    lab: list[str], job: int, terminal: Terminal, otp_server: OtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert _login(lab, terminal, otp="000000") == 1
    assert "can lock your account" in capsys.readouterr().err
    assert otp_server.attempts == 1
    assert _held(lab, capsys) is None
    pid = _agent_pid()
    if pid is not None:  # holding nothing, the agent exits on its own
        _wait_until(lambda: _gone(pid), "the agent to exit")
    terminal.answers = [OTP, PASSWORD]
    assert main([*lab, "offload", "list", "--json"]) == 0  # asks: a new login, never a retry
    assert len(terminal.asked) == 4
    assert otp_server.attempts == 2


def test_logout_ends_the_held_login(
    lab: list[str], job: int, terminal: Terminal, otp_server: OtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert _login(lab, terminal) == 0
    pid = _agent_pid()
    assert pid is not None
    capsys.readouterr()
    assert main([*lab, "clusters", "logout", "neuron"]) == 0
    assert "logged out of neuron" in capsys.readouterr().out
    _wait_until(lambda: _gone(pid), "the agent to exit")
    assert main([*lab, "clusters", "logout", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"logged_out": []}
    terminal.answers = [OTP, PASSWORD]
    assert main([*lab, "offload", "list", "--json"]) == 0
    assert len(terminal.asked) == 4
    assert otp_server.attempts == 2


def test_an_expired_login_falls_back_to_asking(
    lab: list[str], job: int, terminal: Terminal, otp_server: OtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert _login(lab, terminal, "--hours", "0.0003") == 0  # about a second
    _wait_until(lambda: _held(lab, capsys) is None, "the login to expire")
    terminal.answers = [OTP, PASSWORD]
    assert main([*lab, "offload", "list", "--json"]) == 0
    assert len(terminal.asked) == 4
    assert otp_server.attempts == 2
