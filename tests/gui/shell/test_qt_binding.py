"""The Qt binding in use does not corrupt the interpreter.

PySide6-Essentials 6.12.0 on CPython 3.11 dropped one reference to ``None`` on every call that
returns nothing; a GUI session then aborts with "deallocating None" after some minutes. This
test fails on such a binding before a person meets the crash.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_calls_returning_nothing_keep_none_alive() -> None:
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        obj.setObjectName("x")
    after = sys.getrefcount(None)
    assert after >= before - 50, f"None lost {before - after} references in 1000 Qt calls"
