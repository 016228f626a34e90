"""An in-process SSH login node that asks ``Password(OTP):`` then ``Password:`` like KISTI's,
and counts every login attempt: a wrong answer must cost exactly one.

Once logged in, a command really runs in a local ``sh`` (so ``echo hello`` prints ``hello``, and
labgpu's scheduler scripts run as on a login node without Slurm), and the ``sftp`` subsystem
serves this machine's files: the "cluster" is this machine, reached over real SSH.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from labgpu.core.offload.jobs import Cluster

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
            done = subprocess.run(
                ["sh", "-c", command.decode()], capture_output=True, timeout=60, check=False
            )
            channel.sendall(done.stdout)
            channel.sendall_stderr(done.stderr)
            channel.send_exit_status(done.returncode)
            channel.close()

        threading.Thread(target=answer, daemon=True).start()
        return True


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))  # type: ignore[attr-defined]
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)


class _Files(paramiko.SFTPServerInterface):
    """This machine's files, as the test's user sees them."""

    def _attrs(self, path: str, follow: bool = True) -> paramiko.SFTPAttributes | int:
        try:
            info = os.stat(path) if follow else os.lstat(path)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        attrs = paramiko.SFTPAttributes.from_stat(info)
        attrs.filename = os.path.basename(path)
        return attrs

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        return self._attrs(path)

    def lstat(self, path: str) -> paramiko.SFTPAttributes | int:
        return self._attrs(path, follow=False)

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        try:
            names = os.listdir(path)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return [a for n in names if not isinstance(a := self._attrs(os.path.join(path, n)), int)]

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> Any:
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        mode = "rb" if flags & (os.O_WRONLY | os.O_RDWR) == 0 else "r+b"
        handle = _Handle(flags)
        file = os.fdopen(fd, mode)
        handle.readfile = file  # type: ignore[attr-defined]
        handle.writefile = file  # type: ignore[attr-defined]
        return handle

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return self._call(os.mkdir, path)

    def remove(self, path: str) -> int:
        return self._call(os.remove, path)

    def rename(self, oldpath: str, newpath: str) -> int:
        return self._call(os.replace, oldpath, newpath)

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        try:
            paramiko.SFTPServer.set_file_attr(path, attr)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    @staticmethod
    def _call(func: Any, *args: str) -> int:
        try:
            func(*args)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK


@dataclass
class OtpServer:
    """The running login node: its port and host key, and how many logins were tried."""

    port: int
    key: paramiko.PKey
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    transports: list[paramiko.Transport] = field(default_factory=list)

    def cluster(self, name: str = "neuron", **settings: Any) -> Cluster:
        """The login node as an OTP cluster."""
        return Cluster(
            name, "127.0.0.1", "kisti01", port=self.port, login="interactive", **settings
        )

    def known_hosts_line(self) -> str:
        """Its host key as a known_hosts line."""
        return f"[127.0.0.1]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n"


@contextmanager
def serve_otp() -> Iterator[OtpServer]:
    """Run the login node on a free port of 127.0.0.1 until the block ends."""
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
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Files)
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


def trust(server: OtpServer, known_hosts: Path) -> None:
    """Put the login node's key in a known_hosts file."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    known_hosts.write_text(server.known_hosts_line())
