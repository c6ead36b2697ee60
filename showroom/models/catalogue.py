"""The vehicle catalogue: trims with their list price, options and colours."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import Money


class Trim(SyncMixin, Base):
    __tablename__ = "catalogue_trim"

    brand: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(50))
    trim: Mapped[str] = mapped_column(String(100))
    model_year: Mapped[int] = mapped_column(Integer)
    fuel: Mapped[str] = mapped_column(String(10))
    msrp: Mapped[Decimal] = mapped_column(Money())
    # The store's invoice price (进货价): what a quote's margin is measured against. Never printed
    # and never shown to roles without ``see_margins``; None when the store has not entered it.
    dealer_cost: Mapped[Decimal | None] = mapped_column(Money())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class TrimOption(SyncMixin, Base):
    __tablename__ = "catalogue_option"

    trim_id: Mapped[str] = mapped_column(ForeignKey("catalogue_trim.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[Decimal] = mapped_column(Money())


class TrimColour(SyncMixin, Base):
    __tablename__ = "catalogue_colour"

    trim_id: Mapped[str] = mapped_column(ForeignKey("catalogue_trim.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    code: Mapped[str | None] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
