"""Notification texts, rendered from an event's facts in the reader's language (issue 17).

Texts are marked with ``N_`` here and translated when rendered, with the catalogue of the
recipient's language (not the process's: one sender writes to readers of several languages).
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from labgpu.core import i18n
from labgpu.core.i18n import N_
from labgpu.core.notify import events as ev


@dataclass(frozen=True, slots=True)
class Message:
    """A subject line and a plain-text body."""

    subject: str
    body: str

    def chat_text(self) -> str:
        """One chat message: the subject in bold, then the body (Slack's mrkdwn)."""
        return f"*{self.subject}*\n{self.body}"


_TEXTS: dict[str, tuple[str, str]] = {
    ev.REQUEST_PENDING: (
        N_("labgpu: {user} asks for {count} GPU(s)"),
        N_(
            "{user} asks for {gpus} from {start} to {end}.\n"
            "Approve with `labgpu approve {group}` or reject with "
            "`labgpu reject {group} --reason ...`."
        ),
    ),
    ev.REQUEST_APPROVED: (
        N_("labgpu: your request was approved"),
        N_("Your request for {gpus} from {start} to {end} was approved by {by}."),
    ),
    ev.REQUEST_REJECTED: (
        N_("labgpu: your request was rejected"),
        N_("Your request for {gpus} from {start} to {end} was rejected.\nReason: {reason}"),
    ),
    ev.BOOKING_RELEASED: (
        N_("labgpu: your idle booking was released"),
        N_(
            "Your booking of {gpus} ({start} to {end}) was released because its GPUs sat idle.\n"
            "{reason}"
        ),
    ),
    ev.BOOKING_STARTS: (
        N_("labgpu: your booking starts at {start}"),
        N_("Your booking of {gpus} starts at {start} and ends at {end}."),
    ),
    ev.BOOKING_ENDS: (
        N_("labgpu: your booking ends at {end}"),
        N_("Your booking of {gpus} ends at {end}; save your work or extend it."),
    ),
    ev.SERVER_OFFLINE: (
        N_("labgpu: server {server} is offline"),
        N_("Server {server} has been {state} since {since} ({reason})."),
    ),
    ev.TEST: (
        N_("labgpu: test message"),
        N_("This is a test message for {user}: notifications reach you here."),
    ),
}


@cache
def translator(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English, the source, for one without a catalogue)."""
    code = language.split("_")[0].split(".")[0].lower()
    if code not in i18n.TRANSLATED:
        return gettext.NullTranslations()
    try:
        with i18n.catalogue_path(code).open("rb") as file:
            return gettext.GNUTranslations(file)
    except OSError:  # an installation without compiled catalogues: English
        return gettext.NullTranslations()


def _time(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "?"
    try:
        return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return value


def _facts(payload: dict[str, object], user: str) -> dict[str, object]:
    gpus = payload.get("gpus")
    labels = [str(g) for g in gpus] if isinstance(gpus, list) else []
    return {
        "user": payload.get("user", user),
        "group": payload.get("group", ""),
        "gpus": ", ".join(labels) or "?",
        "count": len(labels),
        "start": _time(payload.get("start")),
        "end": _time(payload.get("end")),
        "since": _time(payload.get("since")),
        "reason": payload.get("reason") or "",
        "by": payload.get("by") or "",
        "server": payload.get("server", ""),
        "state": payload.get("state", ""),
    }


def render(kind: str, payload: dict[str, object], language: str, user: str = "") -> Message:
    """The message for an event of ``kind`` in ``language`` (``""``: English)."""
    subject, body = _TEXTS.get(kind, _TEXTS[ev.TEST])
    t = translator(language or i18n.ENGLISH)
    facts = _facts(payload, user)
    return Message(t.gettext(subject).format(**facts), t.gettext(body).format(**facts))


def message_ids() -> list[str]:
    """Every text this module renders (for tests: each is marked for translation)."""
    return [text for pair in _TEXTS.values() for text in pair]
