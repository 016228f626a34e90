"""The tables of notifications (issue 17): each member's channels (``notify_settings``), the
events waiting to be sent (``outbox``) and one delivery per recipient and channel
(``deliveries``). Kept apart from ``models`` to keep that module short; ``models`` imports it
so that ``Base.metadata`` holds them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from labgpu.storage.models import Base, _sql_list
from labgpu.storage.types import UtcDateTime, utc_now

AUDIENCES = ("member", "deciders", "managers")
CHANNELS = ("email", "webhook")
DELIVERY_STATES = ("pending", "sending", "sent", "failed")


class NotifySettingsRow(Base):
    """Where a member wants to hear from the lab, and what not: their own row only (the lab
    database's policies). ``muted`` is a comma list of event kinds turned off."""

    __tablename__ = "notify_settings"

    user_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    webhook_url: Mapped[str] = mapped_column(Text, default="", server_default="")
    muted: Mapped[str] = mapped_column(Text, default="", server_default="")
    lead_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )


class OutboxRow(Base):
    """One event to tell someone, written in the transaction of the change that caused it.
    ``payload`` holds facts as JSON (texts are rendered when sent, in the reader's language);
    ``dedup_key`` makes enqueueing the same event twice a no-op; ``expanded_at`` is set once
    its deliveries exist."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"audience IN ({_sql_list(AUDIENCES)})", name="audience"),
        Index(None, "expanded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))
    #: The member it is for (audience ``member``) or about (the others).
    user_name: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    expanded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeliveryRow(Base):
    """One event to one member over one channel; the sender claims it (``sending``), and marks
    it ``sent`` once the channel took it, or retries it at ``next_at`` until it gives up."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_sql_list(CHANNELS)})", name="channel"),
        CheckConstraint(f"state IN ({_sql_list(DELIVERY_STATES)})", name="state"),
        UniqueConstraint("outbox_id", "user_name", "channel"),
        Index(None, "state", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utc_now, server_default=func.now()
    )
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
