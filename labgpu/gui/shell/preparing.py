"""What the Live page shows while the lab is opened: the demo being generated, a database being
opened (and upgraded) — instead of a welcome screen that offers to add a server."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from labgpu.gui.shell import resources


class PreparingWidget(QWidget):
    """A title, what is happening, a busy bar that moves, and the step with the seconds so far.

    The work runs on a worker; this widget only shows it (the bar moving is the sign that the
    window answers)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preparing")
        logo = QLabel()
        logo.setPixmap(resources.icon("labgpu").pixmap(QSize(96, 96)))
        self.title = QLabel()
        self.title.setObjectName("welcomeTitle")
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setFixedWidth(520)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(360)
        self.bar.setTextVisible(False)
        self.step = QLabel()
        self.step.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._step_text = ""
        self._elapsed = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_step)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (logo, self.title, self.detail, self.bar, self.step):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addSpacing(12)
        layout.addStretch(2)

    def begin(self, title: str, detail: str) -> None:
        """Show ``title`` and ``detail``, a busy bar, and count the seconds from now."""
        self.title.setText(title)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        # an aligned layout item ignores height-for-width: give the wrapped text its height
        self.detail.setMinimumHeight(max(0, self.detail.heightForWidth(self.detail.width())))
        self.bar.setRange(0, 0)  # busy: no end known
        self.bar.setVisible(True)
        self._step_text = ""
        self._elapsed.start()
        self._tick.start()
        self._show_step()

    def set_step(self, text: str, number: int = 0, total: int = 0) -> None:
        """What is being done now; with ``total``, step ``number`` of ``total`` on the bar."""
        self._step_text = text
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(number - 1)  # the steps before this one are done
        self._show_step()

    def fail(self, message: str) -> None:
        """The lab could not be read: stop counting and say why."""
        self._tick.stop()
        self.bar.setVisible(False)
        self._step_text = message
        self.step.setText(message)

    def stop(self) -> None:
        """Stop counting (the lab is shown)."""
        self._tick.stop()

    def seconds(self) -> int:
        """Whole seconds since ``begin``."""
        return self._elapsed.elapsed() // 1000 if self._elapsed.isValid() else 0

    def is_counting(self) -> bool:
        """True while the seconds are counted (between ``begin`` and ``stop`` or ``fail``)."""
        return self._tick.isActive()

    def _show_step(self) -> None:
        seconds = self.tr("{seconds} s").format(seconds=self.seconds())
        self.step.setText(
            self.tr("{step} · {seconds}").format(step=self._step_text, seconds=seconds)
            if self._step_text
            else seconds
        )
