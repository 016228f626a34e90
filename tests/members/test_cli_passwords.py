"""Signing in and passwords on the command line, against a PostgreSQL that checks passwords.

Every command runs as its own process, on a real pseudo-terminal where a person would type
(``getpass`` reads the controlling terminal with echo off) or with stdin from /dev/null where
cron would run it. The keyring is the one a headless box has (none: ``fail.Keyring``) unless a
test gives the plaintext file keyring.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import keyring
import psycopg
import pytest

from labgpu.cli.main import main
from labgpu.services import Labgpu
from labgpu.services.members import credentials
from tests.helpers.postgres import PostgresServer, start_postgres, stop_postgres
from tests.helpers.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]
NO_KEYRING = "keyring.backends.fail.Keyring"
FILE_KEYRING = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """Members must give their password (SCRAM) over TCP; the superuser ``postgres`` is trusted."""
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-pgcli-")))
    try:
        server.require_passwords()
        yield server
    finally:
        stop_postgres(server)


@dataclass
class Lab:
    """A lab database with a few members and their one-time passwords."""

    server: PostgresServer
    dbname: str
    names: dict[str, str]
    passwords: dict[str, str]

    def connection(self, who: str) -> credentials.LabConnection:
        return credentials.LabConnection(
            "127.0.0.1", self.dbname, self.names[who], self.server.port
        )

    def url(self, who: str, password: str | None = None) -> str:
        return self.connection(who).url(password)

    def prompt(self, who: str) -> str:
        return f"Password for {self.names[who]}@127.0.0.1/{self.dbname}: "


@pytest.fixture
def lab(server: PostgresServer) -> Iterator[Lab]:
    dbname = f"t_{uuid.uuid4().hex[:12]}"
    suffix = uuid.uuid4().hex[:6]
    roles = {"ann": "student", "ben": "student", "max": "manager", "col": "collector"}
    names = {who: f"{who}_{suffix}" for who in (*roles, "root")}
    admin = Labgpu(server.create_database(dbname))
    try:
        admin.members.init_lab()
        passwords = {who: admin.members.add(names[who], role) for who, role in roles.items()}
    finally:
        admin.close()
    try:
        yield Lab(server, dbname, names, passwords)
    finally:
        server.drop_database(dbname)
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def environment(keyring_backend: str = NO_KEYRING, **extra: str) -> dict[str, str]:
    """This test's environment (its own config, data and home) without any PostgreSQL setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PYTHON_KEYRING_BACKEND"] = keyring_backend
    env.update(extra)
    return env


def run(args: list[str], env: Mapping[str, str], stdin: str | None = None) -> tuple[int, str, str]:
    """``labgpu ARGS`` off a terminal (stdin from /dev/null, or ``stdin``)."""
    result = subprocess.run(
        [sys.executable, "-m", "labgpu", *args], cwd=ROOT, env=dict(env), text=True,
        capture_output=True, timeout=120, check=False,
        **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}),
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def terminal(args: list[str], env: Mapping[str, str]) -> Terminal:
    return Terminal(args, env)


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A plaintext file keyring shared by this test and the commands it runs."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    previous = keyring.get_keyring()
    backend = keyring.core.load_env()
    assert backend is not None
    keyring.set_keyring(backend)
    yield environment(FILE_KEYRING)
    keyring.set_keyring(previous)


# -- signing in -----------------------------------------------------------------------------


def test_a_terminal_is_asked_for_the_password_once(lab: Lab) -> None:
    shell = terminal(["--db", lab.url("ann"), "bookings", "--mine", "--json"], environment())
    shell.expect(lab.prompt("ann"))
    shell.type(lab.passwords["ann"])
    code, shown = shell.finish()
    assert code == 0, shown
    assert shown.count("Password for") == 1
    assert lab.passwords["ann"] not in shown  # typed with echo off
    assert "[]" in shown
    assert "keyring" not in shown.lower()  # nothing was asked to be remembered


def test_a_wrong_password_is_refused_once_and_not_asked_again(lab: Lab) -> None:
    shell = terminal(["--db", lab.url("ann"), "bookings"], environment())
    shell.expect(lab.prompt("ann"))
    shell.type("not her password")
    code, shown = shell.finish()
    assert code == 1, shown
    assert shown.count("Password for") == 1
    assert "refused the password" in shown
    assert f"labgpu users passwd {lab.names['ann']}" in shown  # how to get a new one
    assert "Traceback" not in shown


