"""Logging in to a cluster: the password a member keeps in the OS keyring, and the prompter
that answers a plain password prompt from it (an OTP is always asked, never kept)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from labgpu.core.i18n import _
from labgpu.core.offload.jobs import Cluster, Prompter
from labgpu.services.platform import keyring_store

KEYRING_SERVICE = "labgpu-cluster"
_OTP_WORDS = re.compile(r"otp|one.?time|token|code|verif", re.IGNORECASE)
_PASSWORD = re.compile(r"pass(word|code)?", re.IGNORECASE)


def keyring_key(cluster: Cluster) -> str:
    """The keyring entry of a cluster's saved password: ``user@host``."""
    return f"{cluster.user}@{cluster.host}"


def saved_password(cluster: Cluster) -> str | None:
    """The password the member chose to keep in the OS keyring, if any."""
    return keyring_store.read_secret(KEYRING_SERVICE, keyring_key(cluster))


def save_password(cluster: Cluster, password: str | None) -> None:
    """Keep (or with ``None`` forget) a cluster password in the OS keyring. Never an OTP."""
    if password is None:
        keyring_store.delete_secret(KEYRING_SERVICE, keyring_key(cluster))
    else:
        advice = _("log in without saving it")
        keyring_store.store_secret(KEYRING_SERVICE, keyring_key(cluster), password, advice)


def with_saved_password(cluster: Cluster, ask: Prompter) -> Prompter:
    """Answer a plain ``Password:`` prompt from the keyring; ask the member for the rest."""

    def prompter(instructions: str, prompts: Sequence[tuple[str, bool]]) -> Sequence[str]:
        saved = saved_password(cluster)
        plain = [
            _PASSWORD.search(p) is not None and not _OTP_WORDS.search(p) for p, _echo in prompts
        ]
        if saved is None or not any(plain):
            return ask(instructions, prompts)
        others = [pe for pe, is_plain in zip(prompts, plain, strict=True) if not is_plain]
        answers = iter(ask(instructions, others) if others else [])
        return [saved if is_plain else next(answers, "") for is_plain in plain]

    return prompter
