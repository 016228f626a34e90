"""Clusters and offloaded jobs.

Revision ID: 0003_offload
Revises: 0002_bookings
Create Date: 2026-11-28 04:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_offload"
down_revision: str | Sequence[str] | None = "0002_bookings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = (
    "'submitting', 'queued', 'running', 'completed', 'failed', 'cancelled', 'timeout', 'unknown'"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create clusters and offload_jobs."""
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("ssh_user", sa.String(64), nullable=False),
        sa.Column("jump_host", sa.String(255), nullable=True),
        sa.Column("identity_file", sa.Text(), nullable=True),
        sa.Column("scheduler", sa.String(16), nullable=False),
        sa.Column("login", sa.String(16), server_default="key", nullable=False),
        sa.Column("partition", sa.String(255), server_default="", nullable=False),
        sa.Column("gpu_request", sa.String(255), server_default="", nullable=False),
        sa.Column("directives", sa.Text(), server_default="[]", nullable=False),
        sa.Column("modules", sa.Text(), server_default="[]", nullable=False),
        sa.Column("base_dir", sa.Text(), server_default="~/labgpu", nullable=False),
        sa.Column("max_hours", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("scheduler IN ('slurm', 'pbs')", name=op.f("ck_clusters_scheduler")),
        sa.CheckConstraint("login IN ('key', 'interactive')", name=op.f("ck_clusters_login")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("name", name=op.f("uq_clusters_name")),
    )
    op.create_table(
        "offload_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raw_state", sa.String(64), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("gpu_type", sa.String(64), server_default="", nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("local_dir", sa.Text(), nullable=False),
        sa.Column("remote_dir", sa.Text(), nullable=False),
        sa.Column("job_dir", sa.Text(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), server_default="[]", nullable=False),
        sa.Column("submitted_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("elapsed_s", sa.Integer(), nullable=True),
        sa.Column("fetched_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("gpus >= 0", name=op.f("ck_offload_jobs_gpus")),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_offload_jobs_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offload_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_offload_jobs_name")),
    )
    op.create_index(
        op.f("ix_offload_jobs_user_name_submitted_at"),
        "offload_jobs",
        ["user_name", "submitted_at"],
    )
    op.create_index(op.f("ix_offload_jobs_cluster_state"), "offload_jobs", ["cluster", "state"])


def downgrade() -> None:
    """Drop the offload tables."""
    op.drop_table("offload_jobs")
    op.drop_table("clusters")
