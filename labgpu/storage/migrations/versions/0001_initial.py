"""Initial schema: users, servers, gpus, gpu_samples, gpu_processes, audit_log.

Revision ID: 0001_initial
Revises:
Create Date: 2024-06-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), server_default="", nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('student', 'pi', 'manager')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "servers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("ssh_user", sa.String(64), nullable=True),
        sa.Column("identity_file", sa.Text(), nullable=True),
        sa.Column("jump_host", sa.String(255), nullable=True),
        sa.Column("state", sa.String(32), server_default="unknown", nullable=False),
        sa.Column("state_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("state_since", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("last_seen", _utc(), nullable=True),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servers")),
        sa.UniqueConstraint("name", name=op.f("uq_servers_name")),
    )
    _create_gpus()
    _create_samples_and_processes()
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_ts"), "audit_log", ["ts"])


def _create_gpus() -> None:
    op.create_table(
        "gpus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(128), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=True),
        sa.Column("bookable", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("retired_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_gpus_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gpus")),
        sa.UniqueConstraint("uuid", name=op.f("uq_gpus_uuid")),
    )
    op.create_index(op.f("ix_gpus_server_id"), "gpus", ["server_id"])


def _create_samples_and_processes() -> None:
    op.create_table(
        "gpu_samples",
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        sa.Column("ts", _utc(), nullable=False),
        sa.Column("utilization_pct", sa.Float(), nullable=True),
        sa.Column("memory_used_mb", sa.Integer(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("power_w", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gpu_id"], ["gpus.id"], name=op.f("fk_gpu_samples_gpu_id_gpus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("gpu_id", "ts", name=op.f("pk_gpu_samples")),
    )
    op.create_table(
        "gpu_processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        sa.Column("ts", _utc(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=True),
        sa.Column("process_name", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("used_memory_mb", sa.Integer(), nullable=True),
        sa.Column("elapsed_s", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gpu_id"], ["gpus.id"], name=op.f("fk_gpu_processes_gpu_id_gpus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gpu_processes")),
    )
    op.create_index(op.f("ix_gpu_processes_gpu_id_ts"), "gpu_processes", ["gpu_id", "ts"])


def downgrade() -> None:
    """Drop every table of the first schema."""
    op.drop_table("audit_log")
    op.drop_table("gpu_processes")
    op.drop_table("gpu_samples")
    op.drop_table("gpus")
    op.drop_table("servers")
    op.drop_table("users")
