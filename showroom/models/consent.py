"""Consent per channel and purpose, with when, how and by whom it was recorded (PIPL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import IdColumnType, UTCDateTime


class Consent(SyncMixin, Base):
    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_customer_channel", "customer_id", "channel", "purpose"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[str | None] = mapped_column(IdColumnType())
