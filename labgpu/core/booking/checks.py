"""Pure helpers of the booking service: grouping views, checking a request's GPUs, the
search pool, maintenance clashes and new rules. No store, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.booking.rules import (
    BookingGroupView,
    BookingRules,
    BookingView,
    Maintenance,
    RuleRefusedError,
)
from labgpu.core.booking.slots import SlotGpu
from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu


def groups_of(views: Iterable[BookingView]) -> list[BookingGroupView]:
    """Booking views gathered into groups, in order of first appearance."""
    members: dict[str, list[BookingView]] = {}
    for v in views:
        members.setdefault(v.group_id, []).append(v)
    groups = []
    for group_id, gpus in members.items():
        first = gpus[0]
        gpus.sort(key=lambda v: (v.server, v.gpu_label))
        groups.append(
            BookingGroupView(
                group_id=group_id,
                user=first.user,
                window=first.window,
                status=first.status,
                note=first.note,
                gpus=tuple(gpus),
                project=first.booking.project,
            )
        )
    return groups


def check_gpus(gpu_ids: Sequence[int], known: dict[int, Gpu]) -> list[Gpu]:
    """The requested GPUs, or a refusal: none, unknown ids, not bookable."""
    wanted = sorted(set(gpu_ids))
    if not wanted:
        raise RuleRefusedError(
            "count", "at least 1 GPU", "0 GPUs", _("choose at least one GPU"), exit_code=2
        )
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise RuleRefusedError(
            "gpu_ids",
            "registered GPUs",
            ", ".join(f"#{i}" for i in unknown),
            _("no GPU with id {ids}; see `labgpu status` for the GPUs").format(
                ids=", ".join(map(str, unknown))
            ),
            exit_code=1,
        )
    chosen = [known[i] for i in wanted]
    closed = [f"{g.server_name}:{g.index}" for g in chosen if not g.bookable]
    if closed:
        raise RuleRefusedError(
            "bookable",
            "bookable GPUs",
            ", ".join(closed),
            _(
                "GPU {gpus} is first-come (not bookable); use it without a booking "
                "or choose another GPU"
            ).format(gpus=", ".join(closed)),
        )
    return chosen


def check_maintenance(
    gpu_ids: Sequence[int],
    window: Window,
    blocks: Iterable[Maintenance],
    labels: Mapping[int, str] | None = None,
) -> None:
    """Refuse if a maintenance window blocks a requested GPU during ``window``."""
    wanted = set(gpu_ids)
    names = labels or {}
    for m in blocks:
        hit = sorted(wanted.intersection(m.gpu_ids))
        if hit and m.window.overlaps(window):
            gpus = ", ".join(names.get(i, f"#{i}") for i in hit)
            raise RefusedError(
                _(
                    "GPU {gpus} is in maintenance from {window} ({reason}); "
                    "choose another time or GPU"
                ).format(gpus=gpus, window=m.window.text(), reason=m.reason or _("no reason given"))
            )


def check_pool(
    pool: Sequence[SlotGpu],
    bookable: Sequence[SlotGpu],
    model: str | None,
    min_memory_mb: int | None,
    count: int,
    same_server: bool,
) -> list[SlotGpu]:
    """Refuse an unknown model or more GPUs than exist; else the pool."""
    what = model or "GPU"
    shown = model or _("GPU")
    if min_memory_mb is not None:
        what += f" with at least {min_memory_mb} MB"
        shown = _("{what} with at least {mb} MB").format(what=shown, mb=min_memory_mb)
    if not pool:
        models = ", ".join(sorted({g.model for g in bookable}))
        raise RuleRefusedError(
            "model",
            f"bookable models: {models or 'none'}",
            what,
            _("no bookable {what}; the lab's bookable models are: {models}").format(
                what=shown, models=models or _("none")
            ),
            exit_code=1,
        )
    largest = len(pool)
    if same_server:
        largest = max(sum(1 for g in pool if g.server == s) for s in {g.server for g in pool})
    if count > largest:
        message = (
            _("{count} x {what} asked, but only {largest} exist on one server; ask for fewer")
            if same_server
            else _("{count} x {what} asked, but only {largest} exist in the lab; ask for fewer")
        )
        raise RuleRefusedError(
            "count",
            f"{largest} GPUs",
            f"{count} GPUs",
            message.format(count=count, what=shown, largest=largest),
            exit_code=1,
        )
    return list(pool)


def validate_rules(rules: BookingRules) -> None:
    """Refuse rules that cannot work (a zero length, a negative quota...)."""
    positive = {
        "max_hours": rules.max_hours,
        "horizon_days": rules.horizon_days,
        "max_gpus_at_once": rules.max_gpus_at_once,
        "idle_minutes": rules.idle_minutes,
        "auto_release_minutes": rules.auto_release_minutes,
    }
    if rules.weekly_quota_gpu_hours is not None:
        positive["weekly_quota_gpu_hours"] = rules.weekly_quota_gpu_hours
    for name, value in positive.items():
        if value <= 0:
            raise UsageError(
                _("rule {name} must be greater than 0, not {value}").format(name=name, value=value)
            )
    if rules.at_booking_end not in ("warn", "stop"):
        raise UsageError(
            _("at_booking_end must be 'warn' or 'stop', not {value}").format(
                value=repr(rules.at_booking_end)
            )
        )
    if rules.intruder_action not in ("show", "message", "stop"):
        raise UsageError(
            _("intruder_action must be 'show', 'message' or 'stop', not {value}").format(
                value=repr(rules.intruder_action)
            )
        )
    if rules.intruder_grace_minutes < 1:
        raise UsageError(_("intruder_grace_minutes must be at least 1"))
    if rules.stop_grace_s < 1:
        raise UsageError(_("stop_grace_s must be at least 1 second"))
    if rules.release_warning_minutes < 0 or not 0 <= rules.idle_util_pct <= 100:
        raise UsageError(_("release_warning_minutes must be >= 0 and idle_util_pct 0-100"))
    for query, weight in rules.model_weights:
        if weight <= 0 or not query.strip():
            raise UsageError(
                _("model weight {query}={weight} must name a model, weight > 0").format(
                    query=repr(query), weight=weight
                )
            )


_STATUS_TEXT = {
    BookingStatus.PENDING: N_("pending"),
    BookingStatus.BOOKED: N_("booked"),
    BookingStatus.ACTIVE: N_("active"),
    BookingStatus.FINISHED: N_("finished"),
    BookingStatus.CANCELLED: N_("cancelled"),
    BookingStatus.RELEASED: N_("released"),
}

_NOT_NOW = {
    "cancel": N_("booking {id} of {user} is {status}; only a {allowed} booking can be cancelled"),
    "end": N_("booking {id} of {user} is {status}; only a {allowed} booking can be ended"),
    "extend": N_("booking {id} of {user} is {status}; only a {allowed} booking can be extended"),
    "approve": N_("booking {id} of {user} is {status}; only a {allowed} booking can be approved"),
    "reject": N_("booking {id} of {user} is {status}; only a {allowed} booking can be rejected"),
}

_NOT_YOURS = {
    "approve": N_(
        "permission denied: only a PI or a lab manager can decide on a request "
        "({user} may not approve it)"
    ),
    "reject": N_(
        "permission denied: only a PI or a lab manager can decide on a request "
        "({user} may not reject it)"
    ),
}


def status_text(status: BookingStatus) -> str:
    """A booking status in the language of the messages (``pending``, ``booked``…)."""
    return _(_STATUS_TEXT[status])


def wrong_status(group: BookingGroupView, allowed: Sequence[BookingStatus], verb: str) -> str:
    """Why ``group`` cannot be ``verb``-ed in its status (``booking … is cancelled; only …``)."""
    allowed_text = _(" or ").join(status_text(s) for s in allowed)
    return _(_NOT_NOW[verb]).format(
        id=group.group_id, user=group.user, status=status_text(group.status), allowed=allowed_text
    )


def not_a_decider(user: str, verb: str) -> str:
    """Why ``user`` (neither PI nor manager) may not ``verb`` (approve, reject) a request."""
    return _(_NOT_YOURS[verb]).format(user=user)


def may_change(group: BookingGroupView, role: str, verb: str) -> None:
    """Refuse (``RefusedError``) unless a member in ``role`` may ``verb`` another member's
    booking ``group``: a PI may cancel or end it (as the lab database allows), a manager may
    change it in any way, a student not at all."""
    if role == "pi" and verb != "extend":
        return
    if role == "pi":
        raise RefusedError(
            _(
                "permission denied: a PI decides on others' bookings but does not edit them "
                "(this one is {user}'s)"
            ).format(user=group.user)
        )
    if role != "manager":
        raise RefusedError(
            _(
                "permission denied: a {role} can only change their own bookings "
                "(this one is {user}'s)"
            ).format(role=_("student") if role == "student" else role, user=group.user)
        )
