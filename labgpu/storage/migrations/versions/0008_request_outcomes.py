"""When a request was decided, and which rule refused a request the lab did not serve.

``bookings.decided_at``: approvals and rejections are counted in the month they were made (the
lab database stamps them with its own clock). ``unmet_requests.refused_rule``: a slot search
the member's own rules refused (null: the lab had no capacity when wanted), so the PI's unmet
demand counts missing capacity only.

Revision ID: 0008_request_outcomes
Revises: 0007_booking_holders
Create Date: 2026-12-02 10:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_request_outcomes"
down_revision: str | Sequence[str] | None = "0007_booking_holders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add bookings.decided_at and unmet_requests.refused_rule."""
    op.add_column("bookings", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("unmet_requests", sa.Column("refused_rule", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("unmet_requests") as batch:
        batch.drop_column("refused_rule")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("decided_at")
