"""A page of the main window built the first time it is shown or asked for.

The Usage page draws with pyqtgraph and numpy, which take a third of a second to import:
building it on first use keeps them off the path to the first window (``bench/startup.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """Holds the place of the page ``factory`` makes, and makes it when first needed."""

    def __init__(self, factory: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._page: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def page(self) -> QWidget:
        """The page, made now if it was not yet."""
        if self._page is None:
            self._page = self._factory()
            layout = self.layout()
            assert layout is not None
            layout.addWidget(self._page)
        return self._page

    def is_built(self) -> bool:
        """True once the page exists."""
        return self._page is not None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        self.page()
        super().showEvent(event)
