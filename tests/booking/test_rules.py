"""The pure booking rules (core/booking/rules.py): windows, lengths, holdings, quota, approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from labgpu.core.booking.bookings import Booking, BookingStatus, Window
from labgpu.core.booking.rules import (
    BookingRules,
    RuleRefusedError,
    check_at_once,
    check_quota,
    check_window,
    effective_status,
    initial_status,
    peak_overlap,
    week_start,
    weeks_of,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday
H = timedelta(hours=1)


def booking(start: datetime, hours: float, status: BookingStatus = BookingStatus.BOOKED) -> Booking:
    return Booking(1, "g", 1, "kim", Window(start, start + hours * H), status)


def refusal(exc: pytest.ExceptionInfo[RuleRefusedError]) -> tuple[str, str, str]:
    return exc.value.rule, exc.value.limit, exc.value.current


def test_defaults_weight_and_approval() -> None:
    rules = BookingRules()
    assert rules.weight("NVIDIA A40") == 3.0
    assert rules.weight("NVIDIA RTX A4000") == 1.0  # "A40" is not a word of "RTX A4000"
    assert rules.needs_approval("NVIDIA A40")
    assert not rules.needs_approval("NVIDIA RTX A4000")
    assert initial_status(rules, ["NVIDIA RTX A4000", "NVIDIA A40"]) is BookingStatus.PENDING
    assert initial_status(rules, ["NVIDIA RTX A4000"]) is BookingStatus.BOOKED


def test_window_accepted_and_converted_to_utc() -> None:
    seoul = ZoneInfo("Asia/Seoul")
    start = (NOW + H).astimezone(seoul)
    w = check_window(BookingRules(), start, start + 2 * H, NOW)
    assert w == Window(NOW + H, NOW + 3 * H)
    assert w.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (NOW + 2 * H, NOW + 2 * H, "end_after_start"),
        (NOW + 2 * H, NOW + H, "end_after_start"),
        (NOW - 10 * timedelta(minutes=1), NOW + H, "start_in_past"),
        (NOW + timedelta(days=15), NOW + timedelta(days=15, hours=1), "horizon_days"),
        (NOW + H, NOW + 74 * H, "max_hours"),
    ],
)
def test_window_refusals_name_rule_limit_and_figure(
    start: datetime, end: datetime, rule: str
) -> None:
    with pytest.raises(RuleRefusedError) as exc:
        check_window(BookingRules(), start, end, NOW)
    assert exc.value.rule == rule
    # The CLI contract: an end before the start is contradictory input (2), the rest are rules (3)
    assert exc.value.exit_code == (2 if rule == "end_after_start" else 3)
    assert exc.value.limit
    assert exc.value.current
    assert "; " in str(exc.value)  # the message says what to do next


def test_max_hours_message_has_limit_and_current() -> None:
    with pytest.raises(RuleRefusedError) as exc:
        check_window(BookingRules(), NOW, NOW + 96 * H, NOW)
    assert refusal(exc) == ("max_hours", "72 h", "96 h")
    assert "72 h" in str(exc.value)
    assert "96 h" in str(exc.value)


def test_grace_and_boundaries() -> None:
    rules = BookingRules()
    check_window(rules, NOW - timedelta(minutes=4), NOW + H, NOW)  # within 5 min grace
    check_window(rules, NOW, NOW + 72 * H, NOW)  # exactly max_hours
    check_window(rules, NOW + timedelta(days=14), NOW + timedelta(days=14, hours=1), NOW)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        check_window(BookingRules(), datetime(2026, 12, 3, 10), NOW + 3 * H, NOW)


def test_peak_overlap_back_to_back_is_not_overlap() -> None:
    day = Window(NOW, NOW + 24 * H)
    windows = [Window(NOW, NOW + 2 * H), Window(NOW + 2 * H, NOW + 4 * H)]
    assert peak_overlap(windows, day) == 1
    windows.append(Window(NOW + H, NOW + 3 * H))
    assert peak_overlap(windows, day) == 2
    assert peak_overlap(windows, Window(NOW + 5 * H, NOW + 6 * H)) == 0


def test_at_once_counts_held_gpus() -> None:
    rules = BookingRules(max_gpus_at_once=4)
    held = [booking(NOW, 4) for _ in range(3)]
    check_at_once(rules, "kim", Window(NOW + 4 * H, NOW + 5 * H), 4, held)  # after them
    check_at_once(rules, "kim", Window(NOW, NOW + H), 1, held)
    with pytest.raises(RuleRefusedError) as exc:
        check_at_once(rules, "kim", Window(NOW + H, NOW + 2 * H), 2, held)
    assert refusal(exc) == ("max_gpus_at_once", "4 GPUs", "5 GPUs")
    cancelled = [booking(NOW, 4, BookingStatus.CANCELLED) for _ in range(3)]
    check_at_once(rules, "kim", Window(NOW, NOW + H), 4, cancelled)


def test_weeks_start_monday_utc() -> None:
    assert week_start(NOW) == datetime(2026, 11, 30, tzinfo=UTC)
    span = Window(datetime(2026, 12, 6, 20, tzinfo=UTC), datetime(2026, 12, 7, 4, tzinfo=UTC))
    assert [w.start.day for w in weeks_of(span)] == [30, 7]


def test_quota_weighted_by_model() -> None:
    rules = BookingRules(weekly_quota_gpu_hours=20.0)
    window = Window(NOW + H, NOW + 7 * H)  # 6 h
    check_quota(rules, "kim", window, ["NVIDIA RTX A4000"] * 3, [])  # 18 weighted h
    check_quota(rules, "kim", window, ["NVIDIA A40"], [])  # 6 h x 3 = 18 weighted h
    with pytest.raises(RuleRefusedError) as exc:  # + 6 h already booked = 24
        check_quota(rules, "kim", window, ["NVIDIA A40"], [(window, "NVIDIA RTX A4000")])
    assert refusal(exc) == ("weekly_quota_gpu_hours", "20 h", "24 h")
    assert "x3" in str(exc.value)


def test_quota_split_across_weeks() -> None:
    rules = BookingRules(weekly_quota_gpu_hours=10.0)
    sunday = datetime(2026, 12, 6, 18, tzinfo=UTC)
    used = [(Window(sunday - 6 * H, sunday), "NVIDIA RTX A4000")]  # 6 h this week
    # 12 h from Sunday 18:00: 6 h this week (12 in all: refused) ...
    with pytest.raises(RuleRefusedError):
        check_quota(rules, "kim", Window(sunday, sunday + 12 * H), ["A4000"], used)
    # ... 4 h this week, 8 next: both under 10
    check_quota(rules, "kim", Window(sunday + 2 * H, sunday + 14 * H), ["A4000"], used)


def test_no_quota_means_no_limit() -> None:
    check_quota(BookingRules(), "kim", Window(NOW, NOW + 72 * H), ["A40"] * 4, [])


def test_effective_status() -> None:
    b = booking(NOW, 2)
    assert effective_status(b, NOW - H) is BookingStatus.BOOKED
    assert effective_status(b, NOW) is BookingStatus.ACTIVE
    assert effective_status(b, NOW + 2 * H) is BookingStatus.FINISHED
    pending = booking(NOW, 2, BookingStatus.PENDING)
    assert effective_status(pending, NOW + H) is BookingStatus.PENDING
