"""One message catalogue for every message built below the GUI (core, storage, remote, services,
CLI), in the app's language or, for the CLI, the locale's.

Standard ``gettext`` at run time (no Qt, nothing slow to import): messages are written in English
as ``_("... {name} ...").format(name=...)``; a module-level constant is marked with ``N_()`` and
translated where it is shown (``_(CONSTANT)``); a message with a count in it uses ``ngettext``.
The compiled catalogue ``translations/messages_LANG.mo`` sits beside the GUI's Qt translations
(``resources/`` in a checkout, ``labgpu/_resources/`` in a wheel); ``tests/test_messages.py``
says how to update it and checks that every message is translated.

The language is process-wide: the app sets it from its language setting when it starts, the CLI
from ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``. A language without a catalogue (or ``en``) shows the
English messages.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import labgpu

#: Languages with a catalogue, besides English (the messages' own language).
TRANSLATED = ("ko",)
ENGLISH = "en"
DOMAIN = "messages"

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def translations_dir() -> Path:
    """The ``translations`` folder of this installation (wheel first, then the checkout)."""
    package = Path(labgpu.__file__).resolve().parent
    for candidate in (package / "_resources", package.parent / "resources"):
        if (candidate / "translations").is_dir():
            return candidate / "translations"
    raise FileNotFoundError(
        f"labgpu translations not found in {package / '_resources'} or "
        f"{package.parent / 'resources'}; reinstall labgpu"
    )


def catalogue_path(lang: str) -> Path:
    """The compiled catalogue of ``lang``: ``translations/messages_LANG.mo``."""
    return translations_dir() / f"{DOMAIN}_{lang}.mo"


def catalogue_source_path(lang: str) -> Path:
    """The catalogue's source for ``lang``: ``translations/messages_LANG.po``."""
    return translations_dir() / f"{DOMAIN}_{lang}.po"


@cache
def _load(lang: str) -> gettext.NullTranslations:
    with catalogue_path(lang).open("rb") as file:
        return gettext.GNUTranslations(file)


def set_language(lang: str) -> str:
    """Show messages in ``lang`` (``ko``, ``ko_KR``, ``en``…) from now on; returns the language
    used: ``en`` for one without a catalogue."""
    global _current, _language
    code = lang.split("_")[0].split(".")[0].lower()
    if code in TRANSLATED:
        _current, _language = _load(code), code
    else:
        _current, _language = gettext.NullTranslations(), ENGLISH
    return _language


def language() -> str:
    """The language messages are shown in now (``en`` or ``ko``)."""
    return _language


def locale_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the locale, as the C library chooses it: the first of ``LC_ALL``,
    ``LC_MESSAGES`` and ``LANG`` that is set (``ko_KR.UTF-8`` → ``ko``; ``C`` → ``en``)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return ENGLISH if code in ("c", "posix") else code
    return ENGLISH


def _(message: str) -> str:
    """``message`` in the current language (itself in English)."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Marks a module-level constant for the catalogue; translate it where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for the count ``n``, in the current language."""
    return _current.ngettext(singular, plural, n)
