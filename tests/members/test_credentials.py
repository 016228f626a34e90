"""Lab-database sign-in: URLs, the keyring (a plaintext test keyring), config.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from labgpu.core.errors import ConfigError
from labgpu.services.members import credentials
from labgpu.services.members.credentials import LabConnection
from labgpu.services.platform import paths


@pytest.fixture(autouse=True)
def test_keyring(file_keyring: KeyringBackend) -> KeyringBackend:
    """Passwords go to a plaintext file under tmp_path, never to the real OS keyring."""
    return file_keyring


def test_url_round_trip_with_odd_characters() -> None:
    conn = LabConnection("db.lab.example.org", "lab", "kim jiwoo", 6543, (("sslmode", "require"),))
    url = conn.url("p@ss:w/rd?#")
    assert url.startswith("postgresql://kim%20jiwoo:p%40ss%3Aw%2Frd%3F%23@db.lab.example.org:6543/")
    parsed, password = credentials.parse_lab_url(url)
    assert parsed == conn
    assert password == "p@ss:w/rd?#"
    assert conn.key == "kim jiwoo@db.lab.example.org:6543/lab"


def test_parse_defaults_and_driver_urls() -> None:
    conn, password = credentials.parse_lab_url("postgresql+psycopg://alice@127.0.0.1/lab")
    assert (conn.host, conn.port, conn.database, conn.user, password) == (
        "127.0.0.1",
        5432,
        "lab",
        "alice",
        None,
    )
    assert credentials.is_lab_url("postgres://a@b/c")
    assert not credentials.is_lab_url("sqlite:///x.db")


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "postgresql://host/db", "postgresql://a@/db", "postgresql://a@h/"]
)
def test_incomplete_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        credentials.parse_lab_url(url)


def test_without_password() -> None:
    assert credentials.without_password("postgresql://a:secret@h:5/d") == "postgresql://a@h:5/d"
    assert credentials.without_password("sqlite:///x.db") == "sqlite:///x.db"


def test_keyring_remembers_and_forgets(tmp_path: Path) -> None:
    conn = LabConnection("h", "lab", "alice")
    assert credentials.load_password(conn) is None
    credentials.save_password(conn, "s3cret")
    assert keyring.get_password("labgpu", "alice@h:5432/lab") == "s3cret"
    assert credentials.load_password(conn) == "s3cret"
    assert credentials.with_remembered_password("postgresql://alice@h/lab") == conn.url("s3cret")
    assert credentials.with_remembered_password("postgresql://bob@h/lab") == (
        "postgresql://bob@h/lab"
    )
    credentials.forget_password(conn)
    credentials.forget_password(conn)  # twice is fine
    assert credentials.load_password(conn) is None


def test_config_keeps_the_url_without_password(tmp_path: Path) -> None:
    config = paths.config_dir() / "config.toml"
    config.write_text('# mine\n[ui]\nx = 1\n\n[database]\nurl = "sqlite:///old.db"\n\n[z]\ny = 2\n')
    saved = credentials.save_database_url("postgresql://alice:s3cret@h:5433/lab?sslmode=require")
    assert saved == config
    text = config.read_text()
    assert "s3cret" not in text
    assert text.startswith("# mine\n")
    data = tomllib.loads(text)
    assert data["database"]["url"] == "postgresql://alice@h:5433/lab?sslmode=require"
    assert data["ui"] == {"x": 1}
    assert data["z"] == {"y": 2}
    assert paths.resolve_database_url() == "postgresql://alice@h:5433/lab?sslmode=require"
    assert config.stat().st_mode & 0o077 == 0


def test_config_created_when_absent() -> None:
    credentials.save_database_url("postgresql://bob@h/lab")
    assert paths.resolve_database_url() == "postgresql://bob@h:5432/lab"
