"""The two channels: e-mail over SMTP and chat webhooks (issue 17).

Both send a delivery under its own id — ``Message-ID: <delivery-ID@labgpu>`` and the webhook's
``Idempotency-Key`` header — so a delivery sent again after a sender was killed can be
recognised by a receiver that deduplicates.
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import ssl
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.error import URLError

from labgpu.core.notify.events import Delivery
from labgpu.core.notify.messages import Message
from labgpu.services.notify.config import NotifyConfig


class ChannelError(Exception):
    """A channel did not take a message; ``broken``: the channel itself failed (connect,
    login), so the rest of its batch waits too."""

    def __init__(self, message: str, broken: bool = False) -> None:
        super().__init__(message)
        self.broken = broken


def single_address(address: str) -> str:
    """``address`` if it is one plain ``user@host`` (no name, list, or line break: a member's
    address must not add recipients or headers); else ``ValueError``."""
    name, addr = parseaddr(address)
    if name or addr != address or addr.count("@") != 1 or any(c in addr for c in ",;<>\r\n "):
        raise ValueError("not one plain e-mail address")
    return addr


def message_id(delivery_id: int) -> str:
    """The delivery's own id, the same every time it is sent."""
    return f"<delivery-{delivery_id}@labgpu>"


class SmtpChannel:
    """One SMTP connection, opened on first use and kept for the batch."""

    def __init__(self, config: NotifyConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if not c.smtp_host:
            raise ChannelError("no smtp_host in the [notify] settings", broken=True)
        try:
            smtp: smtplib.SMTP
            context = ssl.create_default_context(cafile=c.ca_file or None)
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    c.smtp_host, c.smtp_port, timeout=c.timeout_s, context=context
                )
            else:
                smtp = smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=c.timeout_s)
                if c.security == "starttls":
                    smtp.starttls(context=context)
            if c.smtp_user:
                smtp.login(c.smtp_user, c.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP {c.smtp_host}:{c.smtp_port}: {exc}", broken=True) from exc
        return smtp

    def send(self, delivery: Delivery, message: Message) -> None:
        """Hand the mail to the server; returns once it accepted it."""
        mail = EmailMessage()
        try:
            mail["From"] = self.config.sender
            mail["To"] = single_address(delivery.address)
            mail["Subject"] = message.subject
            mail["Message-ID"] = message_id(delivery.id)
            mail.set_content(message.body)
        except ValueError as exc:  # a line break or a list in an address a member typed
            raise ChannelError(f"cannot mail {delivery.address!r}: {exc}") from exc
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"SMTP refused {delivery.address}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ChannelError(f"SMTP {self.config.smtp_host}: {exc}", broken=True) from exc

    def close(self) -> None:
        """Say goodbye to the server (errors ignored: the mails are sent or not already)."""
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


class WebhookChannel:
    """Slack's incoming-webhook JSON (``{"text": ...}``; Mattermost, Rocket.Chat take it too)."""

    def __init__(self, timeout_s: float, hosts: tuple[str, ...] = ()) -> None:
        self.timeout_s = timeout_s
        self.hosts = hosts  # empty: any host

    def send(self, delivery: Delivery, message: Message) -> None:
        """POST the message; returns once the receiver answered 2xx."""
        parts = urllib.parse.urlsplit(delivery.address)
        if parts.scheme not in ("http", "https") or (
            self.hosts and (parts.hostname or "").lower() not in self.hosts
        ):
            raise ChannelError(f"webhook {_host(delivery.address)}: not an allowed webhook host")
        body = json.dumps({"text": message.chat_text()}).encode()
        request = urllib.request.Request(
            delivery.address,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": message_id(delivery.id).strip("<>"),
                "User-Agent": "labgpu",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                status = response.status
        except (URLError, OSError, ValueError) as exc:
            raise ChannelError(f"webhook {_host(delivery.address)}: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook {_host(delivery.address)}: HTTP {status}")


def _host(url: str) -> str:
    """The host of a webhook URL (its path is a secret)."""
    return urllib.parse.urlsplit(url).netloc or "?"
