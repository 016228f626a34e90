"""Servers' host keys pinned in the lab database.

Revision ID: 0005_host_keys
Revises: 0004_usage
Create Date: 2026-12-02 08:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_host_keys"
down_revision: str | Sequence[str] | None = "0004_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create host_keys: one pinned key per server and key type."""
    op.create_table(
        "host_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("key_type", sa.String(64), nullable=False),
        sa.Column("key_base64", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_host_keys_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_keys")),
        sa.UniqueConstraint("server_id", "key_type", name=op.f("uq_host_keys_server_id_key_type")),
    )


def downgrade() -> None:
    """Drop host_keys (every desktop then trusts its own known_hosts again)."""
    op.drop_table("host_keys")
