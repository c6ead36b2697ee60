"""Follow-up tasks: who calls which customer when, and what came of it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import IdColumnType, UTCDateTime


class FollowUp(SyncMixin, Base):
    __tablename__ = "follow_up"
    # "Due today and overdue, per salesperson" is the page a salesperson starts the day on.
    __table_args__ = (
        Index("ix_follow_up_owner_open_due", "owner_id", "done", "due"),
        # The customer list's "next follow-up" sort and its "overdue" filter.
        Index("ix_follow_up_open_due_customer", "done", "deleted", "due", "customer_id"),
        Index("ix_follow_up_customer_open_due", "customer_id", "done", "deleted", "due"),
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"))
    due: Mapped[dt.date] = mapped_column(Date)
    purpose: Mapped[str | None] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    interaction_id: Mapped[str | None] = mapped_column(IdColumnType())
