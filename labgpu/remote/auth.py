"""Logging in on an open transport: identity files, then ssh-agent (never prompting), or one
keyboard-interactive attempt whose answers come from a prompt callback (OTP clusters)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import paramiko

from labgpu.core.errors import AuthFailedError, RemoteTimeoutError, UnreachableError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import LoginCancelled, Prompter

log = logging.getLogger(__name__)


def load_key(path: Path) -> paramiko.PKey | None:
    """Load a private key file; ``None`` (logged) if missing, encrypted or unreadable."""
    if not path.is_file():
        return None
    try:
        return paramiko.PKey.from_path(path)
    except (paramiko.PasswordRequiredException, TypeError):  # TypeError: encrypted, no password
        log.info("skipping %s: it needs a passphrase (load it into ssh-agent)", path)
    except Exception as exc:  # noqa: BLE001 - any key we cannot load is skipped, never fatal
        log.info("skipping %s: %s", path, exc)
    return None


def _agent_keys(agent: paramiko.Agent | None) -> list[tuple[str, paramiko.PKey]]:
    if agent is None:
        return []
    return [
        (_("agent key {fingerprint}").format(fingerprint=key.fingerprint), key)
        for key in agent.get_keys()
    ]


def _try_key(transport: paramiko.Transport, label: str, user: str, key: paramiko.PKey) -> bool:
    """One public-key attempt; True when logged in. Raises for non-retryable trouble."""
    try:
        remaining = transport.auth_publickey(user, key)
    except paramiko.BadAuthenticationType as exc:
        raise AuthFailedError(
            label,
            _(
                "the server does not accept public keys for {user} (it allows: {allowed}) — "
                "ask its administrator"
            ).format(user=user, allowed=", ".join(exc.allowed_types)),
        ) from exc
    except paramiko.AuthenticationException as exc:
        if "timeout" in str(exc).lower():
            raise RemoteTimeoutError(
                label, _("login did not finish in time — the server may be overloaded; try later")
            ) from exc
        return False
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise UnreachableError(label, _lost(exc)) from exc
    return not remaining and transport.is_authenticated()


def _lost(exc: BaseException) -> str:
    return _("connection lost during login ({error})").format(error=exc)


def authenticate(
    transport: paramiko.Transport,
    label: str,
    user: str,
    key_files: Sequence[Path],
    *,
    use_agent: bool,
    timeout: float,
) -> None:
    """Log in as ``user`` with each key file, then each ssh-agent key, until one works.

    Raises ``AuthFailedError`` naming what was tried. Nothing here ever prompts.
    """
    transport.auth_timeout = max(timeout, 1.0)
    candidates = [(str(p), k) for p in key_files if (k := load_key(p)) is not None]
    agent = paramiko.Agent() if use_agent else None
    try:
        candidates += _agent_keys(agent)
        for _source, key in candidates:
            if _try_key(transport, label, user, key):
                return
    finally:
        if agent is not None:
            agent.close()
    tried = ", ".join(src for src, _key in candidates) or _(
        "no keys found (no identity file, no agent)"
    )
    raise AuthFailedError(
        label,
        _(
            "login as {user} refused (tried: {tried}) — check the user name and that your "
            "public key is in ~/.ssh/authorized_keys on the server; labgpu will not retry on "
            "its own"
        ).format(user=repr(user), tried=tried),
    )


def authenticate_interactive(
    transport: paramiko.Transport,
    label: str,
    user: str,
    prompter: Prompter,
    *,
    timeout: float,
) -> None:
    """One keyboard-interactive login (OTP, password) whose answers come from ``prompter``.

    Exactly one attempt: a refusal raises ``AuthFailedError`` and is never retried here,
    because clusters lock an account after a few failures.
    """
    transport.auth_timeout = max(timeout, 1.0)
    cancelled: list[BaseException] = []

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        if not prompts:
            return []
        try:
            return list(prompter(instructions or title, prompts))
        except BaseException as exc:
            cancelled.append(exc)
            raise

    try:
        remaining = transport.auth_interactive(user, handler)
    except paramiko.BadAuthenticationType as exc:
        raise AuthFailedError(
            label,
            _(
                "the server does not offer keyboard-interactive login for {user} (it allows: "
                "{allowed}) — set the cluster's login to 'key'"
            ).format(user=user, allowed=", ".join(exc.allowed_types)),
        ) from exc
    except (paramiko.SSHException, EOFError, OSError) as exc:
        if cancelled:
            if isinstance(cancelled[0], LoginCancelled):
                raise cancelled[0] from exc
            raise LoginCancelled(
                _("{label}: login cancelled ({error})").format(label=label, error=cancelled[0])
            ) from exc
        if isinstance(exc, paramiko.AuthenticationException):
            raise AuthFailedError(
                label,
                _(
                    "login as {user} refused (wrong one-time password or password?). labgpu "
                    "does not retry on its own: repeated failures can lock your account — wait "
                    "for a new OTP code, then log in again"
                ).format(user=repr(user)),
            ) from exc
        raise UnreachableError(label, _lost(exc)) from exc
    if remaining or not transport.is_authenticated():
        raise AuthFailedError(
            label,
            _("the server asks for more than one-time password and password ({remaining})").format(
                remaining=remaining
            ),
        )
