"""Dates as a person reads them: day and month names in the UI language, through ``QLocale``.

``strftime``'s ``%a`` and ``%b`` follow the C library's locale, which the app never sets (and
which is English on most machines); ``QLocale()`` is the app's default locale, set from the
language setting when the app starts (``settings.install_translators``).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime

#: A day and time in lists and tooltips: ``Tue 12-02 10:00``.
DAY_TIME = "ddd MM-dd HH:mm"


def local_text(moment: datetime, pattern: str) -> str:
    """``moment`` (its wall-clock fields, as ``strftime`` would use them) in the Qt date
    ``pattern`` of the default locale: ``ddd MM-dd HH:mm`` → ``Tue 12-02 10:00`` / ``화 12-02
    10:00``."""
    when = QDateTime(
        QDate(moment.year, moment.month, moment.day),
        QTime(moment.hour, moment.minute, moment.second),
    )
    return QLocale().toString(when, pattern)
