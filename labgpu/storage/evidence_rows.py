"""The tables of the PI's evidence (issue 16): every slot request as asked (``slot_requests``),
the lab's projects and grants (``projects``), and the prices managers set per GPU model
(``gpu_prices``). Kept apart from ``models`` to keep that module short; ``models`` imports it so
that ``Base.metadata`` holds them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, Index, Integer, String, Text, func, true
from sqlalchemy.orm import Mapped, mapped_column

from labgpu.storage.models import Base
from labgpu.storage.types import UtcDateTime, utc_now


class SlotRequestRow(Base):
    """One slot search or ``book --earliest`` as the member asked it, and the earliest start the
    lab offered (``earliest_at`` null: none within the booking horizon). The wait a request
    stands for is ``earliest_at - wanted_at``; ``refused_rule`` names the lab rule that refused
    it (null: the lab answered). Rows of the old ``unmet_requests`` are kept here as they were."""

    __tablename__ = "slot_requests"
    __table_args__ = (Index(None, "asked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    wanted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    earliest_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The rule that refused the request (null: the lab answered with ``earliest_at``).
    refused_rule: Mapped[str | None] = mapped_column(String(32))
    #: The project the member asked for (null: none named).
    project: Mapped[str | None] = mapped_column(String(64))


class ProjectRow(Base):
    """A project or grant GPU time is accounted to; managers keep the list. A project that
    ended stays (``active`` false) so that its history keeps its name."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class GpuPriceRow(Base):
    """What a GPU model costs elsewhere, as a manager set it: a cloud price and a cluster rate
    per GPU-hour, and the purchase price of one GPU, each in ``currency``; null: not set."""

    __tablename__ = "gpu_prices"
    __table_args__ = (
        CheckConstraint("cloud_per_gpu_h IS NULL OR cloud_per_gpu_h >= 0", name="cloud"),
        CheckConstraint("cluster_per_gpu_h IS NULL OR cluster_per_gpu_h >= 0", name="cluster"),
        CheckConstraint("purchase_per_gpu IS NULL OR purchase_per_gpu >= 0", name="purchase"),
    )

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8), default="USD", server_default="USD")
    cloud_per_gpu_h: Mapped[float | None] = mapped_column(Float)
    cluster_per_gpu_h: Mapped[float | None] = mapped_column(Float)
    purchase_per_gpu: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    updated_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
