"""Processes in containers once stored: status, the slot search's view, reality checks, the
CLI's status output, and the lab database's grants for the new columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from labgpu.cli.output import process_cell, process_json
from labgpu.core.inventory.servers import Gpu, GpuProcess, SshTarget
from labgpu.services.booking.reality import find_unbooked_use
from labgpu.storage import Store
from tests.helpers.labdb import Lab, lab
from tests.test_storage import T0, probe, reading

__all__ = ["lab"]  # the fixture

BOXED = GpuProcess("U0", 11, 500, "python", "kim", 60, "python train.py", "vit-train", "docker")
UNKNOWN = GpuProcess("U1", 12, 500, "python", None, 60, "python x.py", "notebook", "docker")
PLAIN = GpuProcess("U1", 13, 500, "python", "lee", 60, "python y.py")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    store.inventory.register_server(
        "gpu-01", SshTarget("h1"), [reading(0, "U0"), reading(1, "U1")], "amy"
    )
    store.inventory.store_probe(
        "gpu-01", probe(T0, [reading(0, "U0"), reading(1, "U1")], [BOXED, UNKNOWN, PLAIN])
    )
    yield store
    store.close()


def test_containers_are_stored_and_read_back(store: Store) -> None:
    status = {g.uuid: g for g in store.inventory.latest_status()}
    assert status["U0"].processes == (BOXED,)
    assert status["U1"].processes == (UNKNOWN, PLAIN)
    assert status["U1"].owners == ("lee",)  # the unknown owner is nobody's name
    assert not status["U1"].is_free


def test_slot_search_sees_an_unknown_container_as_someone(store: Store) -> None:
    users = store.inventory.current_users()
    by_uuid = {g.uuid: g.id for g in store.inventory.list_gpus()}
    assert users[by_uuid["U0"]] == {"kim"}
    assert users[by_uuid["U1"]] == {"", "lee"}  # "": in use by someone unknown


def test_unbooked_use_never_names_an_unknown_owner(store: Store) -> None:
    gpus: dict[str, Gpu] = {g.uuid: g for g in store.inventory.list_gpus()}
    found = find_unbooked_use(store.inventory.latest_status(), gpus, [], T0 + timedelta(1))
    assert sorted(u.user for u in found) == ["kim", "lee"]


def test_cli_shows_container_and_owner() -> None:
    assert process_cell(BOXED) == "kim:11 (container vit-train)"
    assert process_cell(UNKNOWN) == "owner unknown:12 (container notebook)"
    assert process_cell(PLAIN) == "lee:13"
    assert process_json(BOXED) == {
        "pid": 11,
        "user": "kim",
        "process_name": "python",
        "used_memory_mb": 500,
        "elapsed_s": 60,
        "command": "python train.py",
        "container": "vit-train",
        "container_runtime": "docker",
        "owner_known": True,
    }
    assert (process_json(UNKNOWN)["owner_known"], process_json(PLAIN)["container"]) == (
        False,
        None,
    )


def test_collector_writes_the_container_columns(lab: Lab) -> None:
    insert = (
        "INSERT INTO gpu_processes (gpu_id, ts, pid, process_name, container, container_runtime)"
        " VALUES (%s, now(), 1, 'p', 'vit-train', 'docker')"
    )
    with lab.connect("collector") as col:
        col.execute(insert, (lab.gpu_id,))
    with lab.connect("a") as member:
        row = member.execute(
            "SELECT container, container_runtime FROM gpu_processes WHERE gpu_id = %s",
            (lab.gpu_id,),
        ).fetchone()
    assert row == ("vit-train", "docker")
