"""Every string of the desktop app has a Korean translation, and the shipped .qm is current.

To update after changing strings::

    .venv/bin/pyside6-lupdate $(find labgpu/gui -name "*.py" | sort) -locations none -no-obsolete \
        -ts resources/translations/labgpu_ko.ts
    # translate the new (unfinished) entries, e.g. with .venv/bin/pyside6-linguist, then:
    .venv/bin/pyside6-lrelease resources/translations/labgpu_ko.ts
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labgpu.gui.shell import resources

GUI_SOURCES = Path(__file__).resolve().parents[3] / "labgpu" / "gui"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} not found next to {sys.executable}; reinstall PySide6"
    return str(path)


def messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    """(context, source) → the <translation> element."""
    found = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None
            found[(name, message.findtext("source", ""))] = translation
    return found


@pytest.fixture(scope="module")
def source_strings(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """Every translatable string in labgpu/gui, as lupdate finds it."""
    ts = tmp_path_factory.mktemp("lupdate") / "fresh.ts"
    subprocess.run(
        [
            tool("pyside6-lupdate"),
            *sorted(map(str, GUI_SOURCES.rglob("*.py"))),
            "-locations",
            "none",
            "-ts",
            str(ts),
        ],
        check=True,
        capture_output=True,
    )
    return set(messages(ts))


def test_every_string_is_translated(source_strings: set[tuple[str, str]]) -> None:
    shipped = messages(resources.translation_source_path("ko"))
    assert len(source_strings) > 50
    missing = sorted(source_strings - set(shipped))
    unfinished = sorted(
        k
        for k in source_strings
        if k in shipped
        and (
            shipped[k].get("type") in ("unfinished", "vanished", "obsolete") or not shipped[k].text
        )
    )
    assert not missing, f"not in labgpu_ko.ts (run lupdate): {missing}"
    assert not unfinished, f"untranslated in labgpu_ko.ts: {unfinished}"


def test_translations_keep_placeholders() -> None:
    for (context, source), translation in messages(resources.translation_source_path("ko")).items():
        expected = sorted(PLACEHOLDER.findall(source))
        assert sorted(PLACEHOLDER.findall(translation.text or "")) == expected, (context, source)


def test_compiled_qm_matches_ts(tmp_path: Path) -> None:
    fresh = tmp_path / "labgpu_ko.qm"
    subprocess.run(
        [tool("pyside6-lrelease"), str(resources.translation_source_path("ko")), "-qm", str(fresh)],
        check=True,
        capture_output=True,
    )
    shipped = resources.translation_path("ko")
    assert shipped.read_bytes() == fresh.read_bytes(), "labgpu_ko.qm is stale: run lrelease"