def test_off_a_terminal_the_message_says_how_to_give_the_password(lab: Lab) -> None:
    code, out, err = run(["--db", lab.url("ann"), "bookings", "--json"], environment())
    assert code == 1
    assert out == ""
    assert "Password for" not in err
    for way in ("--db", "PGPASSWORD", "~/.pgpass"):
        assert way in err
    assert "keyring" not in err.lower()
    assert "Traceback" not in err


def only_the_one_time_reminder(err: str) -> bool:
    """stderr says nothing but that the login still has its one-time password."""
    lines = err.splitlines()
    return (
        len(lines) == 1
        and "signed in with a one-time password" in lines[0]
        and ("`labgpu users passwd`" in lines[0])
    )


def test_pgpassword_signs_in_quietly_without_a_keyring(lab: Lab) -> None:
    env = environment(PGPASSWORD=lab.passwords["ann"])
    code, out, err = run(["--db", lab.url("ann"), "bookings", "--mine", "--json"], env)
    assert code == 0, err
    assert out.strip() == "[]"
    assert only_the_one_time_reminder(err), err  # no keyring warning on a headless box
    # A password given in the URL: the same.
    code, out, err = run(
        ["--db", lab.url("ann", lab.passwords["ann"]), "status", "--json"], environment()
    )
    assert code == 0, err
    assert only_the_one_time_reminder(err), err


def test_a_wrong_password_given_off_a_terminal_names_where_it_came_from(lab: Lab) -> None:
    code, _out, err = run(["--db", lab.url("ann"), "bookings"], environment(PGPASSWORD="nope"))
    assert code == 1
    assert "refused the password" in err
    assert "(the one in PGPASSWORD)" in err


def test_remember_password_keeps_the_typed_one(lab: Lab, file_keyring: dict[str, str]) -> None:
    shell = terminal(
        ["--remember-password", "--db", lab.url("ann"), "bookings", "--json"], file_keyring
    )
    shell.expect(lab.prompt("ann"))
    shell.type(lab.passwords["ann"])
    code, shown = shell.finish()
    assert code == 0, shown
    assert credentials.load_password(lab.connection("ann")) == lab.passwords["ann"]
    code, out, err = run(["--db", lab.url("ann"), "bookings", "--json"], file_keyring)
    assert code == 0, err  # off a terminal, from the keyring
    assert only_the_one_time_reminder(err), err


def test_a_refused_remembered_password_is_asked_for_once(
    lab: Lab, file_keyring: dict[str, str]
) -> None:
    credentials.save_password(lab.connection("ann"), "an old password")
    shell = terminal(["--db", lab.url("ann"), "bookings", "--json"], file_keyring)
    shell.expect("the password remembered for")
    shell.expect(lab.prompt("ann"))
    shell.type(lab.passwords["ann"])
    code, shown = shell.finish()
    assert code == 0, shown
    assert credentials.load_password(lab.connection("ann")) == "an old password"  # not asked


def test_remember_password_without_a_keyring_says_so(lab: Lab) -> None:
    env = environment(PGPASSWORD=lab.passwords["ann"])
    code, out, err = run(["--remember-password", "--db", lab.url("ann"), "bookings"], env)
    assert code == 0, err  # the command still runs
    assert "the password was not remembered: the OS keyring cannot store it" in err


def test_lab_init_asks_for_the_administrators_password(lab: Lab, server: PostgresServer) -> None:
    admin = lab.names["root"]
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{admin}\" SUPERUSER LOGIN PASSWORD 'root-secret'")
    shell = terminal(["--db", lab.url("root"), "lab", "init"], environment())
    shell.expect(lab.prompt("root"))
    shell.type("root-secret")
    code, shown = shell.finish()
    assert code == 0, shown
    assert "lab database ready" in shown


# -- users passwd ---------------------------------------------------------------------------


