"""Messages built outside the GUI (core, storage, remote, services, demo, CLI) come from one
catalogue: every one has a Korean translation, the shipped .mo is current, and the app's and
the CLI's language choose what a person reads.

To update after changing messages (``_()``, ``N_()``, ``ngettext`` in those packages)::

    .venv/bin/pybabel extract --no-location --sort-output --project labgpu \
        -o /tmp/messages.pot labgpu/core labgpu/storage labgpu/remote labgpu/services \
        labgpu/demo labgpu/cli
    .venv/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -l ko \
        -i /tmp/messages.pot -o resources/translations/messages_ko.po
    # translate the new (empty) entries in messages_ko.po, then:
    .venv/bin/pybabel compile -l ko -i resources/translations/messages_ko.po \
        -o resources/translations/messages_ko.mo
"""

from __future__ import annotations

import io
import os
import socket
import string
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from labgpu.core import i18n
from labgpu.core.booking.rules import RuleRefusedError
from labgpu.core.errors import UnreachableError
from labgpu.core.inventory.servers import GpuReading, SshTarget
from labgpu.remote.ssh import SshPool
from labgpu.services.booking.service import BookingService
from labgpu.storage import Store
from labgpu.storage.labdb_rules import RULE_REFUSED, rule_refusal

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "storage", "remote", "services", "demo", "cli")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def shipped() -> Catalog:
    with i18n.catalogue_source_path("ko").open("rb") as file:
        return read_po(file, locale="ko")


def source_messages() -> set[str]:
    """Every message marked in the packages below the GUI, as ``pybabel extract`` finds it."""
    found = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "labgpu" / package
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def placeholders(text: str) -> list[str]:
    return sorted(name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name)


def test_every_message_is_translated() -> None:
    wanted = source_messages()
    catalogue = shipped()
    assert len(wanted) > 50
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id: m
        for m in catalogue
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    missing = sorted(wanted - set(translated))
    assert not missing, f"untranslated in messages_ko.po (see this module's docstring): {missing}"
    stale = sorted(set(translated) - wanted)
    assert not stale, f"in messages_ko.po but no longer in the code (run pybabel update): {stale}"


def test_translations_keep_placeholders() -> None:
    for message in shipped():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for translation in strings:
            assert placeholders(translation) == placeholders(ids[-1]), message.id


def test_compiled_mo_matches_po() -> None:
    fresh = io.BytesIO()
    write_mo(fresh, shipped())
    assert i18n.catalogue_path("ko").read_bytes() == fresh.getvalue(), (
        "messages_ko.mo is stale: run pybabel compile (see this module's docstring)"
    )


def test_language_from_the_locale() -> None:
    assert i18n.locale_language({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert i18n.locale_language({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}) == "en"
    assert i18n.locale_language({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}) == "ko"
    assert i18n.locale_language({}) == "en"
    assert i18n.set_language("de_DE") == "en"
    assert i18n.set_language("ko_KR.UTF-8") == "ko"


@pytest.fixture
def me(tmp_path: Path) -> BookingService:
    store = Store(f"sqlite:///{tmp_path / 'lab.db'}")
    store.upgrade()
    readings = [
        GpuReading(i, f"gpu-01-{i}", "NVIDIA RTX A4000", 16376, 0, 0, 30, 50) for i in (0, 1)
    ]
    store.inventory.register_server("gpu-01", SshTarget("gpu-01"), readings, "admin")
    return BookingService(store, "tester", lambda: NOW)


def refusal(service: BookingService) -> str:
    ids = [g.id for g in service.store.inventory.list_gpus() if g.id is not None]
    with pytest.raises(RuleRefusedError) as refused:
        service.book(ids, NOW + H, NOW + 100 * H)  # longer than the 72 h a booking may last
    service.store.close()
    return str(refused.value)


def test_a_rule_refusal_reads_in_english_by_default(me: BookingService) -> None:
    assert refusal(me).startswith("a booking may last at most 72 h, this one lasts 99 h;")


def test_a_rule_refusal_reads_in_korean(me: BookingService) -> None:
    i18n.set_language("ko")
    assert refusal(me).startswith("예약은 최대 72 h까지인데 이 예약은 99 h입니다.")


def test_the_lab_databases_refusal_reads_in_the_apps_language() -> None:
    english = "u would hold 5 GPUs at once between …; the limit is 4; book fewer GPUs …"
    orig = SimpleNamespace(
        sqlstate=RULE_REFUSED,
        diag=SimpleNamespace(
            message_primary=english,
            message_detail='{"rule": "max_gpus_at_once", "limit": "4 GPUs", "current": "5 GPUs"}',
        ),
    )
    refused = rule_refusal(orig)
    assert refused is not None
    assert str(refused) == english
    i18n.set_language("ko")
    refused = rule_refusal(orig)
    assert refused is not None
    assert (refused.rule, refused.limit) == ("max_gpus_at_once", "4 GPUs")
    assert str(refused).startswith("이 예약으로 GPU 5개를 동시에 쓰게 됩니다. 한도는 4개입니다.")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("C.UTF-8", "is not after the start"), ("ko_KR.UTF-8", "보다 늦지 않습니다")],
)
def test_the_cli_follows_the_locale(tmp_path: Path, lang: str, expected: str) -> None:
    """The real ``labgpu`` entry point: an end before the start is refused in the locale's
    language (exit 2, the CLI contract)."""
    env = {**os.environ, "LANG": lang, "LABGPU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    labgpu = Path(sys.executable).with_name("labgpu")
    db = subprocess.run([labgpu, "db", "upgrade"], env=env, capture_output=True, check=False)
    assert db.returncode == 0, db.stderr.decode()
    start, end = (NOW + timedelta(days=400)).isoformat(), (NOW + timedelta(days=399)).isoformat()
    proc = subprocess.run(
        [labgpu, "book", "--gpu", "gpu-01:0", "--start", start, "--until", end],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr


def test_a_usage_range_backwards_is_refused_in_korean(tmp_path: Path) -> None:
    """The real ``labgpu usage`` under a Korean locale: --to before --from is a usage error
    (exit 2) that says so in Korean."""
    env = {**os.environ, "LANG": "ko_KR.UTF-8"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    labgpu = Path(sys.executable).with_name("labgpu")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade = subprocess.run(
        [labgpu, "--db", db, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "최신 스키마입니다" in upgrade.stdout
    proc = subprocess.run(
        [labgpu, "--db", db, "usage", "--from", "2026-03-02", "--to", "2026-03-01"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "보다 앞서야 합니다" in proc.stderr
    assert "must be before" not in proc.stderr


def test_an_ssh_connection_error_reads_in_korean(tmp_path: Path) -> None:
    """A server that refuses the connection (a closed port on this machine), in the app's
    language once it is Korean."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    pool = SshPool(tmp_path / "known_hosts", home=tmp_path, use_agent=False, connect_timeout=5)
    i18n.set_language("ko")
    with pytest.raises(UnreachableError) as refused:
        pool.connect(SshTarget("127.0.0.1", port, "nobody"))
    assert str(refused.value) == (
        f"127.0.0.1:{port}: 연결이 거부되었습니다 — sshd가 실행 중이고 포트가 맞습니까?"
    )
