"""The notification list behind the bell (issue 17, point 4): every message the app tells, kept
until it is dismissed, across restarts.

Two sources feed it. The app's own: reminders before a booking starts or ends, the idle rule's
warnings, someone on a GPU you hold (``Notifier``), a job on a booking or on a cluster that ended.
And the lab's: what the collector would mail or post to this member (``lab.notify.inbox``:
decisions on their requests, servers offline for managers, …), read
every minute, so what happened while the app was closed is here when it opens. A message both
sources know (a booking starting, a job's end, a member on a GPU you hold) has the same key and
is kept once. A request waiting for a PI is announced, not kept: the Approvals page lists what
still waits (a kept one would stay after someone decided it); test messages are for the mail.

The list lives in the app's settings, one per database and member, at most ``KEEP`` messages
(the oldest go first) and remembers the last ``KEEP_DISMISSED`` dismissed keys, so a dismissed
message read again from the lab does not come back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from labgpu.core import i18n
from labgpu.core.booking.rules import Reminder, ReminderKind
from labgpu.core.notify import events as ev
from labgpu.core.notify.events import InboxEntry
from labgpu.core.notify.messages import render
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task
from labgpu.services import Labgpu

KEEP = 300
KEEP_DISMISSED = 2000
#: A first read of the lab's messages (a new install, another database) goes back this far.
FIRST_LOOK_BACK = timedelta(days=3)
CHECK_MS = 60_000
_REMINDER_KINDS = {
    ReminderKind.STARTS: ev.BOOKING_STARTS,
    ReminderKind.ENDS: ev.BOOKING_ENDS,
    ReminderKind.RELEASE: ev.BOOKING_IDLE,
    ReminderKind.INTRUDER: ev.GPU_INTRUDER,
}


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One kept message: ``key`` says what it is about (the same fact, the same key)."""

    key: str
    at: str  # UTC, ISO 8601: when it was told
    title: str
    body: str
    kind: str = ""

    @property
    def when(self) -> datetime:
        """``at`` as a datetime."""
        return datetime.fromisoformat(self.at)


def scope_of(labgpu: Labgpu) -> str:
    """Whose list: one per database and member."""
    return f"{labgpu.db_url}|{labgpu.user}"


def reminder_key(reminder: Reminder) -> str:
    """The key of an app reminder; a booking's start or end has the lab's event's key."""
    kind = _REMINDER_KINDS.get(reminder.kind, str(reminder.kind))
    if reminder.kind is ReminderKind.INTRUDER:  # once per booking, GPU and intruder
        return f"{kind}:{reminder.group_id}:{','.join(reminder.gpu_labels)}:{reminder.note}"
    return f"{kind}:{reminder.group_id}:{ev.utc_text(reminder.at)}"


def job_key(on: str, name: str) -> str:
    """The key of a job's end (``on``: ``lab`` or ``cluster``), told by the app or the lab."""
    return f"job:{on}:{name}"


def entry_key(entry: InboxEntry) -> str:
    """The key of a message the lab kept for this member."""
    payload = entry.payload
    if entry.kind == ev.BOOKING_STARTS:
        return f"{entry.kind}:{payload.get('group', '')}:{payload.get('start', '')}"
    if entry.kind == ev.BOOKING_ENDS:
        return f"{entry.kind}:{payload.get('group', '')}:{payload.get('end', '')}"
    if entry.kind in (ev.JOB_ENDED, ev.JOB_FAILED):
        return job_key(str(payload.get("on", "")), str(payload.get("job", "")))
    if entry.kind == ev.GPU_INTRUDER and payload.get("intruder"):
        group, gpu = payload.get("group", ""), payload.get("gpu", "")
        return f"{entry.kind}:{group}:{gpu}:{payload['intruder']}"
    return f"outbox:{entry.id}"


def entry_item(entry: InboxEntry, language: str) -> InboxItem:
    """A lab message as a kept item, in the app's language."""
    message = render(entry.kind, entry.payload, language, entry.user)
    title = message.subject.removeprefix("labgpu: ").strip()
    if entry.kind != ev.REQUEST_PENDING:  # that one starts with a login: kept as it is
        title = title[:1].upper() + title[1:]
    return InboxItem(
        entry_key(entry), ev.utc_text(entry.created_at), title, message.body, entry.kind
    )


