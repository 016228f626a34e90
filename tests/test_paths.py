"""Where labgpu keeps files and which database it opens."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from labgpu.core.errors import ConfigError
from labgpu.services.platform import paths


def test_dirs_come_from_env_and_are_private(labgpu_dirs: Path) -> None:
    cfg = paths.config_dir()
    assert cfg == labgpu_dirs / "config"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o700
    assert paths.data_dir() == labgpu_dirs / "data"


def test_database_url_precedence(labgpu_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = paths.resolve_database_url()
    assert default == f"sqlite:///{(labgpu_dirs / 'data' / 'labgpu.db').as_posix()}"
    (paths.config_dir() / "config.toml").write_text('[database]\nurl = "sqlite:///cfg.db"\n')
    assert paths.resolve_database_url() == "sqlite:///cfg.db"
    monkeypatch.setenv("LABGPU_DATABASE_URL", "sqlite:///env.db")
    assert paths.resolve_database_url() == "sqlite:///env.db"
    assert paths.resolve_database_url("sqlite:///cli.db") == "sqlite:///cli.db"


def test_broken_config_is_a_clear_error() -> None:
    (paths.config_dir() / "config.toml").write_text("[database\nurl=")
    with pytest.raises(ConfigError, match="config.toml"):
        paths.resolve_database_url()
    (paths.config_dir() / "config.toml").write_text("[database]\nurl = 5\n")
    with pytest.raises(ConfigError, match="must be a string"):
        paths.resolve_database_url()
