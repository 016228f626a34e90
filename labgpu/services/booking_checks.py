"""Pure helpers of the booking service: grouping views, checking a request's GPUs, the
search pool, maintenance clashes and new rules. No store, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from labgpu.core.booking import Window
from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.inventory import Gpu
from labgpu.core.rules import (
    BookingGroupView,
    BookingRules,
    BookingView,
    Maintenance,
    RuleRefusedError,
)
from labgpu.core.slots import SlotGpu


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
            )
        )
    return groups


def check_gpus(gpu_ids: Sequence[int], known: dict[int, Gpu]) -> list[Gpu]:
    """The requested GPUs, or a refusal: none, unknown ids, not bookable."""
    wanted = sorted(set(gpu_ids))
    if not wanted:
        raise RuleRefusedError(
            "count", "at least 1 GPU", "0 GPUs", "choose at least one GPU", exit_code=2
        )
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise RuleRefusedError(
            "gpu_ids",
            "registered GPUs",
            ", ".join(f"#{i}" for i in unknown),
            f"no GPU with id {', '.join(map(str, unknown))}; see `labgpu status` for the GPUs",
            exit_code=1,
        )
    chosen = [known[i] for i in wanted]
    closed = [f"{g.server_name}:{g.index}" for g in chosen if not g.bookable]
    if closed:
        raise RuleRefusedError(
            "bookable",
            "bookable GPUs",
            ", ".join(closed),
            f"GPU {', '.join(closed)} is first-come (not bookable); use it without a booking "
            "or choose another GPU",
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
                f"GPU {gpus} is in maintenance from {m.window.describe()} "
                f"({m.reason or 'no reason given'}); choose another time or GPU"
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
    if min_memory_mb is not None:
        what += f" with at least {min_memory_mb} MB"
    if not pool:
        models = ", ".join(sorted({g.model for g in bookable})) or "none"
        raise RuleRefusedError(
            "model",
            f"bookable models: {models}",
            what,
            f"no bookable {what}; the lab's bookable models are: {models}",
            exit_code=1,
        )
    largest = len(pool)
    if same_server:
        largest = max(sum(1 for g in pool if g.server == s) for s in {g.server for g in pool})
    if count > largest:
        where = "on one server" if same_server else "in the lab"
        raise RuleRefusedError(
            "count",
            f"{largest} GPUs",
            f"{count} GPUs",
            f"{count} x {what} asked, but only {largest} exist {where}; ask for fewer",
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
            raise UsageError(f"rule {name} must be greater than 0, not {value}")
    if rules.release_warning_minutes < 0 or not 0 <= rules.idle_util_pct <= 100:
        raise UsageError("release_warning_minutes must be >= 0 and idle_util_pct 0-100")
    for query, weight in rules.model_weights:
        if weight <= 0 or not query.strip():
            raise UsageError(f"model weight {query!r}={weight} must name a model, weight > 0")
