"""Quotes (报价单) handed to a walk-in customer, with their price lines.

A quote is a synced row: it is made offline on a laptop and reaches the server like any other
edit. Its number must therefore be unique without asking anyone: it carries a code derived
from the laptop's device id (``showroom.services.quotes.quote_number``), so two laptops that
both make their first quote of the day print ``Q20261122-7KQ3-0001`` and ``Q20261122-M2XD-0001``.
There is deliberately no UNIQUE constraint on ``number``: a pulled row must never fail to apply
(DESIGN.md, "No acknowledged value is ever lost").

Amounts are CNY (``Money``). ``total`` is computed by the service from the lines, the vehicle
price and the discount; ``dealer_cost`` is the store's invoice price of the vehicle at the time
of the quote, for the margin, and is never printed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin, utcnow
from showroom.db.types import Money, UTCDateTime


class Quote(SyncMixin, Base):
    __tablename__ = "quote"
    __table_args__ = (
        Index("ix_quote_customer_created", "customer_id", "created_at"),
        Index("ix_quote_number", "number"),
        Index("ix_quote_status", "status"),
    )

    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    salesperson_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"))
    trim_id: Mapped[str] = mapped_column(ForeignKey("catalogue_trim.id"))
    colour: Mapped[str | None] = mapped_column(String(50))
    # The trim's list price when quoted (later catalogue changes do not alter a quote).
    vehicle_price: Mapped[Decimal] = mapped_column(Money())
    discount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money())
    dealer_cost: Mapped[Decimal | None] = mapped_column(Money())
    valid_until: Mapped[dt.date] = mapped_column(Date)
    # draft / pending_approval / approved / issued / cancelled ("expired" is read from the date)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    approved_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the approval covered: a hash of the prices, lines and discount the manager saw. Two
    # laptops' edits merged field by field can put other lines beside an approval; the sync
    # then asks again (``showroom.services.quotes.settle_quotes``). NULL before schema 4.
    approved_signature: Mapped[str | None] = mapped_column(String(64))
    # Why a manager refused the discount (cleared when the quote is changed and asked again).
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the customer was handed when the quote was first printed (JSON: the trim, colour,
    # prices, discount, total, validity, notes and lines). Another laptop's offline change can
    # reach an issued quote; this tells it, and puts the printed quote back
    # (``showroom.services.quotes.split_after_issue``). NULL before schema 5.
    issued_snapshot: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"))


class QuoteLine(SyncMixin, Base):
    """One priced line of a quote: a colour surcharge, an option, an accessory or a fee."""

    __tablename__ = "quote_line"

    quote_id: Mapped[str] = mapped_column(ForeignKey("quote.id"), index=True)
    # colour / option / accessory / insurance / registration / purchase_tax / service_fee
    kind: Mapped[str] = mapped_column(String(20))
    # The catalogue option's code for kind "option" (so the editor can tick it again).
    code: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    unit_price: Mapped[Decimal] = mapped_column(Money())
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
