"""Events on a single seat's SQLite file (issue 17): the storage code writes them in the
transaction of the booking change; the collector's minute job writes the time-based ones once
(dedup keys), whatever the hour."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import NotifySettings
from labgpu.services.booking.service import BookingService
from labgpu.services.notify.watch import NotifyWatch, time_events
from labgpu.storage import Store
from tests.helpers.booking_lab import NOW, Clock, H, clock, gpus, kim, me, seed_lab

__all__ = ["clock", "gpus", "kim", "me"]  # the fixtures


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite lab, closed after the test."""
    s = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    s.upgrade()
    yield s
    s.close()


def outbox(store: Store) -> list[tuple[str, str, str, str, dict[str, object]]]:
    with store._read() as s:  # noqa: SLF001 — the test reads the rows as stored
        rows = s.execute(
            text("SELECT kind, audience, user_name, dedup_key, payload FROM outbox ORDER BY id")
        )
        return [(k, a, u, d, json.loads(p)) for k, a, u, d, p in rows]


def test_requests_and_decisions_are_enqueued_with_the_change(
    store: Store, gpus: dict[str, int], me: BookingService, kim: BookingService
) -> None:
    a40 = [gpus["gpu-03:0"], gpus["gpu-03:1"]]
    first = kim.book(a40, NOW + 2 * H, NOW + 4 * H)
    second = kim.book([gpus["gpu-03:0"]], NOW + 6 * H, NOW + 7 * H)
    kim.book([gpus["gpu-01:0"]], NOW + 2 * H, NOW + 3 * H)  # no approval needed: no event
    me.approve(first.group_id)
    me.reject(second.group_id, "the A40s are promised")
    rows = outbox(store)
    assert [(k, a, u, d) for k, a, u, d, _p in rows] == [
        ("request_pending", "deciders", "kim", f"request_pending:{first.group_id}"),
        ("request_pending", "deciders", "kim", f"request_pending:{second.group_id}"),
        ("request_approved", "member", "kim", f"request_approved:{first.group_id}"),
        ("request_rejected", "member", "kim", f"request_rejected:{second.group_id}"),
    ]
    assert rows[0][4] == {
        "group": first.group_id,
        "user": "kim",
        "gpus": ["gpu-03:0", "gpu-03:1"],
        "start": "2026-12-02T11:00:00+00:00",
        "end": "2026-12-02T13:00:00+00:00",
        "reason": "",
        "by": "",
    }
    assert rows[2][4]["by"] == "tester"
    assert rows[3][4]["reason"] == "rejected by tester: the A40s are promised"


def test_a_cancelled_request_is_not_a_rejection(
    store: Store, gpus: dict[str, int], kim: BookingService
) -> None:
    group = kim.book([gpus["gpu-03:0"]], NOW + 2 * H, NOW + 3 * H)
    kim.cancel(group.group_id)
    assert [k for k, *_rest in outbox(store)] == ["request_pending"]


def test_time_events_follow_each_members_lead_and_come_once(
    store: Store, gpus: dict[str, int], kim: BookingService, clock: Clock
) -> None:
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test", lead_minutes=30), NOW)
    group = kim.book([gpus["gpu-01:0"]], NOW + H, NOW + 2 * H)
    at = NOW + timedelta(minutes=29)  # 31 minutes before the start: not yet
    assert time_events(store, at) == []
    at = NOW + timedelta(minutes=31)
    (starts,) = time_events(store, at)
    assert starts.kind == ev.BOOKING_STARTS
    assert starts.dedup_key == f"starts:{group.group_id}:2026-12-02T10:00:00+00:00"
    watch = NotifyWatch(store, lambda: at, load_config=lambda: None)
    watch.run()
    watch.run()  # the next minute, or a restarted collector: nothing new
    NotifyWatch(store, lambda: at, load_config=lambda: None).run()
    at = NOW + H + timedelta(minutes=40)  # 20 minutes before the end
    NotifyWatch(store, lambda: at, load_config=lambda: None).run()
    kinds = [(k, d) for k, _a, _u, d, _p in outbox(store)]
    assert kinds == [
        ("booking_starts", f"starts:{group.group_id}:2026-12-02T10:00:00+00:00"),
        ("booking_ends", f"ends:{group.group_id}:2026-12-02T11:00:00+00:00"),
    ]


def test_a_server_offline_long_enough_is_told_to_managers(store: Store) -> None:
    seed_lab(store)
    since = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    with store._write() as s:  # noqa: SLF001 — the collector's own write, as it stores it
        s.execute(
            text("UPDATE servers SET state = 'offline', state_reason = 'timed out', "
                 "state_since = :since WHERE name = 'gpu-02'"),
            {"since": since.replace(tzinfo=None)},
        )  # fmt: skip
    assert time_events(store, since + timedelta(minutes=9), offline_minutes=10) == []
    (event,) = time_events(store, since + timedelta(minutes=10), offline_minutes=10)
    assert (event.kind, event.audience) == (ev.SERVER_OFFLINE, ev.MANAGERS)
    assert event.dedup_key == "offline:gpu-02:2026-12-02T08:00:00+00:00"
    assert event.payload["reason"] == "timed out"
