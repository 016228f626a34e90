"""Notifications (issue 17): members' channels, the outbox and its deliveries.

- ``notify_settings``: per member, an e-mail address, a chat webhook, the event kinds turned
  off, how many minutes before a booking to remind, the language of the texts.
- ``outbox``: events written in the transaction of the change that caused them (the lab
  database's triggers on bookings, the storage code on SQLite), one per ``dedup_key``.
- ``deliveries``: one per event, recipient and channel, with the sender's state, attempts and
  back-off. ``labgpu db upgrade`` then ``lab init`` gives them their grants and policies.

Revision ID: 0012_notifications
Revises: 0011_evidence
Create Date: 2026-12-02 20:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_notifications"
down_revision: str | Sequence[str] | None = "0011_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create notify_settings, outbox and deliveries."""
    op.create_table(
        "notify_settings",
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), server_default="", nullable=False),
        sa.Column("webhook_url", sa.Text(), server_default="", nullable=False),
        sa.Column("muted", sa.Text(), server_default="", nullable=False),
        sa.Column("lead_minutes", sa.Integer(), server_default="10", nullable=False),
        sa.Column("language", sa.String(16), server_default="", nullable=False),
        sa.Column("updated_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_notify_settings")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("expanded_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "audience IN ('member', 'deciders', 'managers')", name=op.f("ck_outbox_audience")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    op.create_index(op.f("ix_outbox_expanded_at"), "outbox", ["expanded_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_deliveries_channel")),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_deliveries_state")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_deliveries_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "outbox_id",
            "user_name",
            "channel",
            name=op.f("uq_deliveries_outbox_id_user_name_channel"),
        ),
    )
    op.create_index(op.f("ix_deliveries_state_next_at"), "deliveries", ["state", "next_at"])


def downgrade() -> None:
    """Drop deliveries, outbox and notify_settings."""
    op.drop_table("deliveries")
    op.drop_table("outbox")
    op.drop_table("notify_settings")
