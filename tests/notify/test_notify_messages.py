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
    assert rejected.body.endswith("was rejected by pia.\nReason: the A40s are promised")
    starts = render(ev.BOOKING_STARTS, PAYLOAD, "en")
    assert starts.subject == "labgpu: your booking starts at 2026-12-03 07:00 UTC"
    offline: dict[str, object] = {"server": "gpu-02", "state": "offline", "reason": "timed out",
               "since": "2026-12-02T08:00:00+00:00"}  # fmt: skip
    assert render(ev.SERVER_OFFLINE, offline, "en").body == (
        "Server gpu-02 has been offline since 2026-12-02 08:00 UTC (timed out)."
    )


def test_every_text_is_marked_for_the_catalogue() -> None:
    marked = source_messages()
    missing = [m for m in message_ids() if m not in marked]
    assert missing == []
    assert set(messages._TEXTS) == set(ev.KINDS)  # noqa: SLF001 — a subject and a body each
    # ...plus a failed job's bodies by state, the project line and the unknown owner.
    assert len(message_ids()) == 2 * len(ev.KINDS) + 3 + 1 + 1


def test_intruder_idle_and_job_texts_from_the_facts() -> None:
    intruder: dict[str, object] = {
        "gpu": "gpu05:2",
        "group": "g-7",
        "intruder": "lee",
        "who": "lee",
        "pids": [4242, 4243],
        "since": "2026-12-02T07:58:20+00:00",
    }
    told = render(ev.GPU_INTRUDER, intruder, "en", "kim")
    assert told.subject == "labgpu: someone uses GPU gpu05:2 you hold"
    assert told.body.startswith(
        "lee runs process(es) 4242, 4243 on GPU gpu05:2, which your booking holds, "
        "since 2026-12-02 07:58 UTC."
    )
    container: dict[str, object] = {
        **intruder,
        "intruder": None,
        "container": "vit-train",
        "who": "unknown (container vit-train)",
    }
    assert render(ev.GPU_INTRUDER, container, "en").body.startswith(
        "someone unknown (container vit-train) runs process(es) 4242, 4243"
    )
    idle = {**PAYLOAD, "since": "2026-12-03T07:10:00+00:00", "release": "2026-12-03T08:10:00+00:00"}
    assert render(ev.BOOKING_IDLE, idle, "en").body == (
        "Your booking of gpu-03:0, gpu-03:1 (2026-12-03 07:00 UTC to 2026-12-03 09:30 UTC) has "
        "sat idle since 2026-12-03 07:10 UTC.\n"
        "It will be released at 2026-12-03 08:10 UTC unless its GPUs get busy."
    )
    job: dict[str, object] = {
        "job": "run-kim-1",
        "id": 3,
        "on": "lab",
        "where": "gpu05",
        "user": "kim",
        "state": "completed",
        "exit_code": 0,
        "started": "2026-12-02T07:00:00+00:00",
        "ended": "2026-12-02T09:15:42+00:00",
        "project": None,
        "reason": "",
    }
    ended = render(ev.JOB_ENDED, job, "en")
    assert ended.subject == "labgpu: your job run-kim-1 ended"
    assert ended.body == (
        "Your job run-kim-1 on gpu05 ended at 2026-12-02 09:15 UTC "
        "(started 2026-12-02 07:00 UTC), exit code 0."
    )
    timeout: dict[str, object] = {
        **job,
        "on": "cluster",
        "where": "neuron",
        "state": "timeout",
        "exit_code": None,
        "project": "vit-grant",
        "reason": "TIMEOUT",
    }
    failed = render(ev.JOB_FAILED, timeout, "en")
    assert failed.subject == "labgpu: your job run-kim-1 failed"
    assert failed.body == (
        "Your job run-kim-1 on neuron ran out of time at 2026-12-02 09:15 UTC "
        "(started 2026-12-02 07:00 UTC).\nProject: vit-grant\nTIMEOUT"
    )
    cancelled = render(ev.JOB_FAILED, {**job, "state": "cancelled", "exit_code": None}, "en")
    assert cancelled.body == (
        "Your job run-kim-1 on gpu05 was cancelled at 2026-12-02 09:15 UTC "
        "(started 2026-12-02 07:00 UTC)."
    )  # no reason: no empty last line
    nonzero = render(ev.JOB_FAILED, {**job, "exit_code": 3, "reason": "exit status 3"}, "en")
    assert nonzero.body == (
        "Your job run-kim-1 on gpu05 ended at 2026-12-02 09:15 UTC "
        "(started 2026-12-02 07:00 UTC) with exit code 3.\nexit status 3"
    )
    crashed = render(ev.JOB_FAILED, {**job, "state": "failed", "exit_code": 3}, "en")
    assert crashed.body.startswith("Your job run-kim-1 on gpu05 failed at 2026-12-02 09:15 UTC")
    assert "exit code 3." in crashed.body


def test_the_job_rule_and_the_final_states_agree_with_the_offload_core() -> None:
    from labgpu.core.offload.jobs import FINAL_STATES

    assert set(ev.FINAL_JOB_STATES) == {s.value for s in FINAL_STATES}
    assert ev.job_change_kind("running", "completed", 0) == ev.JOB_ENDED
    assert ev.job_change_kind("running", "completed", None) == ev.JOB_ENDED
    assert ev.job_change_kind("running", "completed", 1) == ev.JOB_FAILED
    assert ev.job_change_kind("queued", "cancelled", None) == ev.JOB_FAILED
    assert ev.job_change_kind("running", "timeout", None) == ev.JOB_FAILED
    assert ev.job_change_kind(None, "failed", 2) == ev.JOB_FAILED  # inserted final
    assert ev.job_change_kind("running", "unknown", None) is None
    assert ev.job_change_kind("completed", "failed", 1) is None  # final already
    assert ev.job_change_kind("failed", "failed", 1) is None


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


def test_a_korean_reader_gets_the_job_state_and_unknown_owner_in_korean(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = Catalog(locale="ko")
    catalog.add(
        "Your job {job} on {where} ran out of time at {ended} (started {started}).{project}\n"
        "{reason}",
        "{where}의 작업 {job}이(가) 시간 제한으로 {ended}에 끝났습니다({started} 시작).{project}\n"
        "{reason}",
    )
    catalog.add("someone unknown (container {name})", "알 수 없는 사용자 (컨테이너 {name})")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    korean = gettext.GNUTranslations(buffer)
    monkeypatch.setattr(messages, "translator", lambda lang: korean)
    job: dict[str, object] = {
        "job": "j",
        "where": "neuron",
        "state": "timeout",
        "ended": "",
        "started": "",
    }
    assert (
        render(ev.JOB_FAILED, job, "ko").body
        == "neuron의 작업 j이(가) 시간 제한으로 ?에 끝났습니다(? 시작)."
    )
    who: dict[str, object] = {
        "gpu": "gpu05:2",
        "container": "vit",
        "who": "unknown (container vit)",
        "pids": [1],
    }
    assert render(ev.GPU_INTRUDER, who, "ko").body.startswith("알 수 없는 사용자 (컨테이너 vit)")
