"""Keyboard-interactive (OTP, then password) login against an in-process paramiko server.

The server asks ``Password(OTP):`` then ``Password:`` like KISTI's login nodes, and counts
every login attempt: a wrong answer must cost exactly one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest

from labgpu.core.errors import AuthFailedError
from labgpu.core.offload.jobs import Cluster, LoginCancelled
from labgpu.remote.ssh import SshPool
from labgpu.services.offload.service import OffloadService, save_password
from labgpu.storage import Store

OTP, PASSWORD = "123456", "s3cret"


class _Server(paramiko.ServerInterface):
    def __init__(self, counter: OtpServer) -> None:
        self.counter = counter

    def get_allowed_auths(self, username: str) -> str:
        return "keyboard-interactive"

    def check_auth_interactive(self, username: str, submethods: str) -> paramiko.InteractiveQuery:
        with self.counter.lock:
            self.counter.attempts += 1
        query = paramiko.InteractiveQuery("", "")
        query.add_prompt("Password(OTP): ", False)
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses: Sequence[str]) -> int:
        if list(responses) == [OTP, PASSWORD]:
            return paramiko.common.AUTH_SUCCESSFUL
        return paramiko.common.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.common.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def answer() -> None:
            time.sleep(0.2)  # after paramiko has confirmed the exec request
            channel.sendall(b"hello\n")
            channel.send_exit_status(0)
            channel.close()

        threading.Thread(target=answer, daemon=True).start()
        return True


@dataclass
class OtpServer:
    port: int
    key: paramiko.PKey
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    transports: list[paramiko.Transport] = field(default_factory=list)


@pytest.fixture
def otp_server() -> Iterator[OtpServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)  # so that the accept loop notices ``stop``
    server = OtpServer(listener.getsockname()[1], paramiko.ECDSAKey.generate())
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(server.key)
            server.transports.append(transport)
            transport.start_server(server=_Server(server))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for transport in server.transports:
            transport.close()


@pytest.fixture
def pool(otp_server: OtpServer, tmp_path: Path) -> Iterator[SshPool]:
    user_known = tmp_path / "known_hosts"
    key = otp_server.key
    user_known.write_text(f"[127.0.0.1]:{otp_server.port} {key.get_name()} {key.get_base64()}\n")
    pool = SshPool(
        known_hosts=tmp_path / "labgpu_known_hosts",
        home=tmp_path / "home",
        user_known_hosts=user_known,
        use_agent=False,
    )
    yield pool
    pool.close_all()


def _cluster(server: OtpServer) -> Cluster:
    return Cluster("neuron", "127.0.0.1", "kisti01", port=server.port, login="interactive")


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
