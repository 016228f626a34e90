"""The database schema as SQLAlchemy 2.0 models. Change it only with an Alembic revision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from labgpu.core.members.roles import MEMBER_ROLES
from labgpu.storage.types import UtcDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Booking statuses stored in the database; ``active`` and a time-based ``finished`` are only
#: derived for display. ``LIVE_STORED`` hold their GPU (the exclusion constraint's predicate).
STORED_STATUSES = ("pending", "booked", "cancelled", "released", "finished")
LIVE_STORED = ("pending", "booked")
#: ``labgpu.core.offload.jobs.JobState`` values (written out: a migration must not follow the code).
JOB_STATES = (
    "submitting", "queued", "running", "completed", "failed", "cancelled", "timeout", "unknown",
)  # fmt: skip


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Base(DeclarativeBase):
    """Base of every labgpu table; constraint names follow ``NAMING_CONVENTION``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    """A lab member."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({_sql_list(MEMBER_ROLES)})", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class ServerRow(Base):
    """A registered GPU server and the outcome of its last contact."""

    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    ssh_user: Mapped[str | None] = mapped_column(String(64))
    identity_file: Mapped[str | None] = mapped_column(Text)
    jump_host: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32), default="unknown", server_default="unknown")
    state_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    state_since: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class HostKeyRow(Base):
    """A server's SSH host key, pinned in the lab database by a manager (one per key type):
    every member's desktop and the collector check the server against it."""

    __tablename__ = "host_keys"
    __table_args__ = (UniqueConstraint("server_id", "key_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    key_type: Mapped[str] = mapped_column(String(64))
    key_base64: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class GpuRow(Base):
    """A GPU, identified by its uuid. Retired (not deleted) when it leaves its server."""

    __tablename__ = "gpus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    uuid: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(200))
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    bookable: Mapped[bool] = mapped_column(default=True, server_default=true())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GpuSampleRow(Base):
    """One reading of one GPU."""

    __tablename__ = "gpu_samples"
    # The rows are the primary key's index (SQLite keeps no second copy): the biggest table.
    # Reads by time go GPU by GPU through (gpu_id, ts): no index on ts alone is needed.
    __table_args__ = {"sqlite_with_rowid": False}

    gpu_id: Mapped[int] = mapped_column(ForeignKey("gpus.id", ondelete="CASCADE"), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    utilization_pct: Mapped[float | None] = mapped_column(Float)
    memory_used_mb: Mapped[int | None] = mapped_column(Integer)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    power_w: Mapped[float | None] = mapped_column(Float)


class GpuProcessRow(Base):
    """A compute process seen on a GPU by the probe taken at ``ts``."""

    __tablename__ = "gpu_processes"
    __table_args__ = (Index(None, "gpu_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gpu_id: Mapped[int] = mapped_column(ForeignKey("gpus.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    pid: Mapped[int] = mapped_column(Integer)
    user_name: Mapped[str | None] = mapped_column(String(64))
    process_name: Mapped[str] = mapped_column(Text)
    command: Mapped[str | None] = mapped_column(Text)
    used_memory_mb: Mapped[int | None] = mapped_column(Integer)
    elapsed_s: Mapped[int | None] = mapped_column(Integer)
    # The container it runs in (name or short id) and its runtime; user_name is then the owner
    # found for the container, null when unknown (migration 0010).
    container: Mapped[str | None] = mapped_column(String(128))
    container_runtime: Mapped[str | None] = mapped_column(String(16))


class AuditRow(Base):
    """Who changed what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now(), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")


def _no_overlap() -> ExcludeConstraint:
    """No two live bookings of one GPU may overlap: PostgreSQL enforces it itself.

    SQLite has no exclusion constraints; there ``BEGIN IMMEDIATE`` serialises the writers and
    the store checks for overlaps inside the transaction (``storage.bookings``). Alembic's
    autogenerate does not compare exclusion constraints: migration 0002 writes it out, and
    ``tests/test_migrations.py`` checks the definition PostgreSQL reports.
    """
    during = func.tstzrange(Column("start_ts"), Column("end_ts"), literal_column("'[)'"))
    return ExcludeConstraint(
        (Column("gpu_id"), "="),
        (during, "&&"),
        name="ex_bookings_no_overlap",
        using="gist",
        where=text(f"status IN ({_sql_list(LIVE_STORED)})"),
    ).ddl_if(dialect="postgresql")


class BookingRow(Base):
    """One GPU of a booking group over ``[start_ts, end_ts)``."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_ts > start_ts", name="window"),
        CheckConstraint(f"status IN ({_sql_list(STORED_STATUSES)})", name="status"),
        Index(None, "gpu_id", "end_ts"),  # overlap checks: few bookings end after a start
        Index(None, "start_ts"),
        Index(None, "user_name", "end_ts"),  # a member's bookings around a window (rules)
        _no_overlap(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(36), index=True)
    gpu_id: Mapped[int] = mapped_column(ForeignKey("gpus.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(64))
    start_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    end_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    created_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    #: When a request was approved or rejected (the lab database's clock there).
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The project or grant the booking is for (``projects.name``; null: none named).
    project: Mapped[str | None] = mapped_column(String(64))


class BookingHolderRow(Base):
    """A member who holds bookings: the lab database locks this row while their bookings
    change, so two transactions cannot both pass held-at-once or the quota (migration 0007)."""

    __tablename__ = "booking_holders"

    user_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class BookingRulesRow(Base):
    """The lab's booking rules: one row (id 1), a ``BookingRules`` as JSON text."""

    __tablename__ = "booking_rules"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    updated_by: Mapped[str] = mapped_column(String(64))


class MaintenanceRow(Base):
    """A window during which some GPUs cannot be booked."""

    __tablename__ = "maintenance"
    __table_args__ = (
        CheckConstraint("end_ts > start_ts", name="window"),
        Index(None, "start_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    end_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class MaintenanceGpuRow(Base):
    """A GPU blocked by a maintenance window."""

    __tablename__ = "maintenance_gpus"

    maintenance_id: Mapped[int] = mapped_column(
        ForeignKey("maintenance.id", ondelete="CASCADE"), primary_key=True
    )
    gpu_id: Mapped[int] = mapped_column(
        ForeignKey("gpus.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ClusterRow(Base):
    """A shared cluster jobs can be offloaded to (lists are stored as JSON text)."""

    __tablename__ = "clusters"
    __table_args__ = (
        CheckConstraint("scheduler IN ('slurm', 'pbs')", name="scheduler"),
        CheckConstraint("login IN ('key', 'interactive')", name="login"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    ssh_user: Mapped[str] = mapped_column(String(64))
    jump_host: Mapped[str | None] = mapped_column(String(255))
    identity_file: Mapped[str | None] = mapped_column(Text)
    scheduler: Mapped[str] = mapped_column(String(16))
    login: Mapped[str] = mapped_column(String(16), default="key", server_default="key")
    partition: Mapped[str] = mapped_column(String(255), default="", server_default="")
    gpu_request: Mapped[str] = mapped_column(String(255), default="", server_default="")
    directives: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    modules: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    base_dir: Mapped[str] = mapped_column(Text, default="~/labgpu", server_default="~/labgpu")
    max_hours: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class OffloadJobRow(Base):
    """A job sent to a cluster: recorded *before* it is submitted, under a unique name."""

    __tablename__ = "offload_jobs"
    __table_args__ = (
        CheckConstraint(f"state IN ({_sql_list(JOB_STATES)})", name="state"),
        CheckConstraint("gpus >= 0", name="gpus"),
        Index(None, "user_name", "submitted_at"),
        Index(None, "cluster", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    cluster: Mapped[str] = mapped_column(String(64))  # a name: history outlives the cluster
    user_name: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    raw_state: Mapped[str] = mapped_column(String(64), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer)
    gpu_type: Mapped[str] = mapped_column(String(64), default="", server_default="")
    hours: Mapped[float] = mapped_column(Float)
    command: Mapped[str] = mapped_column(Text)
    local_dir: Mapped[str] = mapped_column(Text)
    remote_dir: Mapped[str] = mapped_column(Text)
    job_dir: Mapped[str] = mapped_column(Text)
    script: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    submitted_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    elapsed_s: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    #: The project or grant the job is for (``projects.name``; null: none named).
    project: Mapped[str | None] = mapped_column(String(64))


class _UsageSums:
    """What rollup rows sum and merge (see ``_UsageColumns``)."""

    samples: Mapped[int] = mapped_column(Integer)
    util_n: Mapped[int] = mapped_column(Integer)
    util_sum: Mapped[float] = mapped_column(Float)
    util_max: Mapped[float | None] = mapped_column(Float)
    mem_n: Mapped[int] = mapped_column(Integer)
    mem_sum: Mapped[float] = mapped_column(Float)
    mem_max: Mapped[int | None] = mapped_column(Integer)
    observed_s: Mapped[float] = mapped_column(Float)
    busy_s: Mapped[float] = mapped_column(Float)


class _UsageColumns(_UsageSums):
    """One GPU over one bucket ``[bucket, bucket + length)`` (epoch seconds, UTC).

    Sums and counts rather than means, so buckets combine exactly: mean utilisation is
    ``util_sum / util_n``. ``observed_s`` is the time with at least one sample (60 per sampled
    minute), ``busy_s`` the part of it the GPU was busy (utilisation >= 5 %; a process
    holding it idle is not busy).
    """

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # time-major
    gpu_id: Mapped[int] = mapped_column(ForeignKey("gpus.id", ondelete="CASCADE"), primary_key=True)


#: One GPU's graph reads only the index (a covering index: a month of minutes in ~40 ms).
_GPU_GRAPH = ("gpu_id", "bucket", "util_sum", "util_n", "mem_sum", "mem_n")


class UsageMinuteRow(_UsageColumns, Base):
    """Samples of one GPU rolled up per minute."""

    __tablename__ = "usage_minute"
    __table_args__ = (Index("ix_usage_minute_gpu", *_GPU_GRAPH), {"sqlite_with_rowid": False})


class UsageHourRow(_UsageColumns, Base):
    """Minutes of one GPU rolled up per hour."""

    __tablename__ = "usage_hour"
    __table_args__ = (Index("ix_usage_hour_gpu", *_GPU_GRAPH), {"sqlite_with_rowid": False})


class LabUsageHourRow(_UsageSums, Base):
    """The hourly rollup summed over each model's GPUs (``gpus``: how many had readings):
    a year of the lab in 8,760 rows per model, so year-long lab graphs read few rows."""

    __tablename__ = "usage_lab_hour"
    __table_args__ = {"sqlite_with_rowid": False}

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    gpus: Mapped[int] = mapped_column(Integer)


class _UserUsageColumns:
    """GPU-seconds of one GPU's bucket attributed to a member from the processes seen on it
    (a sample with processes of k members gives each 1/k of it); ``""``: owner unknown."""

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # time-major
    gpu_id: Mapped[int] = mapped_column(ForeignKey("gpus.id", ondelete="CASCADE"), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    gpu_s: Mapped[float] = mapped_column(Float)


class UserUsageMinuteRow(_UserUsageColumns, Base):
    """Per-member GPU-seconds per minute."""

    __tablename__ = "usage_user_minute"
    __table_args__ = {"sqlite_with_rowid": False}


class UserUsageHourRow(_UserUsageColumns, Base):
    """Per-member GPU-seconds per hour."""

    __tablename__ = "usage_user_hour"
    __table_args__ = {"sqlite_with_rowid": False}


class UsageStateRow(Base):
    """Rollup watermarks (``minute_done``, ``hour_done``: epoch seconds rolled up so far) and
    retention settings (``keep_raw_days``, ``keep_minute_days``, ``keep_hour_days``)."""

    __tablename__ = "usage_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


# Tables kept in modules of their own (each imports ``Base`` from here).
from labgpu.storage import evidence_rows as _evidence_rows  # noqa: E402, F401
from labgpu.storage import job_rows as _job_rows  # noqa: E402, F401
from labgpu.storage import notify_rows as _notify_rows  # noqa: E402, F401
