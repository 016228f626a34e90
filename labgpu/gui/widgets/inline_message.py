"""The one-line message a page or dialog shows above or under its content: a hint, or a problem.

The app's style sheet colours it by object name: ``hint`` (grey) or ``inlineError`` (red). One
widget for every page, so that they all say things the same way (issue 14, point 6).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


class InlineMessage(QLabel):
    """A message line, word-wrapped unless ``wrap`` is False.

    By default each message is a hint or, with ``error``, a problem. A line made with
    ``problems_only`` says nothing but problems: red from the start, whatever ``error`` says.
    With ``hide_empty`` the line is hidden while it has nothing to say.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        problems_only: bool = False,
        hide_empty: bool = False,
        wrap: bool = True,
    ) -> None:
        super().__init__(parent)
        self._problems_only = problems_only
        self._hide_empty = hide_empty
        if problems_only:
            self.setObjectName("inlineError")
        if wrap:
            self.setWordWrap(True)
        if hide_empty:
            self.hide()

    def show_message(self, message: str, error: bool = False) -> None:
        """Show ``message`` (empty: nothing), a problem in red when ``error``."""
        self.setText(message)
        if not self._problems_only:
            self.setObjectName("inlineError" if error else "hint")
            self.style().unpolish(self)  # the style sheet picks the colour by object name
            self.style().polish(self)
        if self._hide_empty:
            self.setVisible(bool(message))

    def clear(self) -> None:
        """Say nothing (a hidden line when ``hide_empty``)."""
        self.show_message("")
