"""Where labgpu keeps its files, and which database it opens (docs/architecture.md §3.3).

Directories come from platformdirs, overridable with ``LABGPU_CONFIG_DIR`` /
``LABGPU_DATA_DIR`` / ``LABGPU_LOG_DIR`` (tests always override them). They are created lazily
with mode 0700.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from labgpu.core.errors import ConfigError
from labgpu.core.i18n import _

APP_NAME = "labgpu"


def _dir(env: str, default: str) -> Path:
    path = Path(os.environ.get(env) or default)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The per-user configuration directory (config.toml, known_hosts, GUI settings)."""
    return _dir("LABGPU_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The per-user data directory (the embedded SQLite database)."""
    return _dir("LABGPU_DATA_DIR", platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    """The per-user log directory."""
    return _dir("LABGPU_LOG_DIR", platformdirs.user_log_dir(APP_NAME))


def known_hosts_path() -> Path:
    """labgpu's own known_hosts file (``~/.ssh/known_hosts`` is only read)."""
    return config_dir() / "known_hosts"


def ssh_config_path() -> Path:
    """The OpenSSH client config to honour (``LABGPU_SSH_CONFIG`` overrides ``~/.ssh/config``)."""
    return Path(os.environ.get("LABGPU_SSH_CONFIG") or Path.home() / ".ssh" / "config")


def load_config() -> dict[str, object]:
    """Read ``config.toml`` from the config directory; an absent file is an empty config."""
    path = config_dir() / "config.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            _("cannot read {path}: {error}; fix or remove the file").format(path=path, error=exc)
        ) from exc


def default_database_url() -> str:
    """The embedded default: a SQLite file in the data directory."""
    return f"sqlite:///{(data_dir() / 'labgpu.db').as_posix()}"


def resolve_database_url(cli_url: str | None = None) -> str:
    """``--db`` > ``LABGPU_DATABASE_URL`` > ``config.toml`` ``[database] url`` > SQLite default."""
    if cli_url:
        return cli_url
    env_url = os.environ.get("LABGPU_DATABASE_URL")
    if env_url:
        return env_url
    section = load_config().get("database")
    if isinstance(section, dict):
        url = section.get("url")
        if url is not None and not isinstance(url, str):
            raise ConfigError(_("config.toml: [database] url must be a string"))
        if url:
            return url
    return default_database_url()