def test_own_password_on_a_terminal_then_sign_in_with_it(
    lab: Lab, file_keyring: dict[str, str]
) -> None:
    credentials.save_password(lab.connection("ann"), lab.passwords["ann"])  # remembered
    shell = terminal(["--db", lab.url("ann"), "users", "passwd"], file_keyring)
    shell.expect("New password: ")
    shell.type("short")
    code, shown = shell.finish()
    assert code == 1
    assert "at least 8 characters" in shown

    shell = terminal(["--db", lab.url("ann"), "users", "passwd"], file_keyring)
    shell.expect("New password: ")
    shell.type("ann's new secret")
    shell.expect("Repeat it: ")
    shell.type("ann's other secret")
    code, shown = shell.finish()
    assert code == 1
    assert "the two passwords differ" in shown

    shell = terminal(["--db", lab.url("ann"), "users", "passwd"], file_keyring)
    shell.expect("New password: ")
    shell.type("ann's new secret")
    shell.expect("Repeat it: ")
    shell.type("ann's new secret")
    code, shown = shell.finish()
    assert code == 0, shown
    assert "password changed" in shown
    assert "ann's new secret" not in shown
    assert credentials.load_password(lab.connection("ann")) == "ann's new secret"

    env = environment(PGPASSWORD="ann's new secret")
    code, _out, err = run(["--db", lab.url("ann"), "bookings", "--json"], env)
    assert code == 0, err
    assert err == ""  # her own password now: no one-time reminder
    env = environment(PGPASSWORD=lab.passwords["ann"])
    code, _out, err = run(["--db", lab.url("ann"), "bookings", "--json"], env)
    assert code == 1
    assert "refused the password" in err
    new = Labgpu(lab.url("ann", "ann's new secret"))
    try:
        new.open()
        assert not new.members.must_change_password()  # one's own password does not expire
    finally:
        new.close()


def test_own_password_from_standard_input(lab: Lab) -> None:
    env = environment(PGPASSWORD=lab.passwords["ben"])
    args = ["--db", lab.url("ben"), "users", "passwd"]
    code, _out, err = run(args, env)  # /dev/null: nothing to read
    assert code == 1
    assert "no new password" in err
    code, _out, err = run(args, env, stdin="one secret\nanother secret\n")
    assert code == 1
    assert "nothing changed" in err
    code, _out, err = run(args, env, stdin="short\n")
    assert code == 1
    assert "at least 8 characters" in err
    code, out, err = run(args, env, stdin="ben's new secret\nben's new secret\n")
    assert code == 0, err
    assert "password changed" in out
    code, _out, err = run([*args[:2], "status"], environment(PGPASSWORD="ben's new secret"))
    assert code == 0, err


def test_a_manager_resets_a_members_password(lab: Lab) -> None:
    manager = environment(PGPASSWORD=lab.passwords["max"])
    code, out, err = run(["--db", lab.url("max"), "users", "passwd", lab.names["ann"]], manager)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("one-time password (shown only now):"))
    one_time = line.rsplit(" ", 1)[1]
    assert one_time != lab.passwords["ann"]
    assert "expires" in out

    old = environment(PGPASSWORD=lab.passwords["ann"])
    assert run(["--db", lab.url("ann"), "bookings"], old)[0] == 1
    ann = Labgpu(lab.url("ann", one_time))
    try:
        ann.open()
        assert ann.user == lab.names["ann"]
        assert ann.members.must_change_password()  # a one-time password again
    finally:
        ann.close()

    # A service login's new password does not expire: nobody signs in to change it.
    code, out, err = run(["--db", lab.url("max"), "users", "passwd", lab.names["col"]], manager)
    assert code == 0, err
    assert "does not expire" in out
    password = next(x for x in out.splitlines() if x.startswith("password (shown only now):"))
    collector = Labgpu(lab.url("col", password.rsplit(" ", 1)[1]))
    try:
        collector.open()
        assert collector.members.role() == "collector"
        assert not collector.members.must_change_password()
    finally:
        collector.close()

    code, _out, err = run(["--db", lab.url("max"), "users", "passwd", "postgres"], manager)
    assert code == 1
    assert "no member named 'postgres'" in err


def test_a_student_cannot_reset_anothers_password(lab: Lab) -> None:
    env = environment(PGPASSWORD=lab.passwords["ann"])
    code, out, err = run(["--db", lab.url("ann"), "users", "passwd", lab.names["ben"]], env)
    assert code == 3
    assert "permission denied: only a lab manager can reset another member's password" in err
    assert out == ""
    ben = environment(PGPASSWORD=lab.passwords["ben"])
    assert run(["--db", lab.url("ben"), "bookings"], ben)[0] == 0  # ben's password still works
    conninfo = (
        f"host=127.0.0.1 port={lab.server.port} dbname={lab.dbname} user={lab.names['ann']} "
        f"password={lab.passwords['ann']}"
    )
    with (  # psql cannot either: the database refuses
        psycopg.connect(conninfo, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(
            "SELECT labgpu_reset_password(%s, 'SCRAM-SHA-256$x', 'infinity')", [lab.names["ben"]]
        )


def test_single_seat_has_no_passwords(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    for argv in (["users", "passwd"], ["users", "passwd", "bob"]):
        code = main(["--db", url, *argv])
        _out, err = capsys.readouterr()
        assert code == 1
        assert "single-seat SQLite database, which has no passwords" in err
