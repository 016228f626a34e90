"""The PI's evidence over a range (issue 16): waits for GPUs, clusters' queues, saturation per
model and the demand survey's GPU-hours, as ``lab.usage.evidence`` and
``lab.usage.saturation_series`` give them. The definitions are in ``core/usage/evidence.py``.

Figures count up to ``until``: the range's end, or now for a range that runs into the future;
months are cut in the zone asked for (the CLI and the report: the lab's local zone).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.usage.evidence import (
    HOUR_S,
    OFFLOAD_FOLLOW,
    BookedAsk,
    Evidence,
    SaturationSeries,
    demand_figures,
    queue_figures,
    saturation_figures,
    saturation_series,
    served_by_month,
    wait_figures,
)
from labgpu.services.usage.ranges import epoch

if TYPE_CHECKING:
    from labgpu.storage import Store

#: The Usage page's saturation line: one point per day.
DAY = timedelta(days=1)
DAY_S = 86400
#: How far after it was made a booking may start, for ``booked_asks`` (beyond any booking
#: horizon a lab sets).
LATEST_START = timedelta(days=366)


def evidence(
    store: Store, start: datetime, end: datetime, until: datetime, tz: tzinfo = UTC
) -> Evidence:
    """Waits, cluster queues, saturation and demand of ``[start, end)`` up to ``until``."""
    if end <= start:
        raise LabgpuError(_("the usage range must end after it starts (--from before --to)"))
    until = max(start, min(end, until))
    requests = store.usage.requests(start, until)
    # A request near the end may be followed by a job after it: look that far for jobs.
    jobs = store.evidence.offloaded_jobs(start, until + OFFLOAD_FOLLOW)
    in_range = [j for j in jobs if j.submitted_at < until]
    served = served_by_month(
        store.evidence.served_spans(start, until), epoch(start), epoch(until), tz
    )
    return Evidence(
        start=start,
        end=end,
        until=until,
        waits=tuple(wait_figures(requests, tz)),
        queues=tuple(queue_figures(in_range, tz)),
        saturation=tuple(saturation_figures(store.evidence.model_hours(start, until), tz)),
        demand=tuple(demand_figures(requests, jobs, served, tz, booked_asks(store, start, until))),
    )


def booked_asks(store: Store, start: datetime, until: datetime) -> list[BookedAsk]:
    """Bookings made from ``start`` to ``OFFLOAD_FOLLOW`` after ``until``: what may have
    served the period's late requests (``evidence.booked_later``)."""
    made_by = until + OFFLOAD_FOLLOW
    # A booking made then may start as late as the booking horizon allows.
    groups = store.what_if.booked_groups(start, made_by + LATEST_START)
    return [
        BookedAsk(
            g.user_name,
            g.created_at,
            len(g.gpu_ids),
            g.window.start,
            (g.window.end - g.window.start).total_seconds() / 3600,
        )
        for g in groups
        if start <= g.created_at < made_by
    ]


def series(
    store: Store,
    start: datetime,
    end: datetime,
    until: datetime,
    step: timedelta = DAY,
    tz: tzinfo = UTC,
) -> list[SaturationSeries]:
    """Per model, the share of saturated hours per ``step`` (whole hours; days start at
    midnight in ``tz``) from ``start`` to ``until``."""
    seconds = int(step.total_seconds())
    if seconds <= 0 or seconds % HOUR_S:
        raise LabgpuError(_("the saturation graph's step must be whole hours"))
    until = max(start, min(end, until))
    local = start.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    origin = epoch(midnight) if seconds % DAY_S == 0 else epoch(start) // HOUR_S * HOUR_S
    hours = store.evidence.model_hours(start, until)
    return saturation_series(hours, origin, epoch(until), seconds)
