"""Jobs run on bookings on the lab's own servers (``labgpu run``, issue 15).

Revision ID: 0009_lab_jobs
Revises: 0008_request_outcomes
Create Date: 2026-12-02 17:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_lab_jobs"
down_revision: str | Sequence[str] | None = "0008_request_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = (
    "'submitting', 'queued', 'running', 'completed', 'failed', 'cancelled', 'timeout', 'unknown'"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create lab_jobs."""
    op.create_table(
        "lab_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("server", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("local_dir", sa.Text(), server_default="", nullable=False),
        sa.Column("remote_dir", sa.Text(), server_default="", nullable=False),
        sa.Column("job_dir", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), server_default="[]", nullable=False),
        sa.Column("at_end", sa.String(8), server_default="warn", nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("ends_at", _utc(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("submitted_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("fetched_at", _utc(), nullable=True),
        sa.Column("released_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_lab_jobs_state")),
        sa.CheckConstraint("at_end IN ('warn', 'stop')", name=op.f("ck_lab_jobs_at_end")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_lab_jobs_name")),
    )
    op.create_index(
        op.f("ix_lab_jobs_user_name_submitted_at"), "lab_jobs", ["user_name", "submitted_at"]
    )
    op.create_index(op.f("ix_lab_jobs_group_id"), "lab_jobs", ["group_id"])


def downgrade() -> None:
    """Drop lab_jobs."""
    op.drop_table("lab_jobs")
