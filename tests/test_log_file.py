"""labgpu.log (issue 14, point 5): every run starts it with the version, what runs and the kind
of database; it rotates; ``labgpu -v`` names it; the crash dialog names it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgpu import __version__
from labgpu.cli.main import main
from labgpu.services.platform import log_file


@pytest.fixture(autouse=True)
def closed_log() -> Iterator[None]:
    yield
    log_file.stop_log_file()


def test_a_command_starts_the_log_with_version_and_database_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    path = tmp_path / "log" / "labgpu.log"
    assert log_file.log_path() == path
    text = path.read_text(encoding="utf-8")
    assert f"labgpu {__version__} started: labgpu db, sqlite database" in text
    assert str(tmp_path / "lab.db") not in text  # the kind, never the URL (passwords)
    _out, err = capsys.readouterr()
    assert str(path) not in err  # quiet without -v
    assert main(["-v", "--db", url, "db", "upgrade"]) == 0
    _out, err = capsys.readouterr()
    assert f"log file {path}" in err


def test_the_database_kind_never_carries_the_url() -> None:
    kind = log_file.database_kind
    assert kind("postgresql+psycopg://amy:secret@db.lab/labgpu") == "postgresql"
    assert kind("postgres://amy@db.lab/labgpu") == "postgresql"
    assert kind("sqlite:////home/amy/labgpu.db") == "sqlite"
    assert kind("", demo=True) == "demo"


def test_the_log_rotates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_file, "MAX_BYTES", 2_000)
    path = log_file.start_log_file("a test", "sqlite")
    assert path is not None
    for n in range(200):
        logging.getLogger("labgpu.test").warning("line %d of a long session", n)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["labgpu.log", "labgpu.log.1", "labgpu.log.2", "labgpu.log.3"]
    assert all(p.stat().st_size <= 2_200 for p in path.parent.iterdir())


def test_a_log_directory_that_cannot_be_made_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("LABGPU_LOG_DIR", str(blocked / "log"))
    assert log_file.start_log_file("a test", "sqlite") is None
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
