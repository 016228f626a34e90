"""Booking values (core.booking.bookings): windows, live statuses, conflicts and their messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from labgpu.core.booking.bookings import (
    LIVE_STATUSES,
    Booking,
    BookingConflict,
    BookingConflictError,
    BookingStatus,
    Window,
    check_no_conflicts,
    find_conflicts,
)
from labgpu.core.errors import RefusedError


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def booking(
    gpu_id: int,
    start: datetime,
    end: datetime,
    *,
    user: str = "kim",
    status: BookingStatus = BookingStatus.BOOKED,
    group: str = "g1",
    booking_id: int = 1,
) -> Booking:
    return Booking(
        id=booking_id,
        group_id=group,
        gpu_id=gpu_id,
        user_name=user,
        window=Window(start, end),
        status=status,
        gpu_label=f"gpu-01:{gpu_id}",
    )


def test_live_statuses_are_those_that_hold_a_gpu() -> None:
    assert {str(s) for s in LIVE_STATUSES} == {"pending", "booked", "active"}
    assert BookingStatus("released") is BookingStatus.RELEASED


def test_back_to_back_windows_do_not_overlap() -> None:
    first, second = Window(at(10), at(12)), Window(at(12), at(14))
    assert not first.overlaps(second)
    assert not second.overlaps(first)
    assert first.overlaps(Window(at(11, 59), at(12, 1)))
    assert first.overlaps(Window(at(9), at(15)))  # containment
    assert first.overlaps(first)


def test_window_duration_and_contains() -> None:
    window = Window(at(10), at(12, 30))
    assert window.duration == timedelta(hours=2, minutes=30)
    assert window.contains(at(10))
    assert not window.contains(at(12, 30))


def test_naive_datetime_refused_with_clear_message() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        Window(datetime(2026, 12, 1, 10), at(12))
    with pytest.raises(ValueError, match="window end .* no time zone"):
        Window(at(10), datetime(2026, 12, 1, 12))


@pytest.mark.parametrize("end_hour", [10, 9])
def test_end_not_after_start_refused(end_hour: int) -> None:
    with pytest.raises(ValueError, match="not after its start"):
        Window(at(10), at(end_hour))


def test_window_is_converted_to_utc() -> None:
    seoul = ZoneInfo("Asia/Seoul")
    window = Window(
        datetime(2026, 12, 1, 19, tzinfo=seoul), datetime(2026, 12, 1, 21, tzinfo=seoul)
    )
    assert window.start == at(10)
    assert window.start.tzinfo is UTC
    assert window.describe() == "2026-12-01 10:00 to 12:00 UTC"


def test_window_across_dst_change_keeps_real_duration() -> None:
    # America/New_York falls back on 2026-11-01: 00:30 to 03:30 local is four real hours.
    ny = ZoneInfo("America/New_York")
    window = Window(
        datetime(2026, 11, 1, 0, 30, tzinfo=ny), datetime(2026, 11, 1, 3, 30, tzinfo=ny)
    )
    assert window.duration == timedelta(hours=4)


def test_describe_names_both_dates_across_midnight() -> None:
    window = Window(at(22), at(2, day=2))
    assert window.describe() == "2026-12-01 22:00 to 2026-12-02 02:00 UTC"
    fixed = timezone(timedelta(hours=5, minutes=30))
    odd = Window(datetime(2026, 12, 1, 15, 30, 15, tzinfo=fixed), at(11))
    assert odd.describe() == "2026-12-01 10:00:15 to 11:00 UTC"


def test_cancelled_and_ended_bookings_do_not_conflict() -> None:
    existing = [
        booking(2, at(10), at(12), status=status, booking_id=i)
        for i, status in enumerate(BookingStatus)
        if status not in LIVE_STATUSES
    ]
    assert find_conflicts([2], Window(at(11), at(13)), existing) == []


@pytest.mark.parametrize("status", sorted(LIVE_STATUSES))
def test_live_bookings_conflict(status: BookingStatus) -> None:
    held = booking(2, at(10), at(12), status=status)
    assert find_conflicts([2], Window(at(11), at(13)), [held]) == [held]


def test_back_to_back_booking_allowed() -> None:
    held = booking(2, at(10), at(12))
    assert find_conflicts([2], Window(at(12), at(14)), [held]) == []
    assert find_conflicts([2], Window(at(8), at(10)), [held]) == []


def test_other_gpus_do_not_conflict() -> None:
    held = booking(3, at(10), at(12))
    assert find_conflicts([1, 2], Window(at(10), at(12)), [held]) == []


def test_group_conflict_lists_every_clashing_gpu() -> None:
    existing = [
        booking(4, at(11), at(13), user="lee", group="b", booking_id=7),
        booking(2, at(10), at(12), user="kim", group="a", booking_id=5),
        booking(3, at(12), at(14), user="park", group="c", booking_id=6),  # back-to-back: fine
        booking(9, at(10), at(12), user="choi", group="d", booking_id=8),  # not requested
    ]
    clashes = find_conflicts([2, 3, 4], Window(at(9), at(12)), existing)
    assert [(b.gpu_id, b.user_name) for b in clashes] == [(2, "kim"), (4, "lee")]


def test_ignore_group_lets_a_group_be_extended_over_itself() -> None:
    own = booking(2, at(10), at(12), group="mine")
    assert find_conflicts([2], Window(at(10), at(14)), [own], ignore_group_id="mine") == []
    assert find_conflicts([2], Window(at(10), at(14)), [own]) == [own]


def test_conflict_error_message_names_gpu_holder_and_window() -> None:
    held = booking(2, at(10), at(12), user="kim")
    with pytest.raises(BookingConflictError) as caught:
        check_no_conflicts([2], Window(at(11), at(13)), [held])
    error = caught.value
    assert isinstance(error, RefusedError)
    assert error.exit_code == 3
    assert str(error) == (
        "GPU gpu-01:2 is booked by kim from 2026-12-01 10:00 to 12:00 UTC; "
        "choose another time or GPU"
    )
    assert error.conflicts == (BookingConflict.from_booking(held),)


def test_conflict_error_lists_all_clashes_and_pending_requests() -> None:
    existing = [
        booking(2, at(10), at(12), user="kim"),
        booking(3, at(9), at(11), user="lee", status=BookingStatus.PENDING, booking_id=2),
    ]
    with pytest.raises(BookingConflictError) as caught:
        check_no_conflicts([2, 3], Window(at(10, 30), at(11)), existing)
    message = str(caught.value)
    assert "GPU gpu-01:2 is booked by kim from 2026-12-01 10:00 to 12:00 UTC" in message
    assert "GPU gpu-01:3 is requested by lee (pending approval) from 2026-12-01 09:00" in message
    assert message.endswith("; choose another time or GPU")


def test_conflict_without_label_names_gpu_id() -> None:
    held = Booking(None, "g", 17, "kim", Window(at(10), at(12)))
    assert BookingConflict.from_booking(held).describe().startswith("GPU #17 is booked by kim")


def test_no_conflict_passes_silently() -> None:
    check_no_conflicts([1], Window(at(10), at(12)), [booking(2, at(10), at(12))])


def test_conflict_error_needs_a_conflict() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BookingConflictError([])
