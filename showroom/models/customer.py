"""The customer aggregate: the person or company, their phones, level history and merges."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin, utcnow
from showroom.db.types import IdColumnType, UTCDateTime


class Customer(SyncMixin, Base):
    __tablename__ = "customer"
    # (sort key, id) pairs: the customer list pages by keyset on each sortable column.
    __table_args__ = (
        Index("ix_customer_updated_at_id", "updated_at", "id"),
        Index("ix_customer_created_at_id", "created_at", "id"),
        Index("ix_customer_name_id", "name", "id"),
        Index("ix_customer_intent_level_name_id", "intent_level", "name", "id"),
        # Erased customers only (migration 0006): found after every push, never by a scan.
        Index("ix_customer_erased_at", "erased_at", sqlite_where=text("erased_at IS NOT NULL")),
        # Merged records only (migration 0010): an erasure and the sync's re-erasure look up the
        # records merged into erased customers.
        Index(
            "ix_customer_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
        # Live customers only (migration 0008): the list's total counts them from this small
        # index instead of reading the whole table, which an encrypted file decrypts each time.
        Index(
            "ix_customer_live",
            "assigned_to_id",
            sqlite_where=text("deleted IS 0 AND merged_into_id IS NULL"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(10), default="person")
    name: Mapped[str] = mapped_column(String(100))
    # For a company: the person we deal with.
    contact_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    wechat_id: Mapped[str | None] = mapped_column(String(50))
    gender: Mapped[str | None] = mapped_column(String(10))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(200))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    source: Mapped[str | None] = mapped_column(String(20))
    assigned_to_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    intent_level: Mapped[str | None] = mapped_column(String(1), index=True)
    # Pending/approved/rejected while the level is F.
    lost_approval: Mapped[str | None] = mapped_column(String(10))
    expected_purchase_date: Mapped[dt.date | None] = mapped_column(Date)
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default="prospect", index=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[str | None] = mapped_column(IdColumnType())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    # Set when the customer's personal data was erased on request (PIPL): the row stays,
    # anonymised, so counts and history remain.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CustomerPhone(SyncMixin, Base):
    __tablename__ = "customer_phone"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    label: Mapped[str] = mapped_column(String(10), default="mobile")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IntentChange(SyncMixin, Base):
    """One change of a customer's intent level, kept as history."""

    __tablename__ = "intent_change"
    __table_args__ = (Index("ix_intent_change_customer_at", "customer_id", "changed_at"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    from_level: Mapped[str | None] = mapped_column(String(1))
    to_level: Mapped[str] = mapped_column(String(1))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    # Only for a change to F: pending until a manager approves or rejects it.
    approval: Mapped[str | None] = mapped_column(String(10), index=True)
    decided_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)


class CustomerMerge(SyncMixin, Base):
    """Record of a merge: what the absorbed customer was, and which rows moved."""

    __tablename__ = "customer_merge"

    survivor_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    merged_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    # JSON: the absorbed record as it was, and the ids of every row moved to the survivor.
    snapshot: Mapped[str] = mapped_column(Text)
