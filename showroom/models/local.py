"""Tables that stay on this laptop: its identity, the sync outbox and the search index."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from showroom.db.base import Base, utcnow
from showroom.db.types import IdColumnType, UTCDateTime


class SyncKeys:
    """``local_state`` keys the sync client keeps (values are text)."""

    SERVER_URL = "sync.server_url"
    TOKEN = "sync.token"
    DEALER_ID = "sync.dealer_id"
    DEALER_NAME = "sync.dealer_name"
    CURSOR = "sync.cursor"  # highest server_seq applied locally
    EPOCH = "sync.epoch"  # the server's history id; changes when it is restored from a backup
    LAST_ATTEMPT_AT = "sync.last_attempt_at"  # ISO UTC
    LAST_SUCCESS_AT = "sync.last_success_at"  # ISO UTC
    LAST_ERROR = "sync.last_error"  # empty after a good cycle
    ONLINE = "sync.online"  # "1" / "0": did the last attempt reach the server
    CLOCK_SKEW_SECONDS = "sync.clock_skew_seconds"  # server clock minus this laptop's
    # JSON {old: new}: users made on this laptop whose username the store's server already gave
    # to another user, moved aside by a pull; each entry goes once its user signs in.
    MOVED_USERNAMES = "sync.moved_usernames"


class LocalState(Base):
    """Key/value facts about this installation (device id, sync cursor, demo flag)."""

    __tablename__ = "local_state"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncOutbox(Base):
    """One local change waiting to be pushed. Written in the same transaction as the change."""

    __tablename__ = "sync_outbox"
    __table_args__ = (Index("ix_sync_outbox_pending", "acknowledged", "seq"),)

    # Local order of the changes; the server never sees it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op_id: Mapped[str] = mapped_column(IdColumnType(), unique=True)
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[str] = mapped_column(IdColumnType(), index=True)
    op: Mapped[str] = mapped_column(String(10))  # insert / update / delete
    # JSON {"field": {"new": ..., "base": ...}}
    fields: Mapped[str] = mapped_column(Text)
    # Deletes only: JSON {"field": value} of the row's content as the laptop held it when it
    # was deleted, for the server to see whether the laptop had missed another laptop's edit.
    held: Mapped[str | None] = mapped_column(Text)
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device_id: Mapped[str | None] = mapped_column(IdColumnType())
    actor_id: Mapped[str | None] = mapped_column(IdColumnType())
    batch_id: Mapped[str | None] = mapped_column(IdColumnType(), index=True)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The server's answer once acknowledged: applied / merged / conflict / duplicate / rejected.
    result: Mapped[str | None] = mapped_column(String(10))
    # Why the server rejected the op; rejected ops stay here for the conflict review page.
    reason: Mapped[str | None] = mapped_column(Text)


class SyncUploadAck(Base):
    """A row of the initial upload the server has answered, with the version it gave.

    Kept here, appended in upload order, until its whole table is answered; the versions are
    then written into the table in one pass in storage order (``sync.local.upload``). Writing
    them batch by batch rewrote most of a table's pages for each batch.
    """

    __tablename__ = "sync_upload_ack"
    __table_args__ = ({"sqlite_with_rowid": False},)

    table_name: Mapped[str] = mapped_column(String(50), primary_key=True)
    row_id: Mapped[str] = mapped_column(IdColumnType(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class SearchDoc(Base):
    """Small integer handle for a customer, so each search key row stays a few bytes."""

    __tablename__ = "search_doc"

    doc: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), unique=True
    )


class SearchKey(Base):
    """Every suffix (two characters or longer) of a customer's searchable values.

    A fragment then matches by a range scan on ``suffix``: ``is_start`` marks the suffix that is
    the whole value, which gives exact and prefix matches their rank above substring matches.
    """

    __tablename__ = "search_key"
    __table_args__ = (
        Index("ix_search_key_doc", "doc"),
        {"sqlite_with_rowid": False},
    )

    is_start: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    suffix: Mapped[str] = mapped_column(String(40), primary_key=True)
    doc: Mapped[int] = mapped_column(
        ForeignKey("search_doc.doc", ondelete="CASCADE"), primary_key=True
    )
