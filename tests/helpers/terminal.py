"""Run a ``labgpu`` command on a real pseudo-terminal, as a person at a terminal does.

The command gets the terminal as stdin, stdout, stderr *and* controlling terminal, so
``getpass`` really reads from ``/dev/tty`` with echo off. ``expect`` waits for text; ``type``
answers. POSIX only (the tests that use it run on Linux).
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence


def _take_terminal() -> None:
    # In the child, after setsid (start_new_session): make stdin its controlling terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """``python -m labgpu ARGS`` on a pseudo-terminal."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        master, slave = os.openpty()
        self._master = master
        self.output = ""
        self._seen = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labgpu", *args],
            stdin=slave, stdout=slave, stderr=slave, env=dict(env), close_fds=True,
            start_new_session=True, preexec_fn=_take_terminal,
        )  # fmt: skip
        os.close(slave)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 4096)
        except OSError:  # EIO: the command exited and closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """Wait until ``text`` appears after what was already expected; returns the output."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self._seen :]:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.5)):
                if text in self.output[self._seen :]:
                    break
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.output}")
        self._seen = self.output.index(text, self._seen) + len(text)
        return self.output

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self._master, (line + "\n").encode())

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        """Wait for the command to exit; its exit status and everything it showed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            if self.process.poll() is not None and not select.select([self._master], [], [], 0)[0]:
                break
        try:
            code = self.process.wait(max(deadline - time.monotonic(), 1))
        finally:
            os.close(self._master)
        return code, self.output
