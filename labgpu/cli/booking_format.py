"""Bookings as the booking commands show them: as JSON (README *Using it*: GPUs named by
server, index and uuid, times in UTC) and as one line per booking group (local time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labgpu.cli import output
from labgpu.cli.times import show_time
from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView, BookingView
from labgpu.core.booking.slots import SlotOption
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu
from labgpu.services import Labgpu


def gpu_json(
    gpu: Gpu | None, label: str = "", hosts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A GPU as JSON names it (README *Using it*): server, its host, index and uuid, not
    labgpu's internal id. ``hosts``: each server's host by name (``hosts_of``)."""
    if gpu is None:  # a GPU no longer registered: its label is all that is known
        server, _colon, index = label.rpartition(":")
        return {
            "gpu": label,
            "server": server,
            "host": (hosts or {}).get(server),
            "index": int(index) if index.isdigit() else None,
            "uuid": None,
            "model": "",
        }
    return {
        "gpu": f"{gpu.server_name}:{gpu.index}",
        "server": gpu.server_name,
        "host": (hosts or {}).get(gpu.server_name),
        "index": gpu.index,
        "uuid": gpu.uuid,
        "model": gpu.model,
    }


def hosts_of(lab: Labgpu) -> dict[str, str]:
    """Each registered server's host (what ``ssh`` connects to), by server name."""
    return {s.name: s.target.host for s in lab.inventory.list_servers()}


def view_json(
    view: BookingView, gpus: Mapping[int, Gpu], hosts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One booked GPU in ``--json`` output."""
    out = gpu_json(gpus.get(view.gpu_id), view.gpu_label, hosts)
    out.update(booking_id=view.id, gpu=view.gpu_label, server=view.server, model=view.model)
    return out


def group_json(
    group: BookingGroupView, gpus: Mapping[int, Gpu], hosts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One booking group in ``--json`` output (times in UTC, ISO 8601)."""
    return {
        "group_id": group.group_id,
        "user": group.user,
        "status": group.status.value,
        "start": output.iso(group.window.start),
        "end": output.iso(group.window.end),
        "note": group.note,
        "project": group.project,
        "gpus": [view_json(v, gpus, hosts) for v in group.gpus],
    }


def slot_json(
    option: SlotOption, gpus: Mapping[int, Gpu], hosts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One slot of ``labgpu slots --json``."""
    return {
        "start": output.iso(option.start),
        "end": output.iso(option.end),
        "gpus": [gpu_json(gpus.get(i), f"#{i}", hosts) for i in option.gpu_ids],
        "servers": list(option.servers),
    }


_LINES = {
    "booked": N_("booked {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "requested": N_("requested {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "cancelled": N_("cancelled {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "ended": N_("ended {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "extended": N_("extended {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "approved": N_("approved {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
    "rejected": N_("rejected {count} GPU(s) ({gpus}) from {start} to {end}; booking {id}"),
}


def group_line(verb: str, group: BookingGroupView) -> str:
    """``booked 2 GPU(s) (…) from … to …; booking ID``; ``verb``: a key of ``_LINES``."""
    line = _(_LINES[verb]).format(
        count=len(group.gpus),
        gpus=", ".join(group.gpu_labels),
        start=show_time(group.window.start),
        end=show_time(group.window.end),
        id=group.group_id,
    )
    if group.project:
        line += _("; project {name}").format(name=group.project)
    if group.status is BookingStatus.PENDING:
        line += _(" (pending: waits for a PI or manager to approve)")
    return line
