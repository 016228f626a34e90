"""Public-key login on an open transport: identity files, then ssh-agent. Never prompts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import paramiko

from labgpu.core.errors import AuthFailedError, RemoteTimeoutError, UnreachableError

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
    return [(f"agent key {key.fingerprint}", key) for key in agent.get_keys()]


def _try_key(transport: paramiko.Transport, label: str, user: str, key: paramiko.PKey) -> bool:
    """One public-key attempt; True when logged in. Raises for non-retryable trouble."""
    try:
        remaining = transport.auth_publickey(user, key)
    except paramiko.BadAuthenticationType as exc:
        raise AuthFailedError(
            label,
            f"the server does not accept public keys for {user} (it allows: "
            f"{', '.join(exc.allowed_types)}) — ask its administrator",
        ) from exc
    except paramiko.AuthenticationException as exc:
        if "timeout" in str(exc).lower():
            raise RemoteTimeoutError(
                label, "login did not finish in time — the server may be overloaded; try later"
            ) from exc
        return False
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise UnreachableError(label, f"connection lost during login ({exc})") from exc
    return not remaining and transport.is_authenticated()


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
    tried = ", ".join(src for src, _ in candidates) or "no keys found (no identity file, no agent)"
    raise AuthFailedError(
        label,
        f"login as {user!r} refused (tried: {tried}) — check the user name and that your "
        "public key is in ~/.ssh/authorized_keys on the server; labgpu will not retry on its own",
    )
