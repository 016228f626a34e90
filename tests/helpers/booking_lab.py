"""A booking lab for the service tests: gpu-01 and gpu-02 with four RTX A4000s each, gpu-03 with
two A40s, a settable clock at ``NOW`` and two members' booking services (``me`` and ``kim``);
for the CLI tests, the same lab at a database URL (``lab_url``) and ``run``/``run_json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from labgpu.cli.main import main
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday
H = timedelta(hours=1)
A4000 = "NVIDIA RTX A4000"
A40 = "NVIDIA A40"


def readings(model: str, count: int, prefix: str, util: float | None = 0.0) -> list[GpuReading]:
    return [
        GpuReading(i, f"{prefix}-{i}", model, 16376 if "A4000" in model else 46068, 0, util, 30, 50)
        for i in range(count)
    ]


def seed_lab(store: Store) -> dict[str, int]:
    """gpu-01 and gpu-02 with 4 A4000 each, gpu-03 with 2 A40; ``{"gpu-01:0": id, ...}``."""
    for name, model, count in (("gpu-01", A4000, 4), ("gpu-02", A4000, 4), ("gpu-03", A40, 2)):
        store.inventory.register_server(
            name, SshTarget(name), readings(model, count, name), "admin"
        )
    return {
        f"{g.server_name}:{g.index}": g.id for g in store.inventory.list_gpus() if g.id is not None
    }


class Clock:
    """A settable clock for the services."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def gpus(store: Store) -> dict[str, int]:
    return seed_lab(store)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def me(store: Store, gpus: dict[str, int], clock: Clock) -> BookingService:
    return BookingService(store, "tester", clock)


@pytest.fixture
def kim(store: Store, gpus: dict[str, int], clock: Clock) -> BookingService:
    return BookingService(store, "kim", clock)


@pytest.fixture
def lab_url(db_url: str) -> str:
    """The lab of ``seed_lab`` at a fresh database URL (SQLite and PostgreSQL)."""
    store = Store(db_url)
    store.upgrade()
    seed_lab(store)
    store.close()
    return db_url


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    """``labgpu --db URL ARGV...`` in this process: exit code, stdout, stderr."""
    try:
        code = main(["--db", url, *argv])
    except SystemExit as exc:  # argparse: usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    """``run`` with ``--json``, which must succeed; its output parsed."""
    code, out, err = run(capsys, url, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
