"""GPU readings and processes: storing a probe, reading the latest status."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, or_, select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from labgpu.core.inventory.servers import (
    GpuProcess,
    GpuReading,
    GpuStatus,
    ProbeResult,
    ServerState,
)
from labgpu.storage import usage
from labgpu.storage.convert import server_state, to_process
from labgpu.storage.inventory import require_server, set_state, sync_gpus
from labgpu.storage.models import GpuProcessRow, GpuRow, GpuSampleRow, ServerRow

log = logging.getLogger(__name__)


def store_probe(s: Session, server_name: str, probe: ProbeResult, *, replay: bool = False) -> int:
    """Store one sample per known GPU and its processes; mark the server online.

    GPUs are matched by uuid among the server's current GPUs; others are ignored (logged).
    A server that has never had a GPU (registered with ``servers add --no-probe`` while it
    was down) gets the GPUs of its first probe. Returns the number of samples stored.

    ``replay``: the probe was kept while the database was unreachable and may already be stored
    (a write cut off at its commit can have committed). GPUs already sampled at its time (the
    primary key ``(gpu_id, ts)``) are left out with their processes, so nothing is stored twice,
    and usage rollups are reopened from its minute if they already went past it.
    """
    server = require_server(s, server_name)
    set_state(server, ServerState.ONLINE, "", probe.taken_at)
    s.flush()
    known = gpu_ids = _current_gpu_ids(s, server.id)
    if not known and probe.gpus and _first_gpus(s, server, probe):
        known = gpu_ids = _current_gpu_ids(s, server.id)
    if replay:
        stored = _sampled_at(s, list(known.values()), probe.taken_at)
        gpu_ids = {uuid: gpu_id for uuid, gpu_id in known.items() if gpu_id not in stored}
    samples = [
        _sample_values(gpu_ids[r.uuid], probe.taken_at, r) for r in probe.gpus if r.uuid in gpu_ids
    ]
    processes = [
        _process_values(gpu_ids[p.gpu_uuid], probe.taken_at, p)
        for p in probe.processes
        if p.gpu_uuid in gpu_ids
    ]
    unknown = sorted({r.uuid for r in probe.gpus} - known.keys())
    if unknown:
        log.warning("%s: ignored readings of unregistered GPUs %s", server_name, ", ".join(unknown))
    if samples:
        s.execute(insert(GpuSampleRow), samples)
    if processes:
        s.execute(insert(GpuProcessRow), processes)
    if replay and samples:
        usage.reopen(s, probe.taken_at)
    return len(samples)


def _first_gpus(s: Session, server: ServerRow, probe: ProbeResult) -> bool:
    """Register the GPUs of a server that never had any; False if there were some, or if this
    login may not (a lab database's collector: a manager adds them with `servers add`)."""
    if s.scalar(select(func.count()).where(GpuRow.server_id == server.id)):
        return False
    try:
        with s.begin_nested():
            sync_gpus(s, server, probe.gpus, "collector")
    except DBAPIError as exc:
        log.warning(
            "%s: could not register its %d GPU(s) found by the first probe (%s); "
            "run `labgpu servers add` for it",
            server.name,
            len(probe.gpus),
            exc.orig,
        )
        return False
    return True


def _sampled_at(s: Session, gpu_ids: list[int], ts: datetime) -> set[int]:
    """Which of ``gpu_ids`` already have a sample taken at ``ts``."""
    if not gpu_ids:
        return set()
    query = select(GpuSampleRow.gpu_id).where(
        GpuSampleRow.gpu_id.in_(gpu_ids), GpuSampleRow.ts == ts
    )
    return set(s.scalars(query))


def store_probes(s: Session, server_name: str, probes: Sequence[ProbeResult]) -> int:
    """``store_probe`` for many probes of one server at once (bulk history); returns samples.

    The server's GPUs are looked up once; its state is set from the newest probe.
    """
    if not probes:
        return 0
    server = require_server(s, server_name)
    set_state(server, ServerState.ONLINE, "", max(p.taken_at for p in probes))
    s.flush()
    gpu_ids = _current_gpu_ids(s, server.id)
    samples = [
        _sample_values(gpu_ids[r.uuid], p.taken_at, r)
        for p in probes
        for r in p.gpus
        if r.uuid in gpu_ids
    ]
    processes = [
        _process_values(gpu_ids[q.gpu_uuid], p.taken_at, q)
        for p in probes
        for q in p.processes
        if q.gpu_uuid in gpu_ids
    ]
    # Core inserts (one executemany), not ORM bulk inserts: several times faster at this size.
    if samples:
        s.execute(insert(cast(Table, GpuSampleRow.__table__)), samples)
    if processes:
        s.execute(insert(cast(Table, GpuProcessRow.__table__)), processes)
    return len(samples)


def sample_times(s: Session, server_name: str) -> list[datetime]:
    """Distinct sweep times stored for a server, oldest first."""
    query = (
        select(GpuSampleRow.ts)
        .join(GpuRow, GpuRow.id == GpuSampleRow.gpu_id)
        .join(ServerRow, ServerRow.id == GpuRow.server_id)
        .where(ServerRow.name == server_name)
        .distinct()
        .order_by(GpuSampleRow.ts)
    )
    return list(s.scalars(query))


def _current_gpu_ids(s: Session, server_id: int) -> dict[str, int]:
    query = select(GpuRow.uuid, GpuRow.id).where(
        GpuRow.server_id == server_id, GpuRow.retired_at.is_(None)
    )
    return {uuid: gpu_id for uuid, gpu_id in s.execute(query)}


def _sample_values(gpu_id: int, ts: datetime, reading: GpuReading) -> dict[str, Any]:
    return {
        "gpu_id": gpu_id,
        "ts": ts,
        "utilization_pct": reading.utilization_pct,
        "memory_used_mb": reading.memory_used_mb,
        "temperature_c": reading.temperature_c,
        "power_w": reading.power_w,
    }


def _process_values(gpu_id: int, ts: datetime, proc: GpuProcess) -> dict[str, Any]:
    return {
        "gpu_id": gpu_id,
        "ts": ts,
        "pid": proc.pid,
        "user_name": proc.user,
        "process_name": proc.process_name,
        "command": proc.command,
        "used_memory_mb": proc.used_memory_mb,
        "elapsed_s": proc.elapsed_s,
        "container": proc.container,
        "container_runtime": proc.container_runtime,
    }


def _newest_sample_ts() -> ColumnElement[Any]:
    """The time of a GPU's newest sample, for a query over ``GpuRow`` (one index lookup each)."""
    return (
        select(func.max(GpuSampleRow.ts))
        .where(GpuSampleRow.gpu_id == GpuRow.id)
        .correlate(GpuRow)
        .scalar_subquery()
    )


def latest_status(s: Session) -> list[GpuStatus]:
    """Every current GPU with its server's state, newest sample and that sweep's processes.

    Two queries whatever the number of GPUs: GPUs with their latest sample, then processes.
    """
    newest = _newest_sample_ts()
    query = (
        select(GpuRow, ServerRow, GpuSampleRow)
        .join(ServerRow, GpuRow.server_id == ServerRow.id)
        .outerjoin(GpuSampleRow, and_(GpuSampleRow.gpu_id == GpuRow.id, GpuSampleRow.ts == newest))
        .where(GpuRow.retired_at.is_(None))
        .order_by(ServerRow.name, GpuRow.index, GpuRow.id)
    )
    rows = s.execute(query).all()
    sampled = {(gpu.id, sample.ts): gpu.uuid for gpu, _, sample in rows if sample is not None}
    processes = _processes_of(s, sampled)
    return [
        _status(gpu, server, sample, tuple(processes.get(gpu.id, ())))
        for gpu, server, sample in rows
    ]


def current_users(s: Session) -> dict[int, set[str]]:
    """``{gpu id: users}`` running processes on each current GPU of an online server at its
    latest sample (GPUs with none are left out). One query, only the columns needed: what the
    slot search asks before offering a window that starts now. A container whose owner is
    unknown counts as the user ``""`` (someone, never a member)."""
    newest = _newest_sample_ts()
    query = (
        select(GpuRow.id, GpuProcessRow.user_name)
        .join(ServerRow, GpuRow.server_id == ServerRow.id)
        .join(GpuProcessRow, and_(GpuProcessRow.gpu_id == GpuRow.id, GpuProcessRow.ts == newest))
        .where(
            GpuRow.retired_at.is_(None),
            ServerRow.state == ServerState.ONLINE.value,
            or_(GpuProcessRow.user_name.is_not(None), GpuProcessRow.container.is_not(None)),
        )
    )
    found: dict[int, set[str]] = defaultdict(set)
    for gpu_id, user in s.execute(query):
        found[int(gpu_id)].add("" if user is None else str(user))
    return dict(found)


def _processes_of(
    s: Session, sampled: dict[tuple[int, datetime], str]
) -> dict[int, list[GpuProcess]]:
    found: dict[int, list[GpuProcess]] = defaultdict(list)
    if not sampled:
        return found
    query = (
        select(GpuProcessRow)
        .where(tuple_(GpuProcessRow.gpu_id, GpuProcessRow.ts).in_(list(sampled)))
        .order_by(GpuProcessRow.gpu_id, GpuProcessRow.id)
    )
    for row in s.scalars(query):
        found[row.gpu_id].append(to_process(row, sampled[(row.gpu_id, row.ts)]))
    return found


def _status(
    gpu: GpuRow,
    server: ServerRow,
    sample: GpuSampleRow | None,
    processes: tuple[GpuProcess, ...],
) -> GpuStatus:
    return GpuStatus(
        server=server.name,
        server_state=server_state(server.state),
        server_reason=server.state_reason,
        index=gpu.index,
        uuid=gpu.uuid,
        model=gpu.model,
        memory_total_mb=gpu.memory_mb,
        memory_used_mb=sample.memory_used_mb if sample else None,
        utilization_pct=sample.utilization_pct if sample else None,
        temperature_c=sample.temperature_c if sample else None,
        power_w=sample.power_w if sample else None,
        sampled_at=sample.ts if sample else None,
        processes=processes,
    )


def gpu_utilization(
    s: Session, gpu_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[datetime, float | None]]]:
    """``{gpu id: [(ts, utilization %), ...]}`` since ``since``, oldest first, every id present."""
    found: dict[int, list[tuple[datetime, float | None]]] = {gpu_id: [] for gpu_id in gpu_ids}
    if not found:
        return found
    query = (
        select(GpuSampleRow.gpu_id, GpuSampleRow.ts, GpuSampleRow.utilization_pct)
        .where(GpuSampleRow.gpu_id.in_(list(found)), GpuSampleRow.ts >= since)
        .order_by(GpuSampleRow.gpu_id, GpuSampleRow.ts)
    )
    for gpu_id, ts, util in s.execute(query):
        found[gpu_id].append((ts, util))
    return found
