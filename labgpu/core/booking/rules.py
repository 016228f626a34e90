"""A lab's booking rules, maintenance windows, and the views the app shows of bookings.

Plain values only (no database, no Qt): the services check the rules, the storage keeps them,
the GUI and CLI display the views.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from labgpu.core.booking.bookings import Booking, BookingStatus, Window, as_utc
from labgpu.core.errors import RefusedError
from labgpu.core.i18n import _
from labgpu.core.inventory.models import model_matches

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class BookingRules:
    """What a member may book. The defaults describe a sensible lab."""

    max_hours: float = 72.0  # longest single booking
    horizon_days: float = 14.0  # how far ahead a booking may start
    max_gpus_at_once: int = 4  # GPUs one member may hold at any moment
    # Weighted GPU-hours per member per week (weeks start Monday 00:00 UTC); None = no quota.
    weekly_quota_gpu_hours: float | None = None
    # (model query, weight) with model_matches semantics; a model matching none weighs 1.
    model_weights: tuple[tuple[str, float], ...] = (("A40", 3.0),)
    approval_models: tuple[str, ...] = ("A40",)  # bookings of these models start as pending
    idle_util_pct: float = 5.0  # "booked but idle": every GPU of an active booking below this
    idle_minutes: int = 30  # ... for this long
    auto_release: bool = False  # release idle bookings (off by default)
    auto_release_minutes: int = 120  # idle this long -> released
    release_warning_minutes: int = 15  # the holder is warned this long before the release
    # A job run on a booking (``labgpu run``) that still runs at the booking's end: "warn"
    # (a line in its log, the default) or "stop" (SIGTERM, then SIGKILL after the grace).
    at_booking_end: str = "warn"
    stop_grace_s: int = 60
    # A GPU used by someone other than its holder: "show" (the holder is told; the default),
    # "message" (also on the intruder's terminals), "stop" (also SIGTERM after the grace,
    # SIGKILL after as long again). Unknown owners and root are only ever shown.
    intruder_action: str = "show"
    intruder_grace_minutes: int = 10

    def weight(self, model: str) -> float:
        """The quota weight of one GPU-hour of ``model`` (first matching entry, else 1)."""
        for query, weight in self.model_weights:
            if model_matches(query, model):
                return weight
        return 1.0

    def needs_approval(self, model: str) -> bool:
        """True if a booking of ``model`` waits for a PI or manager."""
        return any(model_matches(query, model) for query in self.approval_models)


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A window in which some GPUs cannot be booked (a whole server = all its GPUs)."""

    id: int | None
    gpu_ids: tuple[int, ...]
    window: Window
    reason: str
    created_by: str = ""


