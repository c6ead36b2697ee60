"""Contacts with a customer: visits, calls, messages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import IdColumnType, UTCDateTime


class Interaction(SyncMixin, Base):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_customer_at", "customer_id", "occurred_at"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    user_id: Mapped[str | None] = mapped_column(IdColumnType())
    channel: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
