"""Bookings by member and end: the rules read a member's bookings around a window.

Both the app (held at once, weekly quota) and the lab database's rules trigger read one
member's live bookings that end after a moment; without this index each booking scanned the
member's whole history.

Revision ID: 0006_bookings_by_member
Revises: 0005_host_keys
Create Date: 2026-12-02 08:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_bookings_by_member"
down_revision: str | Sequence[str] | None = "0005_host_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index bookings on (user_name, end_ts)."""
    op.create_index(op.f("ix_bookings_user_name_end_ts"), "bookings", ["user_name", "end_ts"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(op.f("ix_bookings_user_name_end_ts"), table_name="bookings")
