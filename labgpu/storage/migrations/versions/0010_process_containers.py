"""The container a GPU process runs in: gpu_processes.container and container_runtime.

A process in a container is stored with its container's name (or short id) and runtime; its
user_name is then the owner labgpu found for the container, null when the owner is unknown.
Both columns are null for processes outside containers and for every older row. The lab
database's grants are per table, so the collector may write them as it writes the rest.

Revision ID: 0010_process_containers
Revises: 0009_lab_jobs
Create Date: 2026-12-08 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_process_containers"
down_revision: str | Sequence[str] | None = "0009_lab_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add gpu_processes.container and gpu_processes.container_runtime."""
    op.add_column("gpu_processes", sa.Column("container", sa.String(128), nullable=True))
    op.add_column("gpu_processes", sa.Column("container_runtime", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("gpu_processes") as batch:
        batch.drop_column("container_runtime")
        batch.drop_column("container")
