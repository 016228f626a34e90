"""The sender against a real PostgreSQL, a real SMTP server (aiosmtpd) and a real HTTP
server: every mail parsed back; a sender SIGKILLed mid-batch loses and repeats nothing; two
senders never send the same delivery; a refusing SMTP server backs off while webhooks go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Event, NotifySettings
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import FailureLog, Sender
from labgpu.storage import Store, db
from tests.helpers.notify_receivers import Hooks, Mailbox, free_port, hooks, smtp

__all__ = ["hooks", "smtp"]  # the fixtures

NOW = datetime(2026, 12, 3, 6, 50, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    db.upgrade(postgres_url)
    store = Store(postgres_url)
    yield store
    store.close()


def members(store: Store, count: int, hooks: Hooks | None = None) -> list[str]:
    """``count`` members with an address each (and a webhook each, given ``hooks``), and one
    test event each."""
    names = [f"m{i:02d}" for i in range(count)]
    for name in names:
        url = hooks.url(name) if hooks is not None else ""
        store.notify.save_settings(NotifySettings(name, f"{name}@lab.test", url), NOW)
    events = [Event(ev.TEST, ev.MEMBER, n, f"test:{n}", {"user": n}) for n in names]
    assert store.notify.enqueue(events) == count
    assert store.notify.enqueue(events) == 0  # the same events again: nothing new
    return names


def smtp_config(port: int, **more: object) -> NotifyConfig:
    return NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security="none", **more)  # type: ignore[arg-type]


def test_mails_and_webhooks_arrive_parsed_back(
    store: Store, smtp: tuple[Mailbox, int], hooks: Hooks
) -> None:
    box, port = smtp
    members(store, 3, hooks)
    report = Sender(store.notify, smtp_config(port, sender="lab@lab.test"), lambda: NOW).run()
    assert (report.expanded, report.sent, report.failing) == (6, 6, {})
    ids = box.ids()
    assert sorted(str(m["To"]) for m in box.mails) == [
        "m00@lab.test",
        "m01@lab.test",
        "m02@lab.test",
    ]
    first = box.mails[0]
    assert first["Subject"] == "labgpu: test message"
    assert first["From"] == "lab@lab.test"
    assert "This is a test message for m00" in first.get_content()
    assert len(set(ids)) == 3
    assert all(i.startswith("<delivery-") and i.endswith("@labgpu>") for i in ids)
    paths = sorted(path for path, _key, _body in hooks.posts)
    assert paths == ["/hooks/m00", "/hooks/m01", "/hooks/m02"]
    body = next(b for p, _k, b in hooks.posts if p == "/hooks/m01")
    assert body == {
        "text": "*labgpu: test message*\n"
        "This is a test message for m01: notifications reach you here."
    }
    assert store.notify.delivery_counts() == {"sent": 6}
    assert Sender(store.notify, smtp_config(port), lambda: NOW).run().sent == 0  # nothing twice


def test_a_muted_kind_and_a_member_without_address_get_nothing(
    store: Store, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    store.notify.save_settings(
        NotifySettings("quiet", "q@lab.test", muted=(ev.BOOKING_STARTS,)), NOW
    )
    events = [
        Event(ev.BOOKING_STARTS, ev.MEMBER, "quiet", "starts:g1", {"gpus": ["n1:0"]}),
        Event(ev.REQUEST_APPROVED, ev.MEMBER, "quiet", "approved:g1", {"gpus": ["n1:0"]}),
        Event(ev.REQUEST_APPROVED, ev.MEMBER, "nobody", "approved:g2", {"gpus": ["n1:1"]}),
    ]
    store.notify.enqueue(events)
    assert Sender(store.notify, smtp_config(port), lambda: NOW).run().sent == 1
    assert [str(m["Subject"]) for m in box.mails] == ["labgpu: your request was approved"]


def test_a_sender_killed_mid_batch_loses_and_repeats_nothing(
    store: Store, postgres_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    names = members(store, 10)
    box.hold_at = 5  # the fifth mail waits until the sender is dead, then is refused
    command = [sys.executable, "-m", "tests.helpers.notify_sender", postgres_url, str(port)]
    first = subprocess.Popen(command, cwd=ROOT)
    try:
        assert box.holding.wait(120), "the sender never reached the fifth mail"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(60)
    finally:
        first.kill()
    box.release.set()
    assert len(box.mails) == 4  # accepted before the kill
    counts = store.notify.delivery_counts()
    assert counts["sent"] == 4
    assert counts["sending"] >= 1
    second = subprocess.run(command, cwd=ROOT, timeout=180, check=True)
    assert second.returncode == 0
    to = Counter(str(m["To"]) for m in box.mails)
    assert to == Counter(f"{n}@lab.test" for n in names)  # each exactly once
    assert len(set(box.ids())) == 10
    assert store.notify.delivery_counts() == {"sent": 10}


def test_two_senders_at_once_never_send_the_same_delivery(
    store: Store, postgres_url: str, smtp: tuple[Mailbox, int], hooks: Hooks
) -> None:
    box, port = smtp
    members(store, 30, hooks)
    Sender(store.notify, smtp_config(port)).expand()
    start = threading.Barrier(2)
    stores = [Store(postgres_url), Store(postgres_url)]
    sent: list[int] = []

    def send(s: Store) -> None:
        sender = Sender(s.notify, smtp_config(port, batch=2))
        start.wait()
        sent.append(sender.run().sent)

    threads = [threading.Thread(target=send, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for s in stores:
        s.close()
    assert sum(sent) == 60
    assert len(box.ids()) == 30
    assert len(set(box.ids())) == 30
    assert len(hooks.keys()) == 30
    assert len(set(hooks.keys())) == 30
    assert store.notify.delivery_counts() == {"sent": 60}


def test_a_refusing_smtp_server_backs_off_while_webhooks_go(store: Store, hooks: Hooks) -> None:
    members(store, 3, hooks)
    clock = [NOW]
    closed = free_port()  # nothing listens there
    sender = Sender(store.notify, smtp_config(closed, max_attempts=3), lambda: clock[0])
    report = sender.run()
    assert report.sent == 3
    assert len(hooks.posts) == 3
    assert list(report.failing) == ["email"]
    assert report.retried == 3
    log = FailureLog()
    assert len(log.note(report)) == 1  # one line for the channel, not one per message
    assert log.note(report) == []  # the same failure is not repeated
    rows = _email_rows(store)
    assert {(a, n) for a, n, _e in rows} == {(1, NOW + timedelta(seconds=30))}
    assert all("127.0.0.1" in e for _a, _n, e in rows)
    assert sender.run().sent == 0  # not due yet: nothing tried
    assert {a for a, _n, _e in _email_rows(store)} == {1}
    clock[0] = NOW + timedelta(seconds=30)
    sender.run()
    assert {(a, n) for a, n, _e in _email_rows(store)} == {(2, clock[0] + timedelta(seconds=60))}
    clock[0] += timedelta(seconds=60)
    assert sender.run().given_up == 3
    assert store.notify.delivery_counts() == {"sent": 3, "failed": 3}


def _email_rows(store: Store) -> list[tuple[int, datetime, str]]:
    from sqlalchemy import text

    with store._read() as s:  # noqa: SLF001 — a test reads the rows as they are
        rows = s.execute(
            text("SELECT attempts, next_at, last_error FROM deliveries WHERE channel = 'email'")
        )
        return [(a, n, e) for a, n, e in rows]


@pytest.mark.parametrize(
    "address",
    ["victim@x.test\r\nBcc: all@x.test", "a@x.test, b@x.test", "Boss <boss@x.test>", "nobody"],
)
def test_an_address_that_would_add_recipients_fails_alone(
    store: Store, smtp: tuple[Mailbox, int], address: str
) -> None:
    box, port = smtp
    store.notify.save_settings(NotifySettings("bad", address), NOW)
    store.notify.save_settings(NotifySettings("good", "good@lab.test"), NOW)
    store.notify.enqueue(
        [Event(ev.TEST, ev.MEMBER, u, f"test:{u}", {"user": u}) for u in ("bad", "good")]
    )
    report = Sender(store.notify, smtp_config(port), lambda: NOW).run()
    assert report.sent == 1
    assert report.retried == 1
    assert [str(m["To"]) for m in box.mails] == ["good@lab.test"]
    assert [m["Bcc"] for m in box.mails] == [None]


def test_webhooks_go_only_to_the_hosts_the_lab_allows(
    store: Store, smtp: tuple[Mailbox, int], hooks: Hooks
) -> None:
    _box, port = smtp
    store.notify.save_settings(NotifySettings("inside", webhook_url=hooks.url("inside")), NOW)
    store.notify.save_settings(
        NotifySettings("prober", webhook_url="http://localhost:9/admin/reset"), NOW
    )
    store.notify.enqueue(
        [Event(ev.TEST, ev.MEMBER, u, f"test:{u}", {"user": u}) for u in ("inside", "prober")]
    )
    config = smtp_config(port, webhook_hosts=("127.0.0.1",))
    report = Sender(store.notify, config, lambda: NOW).run()
    assert report.sent == 1
    assert [path for path, _k, _b in hooks.posts] == ["/hooks/inside"]
    assert "not an allowed webhook host" in report.failing["webhook"]
