"""Bookings meet reality: GPUs used without a booking, bookings whose GPUs sit idle.

Both come from what the collector stored (samples and processes). A GPU the collector has not
heard from lately is never called idle: no data is not the same as no work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from labgpu.core.booking.bookings import Booking, BookingStatus, as_utc
from labgpu.core.booking.rules import (
    BookingRules,
    IdleBooking,
    RealityReport,
    Reminder,
    ReminderKind,
    UnbookedUse,
)
from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.servers import Gpu, GpuStatus, ServerState
from labgpu.core.notify import events as ev
from labgpu.services.booking.service import BookingService

log = logging.getLogger(__name__)

#: A GPU whose newest sample is older than this has no say on idleness (server offline...).
STALE_AFTER = timedelta(minutes=5)
#: Samples read beyond the longest span the rules look at (reading a 72 h booking's every
#: sample on each refresh would be needlessly heavy).
LOOKBACK_SLACK = timedelta(minutes=30)


def check_reality(service: BookingService, now: datetime | None = None) -> RealityReport:
    """Unbooked use and idle bookings at ``now`` (default: the service clock)."""
    now = service.clock() if now is None else as_utc(now, "now")
    rules = service.rules()
    active = [
        b
        for b in service.store.bookings.list_bookings(
            start=now, end=now + timedelta(seconds=1), statuses=[BookingStatus.BOOKED]
        )
        if b.window.contains(now)
    ]
    gpus = {g.uuid: g for g in service.store.inventory.list_gpus()}
    statuses = service.store.inventory.latest_status()
    unbooked = find_unbooked_use(statuses, gpus, active, now)
    idle = find_idle_bookings(service, rules, active, now)
    return RealityReport(now=now, unbooked_use=unbooked, idle_bookings=idle)


def find_unbooked_use(
    statuses: Iterable[GpuStatus],
    gpus_by_uuid: Mapping[str, Gpu],
    active: Sequence[Booking],
    now: datetime,
) -> list[UnbookedUse]:
    """Processes of a member on a bookable GPU that member does not hold now."""
    holders = {(b.gpu_id, b.user_name) for b in active}
    found = []
    for status in statuses:
        gpu = gpus_by_uuid.get(status.uuid)
        gpu_id = None if gpu is None else gpu.id
        if gpu is None or gpu_id is None or not gpu.bookable:
            continue
        if status.server_state is not ServerState.ONLINE:
            continue
        for user in status.owners:
            if (gpu_id, user) in holders:
                continue
            elapsed = [p.elapsed_s for p in status.processes if p.user == user and p.elapsed_s]
            taken = status.sampled_at or now
            since = taken - timedelta(seconds=max(elapsed)) if elapsed else None
            found.append(UnbookedUse(gpu_id, user, since))
    return found


def find_idle_bookings(
    service: BookingService, rules: BookingRules, active: Sequence[Booking], now: datetime
) -> list[IdleBooking]:
    """Active groups whose every GPU stayed under ``idle_util_pct`` for ``idle_minutes``."""
    groups: dict[str, list[Booking]] = {}
    for b in active:
        groups.setdefault(b.group_id, []).append(b)
    if not groups:
        return []
    # Only as far back as the rules can need: idle_since is then "idle at least since".
    lookback = rules.idle_minutes
    if rules.auto_release:
        lookback = max(lookback, rules.auto_release_minutes)
    since = max(
        min(b.window.start for b in active), now - timedelta(minutes=lookback) - LOOKBACK_SLACK
    )
    samples = service.store.inventory.gpu_utilization(sorted({b.gpu_id for b in active}), since)
    found = []
    for group_id, members in groups.items():
        start = members[0].window.start
        idle_since = group_idle_since(
            [samples.get(b.gpu_id, []) for b in members], start, now, rules.idle_util_pct
        )
        if idle_since is not None and now - idle_since >= timedelta(minutes=rules.idle_minutes):
            found.append(
                IdleBooking(group_id, tuple(sorted(b.gpu_id for b in members)), idle_since)
            )
    return found


def group_idle_since(
    per_gpu: Sequence[Sequence[tuple[datetime, float | None]]],
    start: datetime,
    now: datetime,
    threshold_pct: float,
) -> datetime | None:
    """Since when every GPU has been under ``threshold_pct``, or None if one is busy or unknown.

    A GPU is idle from its first quiet sample after its last busy (or unreadable) one; with
    no busy sample since ``start``, from its first sample. No fresh sample: unknown.
    """
    moments = []
    for samples in per_gpu:
        ordered = sorted((ts, util) for ts, util in samples if ts >= start and ts <= now)
        if not ordered or now - ordered[-1][0] > STALE_AFTER:
            return None
        quiet_from: datetime | None = None
        for ts, util in ordered:
            if util is None or util >= threshold_pct:
                quiet_from = None
            elif quiet_from is None:
                quiet_from = ts
        if quiet_from is None:
            return None
        moments.append(quiet_from)
    return max(moments) if moments else None


class AutoReleaser:
    """The optional idle rule: warn the holder, then release an idle booking.

    Run by the collector's loop (``run`` once per sweep). The warning comes first, always: a
    booking is released only once its warning is ``release_warning_minutes`` old, even if it
    was idle long before the rule was switched on.
    """

    def __init__(self, service: BookingService) -> None:
        self.service = service
        self.warned: dict[str, datetime] = {}

    def run(self, now: datetime | None = None) -> list[str]:
        """Warn and release as due; returns the group ids released."""
        rules = self.service.rules()
        if not rules.auto_release:
            self.warned.clear()
            return []
        now = self.service.clock() if now is None else as_utc(now, "now")
        report = check_reality(self.service, now)
        released = []
        idle_ids = set()
        for idle in report.idle_bookings:
            idle_ids.add(idle.group_id)
            if self._step(rules, idle, now):
                released.append(idle.group_id)
        for group_id in list(self.warned):
            if group_id not in idle_ids:
                del self.warned[group_id]  # busy again: a later idle spell warns afresh
        return released

    def _step(self, rules: BookingRules, idle: IdleBooking, now: datetime) -> bool:
        idle_for = now - idle.idle_since
        release_after = timedelta(minutes=rules.auto_release_minutes)
        warn_lead = timedelta(minutes=rules.release_warning_minutes)
        if idle.group_id not in self.warned:
            if idle_for < release_after - warn_lead:
                return False
            self.warned[idle.group_id] = now
            release_at = max(idle.idle_since + release_after, now + warn_lead)
            self.service.store.audit(
                "labgpu",
                "booking.release_warning",
                idle.group_id,
                f"idle since {idle.idle_since.isoformat()}; released at {release_at.isoformat()} "
                "unless the GPUs get busy",
            )
            self._tell(idle, now, release_at)
            return False
        if idle_for < release_after or now - self.warned[idle.group_id] < warn_lead:
            return False
        try:
            self.service.store.bookings.update_group(
                idle.group_id,
                actor="labgpu",
                status=BookingStatus.RELEASED,
                end=now,
                decided_by="labgpu",
                decision_reason=f"released: idle since {idle.idle_since.isoformat()}",
            )
        except LabgpuError as exc:
            log.warning("could not release idle booking %s: %s", idle.group_id, exc)
            return False
        del self.warned[idle.group_id]
        return True

    def _tell(self, idle: IdleBooking, now: datetime, release_at: datetime) -> None:
        """Queue ``booking_idle`` for the holder, once per warning: a restarted collector warns
        again (it forgot ``warned``) but does not tell it again while an event for this group
        written since the idle spell began is there."""
        prefix = f"{ev.BOOKING_IDLE}:{idle.group_id}:"
        notify = self.service.store.notify
        try:
            if notify.told_since(prefix, idle.idle_since):
                return
            group = self.service.group(idle.group_id)
            payload: dict[str, object] = {
                "group": group.group_id,
                "user": group.user,
                "gpus": sorted(group.gpu_labels),
                "start": ev.utc_text(group.window.start),
                "end": ev.utc_text(group.window.end),
                "since": ev.utc_text(idle.idle_since),
                "release": ev.utc_text(release_at),
            }
            key = prefix + ev.utc_text(now)
            notify.enqueue([ev.Event(ev.BOOKING_IDLE, ev.MEMBER, group.user, key, payload)])
        except LabgpuError as exc:
            log.warning("could not queue the idle warning of %s: %s", idle.group_id, exc)

    def pending_warnings(self) -> dict[str, datetime]:
        """Groups warned and not yet released, with when they will be released at the earliest."""
        return dict(self.warned)


def release_reminders(service: BookingService, now: datetime, lead: timedelta) -> list[Reminder]:
    """Warnings for this user's idle bookings the idle rule will release within ``lead``."""
    rules = service.rules()
    if not rules.auto_release:
        return []
    now = as_utc(now, "now")
    report = check_reality(service, now)
    reminders = []
    for idle in report.idle_bookings:
        group = service.group(idle.group_id)
        if group.user != service.user:
            continue
        at = idle.idle_since + timedelta(minutes=rules.auto_release_minutes)
        if at <= now + lead:
            reminders.append(
                Reminder(
                    group.group_id,
                    ReminderKind.RELEASE,
                    max(at, now),
                    group.window,
                    group.gpu_labels,
                    group.note,
                )
            )
    return reminders
