"""Signing in to the lab database without the app's dialog.

The CLI asks for a password only when the database wants one and none was given: libpq takes it
from the URL (where the keyring's remembered one is put), ``PGPASSWORD`` or ``~/.pgpass``. These
calls do the work; asking a person (getpass) is the CLI's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError
from labgpu.services.app import Labgpu

if TYPE_CHECKING:
    from labgpu.services.credentials import LabConnection

__all__ = [
    "connect",
    "connection_of",
    "password_in_use",
    "remember_password",
    "with_password",
]


def connection_of(lab: Labgpu) -> LabConnection | None:
    """Where ``lab`` signs in (server, port, database, member), or ``None`` for SQLite."""
    from labgpu.services.credentials import is_lab_url, parse_lab_url

    if lab.is_single_seat or not is_lab_url(lab.db_url):
        return None
    return parse_lab_url(lab.db_url)[0]


def connect(lab: Labgpu) -> None:
    """Connect once; ``PasswordNeededError`` / ``PasswordRefusedError`` say what is missing."""
    lab.store.connect()


def with_password(lab: Labgpu, password: str) -> Labgpu:
    """Close ``lab`` and return the same lab signed in with ``password``."""
    connection = connection_of(lab)
    if connection is None:
        raise LabgpuError("a single-seat SQLite database has no passwords")
    lab.close()
    return Labgpu(connection.url(password))


def password_in_use(lab: Labgpu) -> str | None:
    """The password ``lab`` signs in with (URL, typed, remembered or ``PGPASSWORD``), if known.

    ``None`` when libpq finds it itself (``~/.pgpass``) or the server asks for none.
    """
    from labgpu.services.credentials import environment_password, parse_lab_url

    if connection_of(lab) is None:
        return None
    return parse_lab_url(lab.db_url)[1] or environment_password()


def remember_password(lab: Labgpu) -> bool:
    """Keep the password ``lab`` signed in with in the OS keyring; False if none is known.

    ``ConfigError`` (its cause: the keyring's reason) when the keyring cannot store it.
    """
    from labgpu.services.credentials import load_password, save_password

    connection = connection_of(lab)
    password = password_in_use(lab)
    if connection is None or password is None:
        return False
    if load_password(connection) != password:
        save_password(connection, password)
    return True
