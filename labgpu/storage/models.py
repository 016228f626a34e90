"""The database schema as SQLAlchemy 2.0 models. Change it only with an Alembic revision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from labgpu.storage.types import UtcDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("student", "pi", "manager")


class Base(DeclarativeBase):
    """Base of every labgpu table; constraint names follow ``NAMING_CONVENTION``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    """A lab member."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('student', 'pi', 'manager')", name="role"),)

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
