"""Usage history: per-minute and per-hour rollups, their watermarks, unmet requests.

Revision ID: 0004_usage
Revises: 0003_offload
Create Date: 2026-11-28 12:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_usage"
down_revision: str | Sequence[str] | None = "0003_offload"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS = ("minute", "hour")


def _sums() -> list[sa.Column[object]]:
    """The columns rollup rows sum and merge."""
    return [
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("util_n", sa.Integer(), nullable=False),
        sa.Column("util_sum", sa.Float(), nullable=False),
        sa.Column("util_max", sa.Float(), nullable=True),
        sa.Column("mem_n", sa.Integer(), nullable=False),
        sa.Column("mem_sum", sa.Float(), nullable=False),
        sa.Column("mem_max", sa.Integer(), nullable=True),
        sa.Column("observed_s", sa.Float(), nullable=False),
        sa.Column("busy_s", sa.Float(), nullable=False),
    ]


def _usage_table(level: str) -> None:
    table = f"usage_{level}"
    op.create_table(
        table,
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        *_sums(),
        sa.ForeignKeyConstraint(
            ["gpu_id"], ["gpus.id"], name=op.f(f"fk_{table}_gpu_id_gpus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bucket", "gpu_id", name=op.f(f"pk_{table}")),
        sqlite_with_rowid=False,
    )
    # Covering: one GPU's graph reads only the index.
    op.create_index(
        f"ix_{table}_gpu", table, ["gpu_id", "bucket", "util_sum", "util_n", "mem_sum", "mem_n"]
    )


def _user_table(level: str) -> None:
    table = f"usage_user_{level}"
    op.create_table(
        table,
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("gpu_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("gpu_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gpu_id"], ["gpus.id"], name=op.f(f"fk_{table}_gpu_id_gpus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bucket", "gpu_id", "user_name", name=op.f(f"pk_{table}")),
        sqlite_with_rowid=False,
    )


def _samples_rowid(with_rowid: bool) -> None:
    """On SQLite, rebuild gpu_samples with or without a rowid (its rows then live in the
    primary key's index: a third less space for the biggest table). Nothing to do elsewhere."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "gpu_samples", recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
    ):
        pass


def upgrade() -> None:
    """Create the rollup tables; raw samples without a rowid on SQLite."""
    _samples_rowid(False)
    for level in _LEVELS:
        _usage_table(level)
        _user_table(level)
    op.create_table(
        "usage_lab_hour",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        *_sums(),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "model", name=op.f("pk_usage_lab_hour")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_usage_state")),
    )
    op.create_table(
        "unmet_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wanted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("earliest_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmet_requests")),
    )
    op.create_index(op.f("ix_unmet_requests_asked_at"), "unmet_requests", ["asked_at"])


def downgrade() -> None:
    """Drop the usage history (raw samples stay)."""
    op.drop_table("unmet_requests")
    op.drop_table("usage_state")
    op.drop_table("usage_lab_hour")
    for level in reversed(_LEVELS):
        op.drop_table(f"usage_user_{level}")
        op.drop_table(f"usage_{level}")
    _samples_rowid(True)
