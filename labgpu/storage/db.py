"""Engines and schema revisions: SQLite (single seat) or PostgreSQL (lab database).

Nothing here runs at import time; every engine comes from ``make_engine``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from labgpu.core.errors import ConfigError, LabgpuError, SchemaTooNewError
from labgpu.core.i18n import _

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

#: Execution option: on SQLite, begin the transaction with ``BEGIN IMMEDIATE`` (take the write
#: lock up front, waiting up to the busy timeout) instead of a deferred ``BEGIN``.
WRITE_OPTION = "labgpu_write"


def normalize_url(url: str) -> str:
    """Make ``postgresql://`` and ``postgres://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def display_url(url: str) -> str:
    """The URL with its password hidden, fit for messages and logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


#: libpq settings for lab databases: give up connecting after 10 s, and notice a silently
#: dropped network within about a minute (TCP keepalives).
_PG_CONNECT_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with a busy timeout, or PostgreSQL via psycopg."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            _("cannot read database URL {url}: {error}; check --db").format(
                url=repr(url), error=exc
            )
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        # A dead server or network must fail a query within seconds, not hang a worker for
        # the kernel's TCP timeout (minutes); the URL's own settings win.
        libpq = {k: v for k, v in _PG_CONNECT_DEFAULTS.items() if k not in parsed.query}
        return create_engine(url, pool_pre_ping=True, connect_args=libpq)
    raise ConfigError(
        _(
            "unsupported database {backend} in {url}; use sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        ).format(backend=repr(backend), url=display_url(url))
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                _(
                    "cannot create the folder {folder} for the database {database}: {error}; "
                    "check --db"
                ).format(folder=folder, database=database, error=exc.strerror or exc)
            ) from exc
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # We emit BEGIN ourselves (see _sqlite_on_begin): sqlite3's own transaction control skips
    # BEGIN before SELECT and DDL, which breaks transactional migrations and consistent reads.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A write transaction takes the write lock at BEGIN, where the busy timeout applies. A
    # deferred transaction that reads first and writes later fails at once with "database is
    # locked" if another writer committed in between, whatever the timeout.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations, using ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s")  # rev ids already carry the slug
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this labgpu knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise LabgpuError(_("this labgpu ships no database migrations; reinstall labgpu"))
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for a database never upgraded."""
    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise LabgpuError(
            _("the database is at several revisions at once ({revisions})").format(
                revisions=", ".join(heads)
            )
        )
    return heads[0] if heads else None


def check_not_newer(connection: Connection, url: str) -> str | None:
    """Raise ``SchemaTooNewError`` if the database is at a revision this code does not know.

    Returns the current revision (``None`` for an empty database).
    """
    revision = current_revision(connection)
    if revision is None:
        return None
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise SchemaTooNewError(
            _(
                "the database at {url} was upgraded by a newer labgpu (revision "
                "{revision}); install a newer labgpu or use another database"
            ).format(url=display_url(url), revision=revision)
        )
    return revision


@contextmanager
def _connected(url_or_engine: str | Engine) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    engine = make_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(url_or_engine: str | Engine) -> None:
    """Bring the database to the newest revision; refuse one newer than this labgpu."""
    with _connected(url_or_engine) as engine:
        url = engine.url.render_as_string(hide_password=True)
        with engine.connect() as conn:
            revision = check_not_newer(conn, url)
        if revision == head_revision():
            return
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            command.upgrade(alembic_config(conn), "head")


def check_schema(url_or_engine: str | Engine) -> None:
    """Raise unless the database is exactly at this labgpu's revision."""
    with _connected(url_or_engine) as engine, engine.connect() as conn:
        url = engine.url.render_as_string(hide_password=True)
        revision = check_not_newer(conn, url)
    if revision != head_revision():
        raise LabgpuError(
            _(
                "the database at {url} is at revision {revision} but this labgpu "
                "needs {head}; run `labgpu db upgrade`"
            ).format(url=url, revision=revision or _("none (empty)"), head=head_revision())
        )
