"""Member passwords against a PostgreSQL that checks them (SCRAM), as a real lab database does.

The shared test server trusts every login; this one asks every member for their password, so a
wrong or expired password really is refused and a remembered one really is used.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from labgpu.core.errors import DatabaseError, LabgpuError
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from tests.helpers.postgres import PostgresServer, start_postgres, stop_postgres


@pytest.fixture(scope="module")
def checked_server() -> Iterator[PostgresServer]:
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-pgpw-")))
    try:
        server.require_passwords()
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        server.run("pg_ctl", "-D", server.data_dir, "reload")
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def plaintext_keyring(file_keyring: object) -> None:
    """Passwords in a plaintext file under tmp_path (the shared ``file_keyring``)."""


@pytest.fixture
def member(checked_server: PostgresServer) -> Iterator[tuple[credentials.LabConnection, str]]:
    """A fresh lab database with one student; (their connection, their one-time password)."""
    dbname = f"t_{uuid.uuid4().hex[:12]}"
    name = f"kim_{uuid.uuid4().hex[:6]}"
    admin_url = checked_server.create_database(dbname)
    admin = Labgpu(admin_url)
    try:
        admin.members.init_lab()
        one_time = admin.members.add(name, "student")
    finally:
        admin.close()
    try:
        yield credentials.LabConnection("127.0.0.1", dbname, name, checked_server.port), one_time
    finally:
        checked_server.drop_database(dbname)
        with psycopg.connect(checked_server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_one_time_password_then_own_password(
    member: tuple[credentials.LabConnection, str], checked_server: PostgresServer
) -> None:
    connection, one_time = member
    lab = Labgpu(connection.url(one_time))
    try:
        lab.open()
        assert lab.user == connection.user
        assert lab.members.must_change_password()
        with pytest.raises(LabgpuError, match="at least 8 characters"):
            lab.change_password("short")
        lab.change_password("a new secret")
        assert not lab.members.must_change_password()  # a fresh connection, with the new password
        assert lab.bookings.between() == []
    finally:
        lab.close()

    old = Labgpu(connection.url(one_time))
    with pytest.raises(DatabaseError, match="password authentication failed"):
        old.open()
    old.close()
    log = checked_server.log_file.read_text(errors="replace")
    assert "a new secret" not in log  # only the SCRAM verifier went over the wire
    assert one_time not in log


def test_remembered_password_signs_in(
    member: tuple[credentials.LabConnection, str], plaintext_keyring: None
) -> None:
    connection, one_time = member
    nobody = Labgpu(connection.url())
    with pytest.raises(DatabaseError, match="password"):
        nobody.open()
    nobody.close()

    credentials.save_password(connection, one_time)
    lab = Labgpu(connection.url())  # no password in the URL: the keyring's is used
    try:
        lab.open()
        assert lab.user == connection.user
    finally:
        lab.close()


def test_a_plain_password_is_refused_by_the_database(
    member: tuple[credentials.LabConnection, str],
) -> None:
    connection, one_time = member
    conninfo = (
        f"host=127.0.0.1 port={connection.port} dbname={connection.database} "
        f"user={connection.user} password={one_time}"
    )
    with (
        psycopg.connect(conninfo, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InvalidParameterValue, match="SCRAM verifier"),
    ):
        conn.execute("SELECT labgpu_change_password('plain text password')")
