"""The dealer (store), its settings and its staff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import IdColumnType, UTCDateTime


class Dealer(SyncMixin, Base):
    __tablename__ = "dealer"

    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))


class DealerSetting(SyncMixin, Base):
    """One configurable value (for example a level's follow-up cadence), JSON-encoded."""

    __tablename__ = "dealer_setting"

    dealer_id: Mapped[str] = mapped_column(ForeignKey("dealer.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


class User(SyncMixin, Base):
    __tablename__ = "app_user"

    dealer_id: Mapped[str | None] = mapped_column(ForeignKey("dealer.id"), index=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    phone: Mapped[str | None] = mapped_column(String(20))
    # Set on rows made by a command line or import rather than by a person.
    system_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    # argon2id hash (argon2-cffi's encoded form); None until a password is set.
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Lockout after repeated failures.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
