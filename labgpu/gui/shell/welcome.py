"""What a fresh database shows instead of an empty Live view."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from labgpu.gui.shell import resources


class WelcomeWidget(QWidget):
    """A short explanation and a big *Add a server* button."""

    add_server_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        logo = QLabel()
        logo.setPixmap(resources.icon("labgpu").pixmap(QSize(96, 96)))
        title = QLabel(self.tr("Welcome to labgpu"))
        title.setObjectName("welcomeTitle")
        body = QLabel(
            self.tr(
                "labgpu shows every GPU of your lab, live: who uses which GPU, how busy it is, "
                "and which ones are free.\n\nStart by adding a GPU server. labgpu connects to it "
                "over SSH, finds its GPUs with nvidia-smi and keeps watching them. Or look "
                "around a simulated lab first."
            )
        )
        body.setWordWrap(True)
        body.setFixedWidth(520)
        self.add_button = QPushButton(self.tr("Add a server…"))
        self.add_button.setObjectName("bigButton")
        self.add_button.clicked.connect(self.add_server_requested)
        self.demo_button = QPushButton(self.tr("Try the demo lab"))
        self.demo_button.setToolTip(
            self.tr("Open a second window on a simulated lab with bookings and history")
        )
        self.demo_button.setFlat(True)
        self.demo_button.setObjectName("linkButton")
        self.demo_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.demo_button.setStyleSheet(
            "#linkButton { color: #1f6f4a; text-decoration: underline; border: none; }"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        self._lay_out(logo, title, body)

    def _lay_out(self, logo: QLabel, title: QLabel, body: QLabel) -> None:
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (logo, title, body, self.add_button, self.demo_button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addSpacing(12)
        body.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        # an aligned layout item ignores height-for-width: give the wrapped text its height
        body.setMinimumHeight(max(0, body.heightForWidth(body.width())))
        layout.addStretch(2)
