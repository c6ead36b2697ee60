"""Test drives booked on a demo car. The booking screens come later; the sync server already
checks that one demo car is never booked twice for overlapping times."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import UTCDateTime


class TestDrive(SyncMixin, Base):
    __tablename__ = "test_drive"
    __table_args__ = (Index("ix_test_drive_demo_car_starts", "demo_car", "starts_at"),)
    __test__ = False  # not a pytest test class

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    salesperson_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"))
    # The demo car's plate (a demo fleet table arrives with the test-drive screens).
    demo_car: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # booked / done / cancelled
    status: Mapped[str] = mapped_column(String(20), default="booked", server_default="booked")
    notes: Mapped[str | None] = mapped_column(Text)
