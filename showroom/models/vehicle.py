"""Vehicles a customer owns or brings in for service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin


class CustomerVehicle(SyncMixin, Base):
    __tablename__ = "customer_vehicle"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17), index=True)
    plate: Mapped[str | None] = mapped_column(String(10), index=True)
    trim_id: Mapped[str | None] = mapped_column(ForeignKey("catalogue_trim.id"))
    # Free text for vehicles not in the catalogue (other brands, older years).
    model_name: Mapped[str | None] = mapped_column(String(100))
    colour: Mapped[str | None] = mapped_column(String(30))
    purchase_date: Mapped[dt.date | None] = mapped_column(Date)
    mileage_km: Mapped[int | None] = mapped_column(Integer)
