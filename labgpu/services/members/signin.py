"""Signing in to the lab database without the app's dialog, and members' passwords.

The CLI asks for a password only when the database wants one and none was given: libpq takes it
from the URL (where the keyring's remembered one is put), ``PGPASSWORD`` or ``~/.pgpass``. These
calls do the work; asking a person (getpass) is the CLI's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labgpu.core.errors import ConfigError, LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.services.app import Labgpu

if TYPE_CHECKING:
    from labgpu.core.members.roles import NewPassword
    from labgpu.services.members.credentials import LabConnection

__all__ = [
    "change_own_password",
    "connect",
    "connection_of",
    "min_password_length",
    "password_in_use",
    "remember_password",
    "require_lab_database",
    "reset_password",
    "with_password",
]


def connection_of(lab: Labgpu) -> LabConnection | None:
    """Where ``lab`` signs in (server, port, database, member), or ``None`` for SQLite."""
    from labgpu.services.members.credentials import is_lab_url, parse_lab_url

    if lab.is_single_seat or not is_lab_url(lab.db_url):
        return None
    return parse_lab_url(lab.db_url)[0]


def connect(lab: Labgpu) -> None:
    """Connect once; ``PasswordNeededError`` / ``PasswordRefusedError`` say what is missing."""
    lab.store.connect()


def with_password(lab: Labgpu, password: str) -> Labgpu:
    """``lab`` signed in with ``password`` from now on (what it had opened is dropped)."""
    if connection_of(lab) is None:
        raise LabgpuError(_("a single-seat SQLite database has no passwords"))
    lab.sign_in(password)
    return lab


def password_in_use(lab: Labgpu) -> str | None:
    """The password ``lab`` signs in with (URL, typed, remembered or ``PGPASSWORD``), if known.

    ``None`` when libpq finds it itself (``~/.pgpass``) or the server asks for none.
    """
    from labgpu.services.members.credentials import environment_password, parse_lab_url

    if connection_of(lab) is None:
        return None
    return parse_lab_url(lab.db_url)[1] or environment_password()


def remember_password(lab: Labgpu) -> bool:
    """Keep the password ``lab`` signed in with in the OS keyring; False if none is known.

    ``ConfigError`` (its cause: the keyring's reason) when the keyring cannot store it.
    """
    from labgpu.services.members.credentials import load_password, save_password

    connection = connection_of(lab)
    password = password_in_use(lab)
    if connection is None or password is None:
        return False
    if load_password(connection) != password:
        save_password(connection, password)
    return True


def min_password_length() -> int:
    """The shortest password a member may choose."""
    from labgpu.storage.labdb import MIN_PASSWORD_LENGTH

    return MIN_PASSWORD_LENGTH


def require_lab_database(lab: Labgpu, what: str) -> None:
    """Raise unless ``lab`` (opened) is a lab database set up by ``labgpu lab init``;
    ``what``: the action, marked with ``N_`` (``N_("changing a password")``)."""
    if lab.is_single_seat:
        raise LabgpuError(
            _(
                "{what} needs the lab database (PostgreSQL); this is a single-seat SQLite "
                "database, which has no passwords"
            ).format(what=_(what))
        )
    if not lab.store.lab.is_lab():
        raise LabgpuError(
            _(
                "{what} needs a lab database set up by `labgpu lab init`; this PostgreSQL "
                "database was not set up (its logins are managed with psql)"
            ).format(what=_(what))
        )


def change_own_password(lab: Labgpu, new_password: str, remember: bool = False) -> bool:
    """Change the signed-in member's password; keep it in the keyring if the old one was
    remembered there (or ``remember``). Returns True if the keyring has the new one.

    ``ConfigError`` after the change if the keyring could not store it (the change stands).
    """
    from labgpu.services.members.credentials import load_password, save_password

    require_lab_database(lab, N_("changing a password"))
    connection = connection_of(lab)
    assert connection is not None  # require_lab_database: PostgreSQL
    was_remembered = load_password(connection) is not None
    lab.change_password(new_password)
    if not (was_remembered or remember):
        return False
    try:
        save_password(connection, new_password)
    except ConfigError as exc:
        message = (
            _(
                "the password was changed, but the OS keyring could not keep the new one "
                "({error}); the one it remembers no longer works"
            )
            if was_remembered
            else _("the password was changed, but the OS keyring could not keep it ({error})")
        )
        raise ConfigError(message.format(error=exc.__cause__ or exc)) from exc
    return True


def reset_password(lab: Labgpu, name: str) -> NewPassword:
    """A manager gives member ``name`` a new one-time password (shown once); a service login
    (the collector) gets one that does not expire."""
    require_lab_database(lab, N_("resetting a member's password"))
    return lab.store.passwords.reset_password(name.strip())
