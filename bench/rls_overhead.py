"""What row-level security costs a booking: a student (RLS on) against the owner (RLS off).

One fresh PostgreSQL (started from the system binaries), set up with ``labgpu lab init``'s code;
one student login (``labgpu users add``). Bookings go through
``store.bookings.create_bookings`` as the app makes them (GPU, maintenance and overlap
checks, insert, audit line, commit), one GPU and one hour each, on GPUs of their own so none
conflicts. The same run alternates:
  book_per_s_student  bookings per second as the student: every statement passes the policies
                      (``user_name = session_user``, role checks) and the bookings triggers,
                      which check every booking rule again (length, horizon, held at once,
                      quota, bookable, approval, maintenance: ``labgpu.storage.labdb_rules``)
  book_per_s_owner    the same as the database's administrator, whom RLS does not apply to
                      (the owner role ``labgpu_owner`` cannot log in; the superuser stands in)
  rls_ratio           student / owner (target >= 0.8)
Figures are medians of ``--runs`` alternating runs of ``--bookings`` bookings each.

Usage: .venv/bin/python bench/rls_overhead.py [--runs 5] [--bookings 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import emit, median

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.storage import Store
from tests.helpers.postgres import start_postgres, stop_postgres

STUDENT = "bench_student"
GPUS = 4


def _seed(store: Store, server: str, first: int) -> list[int]:
    readings = [
        GpuReading(i, f"BENCH-RLS-{first + i}", "NVIDIA RTX A4000", 16376, 0, 0.0, 30.0, 20.0)
        for i in range(GPUS)
    ]
    store.inventory.register_server(server, SshTarget(f"{server}.invalid"), readings, "bench")
    return [g.id for g in store.inventory.list_gpus(server) if g.id is not None]


class Booker:
    """Books one hour after another on its own GPUs as ``user``."""

    def __init__(self, store: Store, user: str, gpu_ids: list[int], start: datetime) -> None:
        self.store, self.user, self.gpu_ids = store, user, gpu_ids
        self.next = 0
        self.start = start

    def run(self, bookings: int) -> float:
        began = time.perf_counter()
        for _ in range(bookings):
            n = self.next
            self.next += 1
            slot = self.start + timedelta(hours=n // len(self.gpu_ids))
            window = Window(slot, slot + timedelta(hours=1))
            gpu = [self.gpu_ids[n % len(self.gpu_ids)]]
            self.store.bookings.create_bookings(
                str(uuid.uuid4()), gpu, self.user, window, BookingStatus.BOOKED, "", self.user
            )
        return bookings / (time.perf_counter() - began)


def main() -> None:
    """Set up a lab database, book as both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args()
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-bench-pg-")))
    try:
        admin_url = server.create_database("rls")
        admin = Store(admin_url)
        admin.upgrade()
        owner_gpus = _seed(admin, "bench-owner", 0)
        student_gpus = _seed(admin, "bench-student", GPUS)
        admin.lab.init()
        admin.lab.add_member(STUDENT, "student")
        student = Store(admin_url.replace("postgres@", f"{STUDENT}@", 1))
        # Within the booking horizon (the database holds a student to the rules too): four
        # GPUs an hour, at most 4 at once, 1,010 bookings in about 11 days.
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        owner_booker = Booker(admin, "postgres", owner_gpus, start)
        student_booker = Booker(student, STUDENT, student_gpus, start)
        owner_booker.run(10)  # warm-up: connections, statement caches
        student_booker.run(10)
        owner_rates, student_rates = [], []
        for _ in range(args.runs):
            owner_rates.append(owner_booker.run(args.bookings))
            student_rates.append(student_booker.run(args.bookings))
        admin.close()
        student.close()
    finally:
        stop_postgres(server)
    figures = {
        "book_per_s_owner": round(median(owner_rates), 1),
        "book_per_s_student": round(median(student_rates), 1),
    }
    figures["rls_ratio"] = round(figures["book_per_s_student"] / figures["book_per_s_owner"], 3)
    for name, value in figures.items():
        print(f"{name}: {value}")
    emit(figures)


if __name__ == "__main__":
    main()
