"""A small lab with two hours of known usage, rolled up, for the usage CLI and report tests.

gpu-01 has two RTX A4000 (0, 1), gpu-02 one A40 (0); one sample a minute per GPU from BASE:

- gpu-01/0: 2 h at 50 % with amy's process           -> busy 2 h, amy used 2 h
- gpu-01/1: 1 h at 0 % and no process, then 1 h at 100 % with bo's process -> busy 1 h, bo 1 h
- gpu-02/0: 1 h at 20 % with amy's process, then no readings -> observed 1 h, amy used 1 h

Bookings: amy gpu-01/0 for the 2 h, bo gpu-01/1 for the first hour (idle all of it).
So: amy booked 2, used 3, idle-while-booked 0, without booking 1 (the A40);
bo booked 1, used 1, idle-while-booked 1, without booking 1 (the second hour).
One unmet request of amy's (no capacity), asked in the first hour; one of bo's that the lab's
longest-booking rule refused (not unmet demand).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult, SshTarget
from labgpu.core.usage.figures import SlotRequest
from labgpu.storage import Store

BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
END = BASE + timedelta(hours=2)
A4000 = "NVIDIA RTX A4000"
A40 = "NVIDIA A40"


def _reading(index: int, uuid_: str, model: str, util: float) -> GpuReading:
    return GpuReading(index, uuid_, model, 16376, 1000, util, 40, 100)


def _minute(store: Store, m: int) -> None:
    at = BASE + timedelta(minutes=m, seconds=5)
    first_hour = m < 60
    util_b = 0.0 if first_hour else 100.0
    readings = (_reading(0, "GPU-a", A4000, 50.0), _reading(1, "GPU-b", A4000, util_b))
    procs = [GpuProcess("GPU-a", 100, 500, "python", "amy")]
    if not first_hour:
        procs.append(GpuProcess("GPU-b", 101, 500, "python", "bo"))
    store.inventory.store_probes("gpu-01", [ProbeResult("h1", at, readings, tuple(procs))])
    if first_hour:
        reading = (_reading(0, "GPU-c", A40, 20.0),)
        proc = (GpuProcess("GPU-c", 102, 500, "python", "amy"),)
        store.inventory.store_probes("gpu-02", [ProbeResult("h2", at, reading, proc)])


def seed_usage(url: str) -> dict[str, int]:
    """Fill the (empty) database at ``url``; ``{"gpu-01/0": id, ...}``."""
    store = Store(url)
    try:
        store.upgrade()
        store.inventory.register_server(
            "gpu-01",
            SshTarget("h1"),
            [_reading(0, "GPU-a", A4000, 0), _reading(1, "GPU-b", A4000, 0)],
            "admin",
        )
        store.inventory.register_server(
            "gpu-02", SshTarget("h2"), [_reading(0, "GPU-c", A40, 0)], "admin"
        )
        ids = {
            f"{g.server_name}/{g.index}": g.id
            for g in store.inventory.list_gpus()
            if g.id is not None
        }
        for m in range(120):
            _minute(store, m)
        booked = BookingStatus.BOOKED
        for user, gpu, hours in (("amy", "gpu-01/0", 2), ("bo", "gpu-01/1", 1)):
            window = Window(BASE, BASE + timedelta(hours=hours))
            store.bookings.create_bookings(
                str(uuid.uuid4()), [ids[gpu]], user, window, booked, "", user
            )
        store.usage.add_request(
            SlotRequest("amy", A40, 2, 8.0, BASE + timedelta(minutes=10), BASE, None)
        )
        asked = BASE + timedelta(minutes=20)
        store.usage.add_request(SlotRequest("bo", A4000, 1, 96.0, asked, asked, None, "max_hours"))
        store.usage.rollup(END + timedelta(hours=1))
        return ids
    finally:
        store.close()
