"""The strip that says the window shows the demo lab, with its *Reset demo* button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class DemoBanner(QWidget):
    """Shown above the pages in demo mode only."""

    reset_requested = Signal()

    def __init__(self, user: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoBanner")
        self.setStyleSheet(
            "#demoBanner { background: #e7f1ff; border-bottom: 1px solid #b6d4fe; }"
            "#demoBanner QLabel { color: #084298; }"
        )
        self.label = QLabel()
        self.set_user(user)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reset_button = QPushButton(self.tr("Reset demo"))
        self.reset_button.setToolTip(
            self.tr("Throw away every change made in the demo and generate the lab again")
        )
        self.reset_button.clicked.connect(self.reset_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reset_button)

    def set_user(self, user: str) -> None:
        """Say who the demo runs as (it may act as another member)."""
        self.label.setText(
            self.tr(
                "Demo lab: 13 simulated servers, 15 members and 90 days of generated history; "
                "no real server is contacted. You are {user}."
            ).format(user=user)
        )
