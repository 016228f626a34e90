"""Turning results into text and JSON for the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingView
from labgpu.core.inventory.servers import GpuProcess, GpuReading, GpuStatus, Server, ServerState


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    return ts.isoformat() if ts is not None else None


def print_json(value: Any) -> None:
    """JSON on stdout and nothing else (the CLI contract, README *Using it*)."""
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain left-aligned text table."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines)


def fmt(value: float | int | None, unit: str = "", digits: int = 0) -> str:
    """A number with its unit, or '-' when the driver did not report it."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def process_json(proc: GpuProcess) -> dict[str, Any]:
    """One GPU process as documented in the README."""
    return {
        "pid": proc.pid,
        "user": proc.user,
        "process_name": proc.process_name,
        "used_memory_mb": proc.used_memory_mb,
        "elapsed_s": proc.elapsed_s,
        "command": proc.command,
        "container": proc.container,
        "container_runtime": proc.container_runtime,
        "owner_known": proc.owner_known,
    }


def gpu_status_json(gpu: GpuStatus, holder: BookingView | None = None) -> dict[str, Any]:
    """One GPU of ``labgpu status --json`` as documented in the README (a GPU held by a
    pending request has ``requested_by``, and no ``booked_by``, until a PI approves it)."""
    requested = holder is not None and holder.status.value == "pending"
    return {
        "booked_by": holder.user if holder and not requested else None,
        "requested_by": holder.user if holder and requested else None,
        "booking_group": holder.group_id if holder else None,
        "booking_end": iso(holder.booking.window.end) if holder else None,
        "server": gpu.server,
        "server_state": gpu.server_state.value,
        "server_reason": gpu.server_reason,
        "index": gpu.index,
        "uuid": gpu.uuid,
        "model": gpu.model,
        "memory_total_mb": gpu.memory_total_mb,
        "memory_used_mb": gpu.memory_used_mb,
        "utilization_pct": gpu.utilization_pct,
        "temperature_c": gpu.temperature_c,
        "power_w": gpu.power_w,
        "sampled_at": iso(gpu.sampled_at),
        "free": gpu.is_free,
        "owners": list(gpu.owners),
        "processes": [process_json(p) for p in gpu.processes],
    }


def server_json(server: Server) -> dict[str, Any]:
    """One server of ``servers list --json`` / ``status --json``."""
    return {
        "name": server.name,
        "host": server.target.host,
        "port": server.target.port,
        "user": server.target.user,
        "jump_host": server.target.jump_host,
        "identity_file": server.target.identity_file,
        "state": server.state.value,
        "reason": server.state_reason,
        "last_seen": iso(server.last_seen),
    }


def reading_rows(gpus: Sequence[GpuReading]) -> str:
    """Discovered GPUs as a table."""
    rows = [
        [str(g.index), g.name, fmt(g.memory_total_mb, " MiB"), fmt(g.utilization_pct, "%"), g.uuid]
        for g in gpus
    ]
    return table(rows, ["IDX", "MODEL", "MEMORY", "UTIL", "UUID"])


def gpu_state(gpu: GpuStatus, holder: BookingView | None) -> str:
    """``free``, ``booked`` (held now, no process), ``requested`` (a pending request holds
    it), ``busy`` (a process runs), or the server's state when its values are not current."""
    if gpu.server_state is not ServerState.ONLINE:
        return gpu.server_state.value
    if not gpu.is_free:
        return "busy"
    if holder is None:
        return "free"
    return "requested" if holder.status is BookingStatus.PENDING else "booked"


def process_cell(proc: GpuProcess) -> str:
    """``kim:4242``, ``kim:4242 (container vit-train)``, ``owner unknown:4242 (container
    vit-train)``, or ``?:4242`` for a process gone before ``ps`` saw it."""
    if proc.container is None:
        return f"{proc.user or '?'}:{proc.pid}"
    return f"{proc.user or 'owner unknown'}:{proc.pid} (container {proc.container})"


def booked_cell(holder: BookingView | None, unbooked: str) -> str:
    """``kim``, ``⚠ lee, no booking``, ``kim · ⚠ lee runs here`` or ``-``."""
    user = "" if holder is None else holder.user
    if holder is not None and holder.status is BookingStatus.PENDING:
        user = f"{user} (requested)"
    if unbooked and user:
        return f"{user} · ⚠ {unbooked} runs here"
    if unbooked:
        return f"⚠ {unbooked}, no booking"
    return user or "-"


def last_seen(ts: datetime | None) -> str:
    """``last seen 2026-12-01 14:05`` (local time), or ``never seen``."""
    return "never seen" if ts is None else f"last seen {ts.astimezone():%Y-%m-%d %H:%M}"


def _others(gpu: GpuStatus, holder: BookingView | None, unbooked: str) -> str:
    """Who else runs on ``gpu``: members without a booking, and on a held GPU a container
    nobody owns (``owner unknown (container vit-train)``), as the Live view flags them."""
    if holder is None or gpu.server_state is not ServerState.ONLINE:
        return unbooked
    unknown = [
        f"owner unknown (container {p.container})"
        for p in gpu.processes
        if p.user is None and p.container is not None
    ]
    return ", ".join([unbooked, *unknown] if unbooked else unknown)


def status_rows(
    gpus: Sequence[GpuStatus],
    holders: Mapping[str, BookingView],
    unbooked: Mapping[str, str] | None = None,
) -> str:
    """``labgpu status`` as a table. ``unbooked``: GPU uuid → users running without a booking.

    A server that does not answer keeps its last values; its rows say so, with their time."""
    rows = []
    for g in gpus:
        holder = holders.get(g.uuid)
        mem = f"{fmt(g.memory_used_mb)}/{fmt(g.memory_total_mb)} MiB"
        procs = ", ".join(process_cell(p) for p in g.processes) or "-"
        if g.server_state is not ServerState.ONLINE:
            reason = f": {g.server_reason}" if g.server_reason else ""
            procs = f"{last_seen(g.sampled_at)} ({g.server_state.value}{reason})"
        rows.append(
            [
                g.server,
                str(g.index),
                g.model,
                gpu_state(g, holder),
                fmt(g.utilization_pct, "%"),
                mem,
                fmt(g.temperature_c, "C"),
                booked_cell(holder, _others(g, holder, (unbooked or {}).get(g.uuid, ""))),
                procs,
            ]
        )
    return table(
        rows,
        ["SERVER", "IDX", "MODEL", "STATE", "UTIL", "MEMORY", "TEMP", "BOOKED BY", "PROCESSES"],
    )
