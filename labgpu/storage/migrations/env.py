"""Alembic environment, configured from code: ``labgpu.storage.db`` passes the connection.

No ``alembic.ini`` is needed. To write a new revision during development, run
``python -m labgpu.storage.revision "message"`` (see that module).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from labgpu.storage.models import Base
from labgpu.storage.types import UtcDateTime

# Any constant works; it only has to be the same for every labgpu upgrading this database.
_PG_UPGRADE_LOCK = 0x6C616267


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write ``UtcDateTime`` columns as plain ``sa.DateTime(timezone=True)`` in revisions."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    """Run the pending revisions on ``connection``, one upgrader at a time on PostgreSQL."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_UPGRADE_LOCK})"))
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("labgpu migrations run through labgpu.storage.db with a connection")
run_migrations(_connection)
