"""Old news is not sent (issue 17): channels set up after months of use, or a sender down for
days, must not mail what happened long ago; it stays in the app's list. And an event written
for a change made at a known time (the demo's months of history) carries that time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Delivery, Event, NotifySettings
from labgpu.core.notify.messages import Message
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import STALE, Sender
from labgpu.storage import Store
from labgpu.storage.outbox import enqueue


class Capture:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, delivery: Delivery, message: Message) -> None:
        self.sent.append((delivery.address, message.subject))


def test_an_event_older_than_a_day_is_kept_for_the_list_but_not_sent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    now = datetime.now(UTC).replace(microsecond=0)
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test"), now)
    old = Event(ev.TEST, ev.MEMBER, "kim", "test:old", {"user": "kim"})
    new = Event(ev.TEST, ev.MEMBER, "kim", "test:new", {"user": "kim"})
    with store._write() as s:
        assert enqueue(s, old, now - STALE - timedelta(minutes=1))
        assert enqueue(s, new)
    capture = Capture()
    sender = Sender(store.notify, NotifyConfig(), lambda: now, channels={ev.EMAIL: capture})
    report = sender.run()
    assert (report.expanded, report.sent) == (1, 1)  # one delivery: the new event's
    assert capture.sent == [("kim@lab.test", "labgpu: test message")]
    assert store.notify.unexpanded() == []  # the old one is done with, not waiting
    listed = store.notify.inbox("kim")
    assert [e.created_at for e in listed] == sorted(e.created_at for e in listed)
    assert len(listed) == 2  # both in the app's list
    assert listed[0].created_at == now - STALE - timedelta(minutes=1)
    assert sender.run().sent == 0
    store.close()
