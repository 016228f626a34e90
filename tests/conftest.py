"""Shared fixtures. Real services (sshd, PostgreSQL) are started by the plugins in tests/helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from labgpu.core import i18n

# Qt runs offscreen for logic tests; screenshot scripts set xcb themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never read or write the developer's real OS keyring; keyring tests pick their own backend.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

pytest_plugins = [
    "tests.helpers.sshd",
    "tests.helpers.postgres",
    "tests.helpers.demo",
    "tests.helpers.slurm",
]


@pytest.fixture(autouse=True)
def labgpu_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and data directories and a fixed user name."""
    config = tmp_path / "config"
    data = tmp_path / "data"
    monkeypatch.setenv("LABGPU_CONFIG_DIR", str(config))
    monkeypatch.setenv("LABGPU_DATA_DIR", str(data))
    monkeypatch.setenv("LABGPU_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("LABGPU_USER", "tester")
    # Never read the real ~/.ssh (keys, config, known_hosts) or a running ssh-agent.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("LABGPU_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Messages in English whatever the developer's locale (the CLI reads it in ``main``), and
    back in English after a test that chose another language."""
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyringBackend]:
    """A plaintext file keyring under tmp_path, in this process and its children, whatever
    backend an earlier test left in keyring's process-wide setting."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    previous = keyring.get_keyring()
    backend = keyring.core.load_env()
    assert backend is not None
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
