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
        N_("Your request for {gpus} from {start} to {end} was rejected by {by}.\nReason: {reason}"),
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
    ev.NOTIFY_FAILING: (
        N_("labgpu: {channel} notifications are failing"),
        N_(
            "The collector could not send {channel} messages since {since}: {error}\n"
            "It tries again with back-off; each delivery's state and last error are in the "
            "deliveries table."
        ),
    ),
    ev.BOOKING_IDLE: (
        N_("labgpu: your idle booking will be released"),
        N_(
            "Your booking of {gpus} ({start} to {end}) has sat idle since {since}.\n"
            "It will be released at {release} unless its GPUs get busy."
        ),
    ),
    ev.GPU_INTRUDER: (
        N_("labgpu: someone uses GPU {gpu} you hold"),
        N_(
            "{who} runs process(es) {pids} on GPU {gpu}, which your booking holds, "
            "since {since}.\nThe lab's intruder rule decides what happens to them."
        ),
    ),
    ev.JOB_ENDED: (
        N_("labgpu: your job {job} ended"),
        N_(
            "Your job {job} on {where} ended at {ended} (started {started}), "
            "exit code {exit_code}.{project}"
        ),
    ),
    ev.JOB_FAILED: (
        N_("labgpu: your job {job} failed"),
        N_(
            "Your job {job} on {where} failed at {ended} (started {started}), "
            "exit code {exit_code}.{project}\n{reason}"
        ),
    ),
    ev.TEST: (
        N_("labgpu: test message"),
        N_("This is a test message for {user}: notifications reach you here."),
    ),
}


#: A failed job's body by its final state (``failed``: the one in ``_TEXTS``); whole sentences,
#: so that each language words each its own way.
_JOB_FAILED_BODIES = {
    "completed": N_(
        "Your job {job} on {where} ended at {ended} (started {started}) with exit code "
        "{exit_code}.{project}\n{reason}"
    ),
    "cancelled": N_(
        "Your job {job} on {where} was cancelled at {ended} (started {started}).{project}\n{reason}"
    ),
    "timeout": N_(
        "Your job {job} on {where} ran out of time at {ended} (started {started}).{project}\n"
        "{reason}"
    ),
}
_PROJECT = N_("Project: {project}")
_UNKNOWN_OWNER = N_("someone unknown (container {name})")


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


def _facts(payload: dict[str, object], user: str, t: gettext.NullTranslations) -> dict[str, object]:
    gpus = payload.get("gpus")
    labels = [str(g) for g in gpus] if isinstance(gpus, list) else []
    pids = payload.get("pids")
    project = payload.get("project")
    return {
        "user": payload.get("user", user),
        "group": payload.get("group", ""),
        "gpus": ", ".join(labels) or "?",
        "count": len(labels),
        "start": _time(payload.get("start")),
        "end": _time(payload.get("end")),
        "since": _time(payload.get("since")),
        "reason": _reason(payload),
        "by": payload.get("by") or "",
        "server": payload.get("server", ""),
        "state": payload.get("state", ""),
        "gpu": payload.get("gpu", ""),
        "who": _who(payload, t),
        "pids": ", ".join(str(p) for p in pids) if isinstance(pids, list) else "?",
        "release": _time(payload.get("release")),
        "job": payload.get("job", ""),
        "channel": payload.get("channel", ""),
        "error": payload.get("error", ""),
        "where": payload.get("where", ""),
        "exit_code": "?" if payload.get("exit_code") is None else payload["exit_code"],
        "started": _time(payload.get("started")),
        "ended": _time(payload.get("ended")),
        "project": "\n" + t.gettext(_PROJECT).format(project=project) if project else "",
    }


def _reason(payload: dict[str, object]) -> object:
    """The reason as given: a rejection's stored reason starts ``rejected by NAME: ``, which the
    text already says."""
    reason = str(payload.get("reason") or "")
    return reason.removeprefix(f"rejected by {payload.get('by') or ''}: ")


def _who(payload: dict[str, object], t: gettext.NullTranslations) -> object:
    """The intruder by name; a process of an unknown owner by its container, in the reader's
    language."""
    if payload.get("intruder"):
        return payload["intruder"]
    if payload.get("container"):
        return t.gettext(_UNKNOWN_OWNER).format(name=payload["container"])
    return payload.get("who", "?")


def render(kind: str, payload: dict[str, object], language: str, user: str = "") -> Message:
    """The message for an event of ``kind`` in ``language`` (``""``: English)."""
    subject, body = _TEXTS.get(kind, _TEXTS[ev.TEST])
    if kind == ev.JOB_FAILED:
        body = _JOB_FAILED_BODIES.get(str(payload.get("state", "")), body)
    t = translator(language or i18n.ENGLISH)
    facts = _facts(payload, user, t)
    text = t.gettext(body).format(**facts).rstrip()  # no empty last line (no reason given)
    return Message(t.gettext(subject).format(**facts), text)


def message_ids() -> list[str]:
    """Every text this module renders (for tests: each is marked for translation)."""
    pairs = [text for pair in _TEXTS.values() for text in pair]
    return [*pairs, *_JOB_FAILED_BODIES.values(), _PROJECT, _UNKNOWN_OWNER]
