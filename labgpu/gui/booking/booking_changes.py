"""Asking before another member's booking changes: whose it is, said plainly.

In the single-seat shape everyone is the manager and may change anyone's booking; the app then
names the holder and asks first, so nobody cancels a colleague's run by mistake. Any page that
cancels, ends or extends a booking (My bookings, the calendar) asks with these words.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from labgpu.core.booking.rules import BookingGroupView


def is_others(group: BookingGroupView, me: str) -> bool:
    """True if ``group`` is held by someone other than ``me``."""
    return group.user != me


def others_question(action: str, group: BookingGroupView, when: str) -> tuple[str, str]:
    """Title and question before ``action`` ("cancel", "end" or "extend") of another member's
    ``group``: ``Cancel kim's booking of gpu-01:0 (…)? It is kim's, not yours …``."""
    if action == "cancel":
        title = QCoreApplication.translate("booking_changes", "Cancel {holder}'s booking")
        question = QCoreApplication.translate(
            "booking_changes", "Cancel {holder}'s booking of {gpus} ({when})?"
        )
    elif action == "end":
        title = QCoreApplication.translate("booking_changes", "End {holder}'s booking")
        question = QCoreApplication.translate(
            "booking_changes", "End {holder}'s booking of {gpus} now and free the GPUs?"
        )
    else:
        title = QCoreApplication.translate("booking_changes", "Extend {holder}'s booking")
        question = QCoreApplication.translate(
            "booking_changes", "Extend {holder}'s booking of {gpus} ({when})?"
        )
    note = QCoreApplication.translate(
        "booking_changes", "This booking is {holder}'s, not yours; they are not asked."
    )
    gpus = ", ".join(group.gpu_labels)
    return (
        title.format(holder=group.user),
        question.format(holder=group.user, gpus=gpus, when=when)
        + "\n\n"
        + note.format(holder=group.user),
    )
