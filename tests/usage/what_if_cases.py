"""Random small labs and request sequences for the what-if property tests (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.rules import BookingRules
from labgpu.core.booking.slots import SlotGpu
from labgpu.core.usage.figures import SlotRequest
from labgpu.core.usage.what_if_replay import BookedGroup, History
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from tests.helpers.booking_lab import Clock

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
MODELS = ("NVIDIA RTX A4000", "NVIDIA A40")
USERS = ("ann", "bo", "cy")
M = timedelta(minutes=1)
#: Minutes after ``T0``, member, model, GPUs, hours, whether they book (else only search).
STEPS = [
    (0, "ann", "A4000", 4, 6, True),
    (5, "bo", "A4000", 4, 5, True),
    (10, "cy", "A4000", 2, 3, True),  # waits for ann's or bo's GPUs
    (12, "dee", "A40", 2, 4, True),
    (20, "eve", "A40", 1, 2, False),  # looks: both A40s are dee's until 12:12
    (30, "eve", "A4000", 4, 2, True),
    (95, "ann", "A40", 1, 1, True),  # ann holds 4 already: her rule holds her back
    (100, "bo", None, 3, 1, False),
    (130, "dee", "A4000", 1, 8, True),
    (200, "cy", "A40", 2, 2, True),
]


def book_history(store: Store) -> None:
    """``STEPS`` booked (or searched) for real through the booking service on the booking lab
    of ``tests/helpers/booking_lab.seed_lab`` (8 A4000s on two servers, 2 A40s)."""
    clock = Clock(T0)
    members = {u: BookingService(store, u, clock) for u in ("ann", "bo", "cy", "dee", "eve")}
    for minutes, user, model, count, hours, book in STEPS:
        clock.now = T0 + minutes * M
        if book:
            members[user].book_earliest(model, count, hours * H)
        else:
            members[user].find_slots(model, count, hours * H)


@st.composite
def histories(draw: st.DrawFn) -> History:
    """A lab of 1-4 GPUs on 1-2 servers, a few fixed bookings, 1-8 requests (some booked)."""
    n = draw(st.integers(1, 4))
    gpus = tuple(
        SlotGpu(i + 1, f"s{draw(st.integers(1, 2))}", draw(st.sampled_from(MODELS)), 16000)
        for i in range(n)
    )
    groups: list[BookedGroup] = []
    for k in range(draw(st.integers(0, 3))):
        gpu = draw(st.sampled_from(gpus))
        start = T0 + draw(st.integers(0, 8)) * H
        window = Window(start, start + draw(st.integers(1, 4)) * H)
        if any(gpu.id in g.gpu_ids and g.window.overlaps(window) for g in groups):
            continue
        made = T0 - H + draw(st.integers(0, 6)) * H
        groups.append(BookedGroup(f"f{k}", "zed", (gpu.id,), window, made))
    requests: list[SlotRequest] = []
    asked = T0
    for _k in range(draw(st.integers(1, 8))):
        asked += draw(st.integers(0, 90)) * timedelta(minutes=1)
        wanted = asked + draw(st.sampled_from((0, 0, 1, 3))) * H
        model = draw(st.sampled_from((*MODELS, "any")))
        count = draw(st.integers(1, 3))
        hours = float(draw(st.integers(1, 4)))
        unmet = draw(st.booleans())
        requests.append(
            SlotRequest(
                draw(st.sampled_from(USERS)),
                model,
                count,
                hours,
                asked,
                wanted,
                None if unmet else wanted,
            )
        )
    rules = BookingRules(max_gpus_at_once=draw(st.sampled_from((2, 4, 8))), horizon_days=1.0)
    return History(gpus, rules, tuple(requests), tuple(groups))
