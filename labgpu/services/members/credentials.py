"""Signing in to a lab database: connection URLs, the OS keyring, and config.toml.

A member's password lives only in the OS keyring (the ``keyring`` library), under service
``labgpu`` and key ``user@host:port/db``. ``config.toml`` keeps the URL *without* the password.
TLS follows libpq: ``sslmode=prefer`` (psycopg's default) unless the URL says otherwise, so an
encrypted connection is used whenever the server offers one.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from labgpu.core.errors import ConfigError
from labgpu.core.i18n import _
from labgpu.services.platform import keyring_store, paths

log = logging.getLogger(__name__)

SERVICE = "labgpu"
DEFAULT_PORT = 5432
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$")
_URL_LINE = re.compile(r"^\s*url\s*=")


@dataclass(frozen=True, slots=True)
class LabConnection:
    """Where a member signs in: server, port, database and member name (no password)."""

    host: str
    database: str
    user: str
    port: int = DEFAULT_PORT
    options: tuple[tuple[str, str], ...] = ()  # URL query, e.g. (("sslmode", "require"),)

    @property
    def key(self) -> str:
        """The keyring entry's name: ``user@host:port/db``."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def url(self, password: str | None = None) -> str:
        """``postgresql://user[:password]@host:port/db[?options]`` (parts percent-encoded)."""
        auth = quote(self.user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?{urlencode(self.options)}" if self.options else ""
        return f"postgresql://{auth}@{host}:{self.port}/{quote(self.database, safe='')}{query}"


def is_lab_url(url: str) -> bool:
    """True for a PostgreSQL (lab database) URL."""
    return url.split("://", 1)[0].lower() in _SCHEMES


def parse_lab_url(url: str) -> tuple[LabConnection, str | None]:
    """Split a PostgreSQL URL into its connection and its password (``None`` if absent)."""
    if not is_lab_url(url):
        raise ConfigError(
            _("not a lab database URL (postgresql://USER@HOST/DB): {url}").format(url=_hide(url))
        )
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ConfigError(_("bad port in database URL {url}").format(url=_hide(url))) from exc
    host = parts.hostname or ""
    database = unquote(parts.path.lstrip("/"))
    user = unquote(parts.username or "")
    if not host or not database or not user:
        raise ConfigError(
            _(
                "a lab database URL needs a member name, a server and a database "
                "(postgresql://USER@HOST/DB): {url}"
            ).format(url=_hide(url))
        )
    password = unquote(parts.password) if parts.password is not None else None
    options = tuple(parse_qsl(parts.query))
    return LabConnection(host, database, user, port, options), password


def _hide(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def without_password(url: str) -> str:
    """The URL with its password removed (what config.toml may keep)."""
    if not is_lab_url(url):
        return url
    connection, _password = parse_lab_url(url)
    return connection.url()


# -- the keyring ---------------------------------------------------------------------------


def load_password(connection: LabConnection) -> str | None:
    """The remembered password of ``connection``, or ``None`` (none, or no usable keyring).

    Quiet when there is no keyring (a headless box, a service): nothing was asked to be
    remembered there, so nothing is missing (``-v`` shows why).
    """
    return keyring_store.read_secret(SERVICE, connection.key)


def save_password(connection: LabConnection, password: str) -> None:
    """Remember ``password`` in the OS keyring; ``ConfigError`` if there is no usable keyring."""
    advice = _("sign in without *remember*")
    keyring_store.store_secret(SERVICE, connection.key, password, advice)


def forget_password(connection: LabConnection) -> None:
    """Remove the remembered password, if any."""
    keyring_store.delete_secret(SERVICE, connection.key)


def environment_password() -> str | None:
    """``PGPASSWORD`` if set (libpq uses it for a URL without a password), else ``None``."""
    return os.environ.get("PGPASSWORD") or None


def with_remembered_password(url: str) -> str:
    """A lab URL without a password gets the remembered one; anything else is unchanged.

    ``PGPASSWORD``, set for this run, wins over the keyring: the keyring is not read then.
    """
    if not is_lab_url(url):
        return url
    connection, password = parse_lab_url(url)
    if password or environment_password():
        return url
    remembered = load_password(connection)
    return connection.url(remembered) if remembered else url


# -- config.toml ---------------------------------------------------------------------------


def save_database_url(url: str) -> Path:
    """Make ``url`` (password removed) the ``[database] url`` of config.toml; returns the file."""
    clean = without_password(url)
    path = paths.config_dir() / "config.toml"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    except OSError as exc:
        raise ConfigError(_("cannot read {path}: {error}").format(path=path, error=exc)) from exc
    entry = f"url = {json.dumps(clean)}"
    start = next((i for i, line in enumerate(lines) if _section(line) == "database"), None)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += ["[database]", entry]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if _section(lines[i]) is not None),
            len(lines),
        )
        found = next((i for i in range(start + 1, end) if _URL_LINE.match(lines[i])), None)
        if found is None:
            lines.insert(start + 1, entry)
        else:
            lines[found] = entry
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)  # an older file may have been readable by others
    except OSError as exc:
        raise ConfigError(_("cannot write {path}: {error}").format(path=path, error=exc)) from exc
    return path


def _section(line: str) -> str | None:
    match = _SECTION.match(line)
    return match.group(1).strip() if match else None
