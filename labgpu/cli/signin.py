"""Signing in to the lab database on the command line, the way ``psql`` does.

A command connects once before its work. If the database asks for a password that nobody gave
(not in the URL, not remembered in the OS keyring, no ``PGPASSWORD``, nothing in ``~/.pgpass``)
and standard input is a terminal, it asks once, hidden: ``Password for USER@HOST/DB:``. A
refused password is an error (exit 1), never asked again. Off a terminal (cron, a service, a
pipe) the message says how to give the password. ``--remember-password`` keeps the password
that signed in in the OS keyring; without it the keyring is only read, quietly.
"""

from __future__ import annotations

import getpass
import os
import sys

from labgpu.core.errors import (
    ConfigError,
    LabgpuError,
    PasswordNeededError,
    PasswordRefusedError,
)
from labgpu.core.i18n import N_, _
from labgpu.services import Labgpu
from labgpu.services.members import signin

KEYRING = N_("the OS keyring")


def signed_in(lab: Labgpu, remember: bool = False) -> Labgpu:
    """``lab`` connected (a password asked for on a terminal if needed), or an error.

    Returns the lab to use: a new one when the password was typed. Single seat: ``lab``.
    """
    connection = signin.connection_of(lab)
    if connection is None:
        return lab
    who = f"{connection.user}@{connection.host}/{connection.database}"
    try:
        signin.connect(lab)
    except PasswordNeededError as exc:
        if not _on_terminal():
            lab.close()
            raise PasswordNeededError(
                _(
                    "{error}; give {user}'s password in --db {url}, in the PGPASSWORD "
                    "environment variable, or in ~/.pgpass (a line "
                    "HOST:PORT:DATABASE:{user}:PASSWORD, mode 0600); on a terminal labgpu asks "
                    "for it"
                ).format(error=exc, user=connection.user, url=connection.url("PASSWORD"))
            ) from None
        lab = _typed(lab, who)
    except PasswordRefusedError as exc:
        source = _source(lab)
        if source != KEYRING or not _on_terminal():
            lab.close()
            raise PasswordRefusedError(_refused(exc, connection.user, source)) from None
        print(
            _(
                "labgpu: the password remembered for {who} was refused; type the current one "
                "(with --remember-password it replaces the remembered one)"
            ).format(who=who),
            file=sys.stderr,
        )
        lab = _typed(lab, who)
    except LabgpuError:
        lab.close()
        raise
    if remember:
        _remember(lab)
    if (
        lab.members.must_change_password()
    ):  # the app asks at sign-in; the CLI says so on every command
        print(
            _(
                "labgpu: {user} signed in with a one-time password, which expires a week "
                "after it was given; set your own with `labgpu users passwd`"
            ).format(user=connection.user),
            file=sys.stderr,
        )
    return lab


def _on_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _source(lab: Labgpu) -> str:
    """Where the password ``lab`` signs in with came from."""
    from labgpu.services.members.credentials import (
        environment_password,
        load_password,
        parse_lab_url,
    )

    connection, password = parse_lab_url(lab.db_url)
    if password is None:
        return "PGPASSWORD" if environment_password() else "~/.pgpass"
    return KEYRING if password == load_password(connection) else N_("the database URL")


def _typed(lab: Labgpu, who: str) -> Labgpu:
    """Ask once for the password, hidden, and sign in with it; a refusal is final."""
    try:
        password = getpass.getpass(_("Password for {who}: ").format(who=who))
    except EOFError:
        password = ""
    if not password:
        lab.close()
        raise PasswordNeededError(_("no password typed for {who}; nothing done").format(who=who))
    lab = signin.with_password(lab, password)
    try:
        signin.connect(lab)
    except PasswordRefusedError as exc:
        lab.close()
        raise PasswordRefusedError(_refused(exc, who.split("@", 1)[0], "")) from None
    except LabgpuError:
        lab.close()
        raise
    return lab


def _refused(exc: PasswordRefusedError, user: str, source: str) -> str:
    """Why the password was refused and what to do; ``source``: where it came from, a name
    (``PGPASSWORD``) or a phrase marked with ``N_`` (``KEYRING``), or empty."""
    message = (
        _(
            "{error} (the one in {source}); if you forgot it, a lab manager can give you a new "
            "one-time password with `labgpu users passwd {user}`"
        )
        if source
        else _(
            "{error}; if you forgot it, a lab manager can give you a new one-time password "
            "with `labgpu users passwd {user}`"
        )
    )
    return message.format(error=exc, source=_(source) if source else "", user=user)


def _remember(lab: Labgpu) -> None:
    """``--remember-password``: keep the password that signed in, or say why not."""
    try:
        kept = signin.remember_password(lab)
    except ConfigError as exc:
        print(
            _(
                "labgpu: the password was not remembered: the OS keyring cannot store it ({error})"
            ).format(error=exc.__cause__ or exc),
            file=sys.stderr,
        )
        return
    if not kept:
        print(
            _(
                "labgpu: the password was not remembered: labgpu did not see it (libpq read it "
                "from ~/.pgpass, or the database asked for none)"
            ),
            file=sys.stderr,
        )


def environment_hint() -> str | None:
    """A reminder after a password change when ``PGPASSWORD`` still holds the old one."""
    if os.environ.get("PGPASSWORD"):
        return _("PGPASSWORD still holds the old password; update it where it is set")
    return None
