"""The audit trail: who revealed, printed, exported, merged, deleted or changed what, and when.

Rows are only ever added (services never update or delete them) and they sync like any other row,
so a manager reads one trail for the whole store.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin, utcnow
from showroom.db.types import IdColumnType, UTCDateTime


class AuditEntry(SyncMixin, Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target", "target_id", "at"),
        Index("ix_audit_log_actor", "actor_id", "at"),
    )

    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(IdColumnType())
    # The actor's name and role when it happened (a user may be renamed or change role later).
    actor_name: Mapped[str] = mapped_column(String(50))
    actor_role: Mapped[str] = mapped_column(String(20))
    # reveal_id_number, reveal_phone, print, export, merge, delete, consent, role, erase, ...
    action: Mapped[str] = mapped_column(String(30))
    target_table: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(IdColumnType())
    # JSON with what an auditor needs (never the revealed value itself).
    detail: Mapped[str | None] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(IdColumnType())
