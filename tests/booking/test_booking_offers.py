"""What the slot finder offers is what the member can really book (issue 13, points 3-5):
no GPUs of servers that are down, none busy with someone's unbooked process for a window
starting now, only windows the member's own rules allow; `end` of a booking not started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.booking.rules import BookingRules, RuleRefusedError
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.inventory.servers import GpuProcess, ProbeResult, ServerState
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.service import BookingService
from labgpu.services.booking.slots import UNBOOKED_BLOCK
from labgpu.storage import Store
from tests.helpers.booking_lab import (
    A4000,
    NOW,
    Clock,
    clock,
    gpus,
    me,
    readings,
    seed_lab,
)

H = timedelta(hours=1)


# gpus, clock and me as in test_booking_service, on SQLite only (this store).
__all__ = ["clock", "gpus", "me"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'labgpu.db'}")
    store.upgrade()
    yield store
    store.close()


def labels(gpus: dict[str, int], ids: tuple[int, ...]) -> list[str]:
    names = {v: k for k, v in gpus.items()}
    return [names[i] for i in ids]


def test_offline_and_probe_error_servers_are_not_offered(
    me: BookingService, store: Store, gpus: dict[str, int]
) -> None:
    store.inventory.set_server_state("gpu-01", ServerState.OFFLINE, "timed out", None)
    options = me.find_slots("A4000", 1, 2 * H)
    assert options
    assert all(o.servers == ("gpu-02",) for o in options)
    group = me.book_earliest("A4000", 4, 2 * H)
    assert {v.server for v in group.gpus} == {"gpu-02"}
    assert group.window.start == NOW  # gpu-02 is free now: no wait for gpu-01's GPUs
    store.inventory.set_server_state("gpu-02", ServerState.PROBE_ERROR, "nvidia-smi failed", None)
    with pytest.raises(LabgpuError, match=r"gpu-01 \(offline\), gpu-02 \(probe error\)"):
        me.find_slots("A4000", 1, 2 * H)


def test_unbooked_process_blocks_a_window_starting_now(
    me: BookingService, store: Store, gpus: dict[str, int]
) -> None:
    procs = tuple(
        GpuProcess(f"gpu-01-{i}", 4000 + i, 1000, "python", "kim", 600, "python train.py")
        for i in range(4)
    ) + (GpuProcess("gpu-02-0", 4100, 1000, "python", "tester", 60, "python mine.py"),)
    store.inventory.store_probe(
        "gpu-01", ProbeResult("gpu-01", NOW, tuple(readings(A4000, 4, "gpu-01")), procs)
    )
    store.inventory.set_server_state("gpu-01", ServerState.ONLINE, "", NOW)
    store.inventory.set_server_state("gpu-02", ServerState.ONLINE, "", NOW)
    first = me.find_slots("A4000", 4, 2 * H)[0]
    assert first.start == NOW
    assert labels(gpus, first.gpu_ids) == [f"gpu-02:{i}" for i in range(4)]  # my own process ok
    # eight GPUs would need kim's: the earliest is once the unbooked use stops blocking them
    RulesService(me).save(BookingRules(max_gpus_at_once=8))
    eight_now = me.find_slots("A4000", 8, 2 * H)[0]
    assert eight_now.start == NOW + UNBOOKED_BLOCK
    later = me.find_slots("A4000", 4, 2 * H, same_server=True, after=NOW + 3 * H)
    assert {o.servers for o in later} == {("gpu-01",), ("gpu-02",)}  # later: offered again


def test_find_slot_offers_only_what_my_rules_allow(
    me: BookingService, gpus: dict[str, int]
) -> None:
    RulesService(me).save(BookingRules(max_gpus_at_once=4))
    held = [gpus[f"gpu-01:{i}"] for i in range(3)]
    me.book(held, NOW, NOW + 5 * H)  # I hold 3 of my 4 until NOW + 5 h
    options = me.find_slots("A4000", 2, 2 * H)
    assert options[0].start == NOW + 5 * H  # not before: 3 + 2 > 4
    for o in options:
        me.check(o.gpu_ids, o.start, o.end)  # every option passes the member's own rules
    one = me.find_slots("A4000", 1, 2 * H)[0]
    assert one.start == NOW
    with pytest.raises(RuleRefusedError, match="more than the 4 a member may hold"):
        me.find_slots("A4000", 5, 2 * H)


def test_find_slot_respects_the_weekly_quota(me: BookingService, gpus: dict[str, int]) -> None:
    RulesService(me).save(BookingRules(weekly_quota_gpu_hours=20))
    me.book([gpus["gpu-01:0"], gpus["gpu-01:1"]], NOW, NOW + 8 * H)  # 16 GPU-hours this week
    options = me.find_slots("A4000", 2, 4 * H)
    monday = (NOW + timedelta(days=7 - NOW.weekday())).replace(hour=0)
    assert options[0].start == monday  # 16 + 8 > 20 this week; next week is empty
    for o in options:
        me.check(o.gpu_ids, o.start, o.end)
    with pytest.raises(RuleRefusedError, match="weekly quota is 20 h"):
        me.find_slots("A4000", 4, 6 * H)  # 24 GPU-hours fit in no week: say why


def test_end_refuses_a_booking_that_has_not_started(
    me: BookingService, gpus: dict[str, int]
) -> None:
    group = me.book([gpus["gpu-01:0"]], NOW + H, NOW + 3 * H)
    with pytest.raises(RefusedError, match=r"has not started yet; use `labgpu cancel "):
        me.end_early(group.group_id)
    assert me.group(group.group_id).status.value == "booked"  # not cancelled behind my back


# -- who may decide and change (points 6 and 7) -------------------------------------------------


def test_only_a_pi_or_manager_decides_on_a_request(
    store: Store, gpus: dict[str, int], clock: Clock
) -> None:
    kim = BookingService(store, "kim", clock, role=lambda: "student")
    asked = kim.book([gpus["gpu-03:0"]], NOW + H, NOW + 3 * H)
    assert asked.status.value == "pending"
    lee = BookingService(store, "lee", clock, role=lambda: "student")
    with pytest.raises(RefusedError, match="only a PI or a lab manager can decide on a request"):
        lee.approve(asked.group_id)
    with pytest.raises(RefusedError, match="only a PI or a lab manager can decide on a request"):
        lee.reject(asked.group_id, "no")
    with pytest.raises(RefusedError, match="a student can only change their own bookings"):
        lee.cancel(asked.group_id)
    pat = BookingService(store, "pat", clock, role=lambda: "pi")
    assert pat.approve(asked.group_id).status.value == "booked"
    with pytest.raises(RefusedError, match="decides on others' bookings but does not edit"):
        pat.extend(asked.group_id, NOW + 4 * H)
    assert pat.cancel(asked.group_id).status.value == "cancelled"  # as the database allows


def test_demo_member_has_their_roles_rights(demo_folder: Path) -> None:
    from labgpu.demo.model import reference_members
    from labgpu.demo.setup import demo_lab

    lab = demo_lab()
    lab.open()
    try:
        roles = {m.role: m.name for m in reference_members()}
        lab.act_as(roles["student"])
        assert lab.members.role() == "student"
        assert not lab.members.can_approve()
        assert not lab.members.can_manage()
        others = [
            b
            for b in lab.bookings.between()
            if b.user != lab.user and b.status.value in ("booked", "active")
        ]
        running = others[0]
        with pytest.raises(RefusedError, match=f"only change their own.*{running.user}'s"):
            lab.bookings.cancel(running.group_id)
        with pytest.raises(RefusedError, match="only a lab manager"):
            lab.rules.save(BookingRules())
        with pytest.raises(RefusedError, match="only a lab manager can change servers"):
            lab.inventory.remove_server(running.server)
        lab.act_as(roles["pi"])
        assert lab.members.can_approve()
        assert not lab.members.can_manage()
        lab.act_as(roles["manager"])
        assert lab.members.can_manage()
        lab.bookings.cancel(running.group_id)  # the manager may, as in the lab database
    finally:
        lab.close()


# -- the CLI ------------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    from labgpu.cli.main import main

    try:
        code = main(["--db", url, *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, int]]:
    monkeypatch.setenv("LABGPU_USER", "tester")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url)
    store.upgrade()
    gpus = seed_lab(store)
    store.close()
    return url, gpus


def soon(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def test_cli_end_of_a_booking_not_started_is_refused(
    capsys: pytest.CaptureFixture[str], cli_lab: tuple[str, dict[str, int]]
) -> None:
    url, gpus = cli_lab
    store = Store(url)
    group = BookingService(store, "tester").book([gpus["gpu-01:0"]], soon(2), soon(4))
    store.close()
    code, out, err = cli(capsys, url, "end", group.group_id)
    assert code == 3
    assert f"booking {group.group_id} has not started yet; use `labgpu cancel" in err
    assert "ended" not in out
    code, out, err = cli(capsys, url, "cancel", group.group_id)
    assert code == 0, err


def test_cli_asks_before_changing_another_members_booking(
    capsys: pytest.CaptureFixture[str], cli_lab: tuple[str, dict[str, int]]
) -> None:
    url, gpus = cli_lab
    store = Store(url)
    group = BookingService(store, "kim").book([gpus["gpu-01:0"]], soon(2), soon(4))
    store.close()
    for argv in (["cancel"], ["extend", "--until", soon(6).isoformat()]):
        code, out, err = cli(capsys, url, *argv[:1], group.group_id, *argv[1:])
        assert code == 2, err  # off a terminal, single seat: --yes is needed
        assert f"is kim's, not yours; add --yes to {argv[0]} it" in err
    code, out, err = cli(capsys, url, "cancel", group.group_id, "--yes")
    assert code == 0, err
    assert "cancelled" in out


def test_status_json_shows_a_pending_request_as_requested(
    capsys: pytest.CaptureFixture[str], cli_lab: tuple[str, dict[str, int]]
) -> None:
    url, gpus = cli_lab
    store = Store(url)
    BookingService(store, "kim").book([gpus["gpu-03:0"]], soon(0), soon(2))  # A40: a request
    store.close()
    code, out, err = cli(capsys, url, "status", "--json")
    assert code == 0, err
    [gpu] = [g for g in json.loads(out)["gpus"] if g["uuid"] == "gpu-03-0"]
    assert gpu["booked_by"] is None
    assert gpu["requested_by"] == "kim"
