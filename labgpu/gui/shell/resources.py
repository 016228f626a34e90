"""The one place that finds icons, style sheets and translations by name.

In a source checkout they live in ``resources/`` at the repository root; in an installed wheel
hatch force-includes that folder as ``labgpu/_resources``. An unknown name raises at once with a
message that says what was looked for and where, instead of silently showing nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

import labgpu


@cache
def resources_dir() -> Path:
    """The resources folder of this installation (wheel first, then the source checkout)."""
    package = Path(labgpu.__file__).resolve().parent
    for candidate in (package / "_resources", package.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"labgpu resources not found in {package / '_resources'} or {package.parent / 'resources'};"
        " reinstall labgpu"
    )


def _find(kind: str, name: str, suffix: str) -> Path:
    folder = resources_dir() / kind
    path = folder / f"{name}{suffix}"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob(f"*{suffix}"))
        raise KeyError(f"no {kind[:-1]} named {name!r} in {folder}; known: {', '.join(known)}")
    return path


def icon_path(name: str) -> Path:
    """Path of the SVG icon ``name`` (``resources/icons/NAME.svg``)."""
    return _find("icons", name, ".svg")


def icon(name: str) -> QIcon:
    """The SVG icon ``name`` as a QIcon."""
    return QIcon(str(icon_path(name)))


def stylesheet(name: str) -> str:
    """The Qt style sheet ``resources/styles/NAME.qss`` as text."""
    return _find("styles", name, ".qss").read_text(encoding="utf-8")


def translation_path(lang: str) -> Path:
    """The compiled translation for ``lang`` (e.g. ``ko``): ``translations/labgpu_LANG.qm``."""
    return _find("translations", f"labgpu_{lang}", ".qm")


def translation_source_path(lang: str) -> Path:
    """The Qt Linguist source for ``lang``: ``translations/labgpu_LANG.ts``."""
    return _find("translations", f"labgpu_{lang}", ".ts")
