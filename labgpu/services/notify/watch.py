"""The collector's minute job for notifications (issue 17): the time-based events, then the
sender where the lab's channels are configured (``notify.toml``).

Each event's ``dedup_key`` names what it is about and when (``starts:GROUP:START``,
``offline:SERVER:SINCE``), so a collector restarted in the same minute, or two collectors,
enqueue it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from labgpu.core.errors import ConfigError, LabgpuError, RefusedError
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Event
from labgpu.services.notify import config as notify_config
from labgpu.services.notify.sender import FailureLog, Sender
from labgpu.storage import Store

log = logging.getLogger(__name__)

#: How long sent events are kept (the outbox is not a history: the audit log is).
KEEP = timedelta(days=90)
PRUNE_EVERY = timedelta(days=1)
#: The longest lead a member may choose (``labgpu notify set --lead``).
MAX_LEAD_MINUTES = 24 * 60


def time_events(store: Store, now: datetime, offline_minutes: int = 10) -> list[Event]:
    """Bookings starting or ending within each member's lead, servers offline long enough."""
    settings = store.notify.all_settings()
    found = []
    for group_id, user, payload in store.notify.upcoming(now, timedelta(minutes=MAX_LEAD_MINUTES)):
        lead = timedelta(minutes=settings.get(user, ev.NotifySettings(user)).lead_minutes)
        start = datetime.fromisoformat(str(payload["start"]))
        end = datetime.fromisoformat(str(payload["end"]))
        if now < start <= now + lead:
            key = f"starts:{group_id}:{payload['start']}"
            found.append(Event(ev.BOOKING_STARTS, ev.MEMBER, user, key, payload))
        if start <= now < end <= now + lead:
            key = f"ends:{group_id}:{payload['end']}"
            found.append(Event(ev.BOOKING_ENDS, ev.MEMBER, user, key, payload))
    before = now - timedelta(minutes=offline_minutes)
    for name, state, reason, since in store.notify.offline_servers(before):
        key = f"offline:{name}:{ev.utc_text(since)}"
        payload = {"server": name, "state": state, "reason": reason, "since": ev.utc_text(since)}
        found.append(Event(ev.SERVER_OFFLINE, ev.MANAGERS, name, key, payload))
    return found


class NotifyWatch:
    """Run by the collector's housekeeping: enqueue what is due, then send."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        load_config: Callable[[], notify_config.NotifyConfig | None] = notify_config.load,
    ) -> None:
        self.store = store
        self.clock = clock
        self.load_config = load_config
        self.failures = FailureLog()
        self._sender: Sender | None = None
        self._refused = False
        self._pruned_at: datetime | None = None

    def run(self) -> int:
        """Enqueue the time-based events, send what is due; returns the messages sent."""
        try:
            config = self.load_config()
        except ConfigError as exc:
            log.warning("notify: %s", exc)
            config = None
        offline = config.offline_minutes if config is not None else 10
        try:
            self.store.notify.enqueue(time_events(self.store, self.clock(), offline))
        except RefusedError as exc:  # not the collector of a lab database: not ours to write
            if not self._refused:
                log.info("notify: time-based events not enqueued here: %s", exc)
            self._refused = True
        self._prune()
        if config is None:  # no [notify]: this machine does not send
            return 0
        if self._sender is None or self._sender.config != config:
            self._sender = Sender(self.store.notify, config, self.clock)
        try:
            report = self._sender.run()
        except LabgpuError as exc:
            log.warning("notify: %s", exc)
            return 0
        newly = {c: e for c, e in report.failing.items() if self.failures.failing.get(c) != e}
        self.failures.note(report)
        if newly:
            self._tell_managers(newly)
        return report.sent

    def _prune(self) -> None:
        """Once a day: events older than ``KEEP`` whose deliveries are done are forgotten."""
        now = self.clock()
        if self._refused or (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY):
            return
        self._pruned_at = now
        try:
            gone = self.store.notify.prune(now - KEEP)
        except LabgpuError as exc:
            log.warning("notify: could not forget old events: %s", exc)
            return
        if gone:
            log.info("notify: forgot %d events older than %d days", gone, KEEP.days)

    def _tell_managers(self, failing: dict[str, str]) -> None:
        """A channel started failing (or fails otherwise): one event to managers, at most one
        an hour per channel — it reaches them by their other channel and in the app's list."""
        now = self.clock()
        events = [
            Event(
                ev.NOTIFY_FAILING,
                ev.MANAGERS,
                "labgpu",
                f"{ev.NOTIFY_FAILING}:{channel}:{now:%Y-%m-%dT%H}",
                {"channel": channel, "error": error[:300], "since": ev.utc_text(now)},
            )
            for channel, error in sorted(failing.items())
        ]
        try:
            self.store.notify.enqueue(events)
        except LabgpuError as exc:
            log.warning("notify: could not tell managers: %s", exc)
