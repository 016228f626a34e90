"""The lab database through the CLI: init, members, identity and clear permission refusals."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from labgpu.core.errors import RefusedError
from labgpu.core.inventory.servers import ServerState
from labgpu.services import Labgpu
from labgpu.storage import Store
from tests.booking.test_booking_service import seed_lab
from tests.booking.test_cli_booking import run
from tests.helpers.postgres import PostgresServer


def as_member(url: str, name: str) -> str:
    return url.replace("postgres@", f"{name}@", 1)


@pytest.fixture
def names(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {k: f"{k}_{suffix}" for k in ("ann", "ben", "pat", "max", "col", "new")}
    yield names
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def lab_url(postgres_url: str) -> str:
    store = Store(postgres_url)
    store.upgrade()
    seed_lab(store)
    store.close()
    return postgres_url


def start_iso(hours: int) -> str:
    moment = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (moment + timedelta(hours=hours)).isoformat()


def test_init_members_and_refusals(
    lab_url: str, names: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, lab_url, "lab", "init")
    assert code == 0, err
    assert "lab database ready" in out
    assert run(capsys, lab_url, "lab", "init")[0] == 0  # idempotent
    roles = {"ann": "student", "ben": "student", "pat": "pi", "max": "manager", "col": "collector"}
    for who, role in roles.items():
        code, out, err = run(capsys, lab_url, "users", "add", names[who], "--role", role)
        assert code == 0, err
        assert "one-time password (shown only now): " in out
    code, out, err = run(capsys, lab_url, "users", "list", "--json")
    assert code == 0, err
    listed = {m["name"]: m["role"] for m in json.loads(out)}
    assert {listed[names[w]] for w in roles} == set(roles.values())
    assert listed[names["pat"]] == "pi"

    ann, ben, pat = (as_member(lab_url, names[w]) for w in ("ann", "ben", "pat"))
    lab = Labgpu(ann)
    lab.open()
    try:
        assert lab.user == names["ann"]  # the login, not LABGPU_USER
        assert lab.members.role() == "student"
        assert not lab.members.can_approve()
        assert not lab.members.can_manage()
        assert lab.members.must_change_password()
        lab.change_password("a-new-secret")
        assert not lab.members.must_change_password()
    finally:
        lab.close()

    code, out, err = run(capsys, ann, "book", "--model", "A4000", "--hours", "2", "--json")
    assert code == 0, err
    group = json.loads(out)
    assert group["user"] == names["ann"]
    code, out, err = run(capsys, ben, "cancel", group["group_id"])
    assert code == 3
    assert "permission denied: a student can only change their own bookings" in err
    code, out, err = run(capsys, ben, "servers", "remove", "gpu-01", "--yes")
    assert code == 3
    assert "permission denied: only a lab manager can change servers" in err
    code, out, err = run(capsys, ben, "users", "add", "mallory", "--role", "manager")
    assert code == 3
    assert "permission denied" in err

    asked = run(capsys, ann, "book", "--model", "A40", "--start", start_iso(3), "--hours", "1",
                "--json")  # fmt: skip
    assert asked[0] == 0, asked[2]
    pending = json.loads(asked[1])
    assert pending["status"] == "pending"
    code, out, err = run(capsys, ann, "approve", pending["group_id"])
    assert code == 3
    assert "permission denied" in err
    code, out, err = run(capsys, pat, "approve", pending["group_id"])
    assert code == 0, err

    # A manager (no superuser, no CREATEROLE) manages members, and only members.
    manager = as_member(lab_url, names["max"])
    code, out, err = run(capsys, manager, "users", "add", names["new"], "--role", "student")
    assert code == 0, err
    code, out, err = run(capsys, manager, "users", "set-role", names["new"], "pi")
    assert code == 0, err
    code, out, err = run(capsys, manager, "users", "set-role", "postgres", "student")
    assert code == 1
    assert "no member named 'postgres'" in err
    code, out, err = run(capsys, manager, "users", "remove", names["new"])
    assert code == 0, err
    code, out, err = run(capsys, pat, "users", "remove", names["ben"])
    assert code == 3
    assert "permission denied: only a lab manager can add, change or remove members" in err

    code, out, err = run(capsys, lab_url, "users", "set-role", names["ben"], "pi")
    assert code == 0, err
    code, out, err = run(capsys, lab_url, "users", "remove", names["ann"])
    assert code == 0, err
    code, out, err = run(capsys, lab_url, "bookings", "--json")
    assert names["ann"] in {g["user"] for g in json.loads(out)}  # history stays


def test_lab_commands_need_postgresql(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/lab.db"
    code, out, err = run(capsys, url, "lab", "init")
    assert code == 1
    assert "PostgreSQL" in err
    code, out, err = run(capsys, url, "users", "list")
    assert code == 1
    lab = Labgpu(url)
    lab.open()
    try:
        assert lab.members.role() == "manager"
        assert not lab.members.must_change_password()
    finally:
        lab.close()


def test_collector_login_records_state_a_student_cannot(
    lab_url: str, names: dict[str, str]
) -> None:
    admin = Labgpu(lab_url)
    try:
        admin.members.init_lab()
        admin.members.add(names["col"], "collector")
        admin.members.add(names["ann"], "student")
    finally:
        admin.close()
    now = datetime.now(UTC)
    collector = Store(as_member(lab_url, names["col"]))
    student = Store(as_member(lab_url, names["ann"]))
    try:
        assert collector.lab.role() == "collector"
        collector.inventory.set_server_state("gpu-01", ServerState.OFFLINE, "no route", now)
        with pytest.raises(RefusedError, match="only a lab manager can change servers"):
            student.inventory.set_server_state("gpu-01", ServerState.ONLINE, "", now)
        with pytest.raises(RefusedError, match="only a lab manager can change servers"):
            student.inventory.remove_server("gpu-01", names["ann"])
        states = {s.name: s.state for s in collector.inventory.list_servers()}
        assert states["gpu-01"] is ServerState.OFFLINE
    finally:
        collector.close()
        student.close()
