"""Events the lab tells people about, as plain values (issue 17).

An event is facts (``payload``), never text: the sender renders it in each reader's language
(``core/notify/messages.py``). Its ``dedup_key`` makes writing it twice a no-op, so a collector
restarted in the same minute, or a trigger fired once per GPU of a group, enqueues it once.
The lab database's trigger (``storage/labdb_notify.py``) decides booking events by the same
rule as ``booking_change_kind``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: Event kinds (``labgpu notify set --mute KIND``).
REQUEST_PENDING = "request_pending"  # to deciders: a request waits for a decision
REQUEST_APPROVED = "request_approved"  # to the member
REQUEST_REJECTED = "request_rejected"  # to the member, with the reason
BOOKING_RELEASED = "booking_released"  # to the member: released as idle by the collector
BOOKING_STARTS = "booking_starts"  # to the member, lead_minutes before the start
BOOKING_ENDS = "booking_ends"  # to the member, lead_minutes before the end
SERVER_OFFLINE = "server_offline"  # to managers: a server offline for N minutes
BOOKING_IDLE = "booking_idle"  # to the member: the idle rule will release their booking
GPU_INTRUDER = "gpu_intruder"  # to the holder: someone else uses a GPU they hold
JOB_ENDED = "job_ended"  # to the member: their job (lab or cluster) completed, exit 0
JOB_FAILED = "job_failed"  # to the member: failed, cancelled, timed out or exit != 0
NOTIFY_FAILING = "notify_failing"  # to managers: a channel (SMTP, webhooks) started failing
TEST = "test"  # ``labgpu notify test``: to yourself; never muted
KINDS = (
    REQUEST_PENDING,
    REQUEST_APPROVED,
    REQUEST_REJECTED,
    BOOKING_RELEASED,
    BOOKING_STARTS,
    BOOKING_ENDS,
    SERVER_OFFLINE,
    BOOKING_IDLE,
    GPU_INTRUDER,
    JOB_ENDED,
    JOB_FAILED,
    NOTIFY_FAILING,
    TEST,
)
MUTABLE = tuple(k for k in KINDS if k != TEST)

MEMBER, DECIDERS, MANAGERS = "member", "deciders", "managers"
EMAIL, WEBHOOK = "email", "webhook"
#: What the idle rule writes as a released booking's reason (``services/booking/reality.py``).
IDLE_REASON_PREFIX = "released: idle"
DEFAULT_LEAD_MINUTES = 10
#: A job's final states (``core/offload/jobs.py``'s ``FINAL_STATES``, as the lab database's
#: trigger spells them); ``completed`` with exit code 0 (or none) is the one that ended well.
FINAL_JOB_STATES = ("completed", "failed", "cancelled", "timeout")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing to tell: ``user`` is the member it is for (audience ``member``) or about."""

    kind: str
    audience: str
    user: str
    dedup_key: str
    payload: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Where a member hears from the lab; ``muted``: event kinds turned off."""

    user: str
    email: str = ""
    webhook_url: str = ""
    muted: tuple[str, ...] = ()
    lead_minutes: int = DEFAULT_LEAD_MINUTES
    language: str = ""

    def wants(self, kind: str) -> bool:
        """True unless the member turned ``kind`` off (a test always goes)."""
        return kind == TEST or kind not in self.muted

    def addresses(self) -> list[tuple[str, str]]:
        """``(channel, address)`` for each channel the member gave."""
        found = [(EMAIL, self.email), (WEBHOOK, self.webhook_url)]
        return [(channel, address) for channel, address in found if address]


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An event as the app's notification list reads it: one the member would be sent."""

    id: int
    kind: str
    user: str  # whom it is for (audience ``member``) or about (a request, a server)
    created_at: datetime
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one member over one channel, as the sender claimed it."""

    id: int
    channel: str
    address: str
    user: str
    kind: str
    payload: dict[str, object]
    language: str
    attempts: int


def booking_change_kind(
    old_status: str | None,
    new_status: str,
    old_decided_by: str | None,
    new_decided_by: str | None,
    reason: str | None,
) -> str | None:
    """The event a booking row's change causes (``old_status`` None: it was inserted)."""
    if old_status is None:
        return REQUEST_PENDING if new_status == "pending" else None
    if old_status == new_status:
        return None
    if old_status == "pending" and new_status == "booked":
        return REQUEST_APPROVED
    decided = new_decided_by is not None and new_decided_by != old_decided_by
    if old_status == "pending" and new_status == "cancelled" and decided:
        return REQUEST_REJECTED
    if new_status == "released" and decided and (reason or "").startswith(IDLE_REASON_PREFIX):
        return BOOKING_RELEASED
    return None


def job_change_kind(old_state: str | None, new_state: str, exit_code: int | None) -> str | None:
    """The event a job row's change causes (``old_state`` None: it was inserted): only the
    move from a state that was not final into a final one tells."""
    if new_state not in FINAL_JOB_STATES or old_state in FINAL_JOB_STATES:
        return None
    if new_state == "completed" and exit_code in (None, 0):
        return JOB_ENDED
    return JOB_FAILED


def job_event(
    on: str,
    job: dict[str, object],
    old_state: str | None,
) -> Event | None:
    """The event of a job row's change, or None. ``on``: ``lab`` (a job on a booking, ``job``
    has ``server``) or ``cluster`` (``job`` has ``cluster`` and maybe ``project``); ``job``
    holds the row's columns. The lab database's trigger writes the same payload."""
    state = str(job["state"])
    exit_code = job.get("exit_code")
    kind = job_change_kind(old_state, state, exit_code if isinstance(exit_code, int) else None)
    if kind is None:
        return None
    user, name = str(job["user_name"]), str(job["name"])
    started, ended = job.get("started_at"), job.get("ended_at")
    payload: dict[str, object] = {
        "job": name,
        "id": job["id"],
        "on": on,
        "where": job.get("server") if on == "lab" else job.get("cluster"),
        "user": user,
        "state": state,
        "exit_code": exit_code,
        "started": _utc_or_none(started),
        "ended": _utc_or_none(ended),
        "project": job.get("project"),
        "reason": job.get("reason") or "",
    }
    return Event(kind, MEMBER, user, f"job:{on}:{name}:{state}", payload)


def audience_of(kind: str) -> str:
    """Who an event of ``kind`` is for."""
    if kind == REQUEST_PENDING:
        return DECIDERS
    if kind in (SERVER_OFFLINE, NOTIFY_FAILING):
        return MANAGERS
    return MEMBER


def utc_text(moment: datetime) -> str:
    """A UTC time as the payload keeps it (``2026-12-02T07:00:00+00:00``), the same text the
    lab database's trigger writes."""
    return moment.replace(microsecond=0).isoformat()


def _utc_or_none(moment: object) -> str | None:
    return utc_text(moment.astimezone(UTC)) if isinstance(moment, datetime) else None


def backoff(attempts: int, base_s: float = 30.0, cap_s: float = 3600.0) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: doubling from ``base_s``."""
    return timedelta(seconds=min(cap_s, base_s * math.pow(2, max(0, attempts - 1))))


def parse_muted(text: str) -> tuple[str, ...]:
    """The stored comma list as kinds (unknown words dropped: a kind may have been retired)."""
    return tuple(k for k in (w.strip() for w in text.split(",")) if k in MUTABLE)
