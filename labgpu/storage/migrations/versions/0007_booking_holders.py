"""One row per booking holder, locked while their bookings change (lab database rules).

Held-at-once and the weekly quota add up a member's bookings; two transactions of one member
that each stay under the limit must not both commit. The lab database's rules trigger locks
the holder's row here before it adds up (``labgpu.storage.labdb_rules``): a second transaction
waits for the first and then counts its bookings, or, under REPEATABLE READ or SERIALIZABLE,
fails with a serialization error instead of counting an old snapshot.

Revision ID: 0007_booking_holders
Revises: 0006_bookings_by_member
Create Date: 2026-12-02 08:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_booking_holders"
down_revision: str | Sequence[str] | None = "0006_bookings_by_member"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create booking_holders."""
    op.create_table(
        "booking_holders",
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("changes", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_booking_holders")),
    )


def downgrade() -> None:
    """Drop booking_holders."""
    op.drop_table("booking_holders")
