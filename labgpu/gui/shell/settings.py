"""The desktop app's own settings (language, refresh interval, window geometry).

They live in ``gui.ini`` in labgpu's config directory, so tests (which set
``LABGPU_CONFIG_DIR``) never touch a real user's settings.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QSettings, QTranslator

from labgpu.core import i18n
from labgpu.gui.shell import resources
from labgpu.services.platform.paths import config_dir

LANGUAGES = ("system", "en", "ko")
DEFAULT_REFRESH_S = 5
MIN_REFRESH_S = 2
MAX_REFRESH_S = 300


def open_settings() -> QSettings:
    """The app's settings file, ``<config dir>/gui.ini``."""
    return QSettings(str(config_dir() / "gui.ini"), QSettings.Format.IniFormat)


def language(settings: QSettings) -> str:
    """The chosen language: ``system`` (follow the locale), ``en`` or ``ko``."""
    value = str(settings.value("language", "system"))
    return value if value in LANGUAGES else "system"


def set_language(settings: QSettings, lang: str) -> None:
    """Store the language; it is applied the next time the app starts."""
    settings.setValue("language", lang if lang in LANGUAGES else "system")


def refresh_interval_s(settings: QSettings) -> int:
    """Seconds between two refreshes of the Live view."""
    try:
        value = int(str(settings.value("refresh_interval_s", DEFAULT_REFRESH_S)))
    except ValueError:
        return DEFAULT_REFRESH_S
    return min(max(value, MIN_REFRESH_S), MAX_REFRESH_S)


def set_refresh_interval_s(settings: QSettings, seconds: int) -> None:
    """Store the Live view's refresh interval."""
    settings.setValue("refresh_interval_s", min(max(seconds, MIN_REFRESH_S), MAX_REFRESH_S))


def effective_language(lang: str) -> str:
    """Resolve ``system`` to the system locale's language (``en`` when it is not translated)."""
    if lang == "system":
        lang = QLocale.system().name().split("_")[0]
    return lang if lang in LANGUAGES[1:] else "en"


def install_translators(app: QCoreApplication, lang: str) -> list[QTranslator]:
    """Use ``lang`` everywhere: labgpu's and Qt's own translations (keep the returned list
    alive), the messages built below the GUI (``labgpu.core.i18n``) and, for a chosen language,
    ``QLocale``'s day and month names."""
    if lang != "system":
        QLocale.setDefault(QLocale(effective_language(lang)))
    lang = effective_language(lang)
    i18n.set_language(lang)
    if lang == "en":
        return []
    installed = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name, folder in (
        (f"labgpu_{lang}", str(resources.resources_dir() / "translations")),
        (f"qtbase_{lang}", qt_dir),
    ):
        translator = QTranslator(app)
        if translator.load(name, folder) and app.installTranslator(translator):
            installed.append(translator)
    return installed
