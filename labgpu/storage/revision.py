"""Write a new schema revision after changing ``models.py`` (a developer tool).

    python -m labgpu.storage.revision "add bookings"

Autogenerates ``migrations/versions/NNNN_<slug>.py`` by comparing the models with a scratch
SQLite database upgraded to the current head. Read and edit the result before committing it:
autogenerate misses renames, CHECK constraints and PostgreSQL-only objects.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command

from labgpu.storage import db


def next_revision_id(message: str) -> str:
    """``NNNN_slug``: one more than the current head's number, then the message as a slug."""
    number = int(db.head_revision().split("_", 1)[0]) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    return f"{number:04d}_{slug}"


def write_revision(message: str) -> Path:
    """Autogenerate a revision for ``message`` and return the file written."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = db.make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            db.upgrade(engine)
            with engine.begin() as conn:
                script = command.revision(
                    db.alembic_config(conn),
                    message=message,
                    autogenerate=True,
                    rev_id=next_revision_id(message),
                )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: one argument, the revision message."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(write_revision(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
