"""The collector's ``[notify]`` settings (issue 17): refused while others can read the file;
the SMTP password from the service account's keyring, used to log in to a real SMTP server;
the collector's minute job sending a reminder end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from labgpu.core.errors import ConfigError
from labgpu.core.notify.events import NotifySettings
from labgpu.services.booking.service import BookingService
from labgpu.services.notify import config as notify_config
from labgpu.services.notify.watch import NotifyWatch
from labgpu.storage import Store
from tests.helpers.booking_lab import seed_lab
from tests.helpers.notify_receivers import Mailbox, free_port

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def write(text: str, mode: int) -> Path:
    path = notify_config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_no_file_sends_nothing_and_a_readable_file_is_refused() -> None:
    assert notify_config.load() is None
    path = write('[notify]\nsmtp_host = "mail.lab.test"\nsmtp_password = "secret"\n', 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        notify_config.load()
    path.chmod(0o600)
    loaded = notify_config.load()
    assert loaded is not None
    assert (loaded.smtp_host, loaded.smtp_password, loaded.security) == (
        "mail.lab.test",
        "secret",
        "starttls",
    )
    write('[notify]\nwebhook_hosts = ["Hooks.Slack.com", "chat.lab.test"]\n', 0o600)
    loaded = notify_config.load()
    assert loaded is not None
    assert loaded.webhook_hosts == ("hooks.slack.com", "chat.lab.test")
    write('[notify]\nsecurity = "ssl3"\n', 0o600)
    with pytest.raises(ConfigError, match="starttls, tls or none"):
        notify_config.load()


@pytest.fixture
def auth_smtp() -> Iterator[tuple[Mailbox, int, list[tuple[bytes, bytes]]]]:
    box, port, logins = Mailbox(), free_port(), []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"from-the-keyring")

    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield box, port, logins
    finally:
        controller.stop()


def test_the_collector_sends_a_reminder_with_the_keyrings_password(
    tmp_path: Path,
    auth_smtp: tuple[Mailbox, int, list[tuple[bytes, bytes]]],
    file_keyring: object,
) -> None:
    box, port, logins = auth_smtp
    keyring.set_password(notify_config.KEYRING_SERVICE, "labgpu-mail", "from-the-keyring")
    write(
        f'[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsecurity = "none"\n'
        'smtp_user = "labgpu-mail"\nsender = "gpus@lab.test"\n',
        0o600,
    )
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    gpus = seed_lab(store)
    kim = BookingService(store, "kim", lambda: NOW)
    kim.book([gpus["gpu-01:0"]], NOW + timedelta(minutes=30), NOW + timedelta(hours=2))
    store.notify.save_settings(NotifySettings("kim", "kim@lab.test"), NOW)
    at = [NOW + timedelta(minutes=15)]  # 15 minutes before: the default lead is 10
    watch = NotifyWatch(store, lambda: at[0])
    assert watch.run() == 0
    at[0] = NOW + timedelta(minutes=21)
    assert watch.run() == 1
    assert watch.run() == 0  # the next minute: nothing again
    (mail,) = box.mails
    assert mail["To"] == "kim@lab.test"
    assert mail["From"] == "gpus@lab.test"
    assert mail["Subject"] == "labgpu: your booking starts at 2026-12-02 09:30 UTC"
    assert logins == [(b"labgpu-mail", b"from-the-keyring")]
    store.close()
