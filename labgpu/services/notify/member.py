"""A member's own notifications (issue 17): where the lab reaches them, the test message, and
the messages kept for them (the app's notification list).

The CLI's ``labgpu notify`` and the app's settings page and bell both go through here, as the
member the lab was opened for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from labgpu.core import i18n
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.notify.events import InboxEntry, NotifySettings
from labgpu.services.notify.watch import MAX_LEAD_MINUTES
from labgpu.storage import Store


def check_settings(settings: NotifySettings) -> NotifySettings:
    """``settings`` as stored (the language in lower case); an address that is not one (a
    single mailbox; an http(s) URL with a host), an unknown language or a lead out of range
    is a ``UsageError``."""
    email = settings.email
    local, _at, domain = email.rpartition("@")
    if email and (
        not local or not domain or "@" in local or any(c.isspace() or c in ',;<>"' for c in email)
    ):
        raise UsageError(_("{email} is not an e-mail address").format(email=repr(email)))
    url = settings.webhook_url
    parts = urlsplit(url)
    if url and (
        parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in url)
    ):
        raise UsageError(_("a webhook is an http:// or https:// URL"))
    language = settings.language.strip().lower()
    if language not in ("", i18n.ENGLISH, *i18n.TRANSLATED):
        raise UsageError(
            _("{language} is not a language of labgpu's messages: use {known}").format(
                language=repr(settings.language), known=", ".join((i18n.ENGLISH, *i18n.TRANSLATED))
            )
        )
    if not 0 < settings.lead_minutes <= MAX_LEAD_MINUTES:
        raise UsageError(_("--lead takes minutes from 1 to {most}").format(most=MAX_LEAD_MINUTES))
    return replace(settings, language=language)


class NotifyService:
    """The signed-in member's notification settings, test message and kept messages."""

    def __init__(
        self,
        store: Store,
        user: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.user = user
        self.clock = clock

    def settings(self) -> NotifySettings:
        """The member's settings (the defaults where they saved none)."""
        return self.store.notify.settings(self.user)

    def save(self, settings: NotifySettings) -> NotifySettings:
        """Store ``settings`` as the member's own (another member's name is not theirs to
        write: the lab database refuses it); a bad value is a ``UsageError``."""
        return self.store.notify.save_settings(check_settings(settings), self.clock())

    def test(self) -> bool:
        """Queue a test message to the member; False if one was queued this minute."""
        return self.store.notify.enqueue_test(self.user, self.clock())

    def inbox(self, after_id: int = 0) -> list[InboxEntry]:
        """The lab's messages for the member newer than ``after_id``, newest last: what the
        collector would mail or post them (their own events; waiting requests of others for a
        PI or manager; offline servers for a manager). In a lab database the database chooses
        them by the login, not by ``user``."""
        return self.store.notify.inbox(self.user, after_id)
