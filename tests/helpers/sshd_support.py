"""Support for the sshd fixtures: the remote user ``labuser``, key files, free ports and a
listener that never speaks."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

REMOTE_USER = "labuser"
_AUTH_LOCK = threading.Lock()
_PORT_LOCK = threading.Lock()
_USED_PORTS: set[int] = set()


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def keygen(path: Path, comment: str = "labgpu-test") -> Path:
    """Create an ed25519 key pair at ``path`` / ``path.pub``; return ``path``."""
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path


def key_fingerprint(pub: Path) -> str:
    """``SHA256:...`` of a public key as ``ssh-keygen -lf`` prints it."""
    return _run(["ssh-keygen", "-lf", str(pub)]).split()[1]


def ensure_remote_user() -> Path:
    """Create ``labuser`` (unlocked for pubkey logins) if needed; return its ``~/.ssh``."""
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    try:
        pwd.getpwnam(REMOTE_USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", REMOTE_USER], check=False)
        _run(["usermod", "-p", "*", REMOTE_USER])
    user = pwd.getpwnam(REMOTE_USER)
    ssh_dir = Path(user.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    os.chown(ssh_dir, user.pw_uid, user.pw_gid)
    ssh_dir.chmod(0o700)
    return ssh_dir


@contextlib.contextmanager
def _authorized_keys() -> Iterator[Path]:
    """Lock ``authorized_keys`` against other test runs on this machine while editing it."""
    ssh_dir = ensure_remote_user()
    user = pwd.getpwnam(REMOTE_USER)
    path = ssh_dir / "authorized_keys"
    with _AUTH_LOCK, open(ssh_dir / ".labgpu-tests.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path.touch(mode=0o600, exist_ok=True)
        yield path
        os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o600)


def authorize_key(pub: Path) -> None:
    """Append a public key to labuser's ``authorized_keys`` unless it is there already."""
    line = pub.read_text().strip()
    with _authorized_keys() as path:
        if line not in path.read_text().splitlines():
            with open(path, "a") as out:
                out.write(line + "\n")


def unauthorize_key(pub: Path) -> None:
    """Remove a public key from labuser's ``authorized_keys``."""
    line = pub.read_text().strip()
    with _authorized_keys() as path:
        kept = [ln for ln in path.read_text().splitlines() if ln.strip() != line]
        path.write_text("".join(ln + "\n" for ln in kept))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (and that we did not hand out)."""
    with _PORT_LOCK:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _USED_PORTS:
                _USED_PORTS.add(port)
                return port


class HangingListener:
    """A TCP port that accepts connections and never says anything."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hanging-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                self._conns.append(self._sock.accept()[0])

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self._stop.set()
        self._thread.join(5)
        for conn in self._conns:
            conn.close()
        self._sock.close()
