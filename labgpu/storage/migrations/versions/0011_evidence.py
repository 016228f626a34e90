"""The PI's evidence (issue 16): every slot request, projects, prices.

- ``unmet_requests`` becomes ``slot_requests``: every slot search and ``book --earliest`` is
  recorded with the earliest start the lab offered, so waits can be measured, not only the
  requests the lab failed; the old rows (all of them unmet or refused) are copied as they were.
  The lab database's grants, guards and policies follow the new name when ``init_lab`` runs
  again (``labgpu db upgrade`` as the administrator does).
- ``projects``: the projects and grants managers keep; ``bookings.project``,
  ``offload_jobs.project`` and ``slot_requests.project`` name one (null: none).
- ``gpu_prices``: per GPU model, a cloud price and a cluster rate per GPU-hour and a purchase
  price, as managers set them.

Revision ID: 0011_evidence
Revises: 0010_process_containers
Create Date: 2026-12-02 19:40:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_evidence"
down_revision: str | Sequence[str] | None = "0010_process_containers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REQUEST_COLUMNS = "user_name, model, count, hours, asked_at, wanted_at, earliest_at, refused_rule"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _requests_table(name: str, *, with_project: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("asked_at", _utc(), nullable=False),
        sa.Column("wanted_at", _utc(), nullable=False),
        sa.Column("earliest_at", _utc(), nullable=True),
        sa.Column("refused_rule", sa.String(32), nullable=True),
    ]
    if with_project:
        columns.append(sa.Column("project", sa.String(64), nullable=True))
    op.create_table(name, *columns, sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")))
    op.create_index(op.f(f"ix_{name}_asked_at"), name, ["asked_at"])


def upgrade() -> None:
    """Create slot_requests (from unmet_requests), projects and gpu_prices; add the project
    columns."""
    _requests_table("slot_requests", with_project=True)
    op.execute(
        f"INSERT INTO slot_requests ({_REQUEST_COLUMNS}) "
        f"SELECT {_REQUEST_COLUMNS} FROM unmet_requests ORDER BY id"
    )
    op.drop_table("unmet_requests")
    op.create_table(
        "projects",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projects")),
    )
    op.create_table(
        "gpu_prices",
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(8), server_default="USD", nullable=False),
        sa.Column("cloud_per_gpu_h", sa.Float(), nullable=True),
        sa.Column("cluster_per_gpu_h", sa.Float(), nullable=True),
        sa.Column("purchase_per_gpu", sa.Float(), nullable=True),
        sa.Column("updated_at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by", sa.String(64), server_default="", nullable=False),
        sa.CheckConstraint(
            "cloud_per_gpu_h IS NULL OR cloud_per_gpu_h >= 0", name=op.f("ck_gpu_prices_cloud")
        ),
        sa.CheckConstraint(
            "cluster_per_gpu_h IS NULL OR cluster_per_gpu_h >= 0",
            name=op.f("ck_gpu_prices_cluster"),
        ),
        sa.CheckConstraint(
            "purchase_per_gpu IS NULL OR purchase_per_gpu >= 0",
            name=op.f("ck_gpu_prices_purchase"),
        ),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_gpu_prices")),
    )
    op.add_column("bookings", sa.Column("project", sa.String(64), nullable=True))
    op.add_column("offload_jobs", sa.Column("project", sa.String(64), nullable=True))


def downgrade() -> None:
    """Back to unmet_requests, dropping the requests the lab served within 30 minutes (the
    old ``UNMET_AFTER``: that table held only unmet and refused ones); drop projects, prices
    and the project columns."""
    for table in ("offload_jobs", "bookings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("project")
    op.drop_table("gpu_prices")
    op.drop_table("projects")
    _requests_table("unmet_requests", with_project=False)
    if op.get_bind().dialect.name == "postgresql":
        late = "earliest_at - wanted_at >= interval '30 minutes'"
    else:  # SQLite keeps the times as text: compare Julian days
        late = "julianday(earliest_at) - julianday(wanted_at) >= 30.0 / 1440"
    op.execute(
        f"INSERT INTO unmet_requests ({_REQUEST_COLUMNS}) "
        f"SELECT {_REQUEST_COLUMNS} FROM slot_requests "
        f"WHERE refused_rule IS NOT NULL OR earliest_at IS NULL OR {late} ORDER BY id"
    )
    op.drop_table("slot_requests")
