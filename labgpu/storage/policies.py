"""Booking rules, maintenance windows and bookable flags, inside a caller's session."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from labgpu.core.booking.bookings import Window, as_utc
from labgpu.core.booking.rules import BookingRules, Maintenance
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.storage.bookings import require_gpus
from labgpu.storage.convert import to_maintenance
from labgpu.storage.inventory import add_audit, describe_changes
from labgpu.storage.models import (
    BookingRulesRow,
    GpuRow,
    MaintenanceGpuRow,
    MaintenanceRow,
    ServerRow,
)
from labgpu.storage.types import utc_now

_RULES_ID = 1


def rules_to_json(rules: BookingRules) -> str:
    """``rules`` as a JSON object (tuples become arrays)."""
    return json.dumps(dataclasses.asdict(rules))


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def rules_from_json(text: str) -> BookingRules:
    """The rules stored as ``text``; keys this labgpu does not know are ignored, missing keys
    take their defaults (a newer or older labgpu may have written them)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LabgpuError(
            _("the stored booking rules are not valid JSON ({error}); set them again").format(
                error=exc
            )
        ) from exc
    if not isinstance(data, dict):
        raise LabgpuError(_("the stored booking rules are not a JSON object; set them again"))
    known = {f.name for f in dataclasses.fields(BookingRules)}
    return BookingRules(**{k: _tuples(v) for k, v in data.items() if k in known})


def _plain(rules: BookingRules) -> dict[str, Any]:
    # As stored (lists, not tuples), so the audit reads like the JSON.
    return dict(json.loads(rules_to_json(rules)))


def get_rules(s: Session) -> BookingRules:
    """The stored rules, or the defaults when none were ever set."""
    row = s.get(BookingRulesRow, _RULES_ID)
    return BookingRules() if row is None else rules_from_json(row.data)


def set_rules(s: Session, rules: BookingRules, actor: str) -> None:
    """Store ``rules``; audit ``rules.update`` with each changed field before → after."""
    _ensure_rules_row(s, actor)
    row = s.get(BookingRulesRow, _RULES_ID, with_for_update=True, populate_existing=True)
    assert row is not None  # just inserted if it was missing
    try:
        before = _plain(rules_from_json(row.data))
    except LabgpuError:  # unreadable rules are replaced; the audit then lists every field
        before = {}
    after = _plain(rules)
    row.data, row.updated_at, row.updated_by = rules_to_json(rules), utc_now(), actor
    detail = describe_changes(before, after)
    if detail:
        add_audit(s, actor, "rules.update", "booking rules", detail)


def _ensure_rules_row(s: Session, actor: str) -> None:
    # Two managers saving rules for the first time at once: one inserts, the other updates.
    values = {"id": _RULES_ID, "data": rules_to_json(BookingRules()), "updated_by": actor}
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    s.execute(
        insert(BookingRulesRow).values(updated_at=utc_now(), **values).on_conflict_do_nothing()
    )


def add_maintenance(
    s: Session, gpu_ids: Sequence[int], window: Window, reason: str, actor: str
) -> Maintenance:
    """Block ``gpu_ids`` during ``window``; audited as ``maintenance.add``."""
    labels = require_gpus(s, gpu_ids)
    row = MaintenanceRow(start_ts=window.start, end_ts=window.end, reason=reason, created_by=actor)
    s.add(row)
    s.flush()
    s.add_all(MaintenanceGpuRow(maintenance_id=row.id, gpu_id=g) for g in sorted(labels))
    detail = f"gpus {', '.join(labels[g] for g in sorted(labels))}; {window.describe()}"
    add_audit(s, actor, "maintenance.add", f"maintenance {row.id}", f"{detail}; {reason}")
    return to_maintenance(row, labels)


def list_maintenance(
    s: Session, start: datetime | None = None, end: datetime | None = None
) -> list[Maintenance]:
    """Maintenance windows overlapping ``[start, end)`` (either may be open), by start."""
    query = select(MaintenanceRow)
    if start is not None:
        query = query.where(MaintenanceRow.end_ts > as_utc(start, "start"))
    if end is not None:
        query = query.where(MaintenanceRow.start_ts < as_utc(end, "end"))
    rows = list(s.scalars(query.order_by(MaintenanceRow.start_ts, MaintenanceRow.id)))
    gpus: dict[int, list[int]] = defaultdict(list)
    if rows:
        links = select(MaintenanceGpuRow).where(
            MaintenanceGpuRow.maintenance_id.in_([r.id for r in rows])
        )
        for link in s.scalars(links):
            gpus[link.maintenance_id].append(link.gpu_id)
    return [to_maintenance(r, gpus[r.id]) for r in rows]


def remove_maintenance(s: Session, maintenance_id: int, actor: str) -> None:
    """Delete a maintenance window; audited as ``maintenance.remove``."""
    row = s.get(MaintenanceRow, maintenance_id)
    if row is None:
        raise LabgpuError(
            _("no maintenance window {id}; see the Rules page").format(id=maintenance_id)
        )
    detail = f"{Window(row.start_ts, row.end_ts).describe()}; {row.reason}"
    add_audit(s, actor, "maintenance.remove", f"maintenance {maintenance_id}", detail)
    s.execute(delete(MaintenanceRow).where(MaintenanceRow.id == maintenance_id))


def set_gpu_bookable(s: Session, gpu_id: int, bookable: bool, actor: str) -> None:
    """Make a GPU bookable or first-come; audited as ``gpu.bookable`` when it changes."""
    found = s.execute(
        select(GpuRow, ServerRow.name)
        .join(ServerRow, GpuRow.server_id == ServerRow.id)
        .where(GpuRow.id == gpu_id)
    ).one_or_none()
    if found is None:
        raise LabgpuError(
            _("no GPU with id #{id}; see `labgpu status` for the GPUs").format(id=gpu_id)
        )
    gpu, server = found
    if gpu.bookable != bookable:
        detail = describe_changes({"bookable": gpu.bookable}, {"bookable": bookable})
        gpu.bookable = bookable
        add_audit(s, actor, "gpu.bookable", f"{server}/gpu{gpu.index}", detail)
