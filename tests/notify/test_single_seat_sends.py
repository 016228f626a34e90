"""The single-seat shape (issue 17, point 4): no collector service, so the app's own background
collector sends the member's mail and chat messages while the app runs, from the same
``notify.toml`` a lab's collector reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from labgpu.core.notify.events import NotifySettings
from labgpu.services import Labgpu
from tests.helpers.booking_lab import seed_lab
from tests.helpers.notify_receivers import Hooks, Mailbox, hooks, poll, smtp
from tests.notify.test_notify_config import write

__all__ = ["hooks", "smtp"]  # the fixtures


def test_the_apps_own_collector_sends_a_reminder(smtp: tuple[Mailbox, int], hooks: Hooks) -> None:
    box, port = smtp
    write(
        f'[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsecurity = "none"\n'
        'sender = "gpus@lab.test"\nwebhook_hosts = ["127.0.0.1"]\n',
        0o600,
    )
    lab = Labgpu()
    lab.open()
    try:
        assert lab.is_single_seat
        gpus = seed_lab(lab.store)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        lab.bookings.book([gpus["gpu-01:0"]], start, start + timedelta(hours=1))
        lab.notify.save(NotifySettings(lab.user, "me@lab.test", hooks.url("me")))
        lab.inventory.start_collector(0.5)  # what the app starts in the single-seat shape
        poll(lambda: len(box.mails) == 1 and len(hooks.posts) == 1, 60, "the reminder")
        (mail,) = box.mails
        assert mail["To"] == "me@lab.test"
        assert mail["Subject"] == f"labgpu: your booking starts at {start:%Y-%m-%d %H:%M} UTC"
        (_path, _key, body) = hooks.posts[0]
        assert "your booking starts at" in body["text"]
    finally:
        lab.close()
    assert len(box.mails) == 1
    assert len(hooks.posts) == 1
