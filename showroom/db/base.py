"""Declarative base and the sync mixin every synced table carries (DESIGN.md, "Sync contract")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, MetaData, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from showroom.db.types import IdColumnType, UTCDateTime
from showroom.ids import new_id

# Stable constraint names, so batch migrations on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SyncMixin:
    """Columns of a synced row.

    ``id`` is made on the laptop, ``server_version`` is the last server sequence number seen for
    the row, ``deleted`` is the tombstone. ``updated_at`` and ``updated_by_device`` are set by the
    outbox hook on every flush, never by services.
    """

    __synced__ = True

    id: Mapped[str] = mapped_column(IdColumnType(), primary_key=True, default=new_id)
    server_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_device: Mapped[str | None] = mapped_column(String(36))
