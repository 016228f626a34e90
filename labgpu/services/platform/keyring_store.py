"""The OS keyring, the one place labgpu keeps secrets: a lab database password (service
``labgpu``, key ``user@host:port/db``) and a cluster's password (service ``labgpu-cluster``,
key ``user@host``; never a one-time password).

One policy for both: reading never fails (no keyring, or nothing kept: ``None``, and ``-v``
says why); storing fails with a ``ConfigError`` naming the keyring's trouble, so the person
knows the secret is not kept; forgetting what is not there is fine. ``keyring`` is imported
on first use: finding its backend costs tens of milliseconds, not wanted before the window.
"""

from __future__ import annotations

import logging

from labgpu.core.errors import ConfigError
from labgpu.core.i18n import _

log = logging.getLogger(__name__)


def read_secret(service: str, key: str) -> str | None:
    """The secret kept under ``service``/``key``, or ``None`` (none, or no usable keyring)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(service, key)
    except KeyringError as exc:
        log.info("nothing read from the OS keyring: %s", exc)
        return None


def store_secret(service: str, key: str, secret: str, advice: str) -> None:
    """Keep ``secret``; ``ConfigError`` if there is no usable keyring (nothing is kept),
    ending with ``advice`` (what to do instead)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(service, key, secret)
    except KeyringError as exc:
        raise ConfigError(
            _("cannot keep the password in the OS keyring ({error}); {advice}").format(
                error=exc, advice=advice
            )
        ) from exc


def delete_secret(service: str, key: str) -> None:
    """Forget the secret, if one is kept (a keyring that cannot be used is logged)."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(service, key)
    except PasswordDeleteError:
        pass  # nothing kept
    except KeyringError as exc:
        log.warning("cannot remove the password from the OS keyring: %s", exc)
