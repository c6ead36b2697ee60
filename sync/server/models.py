"""The server's own tables (SQLAlchemy Core). They are not the laptop's tables: synced rows of
every kind live in one generic ``record`` table as canonical JSON."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from showroom.db.base import NAMING_CONVENTION
from showroom.db.types import UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 36  # canonical UUID text

dealer = Table(
    "dealer",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # The per-dealer counter: the last server_seq handed out. Pushes lock this row.
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    # History id: changes when the server is found to be restored from an older backup.
    Column("epoch", String(32), nullable=False),
    Column("epoch_base_seq", BigInteger, nullable=False, server_default="0"),
    # Tombstones up to this seq are gone; a cursor behind it must re-sync fully.
    Column("purged_through", BigInteger, nullable=False, server_default="0"),
    # The random id of the commit that reached last_seq (see ``history`` below); null until the
    # first commit after migration s0003.
    Column("last_commit", String(16)),
)

device = Table(
    "device",
    metadata,
    # The laptop's own device id, sent at enrolment.
    Column("id", String(ID), primary_key=True),
    Column("dealer_id", String(ID), ForeignKey("dealer.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    # sha256 hex of the bearer token; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("enrolled_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("last_seen_at", UTCDateTime()),
    Column("last_pulled_seq", BigInteger, nullable=False, server_default="0"),
    # In a pull that started from 0 and has not reached the end yet: its pages may continue
    # below purged_through (a full resync does not need the purged tombstones).
    Column("full_pull", Boolean, nullable=False, server_default=false()),
    Column("schema_version", Integer),
)

enrollment_code = Table(
    "enrollment_code",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("dealer_id", String(ID), ForeignKey("dealer.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("used_by_device", String(ID)),
)

# In the database rather than in memory, so that several server processes share the limit.
enroll_attempt = Table(
    "enroll_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_enroll_attempt_address_at", "address", "at"),
)

record = Table(
    "record",
    metadata,
    Column("dealer_id", String(ID), primary_key=True),
    Column("table_name", String(50), primary_key=True),
    Column("row_id", String(ID), primary_key=True),
    # The server_seq of the row's last change.
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    # Canonical JSON (sync.protocol.canonical_json) of the content columns, in wire form.
    Column("data", Text, nullable=False),
    # Server time of the last change; client clocks are never used for ordering.
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by_device", String(ID)),
    Column("updated_by_actor", String(ID)),
    # The enrolment (see auth.enrolment_key) whose insert left the row exactly as its laptop
    # holds it: every column sent, every value already canonical, nothing flagged.
    # A pull with skip_own leaves such rows out for that enrolment. Null for any other write.
    Column("clean_for", String(16)),
    Index("ix_record_dealer_version", "dealer_id", "version"),
)

push_batch = Table(
    "push_batch",
    metadata,
    Column("dealer_id", String(ID), primary_key=True),
    Column("batch_id", String(ID), primary_key=True),
    Column("device_id", String(ID), nullable=False),
    # The exact response body sent, returned verbatim to a retry.
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

applied_op = Table(
    "applied_op",
    metadata,
    Column("dealer_id", String(ID), primary_key=True),
    Column("op_id", String(ID), primary_key=True),
    Column("result", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# One row per commit that handed out versions: the seq it reached and a random id. Laptops
# keep marks (seq, id) from the answers they get and send them back; a mark this table does
# not hold shows the server was restored from an older backup (sync.server.records.
# history_base). Trimmed with the tombstones (sync.server.purge).
history = Table(
    "history",
    metadata,
    Column("dealer_id", String(ID), ForeignKey("dealer.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("commit_id", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
