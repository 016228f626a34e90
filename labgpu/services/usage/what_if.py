"""``lab.usage.what_if``: read a period's requests and the lab's booking history, and replay
them with GPUs added or removed (``labgpu.core.usage.what_if``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import Window
from labgpu.core.booking.slots import SlotGpu
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import job_gpu_hours
from labgpu.core.usage.what_if import OffloadedJob, WhatIf, what_if
from labgpu.core.usage.what_if_replay import History
from labgpu.services.usage.service import REQUEST_DEDUP

if TYPE_CHECKING:
    from labgpu.storage import Store

#: A booking or an offloaded job this soon after a request is its outcome (the time within
#: which the same member asking the same again is one request).
WITHIN = REQUEST_DEDUP


def read_history(store: Store, start: datetime, end: datetime) -> History:
    """What a replay of the requests asked in ``[start, end)`` starts from: the bookable GPUs,
    the rules, the maintenance windows and booking groups its answers could meet."""
    if end <= start:
        raise UsageError(_("the what-if range must end after it starts (--from before --to)"))
    rules = store.bookings.get_rules()
    reach = timedelta(days=rules.horizon_days, hours=rules.max_hours)
    lo, hi = start - timedelta(hours=rules.max_hours), end + reach
    gpus = tuple(
        SlotGpu(g.id, g.server_name, g.model, g.memory_mb)
        for g in store.inventory.list_gpus()
        if g.bookable and g.id is not None
    )
    maintenance: dict[int, list[Window]] = defaultdict(list)
    for m in store.bookings.list_maintenance(lo, hi):
        for gpu_id in m.gpu_ids:
            maintenance[gpu_id].append(m.window)
    return History(
        gpus=gpus,
        rules=rules,
        requests=tuple(store.usage.requests(start, end)),
        groups=tuple(store.what_if.booked_groups(lo, hi)),
        maintenance=dict(maintenance),
        within=WITHIN,
    )


def offloaded_jobs(store: Store, start: datetime, end: datetime) -> list[OffloadedJob]:
    """Jobs sent to clusters in ``[start, end)`` and the GPU-hours they ran there."""
    return [
        OffloadedJob(j.user_name, j.submitted_at, job_gpu_hours(j))
        for j in store.offload.list_jobs()
        if start <= j.submitted_at < end
    ]


def run_what_if(store: Store, change: str, start: datetime, end: datetime) -> WhatIf:
    """The period's requests replayed on the lab as it is and with ``change``."""
    history = read_history(store, start, end)
    jobs = offloaded_jobs(store, start, end)
    return what_if(history, change, start, end, sorted(jobs, key=lambda j: j.submitted_at))
