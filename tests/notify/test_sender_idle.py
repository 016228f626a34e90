"""The sender with nothing to do (issue 17's benchmark: the collector's CPU with the sender idle
within 1.1x of without): one read asks whether anything waits, and only then does it recover,
expand and claim. Against a real PostgreSQL and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Event, NotifySettings
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import Sender
from labgpu.storage import Store
from tests.helpers.notify_receivers import Mailbox, free_port, smtp
from tests.notify.test_sender import store

__all__ = ["smtp", "store"]  # the fixtures


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs meanwhile."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


def config(port: int) -> NotifyConfig:
    return NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security="none")


def test_an_idle_sender_asks_one_question(store: Store, statements: list[str]) -> None:
    now = datetime.now(UTC)
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test"), now)
    sender = Sender(store.notify, config(free_port()), lambda: now)  # nobody listens there
    statements.clear()
    report = sender.run()
    assert (report.expanded, report.sent, report.failing) == (0, 0, {})
    assert len(statements) == 1, statements
    assert "FROM outbox" in statements[0]
    assert "FROM deliveries" in statements[0]


def test_work_is_an_event_to_expand_a_due_delivery_or_a_lapsed_claim(
    store: Store, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    now = datetime.now(UTC)
    notify = store.notify
    notify.save_settings(NotifySettings("kim", "kim@lab.test"), now)
    assert not notify.has_work(now)
    notify.enqueue([Event(ev.TEST, ev.MEMBER, "kim", "test:1", {"user": "kim"})])
    assert notify.has_work(now)  # an event to expand
    assert Sender(notify, config(port), lambda: now).run().sent == 1
    assert not notify.has_work(now)
    assert len(box.mails) == 1

    # A refusing channel: the delivery backs off, and is work again when its time comes.
    notify.enqueue([Event(ev.TEST, ev.MEMBER, "kim", "test:2", {"user": "kim"})])
    report = Sender(notify, config(free_port()), lambda: now).run()
    assert (report.sent, report.retried) == (0, 1)
    assert not notify.has_work(now)
    later = now + ev.backoff(1)
    assert notify.has_work(later)

    # Claimed by a sender that then died: work once its lease has run out.
    assert len(notify.claim(later, 10, timedelta(minutes=10))) == 1
    assert not notify.has_work(later + timedelta(minutes=9))
    lapsed = later + timedelta(minutes=10)
    assert notify.has_work(lapsed)
    assert Sender(notify, config(port), lambda: lapsed).run().sent == 1
    assert not notify.has_work(lapsed)
    assert notify.delivery_counts() == {"sent": 2}
    assert len(box.mails) == 2
