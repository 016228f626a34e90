"""The lab's SMTP and webhook settings, kept with the collector service (issue 17).

A ``[notify]`` section in ``notify.toml`` next to ``config.toml``, readable by its owner only
(0600: it may hold the SMTP password), or the password in the service account's keyring
(service ``labgpu-notify``, the SMTP user as key). Never in a table: members read the database.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from labgpu.core.errors import ConfigError
from labgpu.core.i18n import _
from labgpu.services.platform import paths

KEYRING_SERVICE = "labgpu-notify"


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """How the collector sends: SMTP (``security``: ``starttls``, ``tls`` or ``none``) and
    the rules of retrying."""

    smtp_host: str = ""
    smtp_port: int = 587
    security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    sender: str = "labgpu@localhost"
    #: A CA file to trust for the SMTP server's certificate (a lab's own CA); "": the system's.
    ca_file: str = ""
    timeout_s: float = 20.0
    #: The hosts members' webhooks may point at (empty: any): members type the URL, and the
    #: collector POSTs to it from inside the lab's network.
    webhook_hosts: tuple[str, ...] = ()
    max_attempts: int = 8
    offline_minutes: int = 10
    batch: int = 50


def config_path() -> Path:
    """``notify.toml`` beside ``config.toml``."""
    return paths.config_dir() / "notify.toml"


def load(path: Path | None = None) -> NotifyConfig | None:
    """The ``[notify]`` section, or None where there is none (then nothing is sent).

    Refused (``ConfigError``) when the file can be read by its group or others.
    """
    path = config_path() if path is None else path
    if not path.is_file():
        return None
    mode = path.stat().st_mode
    if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            _(
                "{path} can be read by other users (mode {mode:o}); it may hold the SMTP "
                "password: run `chmod 600 {path}`; nothing is sent until then"
            ).format(path=path, mode=stat.S_IMODE(mode))
        )
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("notify")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(_("cannot read {path}: {error}").format(path=path, error=exc)) from exc
    if not isinstance(section, dict):
        return None
    known = {k: v for k, v in section.items() if k in NotifyConfig.__dataclass_fields__}
    if isinstance(known.get("webhook_hosts"), list):
        known["webhook_hosts"] = tuple(str(h).lower() for h in known["webhook_hosts"])
    config = NotifyConfig(**known)
    if config.security not in ("starttls", "tls", "none"):
        raise ConfigError(_("{path}: security must be starttls, tls or none").format(path=path))
    if config.smtp_user and not config.smtp_password:
        config = _with_keyring_password(config)
    return config


def _with_keyring_password(config: NotifyConfig) -> NotifyConfig:
    from dataclasses import replace

    try:
        import keyring

        password = keyring.get_password(KEYRING_SERVICE, config.smtp_user) or ""
    except Exception:  # noqa: BLE001 — no keyring backend on a headless service account
        password = os.environ.get("LABGPU_SMTP_PASSWORD", "")
    return replace(config, smtp_password=password or os.environ.get("LABGPU_SMTP_PASSWORD", ""))
