"""Keyboard-interactive (OTP, then password) login against an in-process paramiko server.

The server (``tests/helpers/otp_server.py``) asks ``Password(OTP):`` then ``Password:`` like
KISTI's login nodes, and counts every login attempt: a wrong answer must cost exactly one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from labgpu.core.errors import AuthFailedError
from labgpu.core.offload.jobs import Cluster, LoginCancelled
from labgpu.remote.ssh import SshPool
from labgpu.services.offload.service import OffloadService, save_password
from labgpu.storage import Store
from tests.helpers.otp_server import OTP, PASSWORD, OtpServer, serve_otp


@pytest.fixture
def otp_server() -> Iterator[OtpServer]:
    with serve_otp() as server:
        yield server


@pytest.fixture
def pool(otp_server: OtpServer, tmp_path: Path) -> Iterator[SshPool]:
    user_known = tmp_path / "known_hosts"
    user_known.write_text(otp_server.known_hosts_line())
    pool = SshPool(
        known_hosts=tmp_path / "labgpu_known_hosts",
        home=tmp_path / "home",
        user_known_hosts=user_known,
        use_agent=False,
    )
    yield pool
    pool.close_all()


def _cluster(server: OtpServer) -> Cluster:
    return server.cluster()


class Answers:
    """A prompt callback that records the prompts it was shown."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.seen: list[list[str]] = []

    def __call__(self, instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
        self.seen.append([p for p, _ in prompts])
        return list(self.answers[: len(prompts)])


def test_right_otp_and_password_log_in(otp_server: OtpServer, pool: SshPool) -> None:
    cluster = _cluster(otp_server)
    ask = Answers(OTP, PASSWORD)
    pool.set_prompter(cluster.target, ask)
    assert pool.run(cluster.target, ["echo", "hello"]).stdout == "hello\n"
    assert pool.run(cluster.target, ["echo", "again"]).exit_status == 0  # same login
    assert ask.seen == [["Password(OTP): ", "Password: "]]
    assert otp_server.attempts == 1


def test_wrong_otp_is_one_attempt_and_never_retried(otp_server: OtpServer, pool: SshPool) -> None:
    cluster = _cluster(otp_server)
    ask = Answers("000000", PASSWORD)
    pool.set_prompter(cluster.target, ask)
    with pytest.raises(AuthFailedError, match="can lock your account") as first:
        pool.connect(cluster.target)
    assert "wrong one-time password" in str(first.value)
    with pytest.raises(AuthFailedError):
        pool.run(cluster.target, ["true"])  # a later command does not log in again
    assert otp_server.attempts == 1
    assert len(ask.seen) == 1


def test_cancelled_prompt_sends_no_attempt_answer(otp_server: OtpServer, pool: SshPool) -> None:
    cluster = _cluster(otp_server)

    def cancel(instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
        raise LoginCancelled("login to neuron cancelled")

    pool.set_prompter(cluster.target, cancel)
    with pytest.raises(LoginCancelled):
        pool.connect(cluster.target)


@pytest.mark.usefixtures("file_keyring")
def test_service_login_uses_a_saved_password_never_an_otp(
    otp_server: OtpServer, pool: SshPool, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    try:
        service = OffloadService(store, pool, "tester")
        cluster = service.add_cluster(_cluster(otp_server))
        save_password(cluster, PASSWORD)
        ask = Answers(OTP)
        service.ask = ask
        service.login("neuron")
        assert service.is_logged_in("neuron")
        assert ask.seen == [["Password(OTP): "]]  # the password came from the keyring
        service.login("neuron")  # one login per session
        assert otp_server.attempts == 1
    finally:
        store.close()


def test_interactive_cluster_without_prompt_refuses_clearly(
    otp_server: OtpServer, pool: SshPool, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    try:
        service = OffloadService(store, pool, "tester")
        service.add_cluster(_cluster(otp_server))
        with pytest.raises(AuthFailedError, match="not logged in"):
            service.login("neuron")
        assert otp_server.attempts == 0
    finally:
        store.close()