class RuleRefusedError(RefusedError):
    """A booking request breaks one of the lab's rules; nothing was written (exit code 3).

    ``rule`` names the rule (``max_hours``), ``limit`` the allowed figure (``72 h``) and
    ``current`` the requested one (``96 h``). ``exit_code`` follows the CLI contract (README
    *Using it*): 3 for a rule, 2 for contradictory input (end before start), 1 for a request
    the lab cannot serve (a model it does not have).
    """

    def __init__(
        self, rule: str, limit: str, current: str, message: str, *, exit_code: int = 3
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.limit = limit
        self.current = current
        self.exit_code = exit_code


def effective_status(booking: Booking, now: datetime) -> BookingStatus:
    """The status to show: a ``booked`` booking is ``active`` inside its window, then finished."""
    if booking.status is BookingStatus.BOOKED:
        if booking.window.end <= now:
            return BookingStatus.FINISHED
        if booking.window.start <= now:
            return BookingStatus.ACTIVE
    return booking.status


@dataclass(frozen=True, slots=True)
class BookingView:
    """One booked GPU as the app shows it: the booking plus its display status and GPU."""

    booking: Booking
    status: BookingStatus  # effective: active/finished derived from the clock
    gpu_label: str  # "server:index"
    model: str
    server: str

    @property
    def id(self) -> int | None:
        return self.booking.id

    @property
    def group_id(self) -> str:
        return self.booking.group_id

    @property
    def gpu_id(self) -> int:
        return self.booking.gpu_id

    @property
    def user(self) -> str:
        return self.booking.user_name

    @property
    def window(self) -> Window:
        return self.booking.window

    @property
    def note(self) -> str:
        return self.booking.note


@dataclass(frozen=True, slots=True)
class BookingGroupView:
    """A booking group (one request, one or more GPUs) as the app shows it."""

    group_id: str
    user: str
    window: Window
    status: BookingStatus  # effective
    note: str
    gpus: tuple[BookingView, ...]
    #: The project or grant the group is for (None: none named).
    project: str | None = None

    @property
    def gpu_ids(self) -> tuple[int, ...]:
        return tuple(g.gpu_id for g in self.gpus)

    @property
    def gpu_labels(self) -> tuple[str, ...]:
        return tuple(g.gpu_label for g in self.gpus)


class ReminderKind(enum.StrEnum):
    """What a reminder announces."""

    STARTS = "starts"
    ENDS = "ends"
    RELEASE = "release"  # the idle rule will release it at ``at`` unless the GPUs get busy
    INTRUDER = "intruder"  # someone else uses a GPU of it (``note``: who; ``at``: since when)


@dataclass(frozen=True, slots=True)
class Reminder:
    """A booking of the current user that starts or ends soon."""

    group_id: str
    kind: ReminderKind
    at: datetime  # when it starts or ends (UTC)
    window: Window
    gpu_labels: tuple[str, ...]
    note: str = ""


class UnbookedUse(NamedTuple):
    """A GPU running someone's processes without a live booking covering now."""

    gpu_id: int
    user: str
    since: datetime | None  # when the oldest such process started, if ps said


class IdleBooking(NamedTuple):
    """An active booking whose GPUs have all stayed below the idle threshold."""

    group_id: str
    gpu_ids: tuple[int, ...]
    idle_since: datetime


@dataclass(frozen=True, slots=True)
class RealityReport:
    """How bookings compare with what the GPUs are actually doing."""

    now: datetime
    unbooked_use: list[UnbookedUse]
    idle_bookings: list[IdleBooking]


# -- checks (pure: the services gather the figures, these decide) ---------------------------

#: A start this far in the past still counts as "now" (the form took a while to fill in).
START_GRACE = timedelta(minutes=5)


def hours_text(hours: float) -> str:
    """``72 h``, ``1.5 h``."""
    return f"{round(hours, 2):g} h"


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def check_window(rules: BookingRules, start: datetime, end: datetime, now: datetime) -> Window:
    """The requested window, or a refusal: end after start, not past, within horizon, length."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        raise RuleRefusedError(
            "end_after_start",
            "end later than start",
            f"{hours_text((end - start) / HOUR)} long",
            _(
                "the end ({end}) is not after the start ({start}); "
                "choose an end later than the start"
            ).format(end=_local(end), start=_local(start)),
            exit_code=2,
        )
    if start < now - START_GRACE:
        raise RuleRefusedError(
            "start_in_past",
            "start now or later",
            f"start {_local(start)}",
            _("the start ({start}) is in the past; choose a start from now on").format(
                start=_local(start)
            ),
        )
    horizon = timedelta(days=rules.horizon_days)
    if start > now + horizon:
        raise RuleRefusedError(
            "horizon_days",
            f"{rules.horizon_days:g} days ahead",
            f"{(start - now) / timedelta(days=1):.1f} days ahead",
            _(
                "the start ({start}) is beyond the booking horizon of {days} days "
                "(until {until}); choose an earlier start"
            ).format(
                start=_local(start), days=f"{rules.horizon_days:g}", until=_local(now + horizon)
            ),
        )
    check_length(rules, end - start)
    return Window(start, end)


def check_length(rules: BookingRules, length: timedelta) -> None:
    """Refuse a booking longer than ``max_hours``."""
    hours = length / HOUR
    if hours > rules.max_hours + 1e-9:
        raise RuleRefusedError(
            "max_hours",
            hours_text(rules.max_hours),
            hours_text(hours),
            _(
                "a booking may last at most {limit}, this one lasts {hours}; "
                "book a shorter window (extend it later if it stays free)"
            ).format(limit=hours_text(rules.max_hours), hours=hours_text(hours)),
        )


def peak_overlap(windows: Iterable[Window], within: Window) -> int:
    """The most ``windows`` that overlap at any one instant of ``within``."""
    events: list[tuple[datetime, int]] = []
    for w in windows:
        if w.overlaps(within):
            events.append((max(w.start, within.start), 1))
            events.append((min(w.end, within.end), -1))
    events.sort()  # at the same instant an end (-1) comes before a start: back-to-back is fine
    peak = current = 0
    for _moment, step in events:
        current += step
        peak = max(peak, current)
    return peak


def check_at_once(
    rules: BookingRules, user: str, window: Window, adding: int, held: Iterable[Booking]
) -> None:
    """Refuse if ``user`` would hold more than ``max_gpus_at_once`` GPUs at some instant.

    ``held`` are the user's other live bookings (one per GPU); ``adding`` GPUs come on top
    during ``window``.
    """
    already = peak_overlap((b.window for b in held if b.is_live), window)
    if already + adding > rules.max_gpus_at_once:
        raise RuleRefusedError(
            "max_gpus_at_once",
            f"{rules.max_gpus_at_once} GPUs",
            f"{already + adding} GPUs",
            _(
                "{user} would hold {total} GPUs at once ({already} already booked in that "
                "window + {adding} more); the limit is {limit}; book fewer GPUs or another time"
            ).format(
                user=user,
                total=already + adding,
                already=already,
                adding=adding,
                limit=rules.max_gpus_at_once,
            ),
        )


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding ``moment``."""
    day = as_utc(moment, "moment").replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weeks_of(window: Window) -> list[Window]:
    """The quota weeks ``window`` touches."""
    weeks = []
    start = week_start(window.start)
    while start < window.end:
        weeks.append(Window(start, start + timedelta(days=7)))
        start += timedelta(days=7)
    return weeks


def weighted_hours(window: Window, weight: float, week: Window) -> float:
    """GPU-hours of ``window`` that fall inside ``week``, times ``weight``."""
    if not window.overlaps(week):
        return 0.0
    inside = min(window.end, week.end) - max(window.start, week.start)
    return inside / HOUR * weight


def check_quota(
    rules: BookingRules,
    user: str,
    window: Window,
    new_models: Sequence[str],
    used: Iterable[tuple[Window, str]],
) -> None:
    """Refuse if a week's weighted GPU-hours of ``user`` would pass the weekly quota.

    ``used`` are the (window, model) of the user's bookings that count (live, released,
    finished); ``new_models`` are the models of the GPUs requested over ``window``.
    """
    quota = rules.weekly_quota_gpu_hours
    if quota is None:
        return
    used = list(used)
    for week in weeks_of(window):
        before = sum(weighted_hours(w, rules.weight(m), week) for w, m in used)
        adding = sum(weighted_hours(window, rules.weight(m), week) for m in new_models)
        if before + adding > quota + 1e-9:
            raise RuleRefusedError(
                "weekly_quota_gpu_hours",
                hours_text(quota),
                hours_text(before + adding),
                _(
                    "{user} would use {total} weighted GPU-hours in the week of {week} "
                    "({booked} booked + {adding} for this booking; {weights}); "
                    "the weekly quota is {quota}; book fewer hours or GPUs"
                ).format(
                    user=user,
                    total=f"{round(before + adding, 2):g}",
                    week=f"{week.start:%Y-%m-%d}",
                    booked=hours_text(before),
                    adding=hours_text(adding),
                    weights=_weights_note(rules, new_models),
                    quota=hours_text(quota),
                ),
            )


def _weights_note(rules: BookingRules, models: Sequence[str]) -> str:
    weighted = sorted(
        {
            _("{model} counts x{weight}").format(model=m, weight=f"{rules.weight(m):g}")
            for m in models
        }
    )
    return ", ".join(weighted)


def initial_status(rules: BookingRules, models: Iterable[str]) -> BookingStatus:
    """``pending`` if any requested model needs approval, else ``booked``."""
    if any(rules.needs_approval(m) for m in models):
        return BookingStatus.PENDING
    return BookingStatus.BOOKED
