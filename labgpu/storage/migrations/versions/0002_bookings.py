"""Bookings, booking rules and maintenance windows.

Revision ID: 0002_bookings
Revises: 0001_initial
Create Date: 2026-11-28 00:37:11+00:00

On PostgreSQL the database itself refuses double booking: an exclusion constraint (needs the
``btree_gist`` extension, trusted since PostgreSQL 13) over each GPU's live bookings. SQLite has
no such constraint; the store checks inside a ``BEGIN IMMEDIATE`` transaction instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_bookings"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a revision must not change when the models do later.
_NO_OVERLAP = (
    "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
    "(gpu_id WITH =, tstzrange(start_ts, end_ts, '[)') WITH &&) "
    "WHERE (status IN ('pending', 'booked'))"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Create bookings, booking_rules, maintenance and maintenance_gpus."""
    _create_bookings()
    op.create_table(
        "booking_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_booking_rules_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_rules")),
    )
    _create_maintenance()


def _create_bookings() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("start_ts", _utc(), nullable=False),
        sa.Column("end_ts", _utc(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'booked', 'cancelled', 'released', 'finished')",
            name=op.f("ck_bookings_status"),
        ),
        sa.CheckConstraint("end_ts > start_ts", name=op.f("ck_bookings_window")),
        sa.ForeignKeyConstraint(
            ["gpu_id"], ["gpus.id"], name=op.f("fk_bookings_gpu_id_gpus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(op.f("ix_bookings_gpu_id_end_ts"), "bookings", ["gpu_id", "end_ts"])
    op.create_index(op.f("ix_bookings_group_id"), "bookings", ["group_id"])
    op.create_index(op.f("ix_bookings_start_ts"), "bookings", ["start_ts"])
    if _is_postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(_NO_OVERLAP)


def _create_maintenance() -> None:
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_ts", _utc(), nullable=False),
        sa.Column("end_ts", _utc(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("end_ts > start_ts", name=op.f("ck_maintenance_window")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance")),
    )
    op.create_index(op.f("ix_maintenance_start_ts"), "maintenance", ["start_ts"])
    op.create_table(
        "maintenance_gpus",
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["maintenance.id"],
            name=op.f("fk_maintenance_gpus_maintenance_id_maintenance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gpu_id"],
            ["gpus.id"],
            name=op.f("fk_maintenance_gpus_gpu_id_gpus"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("maintenance_id", "gpu_id", name=op.f("pk_maintenance_gpus")),
    )
    op.create_index(op.f("ix_maintenance_gpus_gpu_id"), "maintenance_gpus", ["gpu_id"])


def downgrade() -> None:
    """Drop the booking tables (``btree_gist`` stays: other objects may use it)."""
    op.drop_table("maintenance_gpus")
    op.drop_table("maintenance")
    op.drop_table("booking_rules")
    op.drop_table("bookings")
