"""A real PostgreSQL server for tests and benchmarks, started from the system binaries.

Pytest plugin (listed in ``tests/conftest.py``). Fixtures:

- ``postgres_server`` (session): one server in a temporary directory, stopped at the end.
- ``postgres_url`` (function): a fresh, empty database on it, dropped after the test.
- ``db_url`` (function, parametrized ``sqlite`` / ``postgresql``): a fresh database URL on each
  backend, so a test using it runs twice.

Outside pytest (benchmarks): ``server = start_postgres(Path(tempfile.mkdtemp()))``, then
``server.create_database("bench")``, ``server.restart()``, ``server.stop()``.
Missing binaries are an error, never a skip (docs/architecture.md §9).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
_START_TRIES = 5


def find_bin_dir(root: Path = PG_ROOT) -> Path:
    """The ``bin`` directory of the newest installed PostgreSQL that has initdb and pg_ctl."""
    candidates = [p.parent for p in root.glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL server binaries not found ({root}/*/bin/initdb); "
            "install them with `apt-get install postgresql`"
        )
    return max(candidates, key=lambda p: _version_key(p.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in ``base_dir``, reachable on 127.0.0.1:``port`` as ``postgres``."""

    bin_dir: Path
    base_dir: Path
    port: int
    run_as: str | None  # OS user running the server (``postgres`` when we are root)

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.base_dir / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string of database ``dbname``."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname}"

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program (as ``run_as``); raise with its output if it fails."""
        cmd = [str(self.bin_dir / str(args[0])), *map(str, args[1:])]
        result = subprocess.run(
            cmd, cwd=self.base_dir, capture_output=True, text=True, timeout=120, check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"},
            user=self.run_as, group=self.run_as, extra_groups=[] if self.run_as else None,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"\n--- {self.log_file} ---\n{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {shlex.quote(str(self.base_dir))} "
            "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
            "-c synchronous_commit=off -c max_connections=200"
        )
        self.run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60",
                 "-o", options, "start")  # fmt: skip

    def require_passwords(self) -> None:
        """Every login but the superuser must give its password (SCRAM) over TCP, as in a lab."""
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {SUPERUSER} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        if self.run_as is not None:
            shutil.chown(hba, self.run_as, self.run_as)
        self.run("pg_ctl", "-D", self.data_dir, "reload")

    def stop(self) -> None:
        """Stop the server (fast shutdown: running transactions are rolled back)."""
        self.run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port (existing connections break)."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        """True if ``pg_ctl status`` finds the server."""
        try:
            self.run("pg_ctl", "-D", self.data_dir, "status")
        except RuntimeError:
            return False
        return True

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing the connections still open to it."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(query.format(sql.Identifier(name)))


def _prepare_dir(base_dir: Path, run_as: str | None) -> None:
    base_dir.mkdir(parents=True, exist_ok=True)
    if run_as is not None:
        shutil.chown(base_dir, run_as, run_as)
        base_dir.chmod(0o700)


def start_postgres(base_dir: Path) -> PostgresServer:
    """Create a cluster in ``base_dir`` and start it on a free port.

    As root, the server runs as the ``postgres`` OS user (initdb refuses root), so ``base_dir``
    must be reachable by that user (e.g. from ``tempfile.mkdtemp()``, not pytest's tmp_path).
    """
    run_as = SUPERUSER if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    _prepare_dir(base_dir, run_as)
    server = PostgresServer(find_bin_dir(), base_dir, free_port(), run_as)
    server.run("initdb", "-D", server.data_dir, "-A", "trust", "-U", SUPERUSER,
               "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
    for attempt in range(_START_TRIES):
        try:
            server.start()
            return server
        except RuntimeError as exc:
            if "already in use" not in str(exc) or attempt == _START_TRIES - 1:
                raise
            server.port = free_port()
    raise AssertionError("unreachable")  # pragma: no cover


def stop_postgres(server: PostgresServer) -> None:
    """Stop a server from ``start_postgres`` and delete its directory."""
    try:
        if server.is_running():
            server.stop()
    finally:
        shutil.rmtree(server.base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the whole test session."""
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-pg-")))
    try:
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    if postgres_server.is_running():
        postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL on SQLite (a file under tmp_path) and on real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    return str(request.getfixturevalue("postgres_url"))
