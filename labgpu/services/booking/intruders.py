"""The lab's rule for a GPU used by someone other than its holder (issue 15, point 5).

Run by the collector's minute job after each sweep's samples are stored, like the idle rule.
Every intrusion is audited when first seen (``intruder.seen``); under the rule ``message`` the
intruder gets one message on their terminals on that server (``intruder.message``); under
``stop`` their processes on that GPU get SIGTERM once the intrusion is ``intruder_grace_minutes``
old and SIGKILL after as long again (``intruder.stop``), as their own user, never touching the
holder's. A process of an unknown owner (a container) or of root is shown, never acted on.
The holder learns of it from the app's reminders (``intrusion_reminders``) and, once per
intrusion, from the lab's notifications (``gpu_intruder``, also for an unknown owner's).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import BookingStatus, as_utc
from labgpu.core.booking.intruders import MESSAGE, STOP, Intrusion, due_signal, find_intrusions
from labgpu.core.booking.rules import BookingRules, Reminder, ReminderKind
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.notify import events as ev
from labgpu.services.booking.service import BookingService

if TYPE_CHECKING:  # paramiko loads when a rule acts, off the GUI's start
    from labgpu.remote.ssh import SshPool

log = logging.getLogger(__name__)

#: How far apart two sweeps may place the start of the same intrusion (``since`` is the sample's
#: time less the processes' age, each read a moment apart): within it, it is the same one.
SINCE_SLACK = timedelta(minutes=2)


def current_intrusions(service: BookingService, now: datetime) -> list[Intrusion]:
    """The intrusions the latest samples show on GPUs held now."""
    active = [
        b
        for b in service.store.bookings.list_bookings(
            start=now, end=now + timedelta(seconds=1), statuses=[BookingStatus.BOOKED]
        )
        if b.window.contains(now)
    ]
    if not active:
        return []
    gpus = {g.uuid: g for g in service.store.inventory.list_gpus()}
    return find_intrusions(service.store.inventory.latest_status(), gpus, active, now)


@dataclass
class _Seen:
    first: datetime
    messaged: bool = False
    signals: set[str] = field(default_factory=set)


class IntruderWatch:
    """Applies the intruder rule once per collector minute; remembers what it already did."""

    def __init__(self, service: BookingService, pool: Callable[[], SshPool]) -> None:
        self.service = service
        self._pool = pool
        self.seen: dict[tuple[int, str, str], _Seen] = {}

    def run(self, now: datetime | None = None) -> list[str]:
        """Audit new intrusions and act on them as the rule says; returns what was done."""
        now = self.service.clock() if now is None else as_utc(now, "now")
        rules = self.service.rules()
        found = current_intrusions(self.service, now)
        done: list[str] = []
        keys = set()
        for intrusion in found:
            keys.add(intrusion.key)
            seen = self.seen.get(intrusion.key)
            if seen is None:
                seen = self.seen[intrusion.key] = _Seen(now)
                self._audit("intruder.seen", intrusion, _describe(intrusion))
                self._tell_holder(intrusion, now)
            if not intrusion.actionable or rules.intruder_action not in (MESSAGE, STOP):
                continue
            assert intrusion.user is not None  # actionable
            if not seen.messaged:
                line, seen.messaged = self._message(intrusion, rules.intruder_action, rules)
                done.append(line)
            grace = timedelta(minutes=rules.intruder_grace_minutes)
            signal = due_signal(rules.intruder_action, seen.first, now, grace)
            if signal is not None and signal not in seen.signals:
                seen.signals.add(signal)
                done.append(self._signal(intrusion, signal))
        for key in set(self.seen) - keys:
            del self.seen[key]  # gone: a later intrusion starts afresh
        return done

    def _target(self, server: str) -> SshTarget:
        found = self.service.store.inventory.get_server(server)
        if found is None:
            raise LabgpuError(_("server {name} is no longer registered").format(name=server))
        return found.target

    def _message(self, intrusion: Intrusion, action: str, rules: BookingRules) -> tuple[str, bool]:
        """Message the intruder; what was done, and whether to count it as done (a server that
        could not be reached is asked again next minute)."""
        from labgpu.remote.intruders import send_message

        assert intrusion.user is not None
        minutes = rules.intruder_grace_minutes
        text = _(
            "labgpu: GPU {gpu} is booked by {holder}; your process(es) {pids} use it without a "
            "booking. Please stop them and book a free GPU (labgpu slots)."
        ).format(gpu=intrusion.gpu_label, holder=intrusion.holder, pids=_pids(intrusion))
        if action == STOP:
            text += " " + _("The lab's rule stops them in {minutes} min.").format(minutes=minutes)
        try:
            target = self._target(intrusion.server)
            sent = send_message(self._pool(), target, intrusion.user, text)
        except (LabgpuError, ValueError) as exc:
            self._audit("intruder.message", intrusion, f"not delivered: {exc}")
            return f"message to {intrusion.user} failed: {exc}", isinstance(exc, ValueError)
        detail = f"to {intrusion.user} on {', '.join(sent.done) or 'no terminal'}"
        if sent.refused:
            detail += f"; not allowed on {', '.join(sent.refused)} (see the README: tty group)"
        self._audit("intruder.message", intrusion, detail)
        return f"message to {intrusion.user}: {detail}", True

    def _signal(self, intrusion: Intrusion, signal: str) -> str:
        from labgpu.remote.intruders import send_signal

        assert intrusion.user is not None
        try:
            target = self._target(intrusion.server)
            sent = send_signal(self._pool(), target, intrusion.user, intrusion.pids, signal)
        except (LabgpuError, ValueError) as exc:
            self._audit("intruder.stop", intrusion, f"SIG{signal} not sent: {exc}")
            return f"SIG{signal} to {intrusion.user} failed: {exc}"
        detail = f"SIG{signal} to {intrusion.user}: {' '.join(sent.done) or 'no process'}"
        if sent.refused:
            detail += f"; refused for {' '.join(sent.refused)} (see the README: sudoers line)"
        self._audit("intruder.stop", intrusion, detail)
        return detail

    def _tell_holder(self, intrusion: Intrusion, now: datetime) -> None:
        """Queue ``gpu_intruder`` for the holder, unless it was told already: the dedup key
        names the group, GPU, intruder and the intrusion's start, so a restarted collector
        (which forgot ``seen``) does not tell it again."""
        who = intrusion.user or f"container:{intrusion.container}"
        if len(who) > 64:  # a container's name may be long; the key must stay within 200
            who = "container#" + hashlib.sha256(who.encode()).hexdigest()[:16]
        prefix = f"{ev.GPU_INTRUDER}:{intrusion.group_id}:{intrusion.gpu_id}:{who}:"
        began = ev.utc_text(intrusion.since) if intrusion.since is not None else "unknown"
        payload: dict[str, object] = {
            "gpu": intrusion.gpu_label,
            "server": intrusion.server,
            "group": intrusion.group_id,
            "holder": intrusion.holder,
            "intruder": intrusion.user,
            "container": intrusion.container,
            "who": intrusion.user or f"unknown (container {intrusion.container})",
            "pids": list(intrusion.pids),
            "since": ev.utc_text(intrusion.since or now),
        }
        event = ev.Event(ev.GPU_INTRUDER, ev.MEMBER, intrusion.holder, prefix + began, payload)
        notify = self.service.store.notify
        try:
            if intrusion.since is not None and notify.told_since(
                prefix, intrusion.since - SINCE_SLACK
            ):
                return
            notify.enqueue([event])
        except LabgpuError as exc:
            log.warning("could not queue the intrusion on %s: %s", intrusion.gpu_label, exc)

    def _audit(self, action: str, intrusion: Intrusion, detail: str) -> None:
        try:
            self.service.store.audit("labgpu", action, intrusion.gpu_label, detail)
        except LabgpuError as exc:
            log.warning("could not audit %s on %s: %s", action, intrusion.gpu_label, exc)


def _pids(intrusion: Intrusion) -> str:
    return ", ".join(str(p) for p in intrusion.pids)


def _describe(intrusion: Intrusion) -> str:
    who = intrusion.user or f"owner unknown (container {intrusion.container})"
    return (
        f"{who}: pid {_pids(intrusion)} on a GPU held by {intrusion.holder} "
        f"(booking {intrusion.group_id})"
    )


def intrusion_reminders(service: BookingService, now: datetime) -> list[Reminder]:
    """For this user's held GPUs: who else uses them now (``at``: when it began, else the
    booking's start, so that the app tells it once)."""
    now = as_utc(now, "now")
    reminders = []
    for intrusion in current_intrusions(service, now):
        if intrusion.holder != service.user:
            continue
        group = service.group(intrusion.group_id)
        who = intrusion.user or _("someone unknown (container {name})").format(
            name=intrusion.container
        )
        reminders.append(
            Reminder(
                group.group_id,
                ReminderKind.INTRUDER,
                intrusion.since or group.window.start,  # stable: shown once
                group.window,
                (intrusion.gpu_label,),
                who,
            )
        )
    return reminders
