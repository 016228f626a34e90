"""Day and month names follow the UI language (QLocale), messages built below the GUI reach
the window in its language, and changing the language offers a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyqtgraph.graphicsItems import DateAxisItem as date_axis
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from labgpu.core import i18n
from labgpu.core.booking.bookings import Window
from labgpu.core.booking.rules import RuleRefusedError
from labgpu.core.booking.slots import SlotOption
from labgpu.gui.booking.calendar_view import DAY
from labgpu.gui.booking.find_slot_dialog import option_text
from labgpu.gui.booking.my_bookings import window_text
from labgpu.gui.shell import settings as prefs
from labgpu.gui.shell import settings_page
from labgpu.gui.shell.main_window import CALENDAR, MainWindow
from labgpu.gui.widgets.date_axis import DateAxis

TUESDAY = datetime(2026, 12, 1, 10, 0).astimezone()  # local 10:00 on a Tuesday


@pytest.fixture
def korean() -> None:
    QLocale.setDefault(QLocale("ko"))  # reset by tests/gui/conftest.py


def test_day_names_are_english_by_default() -> None:
    window = Window(TUESDAY, TUESDAY + timedelta(days=1))
    assert window_text(window) == "Tue 12-01 10:00 – Wed 12-02 10:00"


@pytest.mark.usefixtures("korean")
def test_my_bookings_and_find_a_slot_name_days_in_korean() -> None:
    window = Window(TUESDAY, TUESDAY + timedelta(days=1))
    assert window_text(window) == "화 12-01 10:00 – 수 12-02 10:00"
    option = SlotOption(window.start, window.end, (1,), ("gpu-01",))
    assert option_text(option, {1: "gpu-01:0"}).startswith("화 12-01 10:00 → 수 12-02 10:00")


@pytest.mark.usefixtures("korean")
def test_calendar_header_names_the_day_in_korean(qtbot: QtBot, window: MainWindow) -> None:
    window.show_page(CALENDAR)
    page = window.calendar_page
    page.show_moment(TUESDAY.astimezone(UTC), DAY)
    assert page.title.text() == "2026-12-01 (화)"


@pytest.mark.usefixtures("korean")
def test_date_axes_name_months_and_days_in_korean() -> None:
    axis = DateAxis()
    stamp = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    axis.zoomLevel = date_axis.MONTH_DAY_ZOOM_LEVEL
    month = axis.zoomLevel.tickSpecs[0]
    assert axis.tickStrings([stamp], 1.0, month.spacing) == ["12월"]
    axis.zoomLevel = date_axis.DAY_HOUR_ZOOM_LEVEL
    day = axis.zoomLevel.tickSpecs[0]
    assert axis.tickStrings([stamp + 12 * 3600], 1.0, day.spacing)[0].startswith("화 ")


def test_the_language_setting_chooses_qlocale_and_the_messages() -> None:
    app = QApplication.instance()
    assert app is not None
    installed = prefs.install_translators(app, "ko")
    try:
        assert QLocale().language() == QLocale.Language.Korean
        assert i18n.language() == "ko"
        assert i18n._("choose at least one GPU") == "GPU를 하나 이상 고르세요"
    finally:
        for translator in installed:
            app.removeTranslator(translator)
    assert prefs.install_translators(app, "en") == []
    assert i18n.language() == "en"


def test_a_rule_refusal_reaches_the_korean_window_in_korean(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The booking dialog's inline refusal comes from the services' catalogue."""
    i18n.set_language("ko")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(RuleRefusedError, match="GPU를 하나 이상 고르세요"):
        window.labgpu.bookings.check([], tomorrow, tomorrow + timedelta(hours=2))


def test_changing_the_language_offers_a_restart(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    relaunched: list[bool] = []
    monkeypatch.setattr(settings_page, "relaunch", lambda: relaunched.append(True))
    page = window.settings_page
    page.language.setCurrentIndex(page.language.findData("ko"))
    box = page.restart_question
    assert box.isVisible()
    assert box.text() == "Restart labgpu now in 한국어?"
    next(b for b in box.buttons() if b.text() == "Later").click()
    qtbot.waitUntil(lambda: not box.isVisible())
    assert relaunched == []
    page.language.setCurrentIndex(page.language.findData("en"))
    box = page.restart_question
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() == "Restart").click()
    qtbot.waitUntil(lambda: relaunched == [True])
