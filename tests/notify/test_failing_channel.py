"""A channel that fails shows as failing to managers (issue 17, point 3): when the collector's
SMTP server refuses, managers are told once — by their webhook, and in the app's list — while
the members' webhooks still go; the same failure is not told again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from labgpu.core.inventory.servers import LabUser
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Event, NotifySettings
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.watch import NotifyWatch
from labgpu.storage import Store
from tests.helpers.notify_receivers import Hooks, free_port, hooks

__all__ = ["hooks"]  # the fixture

NOW = datetime(2026, 12, 3, 6, 50, tzinfo=UTC)


def test_managers_are_told_once_that_mail_fails(tmp_path: Path, hooks: Hooks) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    store.add_user(LabUser("lee", "Lee", "manager"), "lee")
    store.add_user(LabUser("kim", "Kim", "student"), "lee")
    store.notify.save_settings(NotifySettings("lee", "lee@lab.test", hooks.url("lee")), NOW)
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test"), NOW)
    store.notify.enqueue([Event(ev.TEST, ev.MEMBER, "kim", "test:kim", {"user": "kim"})])
    closed = free_port()  # nothing listens there: SMTP fails
    config = NotifyConfig(
        smtp_host="127.0.0.1", smtp_port=closed, security="none", webhook_hosts=("127.0.0.1",)
    )
    clock = [NOW]
    watch = NotifyWatch(store, lambda: clock[0], lambda: config)
    assert watch.run() == 0  # kim's mail failed
    told = [e for e in store.notify.inbox("lee") if e.kind == ev.NOTIFY_FAILING]
    assert len(told) == 1
    assert told[0].payload["channel"] == "email"
    assert "127.0.0.1" in str(told[0].payload["error"])
    assert [e.kind for e in store.notify.inbox("kim")] == [ev.TEST]  # managers only
    clock[0] += timedelta(seconds=31)
    watch.run()  # the manager's webhook takes it; the mail to them fails like the rest
    texts = [body["text"] for _path, _key, body in hooks.posts]
    assert texts == [
        "*labgpu: email notifications are failing*\n"
        f"The collector could not send email messages since 2026-12-03 06:50 UTC: "
        f"{told[0].payload['error']}\n"
        "It tries again with back-off; each delivery's state and last error are in the "
        "deliveries table."
    ]
    clock[0] += timedelta(minutes=5)
    watch.run()  # still failing, the same way: not told again
    assert len([e for e in store.notify.inbox("lee") if e.kind == ev.NOTIFY_FAILING]) == 1
    assert len(hooks.posts) == 1
    store.close()


def test_a_single_seat_user_is_told_as_its_manager(tmp_path: Path, hooks: Hooks) -> None:
    """A single seat has no roles in its ``users`` table: whoever uses it manages it, so the
    managers' events (a failing channel, a server offline) reach them and their list."""
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    store.notify.enqueue([Event(ev.TEST, ev.MEMBER, "root", "test:root", {"user": "root"})])
    config = NotifyConfig(
        smtp_host="127.0.0.1", smtp_port=free_port(), security="none", webhook_hosts=("127.0.0.1",)
    )
    store.notify.save_settings(NotifySettings("root", "root@lab.test", hooks.url("root")), NOW)
    watch = NotifyWatch(store, lambda: NOW, lambda: config)
    watch.run()  # the mail fails: root is told
    assert [e.kind for e in store.notify.inbox("root")] == [ev.TEST, ev.NOTIFY_FAILING]
    watch.run()
    assert any("email notifications are failing" in b["text"] for _p, _k, b in hooks.posts)
    store.close()
