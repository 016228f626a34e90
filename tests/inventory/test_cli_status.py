"""``labgpu status`` as text: free / booked / busy, use without a booking, an offline server's
values marked as last seen; ``--demo`` after the command (issue 13, point 13)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.cli.main import main
from labgpu.core.inventory.servers import (
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.services import Labgpu


def probe(server: str, taken_at: datetime, busy: dict[int, str]) -> ProbeResult:
    """Four RTX A4000s; those in ``busy`` run one process of that user."""
    gpus = tuple(
        GpuReading(
            i,
            f"GPU-{server}-{i:02d}",
            "NVIDIA RTX A4000",
            16376,
            9000 if i in busy else 3,
            87.0 if i in busy else 0.0,
            50.0,
            80.0,
        )
        for i in range(4)
    )
    procs = tuple(
        GpuProcess(gpus[i].uuid, 4000 + i, 8990, "python", user, 600, "python train.py")
        for i, user in busy.items()
    )
    return ProbeResult("127.0.0.1", taken_at, gpus, procs)


def add(lab: Labgpu, name: str, result: ProbeResult, state: ServerState, reason: str) -> None:
    lab.inventory.register_server(name, SshTarget(f"{name}.lab.example.org", 22, "labuser"), result)
    seen = result.taken_at if state is ServerState.ONLINE else None
    lab.store.inventory.set_server_state(name, state, reason, seen)


def rows(out: str) -> dict[str, dict[str, str]]:
    """``server:index`` → the row's cells by column title (cells are split on 2+ spaces)."""
    import re

    lines = out.splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+( \S+)*", header)]
    titles = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    found = {}
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        row = dict(zip(titles, cells, strict=True))
        found[f"{row['SERVER']}:{row['IDX']}"] = row
    return found


def test_status_text_says_free_booked_busy_unbooked_and_last_seen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    seen = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    lab = Labgpu()
    lab.open()
    try:
        add(lab, "gpu-01", probe("gpu-01", now, {0: "alice"}), ServerState.ONLINE, "")
        add(lab, "gpu-03", probe("gpu-03", seen, {}), ServerState.OFFLINE, "connection refused")
        ids = {g.index: g.id for g in lab.inventory.list_gpus() if g.server_name == "gpu-01"}
        lab.bookings.book([ids[1]], now, now + timedelta(hours=2), "held, nothing running yet")
    finally:
        lab.close()
    assert main(["status"]) == 0
    out, err = capsys.readouterr()
    table = rows(out)
    assert table["gpu-01:0"]["STATE"] == "busy"
    assert table["gpu-01:0"]["BOOKED BY"] == "⚠ alice, no booking"
    assert table["gpu-01:1"]["STATE"] == "booked"
    assert table["gpu-01:1"]["BOOKED BY"] == "tester"
    assert table["gpu-01:2"]["STATE"] == "free"
    offline = table["gpu-03:0"]
    assert offline["STATE"] == "offline"
    stamp = seen.astimezone().strftime("%Y-%m-%d %H:%M")
    assert offline["PROCESSES"] == f"last seen {stamp} (offline: connection refused)"


def test_demo_is_accepted_after_the_command(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--demo", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["gpus"]) == 52
    assert main(["servers", "list", "--demo"]) == 0
    assert "gpu01" in capsys.readouterr().out


def test_status_text_flags_a_container_nobody_owns_on_a_held_gpu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As the Live view does: on a GPU someone holds, a container whose owner labgpu could not
    find is flagged beside the holder; on a free GPU it only shows as a process."""
    now = datetime.now(UTC)
    result = probe("gpu-01", now, {})
    boxed = tuple(
        GpuProcess(result.gpus[i].uuid, 5000 + i, 1200, "python3", None, 60, "jupyter-lab",
                   f"notebook-{i}", "docker")
        for i in (0, 2)
    )  # fmt: skip
    lab = Labgpu()
    lab.open()
    try:
        add(
            lab, "gpu-01", ProbeResult("127.0.0.1", now, result.gpus, boxed), ServerState.ONLINE, ""
        )
        ids = {g.index: g.id for g in lab.inventory.list_gpus()}
        lab.bookings.book([ids[0]], now, now + timedelta(hours=2), "mine")
    finally:
        lab.close()
    assert main(["status"]) == 0
    table = rows(capsys.readouterr().out)
    assert (
        table["gpu-01:0"]["BOOKED BY"]
        == "tester · ⚠ owner unknown (container notebook-0) runs here"
    )
    assert table["gpu-01:2"]["BOOKED BY"] == "-"
    assert table["gpu-01:2"]["PROCESSES"] == "owner unknown:5002 (container notebook-2)"
