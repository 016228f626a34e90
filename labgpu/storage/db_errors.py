"""Database errors as labgpu's known errors (docs/architecture.md §6): what the environment or
the lab database's protection caused is one line; anything else from SQLAlchemy is a bug.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from labgpu.core.errors import (
    DatabaseError,
    PasswordNeededError,
    PasswordRefusedError,
    RefusedError,
)
from labgpu.core.i18n import _
from labgpu.storage import db, labdb, labdb_rules

#: libpq's and the server's words for a missing and for a refused password (the connection
#: errors carry no SQLSTATE).
_NO_PASSWORD = "no password supplied"
_PASSWORD_FAILED = re.compile(r'password authentication failed for user "[^"]*"')


def _sign_in_error(reason: str, url: str) -> DatabaseError | None:
    """A missing or refused password as its own error (a terminal may ask for one), else None."""
    if _NO_PASSWORD in reason:
        return PasswordNeededError(
            _("the database at {url} asks for a password and none was given").format(url=url)
        )
    failed = _PASSWORD_FAILED.search(reason)
    if failed is not None:
        return PasswordRefusedError(
            _(
                "the database at {url} refused the password ({reason}): it is wrong, or "
                "a one-time password that has expired"
            ).format(url=url, reason=failed.group(0))
        )
    return None


@contextmanager
def known_errors(url: str) -> Iterator[None]:
    """Turn what goes wrong with the database at ``url`` into a ``LabgpuError``: a broken
    booking rule, a refused permission, a missing or refused password, an unreachable server."""
    # Unreachable server, lost connection, locked file: trouble of the environment, shown
    # as one line. Anything else from SQLAlchemy is a bug and keeps its traceback.
    try:
        yield
    except DBAPIError as exc:
        # A booking rule the lab database enforces itself (SQLSTATE LGR01).
        broken = labdb_rules.rule_refusal(exc.orig)
        if broken is not None:
            raise broken from exc
        # Refused by the lab database's grants, policies or triggers (SQLSTATE 42501).
        refusal = labdb.permission_message(exc.orig)
        if refusal is not None:
            raise RefusedError(refusal) from exc
        if not isinstance(exc, OperationalError):
            raise
        reason = str(exc.orig or exc).strip().splitlines()[0]
        signing_in = _sign_in_error(reason, db.display_url(url))
        if signing_in is not None:
            raise signing_in from exc
        raise DatabaseError(
            _(
                "the database at {url} failed: {reason}; check that it is reachable and try again"
            ).format(url=db.display_url(url), reason=reason)
        ) from exc
