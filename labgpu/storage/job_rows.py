"""The table of jobs run on bookings (``lab_jobs``; issue 15). Kept apart from ``models`` to
keep that module short; ``models`` imports it so that ``Base.metadata`` holds it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from labgpu.storage.models import JOB_STATES, Base, _sql_list
from labgpu.storage.types import UtcDateTime, utc_now


class LabJobRow(Base):
    """A job a member runs on their booking on one of the lab's servers."""

    __tablename__ = "lab_jobs"
    __table_args__ = (
        CheckConstraint(f"state IN ({_sql_list(JOB_STATES)})", name="state"),
        CheckConstraint("at_end IN ('warn', 'stop')", name="at_end"),
        Index(None, "user_name", "submitted_at"),
        Index(None, "group_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    group_id: Mapped[str] = mapped_column(String(36))
    server: Mapped[str] = mapped_column(String(64))  # a name: history outlives the server
    user_name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    command: Mapped[str] = mapped_column(Text)
    local_dir: Mapped[str] = mapped_column(Text, default="", server_default="")
    remote_dir: Mapped[str] = mapped_column(Text, default="", server_default="")
    job_dir: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    at_end: Mapped[str] = mapped_column(String(8), default="warn", server_default="warn")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pid: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
