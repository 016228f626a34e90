"""Notification texts (issue 17): rendered from the facts in English, and in Korean from the
Korean catalogue (each text is marked for it; the lead fills the catalogue)."""

from __future__ import annotations

import gettext
import io

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from labgpu.core.notify import events as ev
from labgpu.core.notify import messages
from labgpu.core.notify.messages import message_ids, render
from tests.test_messages import source_messages

PAYLOAD: dict[str, object] = {
    "group": "g-7",
    "user": "kim",
    "gpus": ["gpu-03:0", "gpu-03:1"],
    "start": "2026-12-03T07:00:00+00:00",
    "end": "2026-12-03T09:30:00+00:00",
    "reason": "rejected by pia: the A40s are promised",
    "by": "pia",
}


def test_english_texts_from_the_facts() -> None:
    pending = render(ev.REQUEST_PENDING, PAYLOAD, "")
    assert pending.subject == "labgpu: kim asks for 2 GPU(s)"
    assert pending.body.startswith(
        "kim asks for gpu-03:0, gpu-03:1 from 2026-12-03 07:00 UTC to 2026-12-03 09:30 UTC."
    )
    assert "`labgpu approve g-7`" in pending.body
    rejected = render(ev.REQUEST_REJECTED, PAYLOAD, "en")
    assert rejected.body.endswith("Reason: rejected by pia: the A40s are promised")
    starts = render(ev.BOOKING_STARTS, PAYLOAD, "en")
    assert starts.subject == "labgpu: your booking starts at 2026-12-03 07:00 UTC"
    offline = {"server": "gpu-02", "state": "offline", "reason": "timed out",
               "since": "2026-12-02T08:00:00+00:00"}  # fmt: skip
    assert render(ev.SERVER_OFFLINE, offline, "en").body == (
        "Server gpu-02 has been offline since 2026-12-02 08:00 UTC (timed out)."
    )


def test_every_text_is_marked_for_the_catalogue() -> None:
    marked = source_messages()
    missing = [m for m in message_ids() if m not in marked]
    assert missing == []
    assert len(message_ids()) == 2 * len(ev.KINDS)


def test_korean_readers_get_the_korean_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped Korean catalogue loads for a Korean reader (whatever the locale's spelling)...
    assert isinstance(messages.translator("ko_KR.UTF-8"), gettext.GNUTranslations)
    # ...and its translation is what they read (a catalogue holding one text stands in for it
    # until the lead fills the shipped one).
    catalog = Catalog(locale="ko")
    catalog.add("labgpu: your request was approved", "labgpu: 요청이 승인되었습니다")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    korean = gettext.GNUTranslations(buffer)
    english = gettext.NullTranslations()
    monkeypatch.setattr(messages, "translator", lambda lang: korean if lang == "ko" else english)
    assert render(ev.REQUEST_APPROVED, PAYLOAD, "ko").subject == "labgpu: 요청이 승인되었습니다"
    assert render(ev.REQUEST_APPROVED, PAYLOAD, "").subject == "labgpu: your request was approved"
