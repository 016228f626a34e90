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


def test_the_minute_job_forgets_sent_events_after_ninety_days_once_a_day(tmp_path: Path) -> None:
    from labgpu.services.notify.watch import KEEP, NotifyWatch

    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    now = datetime.now(UTC).replace(microsecond=0)
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test"), now)
    with store._write() as s:
        for name, age in (("old", KEEP + timedelta(days=1)), ("recent", timedelta(days=1))):
            enqueue(s, Event(ev.TEST, ev.MEMBER, "kim", f"test:{name}", {"user": "kim"}), now - age)
    # Expanded while fresh (a clock 100 days back): one delivery each, still pending.
    Sender(store.notify, NotifyConfig(), lambda: now - KEEP - timedelta(days=10)).expand()
    assert store.notify.prune(now - KEEP) == 0  # a delivery still to send: kept
    capture = Capture()
    assert (
        Sender(store.notify, NotifyConfig(), lambda: now, channels={ev.EMAIL: capture}).run().sent
        == 2
    )
    clock = [now]
    watch = NotifyWatch(store, lambda: clock[0], lambda: None)
    watch.run()
    assert [e.payload["user"] for e in store.notify.inbox("kim")] == ["kim"]  # the recent one
    assert store.notify.delivery_counts() == {"sent": 1}
    with store._write() as s:
        enqueue(s, Event(ev.TEST, ev.MEMBER, "kim", "test:older", {"user": "kim"}), now - KEEP * 2)
    Sender(store.notify, NotifyConfig(), lambda: now, channels={ev.EMAIL: capture}).run()
    clock[0] = now + timedelta(hours=1)
    watch.run()  # pruned less than a day ago: not yet
    assert len(store.notify.inbox("kim")) == 2
    clock[0] = now + timedelta(days=1)
    watch.run()
    assert len(store.notify.inbox("kim")) == 1
    store.close()


def test_a_retry_goes_to_the_address_as_it_is_now(tmp_path: Path) -> None:
    from labgpu.services.notify.channels import ChannelError

    class FailsOnce(Capture):
        def send(self, delivery: Delivery, message: Message) -> None:
            if not self.sent:
                self.sent.append(("refused", delivery.address))
                raise ChannelError("connection refused")
            super().send(delivery, message)

    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    now = datetime.now(UTC).replace(microsecond=0)
    store.notify.save_settings(NotifySettings("kim", "old@lab.test"), now)
    store.notify.save_settings(NotifySettings("lee", "lee@lab.test"), now)
    store.notify.enqueue(
        [Event(ev.TEST, ev.MEMBER, u, f"test:{u}", {"user": u}) for u in ("kim", "lee")]
    )
    channel = FailsOnce()
    clock = [now]
    sender = Sender(store.notify, NotifyConfig(), lambda: clock[0], channels={ev.EMAIL: channel})
    assert sender.run().sent == 1  # kim's first try refused, lee's sent
    store.notify.save_settings(NotifySettings("kim", "new@lab.test"), now)
    clock[0] = now + timedelta(minutes=1)
    assert sender.run().sent == 1
    assert channel.sent == [
        ("refused", "old@lab.test"),
        ("lee@lab.test", "labgpu: test message"),
        ("new@lab.test", "labgpu: test message"),
    ]
    store.notify.enqueue([Event(ev.TEST, ev.MEMBER, "kim", "test:kim2", {"user": "kim"})])
    assert sender.expand() == 1  # a delivery to new@lab.test waits…
    store.notify.save_settings(NotifySettings("kim", ""), now)  # …and kim removes the address
    assert sender.run().sent == 0
    assert len(channel.sent) == 3  # nothing went to the removed address
    assert store.notify.delivery_counts() == {"sent": 2, "failed": 1}
    store.close()
