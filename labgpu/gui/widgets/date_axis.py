"""pyqtgraph's date axis with day and month names in the UI language (``widgets.dates``)."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from pyqtgraph.graphicsItems import DateAxisItem as date_axis

from labgpu.gui.widgets.dates import local_text

#: pyqtgraph's tick formats with a day or month name, as ``QLocale`` patterns.
_PATTERNS = {"%a %d": "ddd dd", "%b": "MMM"}


class DateAxis(pg.DateAxisItem):
    """A ``pg.DateAxisItem`` whose day and month names follow ``QLocale()``."""

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        strings: list[str] = super().tickStrings(values, scale, spacing)
        spec = next((s for s in self.zoomLevel.tickSpecs if s.spacing == spacing), None)
        pattern = _PATTERNS.get(spec.format) if spec is not None else None
        if pattern is None:
            return strings
        shown: list[str] = []
        for value, text in zip(values, strings, strict=True):
            if not text:  # a date the platform cannot show
                shown.append(text)
                continue
            stamp = date_axis.adjustTimestampToPreferredUtcOffset(value, self.utcOffset)
            shown.append(local_text(date_axis.utcfromtimestamp(stamp), pattern))
        return shown
