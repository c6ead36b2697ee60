"""Synced rows that the sync itself produces: conflicts the server recorded, for review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Index, Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, SyncMixin
from showroom.db.types import IdColumnType, UTCDateTime


class SyncConflict(SyncMixin, Base):
    """A change the server could not apply cleanly, kept so that a manager can review it.

    The server creates these rows and every laptop pulls them like any other row. ``kind`` is
    ``field`` (one field edited on two laptops from the same base: the later arrival is in place,
    the earlier value is kept here), ``delete_edit`` (an edit met a delete: the row stays
    deleted, the edit is kept here) or ``double_booking`` (two bookings of one resource overlap:
    both are kept, ``other_row_id`` names the second). Values are JSON text, as on the wire.
    A manager's choice is an ordinary synced edit of ``status``/``resolution``.
    """

    __tablename__ = "sync_conflict"
    __table_args__ = (Index("ix_sync_conflict_status_detected", "status", "detected_at"),)

    kind: Mapped[str] = mapped_column(String(20))
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[str] = mapped_column(IdColumnType(), index=True)
    field: Mapped[str | None] = mapped_column(String(50))
    base_value: Mapped[str | None] = mapped_column(Text)
    # The value that arrived first and was overwritten (or the edit that met a delete).
    theirs_value: Mapped[str | None] = mapped_column(Text)
    # The value that arrived later and is now in place.
    mine_value: Mapped[str | None] = mapped_column(Text)
    theirs_device: Mapped[str | None] = mapped_column(IdColumnType())
    mine_device: Mapped[str | None] = mapped_column(IdColumnType())
    theirs_actor: Mapped[str | None] = mapped_column(IdColumnType())
    mine_actor: Mapped[str | None] = mapped_column(IdColumnType())
    other_row_id: Mapped[str | None] = mapped_column(IdColumnType())
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # open / resolved
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    # A manager's choice: kept (the value in place stays) / reverted (the earlier value
    # restored) / restored (a deleted row brought back with the edit) / cancelled_other /
    # cancelled_this. Closed by the sync, with no one named: erased (the customer's personal
    # data was erased) / merged (a pair merged both ways, the record kept holds the edit) /
    # decision_settled (who decided a conflict and when, decided on two laptops) /
    # quote_settled (two laptops' totals or approvals of one quote, worked out again).
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by_id: Mapped[str | None] = mapped_column(IdColumnType())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def open_about(cls, table: str, fields: Collection[str]) -> Select:
        """The open conflicts about ``fields`` of rows of ``table``."""
        return select(cls).where(
            cls.status == "open",
            cls.table_name == table,
            cls.field.in_(fields),
            cls.deleted.is_(False),
        )

    def close_by_sync(self, resolution: str) -> None:
        """Close the conflict as the sync does, with no one named and at the time the server
        recorded it: every laptop closes it alike, so two laptops closing it at once agree and
        leave no further conflict."""
        self.status = "resolved"
        self.resolution = resolution
        self.resolved_by_id = None
        self.resolved_at = self.detected_at
