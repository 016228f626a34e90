"""The OTP prompt: a cluster's keyboard-interactive questions asked in a dialog.

paramiko asks from its own thread; ``GuiPrompter`` carries the question to the GUI thread,
shows the dialog there and hands the answers back (the worker waits meanwhile). Closing the
dialog cancels the login without sending anything: no attempt is spent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from labgpu.core.offload.jobs import LoginCancelled

Question = tuple[str, str, Sequence[tuple[str, bool]]]  # cluster, instructions, prompts


def is_otp_prompt(prompt: str) -> bool:
    """True for a one-time password prompt (never kept in the keyring)."""
    lowered = prompt.lower()
    return any(word in lowered for word in ("otp", "one-time", "one time", "token", "code"))


class OtpDialog(QDialog):
    """Asks each prompt of a keyboard-interactive login; offers to keep the password."""

    def __init__(
        self,
        cluster: str,
        instructions: str,
        prompts: Sequence[tuple[str, bool]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Log in to {cluster}").format(cluster=cluster))
        form = QFormLayout(self)
        intro = QLabel(
            self.tr(
                "{cluster} asks for the answers below. labgpu tries them once: repeated "
                "failures can lock your account."
            ).format(cluster=cluster)
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        if instructions.strip():
            form.addRow(QLabel(instructions.strip()))
        self.fields: list[QLineEdit] = []
        for prompt, echo in prompts:
            field = QLineEdit()
            if not echo:
                field.setEchoMode(QLineEdit.EchoMode.Password)
            self.fields.append(field)
            form.addRow(prompt.strip(), field)
        self.keep = QCheckBox(self.tr("Keep the password in the system keyring (never the OTP)"))
        self.keep.setVisible(any(not is_otp_prompt(p) for p, _ in prompts))
        form.addRow(self.keep)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Log in"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def answers(self) -> list[str]:
        """What was typed, in prompt order."""
        return [field.text() for field in self.fields]


#: Shows the dialog (tests replace it): question -> answers, or None when cancelled, plus the
#: password to keep in the keyring (or None).
Asker = Callable[[str, str, Sequence[tuple[str, bool]]], tuple[list[str] | None, str | None]]


class GuiPrompter(QObject):
    """A ``Prompter`` callable from any thread that asks on the GUI thread."""

    _asked = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        #: Passwords the person asked to keep, saved only once the login has worked.
        self.pending: dict[str, str] = {}
        self._pending_lock = threading.Lock()
        self.ask: Asker = self._dialog
        self._asked.connect(self._on_asked, Qt.ConnectionType.QueuedConnection)

    def for_cluster(self, cluster: str) -> Callable[[str, Sequence[tuple[str, bool]]], list[str]]:
        """The prompter to give the offload service for ``cluster``."""

        def prompt(instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
            return self.prompt(cluster, instructions, prompts)

        return prompt

    def prompt(
        self, cluster: str, instructions: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str]:
        """Ask (blocking this thread until the person answers)."""
        box: dict[str, object] = {}
        if QThread.currentThread() is self.thread():
            self._answer((cluster, instructions, prompts), box)
        else:
            done = threading.Event()
            box["done"] = done
            self._asked.emit(((cluster, instructions, prompts), box))
            done.wait()
        answers = box.get("answers")
        if not isinstance(answers, list):
            raise LoginCancelled(f"{cluster}: login cancelled; nothing was sent")
        return answers

    @Slot(object)
    def _on_asked(self, payload: object) -> None:
        assert isinstance(payload, tuple)
        question: Question = payload[0]
        box: dict[str, object] = payload[1]
        try:
            self._answer(question, box)
        finally:
            done = box["done"]
            assert isinstance(done, threading.Event)
            done.set()

    def _answer(self, question: Question, box: dict[str, object]) -> None:
        cluster, instructions, prompts = question
        answers, keep = self.ask(cluster, instructions, prompts)
        box["answers"] = answers
        if answers is not None and keep:
            with self._pending_lock:
                self.pending[cluster] = keep

    def take_pending(self, cluster: str) -> str | None:
        """The password to keep for ``cluster`` (asked for in the dialog), once."""
        with self._pending_lock:
            return self.pending.pop(cluster, None)

    def _dialog(
        self, cluster: str, instructions: str, prompts: Sequence[tuple[str, bool]]
    ) -> tuple[list[str] | None, str | None]:
        dialog = OtpDialog(cluster, instructions, prompts, self.parent_widget)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None, None
        answers = dialog.answers()
        keep = None
        if dialog.keep.isChecked():
            plain = [a for (p, _), a in zip(prompts, answers, strict=True) if not is_otp_prompt(p)]
            keep = plain[-1] if plain else None
        return answers, keep
