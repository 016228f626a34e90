"""The sender: outbox events into deliveries, deliveries onto their channels (issue 17).

One ``run`` expands new events by each recipient's settings, then sends due deliveries oldest
first, a batch at a time: claimed (``sending``, until a lease runs out), handed to the channel,
marked ``sent`` in its own short transaction right after the channel took it. A failed try backs
off (``next_at``) and is given up after ``max_attempts``; a broken channel (SMTP down) only
reschedules its own deliveries. A sender killed between the channel's acceptance and the mark
leaves the delivery ``sending``; when its lease has run out it is sent again under the same id
(``channels.message_id``) — the one place a message can arrive twice (README, *Notifications*).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Delivery
from labgpu.core.notify.messages import Message, render
from labgpu.services.notify.channels import ChannelError, SmtpChannel, WebhookChannel
from labgpu.services.notify.config import NotifyConfig
from labgpu.storage.outbox import NotifyStore

log = logging.getLogger(__name__)

#: How long a claim holds a delivery: longer than any one send can take.
LEASE = timedelta(minutes=10)
#: An event older than this when the sender first sees it is not sent (it stays in the app's
#: list): the channels were set up after months of use, or the sender was down for days.
STALE = timedelta(hours=24)


class Channel(Protocol):
    """Sends one delivery's message or raises ``ChannelError``."""

    def send(self, delivery: Delivery, message: Message) -> None: ...


@dataclass
class SendReport:
    """What one ``run`` did; ``failing``: per channel, the last error (one log line each)."""

    expanded: int = 0
    sent: int = 0
    retried: int = 0
    given_up: int = 0
    failing: dict[str, str] = field(default_factory=dict)


class Sender:
    """Sends what the outbox holds over the lab's channels."""

    def __init__(
        self,
        store: NotifyStore,
        config: NotifyConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: timedelta = LEASE,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.lease = lease
        self._channels = channels
        self.recovered = store.recover(clock())  # a killed sender's claims whose lease ran out

    def expand(self) -> int:
        """Deliveries for the events not yet expanded (a few hundred at a time, each lot in one
        transaction); returns how many were written."""
        written = 0
        while True:
            lot = self._expand_lot()
            if lot is None:
                return written
            written += lot

    def _expand_lot(self) -> int | None:
        events = self.store.unexpanded()
        if not events:
            return None
        settings = self.store.all_settings()
        deciders: list[str] | None = None
        managers: list[str] | None = None
        plans: list[tuple[int, str, list[str]]] = []
        stale = self.clock() - STALE
        for outbox_id, kind, audience, user, created_at in events:
            if created_at < stale:
                plans.append((outbox_id, kind, []))  # old news: expanded, sent to nobody
                continue
            if audience == ev.DECIDERS:
                if deciders is None:
                    deciders = self.store.role_members(("pi", "manager"))
                recipients = [d for d in deciders if d != user]
            elif audience == ev.MANAGERS:
                if managers is None:
                    managers = self.store.role_members(("manager",))
                recipients = managers
            else:
                recipients = [user]
            plans.append((outbox_id, kind, recipients))
        return self.store.expand(plans, settings, self.clock())

    def run(self, max_batches: int = 1000) -> SendReport:
        """Expand, then send every due delivery (``max_batches`` batches at most); with nothing
        to do, one query and no connection to a channel."""
        report = SendReport()
        if not self.store.has_work(self.clock()):
            return report
        self.store.recover(self.clock())
        report.expanded = self.expand()
        channels = self._channels or {
            ev.EMAIL: SmtpChannel(self.config),
            ev.WEBHOOK: WebhookChannel(self.config.timeout_s, self.config.webhook_hosts),
        }
        try:
            for _batch in range(max_batches):
                batch = self.store.claim(self.clock(), self.config.batch, self.lease)
                if not batch:
                    break
                self._send_batch(batch, channels, report)
        finally:
            for channel in channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    close()
        return report

    def _send_batch(
        self, batch: list[Delivery], channels: dict[str, Channel], report: SendReport
    ) -> None:
        broken: dict[str, str] = {}
        for delivery in batch:
            error = broken.get(delivery.channel)
            if error is None:
                try:
                    message = render(
                        delivery.kind, delivery.payload, delivery.language, delivery.user
                    )
                    channels[delivery.channel].send(delivery, message)
                except ChannelError as exc:
                    error = str(exc)
                    if exc.broken:
                        broken[delivery.channel] = error
                except Exception as exc:  # noqa: BLE001 — one bad row must not stop the rest
                    log.exception("notify: delivery %d", delivery.id)
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    self.store.mark_sent(delivery.id, self.clock())
                    report.sent += 1
                    continue
            report.failing[delivery.channel] = error
            state = self.store.mark_failed(delivery, error, self.clock(), self.config.max_attempts)
            if state == "failed":
                report.given_up += 1
            else:
                report.retried += 1


class FailureLog:
    """One log line per failing channel when it starts failing or its error changes, and
    one when it works again (not one per message)."""

    def __init__(self) -> None:
        self.failing: dict[str, str] = {}

    def note(self, report: SendReport) -> list[str]:
        """The lines to log for ``report`` (also logged here)."""
        lines = []
        for channel, error in sorted(report.failing.items()):
            if self.failing.get(channel) != error:
                lines.append(f"notify: {channel} failing: {error}")
        for channel in sorted(set(self.failing) - set(report.failing)):
            if report.sent:
                lines.append(f"notify: {channel} works again")
        self.failing = dict(report.failing) if report.failing or report.sent else self.failing
        for line in lines:
            log.warning("%s", line)
        return lines