class Inbox(QObject):
    """The kept messages of one database and member."""

    #: How many messages are kept now.
    changed = Signal(int)
    #: A message not seen before (the window shows it in the tray and the status bar).
    arrived = Signal(object)

    def __init__(self, settings: QSettings, scope: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._prefix = ""
        self._items: list[InboxItem] = []
        self._dismissed: list[str] = []
        self.open(scope)
        self._labgpu: Labgpu | None = None
        self._polling = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.poll)

    def open(self, scope: str) -> None:
        """Show the list of ``scope`` (a database and member: another one has its own)."""
        digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
        prefix = f"inbox/{digest}"
        if prefix == self._prefix:
            return
        self._prefix = prefix
        self._items = self._load_items()
        self._dismissed = self._load_list("dismissed")
        self.changed.emit(len(self._items))

    # -- the list ---------------------------------------------------------------------------

    def items(self) -> list[InboxItem]:
        """Kept messages, newest first (of two told in the same second, the one kept later)."""
        order = sorted(enumerate(self._items), key=lambda pair: (pair[1].at, pair[0]))
        return [item for _index, item in reversed(order)]

    def count(self) -> int:
        """How many messages are kept."""
        return len(self._items)

    def add(self, item: InboxItem) -> bool:
        """Keep ``item`` unless it is kept already or was dismissed; True if it is new."""
        if item.key in self._dismissed or any(i.key == item.key for i in self._items):
            return False
        self._items.append(item)
        if len(self._items) > KEEP:
            self._items = self.items()[:KEEP]
        self._save()
        self.arrived.emit(item)
        return True

    def tell(self, title: str, body: str, key: str = "", kind: str = "") -> bool:
        """Keep a message the app itself tells (now)."""
        now = ev.utc_text(datetime.now(UTC))
        return self.add(InboxItem(key or f"app:{now}:{title}:{body}", now, title, body, kind))

    def dismiss(self, key: str) -> None:
        """Drop one message for good."""
        self._items = [i for i in self._items if i.key != key]
        self._dismissed = (self._dismissed + [key])[-KEEP_DISMISSED:]
        self._save()

    def dismiss_all(self) -> None:
        """Drop every kept message for good."""
        keys = [i.key for i in self._items]
        self._items = []
        self._dismissed = (self._dismissed + keys)[-KEEP_DISMISSED:]
        self._save()

    # -- the lab's messages -----------------------------------------------------------------

    def start(self, labgpu: Labgpu) -> None:
        """Read the lab's messages for this member now and every minute."""
        self.open(scope_of(labgpu))
        self._labgpu = labgpu
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        """Stop reading."""
        self.timer.stop()

    def is_polling(self) -> bool:
        """True while a read runs (tests wait for it)."""
        return self._polling

    def poll(self) -> None:
        """Read the lab's messages newer than the last one read, on a worker."""
        labgpu = self._labgpu
        if labgpu is None or self._polling:
            return
        self._polling = True
        after = self.after_id()
        run_task(lambda: labgpu.notify.inbox(after), self._received, context=self)

    def _received(self, entries: list[InboxEntry] | None, error: BaseException | None) -> None:
        self._polling = False
        if error is not None:
            handle_error(None, error)  # the database away: the next minute tries again
            return
        first = self.settings.value(f"{self._prefix}/after_id") is None
        since = datetime.now(UTC) - FIRST_LOOK_BACK
        language = i18n.language()
        last = self.after_id()
        for entry in entries or []:
            last = max(last, entry.id)
            if entry.kind == ev.TEST or (first and entry.created_at < since):
                continue  # a test is for the channels; a first look brings up no old news
            if entry.kind == ev.REQUEST_PENDING:  # the Approvals page keeps what waits
                if not first:
                    item = entry_item(entry, language)
                    self.arrived.emit(InboxItem(item.key, item.at, item.title, ""))
                continue
            self.add(entry_item(entry, language))
        self.settings.setValue(f"{self._prefix}/after_id", last)

    def after_id(self) -> int:
        """The newest lab message already read."""
        try:
            return int(str(self.settings.value(f"{self._prefix}/after_id", 0)))
        except ValueError:
            return 0

    # -- storage ----------------------------------------------------------------------------

    def _load_list(self, name: str) -> list[str]:
        try:
            value = json.loads(str(self.settings.value(f"{self._prefix}/{name}", "[]")))
        except ValueError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    def _load_items(self) -> list[InboxItem]:
        try:
            raw = json.loads(str(self.settings.value(f"{self._prefix}/items", "[]")))
        except ValueError:
            return []
        items = []
        for value in raw if isinstance(raw, list) else []:
            try:
                items.append(InboxItem(**{k: str(v) for k, v in value.items()}))
            except (TypeError, AttributeError):
                continue  # a damaged entry is dropped, the rest kept
        return items

    def _save(self) -> None:
        self.settings.setValue(
            f"{self._prefix}/items", json.dumps([asdict(i) for i in self._items])
        )
        self.settings.setValue(f"{self._prefix}/dismissed", json.dumps(self._dismissed))
        self.changed.emit(len(self._items))
