"""The earliest slots a member can book (real SQLite and PostgreSQL): the search, its refusals,
maintenance windows it goes around, and the growing-span search equal to one search over the
whole horizon."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import BookingRules, RuleRefusedError
from labgpu.core.booking.slots import SlotGpu, find_earliest_slots
from labgpu.core.errors import RefusedError
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.booking_lab import NOW, H, clock, gpus, kim, me, store

__all__ = ["clock", "gpus", "kim", "me", "store"]  # the fixtures


def test_maintenance_blocks_booking_and_slots(me: BookingService, gpus: dict[str, int]) -> None:
    server = [gpus[f"gpu-01:{i}"] for i in range(4)]
    block = RulesService(me).add_maintenance(server, NOW, NOW + 10 * H, "driver update")
    assert RulesService(me).maintenance(NOW, NOW + H)[0].reason == "driver update"
    with pytest.raises(RefusedError, match=r"GPU gpu-01:0 is in maintenance .*driver update"):
        me.check([server[0]], NOW + H, NOW + 2 * H)
    with pytest.raises(RefusedError, match="maintenance"):
        me.book([server[0]], NOW + H, NOW + 2 * H)
    slots = me.find_slots("A4000", 4, 2 * H, same_server=True)
    assert slots[0].servers == ("gpu-02",)
    assert slots[0].start == NOW
    assert slots[1].servers == ("gpu-01",)
    assert slots[1].start == NOW + 10 * H
    RulesService(me).remove_maintenance(block.id or 0)
    me.book([server[0]], NOW + H, NOW + 2 * H)


def test_find_slots_and_book_earliest(
    me: BookingService, kim: BookingService, gpus: dict[str, int]
) -> None:
    RulesService(me).save(BookingRules(max_gpus_at_once=8))
    every_a4000 = [gpus[f"gpu-0{s}:{i}"] for s in (1, 2) for i in range(4)]
    kim.book(every_a4000[:4], NOW, NOW + 5 * H)
    kim.book(every_a4000[4:], NOW, NOW + 3 * H)
    options = me.find_slots("A4000", 4, 2 * H)
    assert options[0].start == NOW + 3 * H
    assert options[0].servers == ("gpu-02",)
    group = me.book_earliest("A4000", 4, 2 * H, note="sweep")
    assert group.window.start == NOW + 3 * H
    assert group.note == "sweep"
    group = me.book_model("A4000", 2, NOW + 5 * H, NOW + 6 * H)
    assert group.gpu_labels == ("gpu-01:0", "gpu-01:1")


@pytest.mark.parametrize(
    ("model", "count", "hours", "rule"),
    [
        ("H100", 1, 2.0, "model"),
        ("A4000", 9, 2.0, "max_gpus_at_once"),
        ("A40", 3, 2.0, "count"),
        ("A4000", 1, 0.0, "duration"),
        ("A4000", 1, -1.0, "duration"),
        ("A4000", 0, 2.0, "count"),
        ("A4000", 1, 100.0, "max_hours"),
    ],
)
def test_find_slots_bad_input(
    me: BookingService, model: str, count: int, hours: float, rule: str
) -> None:
    with pytest.raises(RuleRefusedError) as exc:
        me.find_slots(model, count, hours * H)
    assert exc.value.rule == rule


def test_same_server_needs_enough_gpus_on_one(me: BookingService) -> None:
    RulesService(me).save(BookingRules(max_gpus_at_once=8))
    assert me.find_slots("A4000", 6, H)  # 4 + 2 over two servers
    with pytest.raises(RuleRefusedError, match="on one server"):
        me.find_slots("A4000", 6, H, same_server=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_growing_span_search_equals_one_search_over_the_horizon(
    me: BookingService, store: Store, gpus: dict[str, int], seed: int
) -> None:
    rng = random.Random(seed)
    servers = [[gpus[f"gpu-0{s}:{i}"] for i in range(4)] for s in (1, 2)]
    free_from = {g: NOW for ids in servers for g in ids}
    for _ in range(60):
        picked = sorted(rng.sample(rng.choice(servers), rng.choice((1, 2, 4))))
        start = max(free_from[g] for g in picked) + rng.randint(0, 30) * H
        end = start + rng.randint(1, 30) * H
        store.bookings.create_bookings(
            str(uuid.uuid4()), picked, "kim", Window(start, end), BookingStatus.BOOKED, "", "kim"
        )
        for g in picked:
            free_from[g] = end
    pool = [
        SlotGpu(g.id or 0, g.server_name, g.model)
        for g in store.inventory.list_gpus()
        if "A4000" in g.model
    ]
    everything = me.busy_map(NOW - 100 * H, NOW + 1000 * H)
    deadline = NOW + timedelta(days=14) + 10 * H
    for count, hours, same in ((1, 3, False), (2, 10, True), (4, 10, True), (4, 24, False)):
        expected = find_earliest_slots(pool, everything, count, hours * H, NOW, deadline, same)
        assert me.find_slots("A4000", count, hours * H, same_server=same) == expected
