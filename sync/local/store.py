"""Local sync state, the synced tables, write transactions and wire <-> database values."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, DateTime, Integer, String, Table, text
from sqlalchemy.dialects import sqlite

from showroom.db.engine import Database
from showroom.db.outbox import SYNC_COLUMNS, from_wire, to_wire
from showroom.db.types import Money, UTCDateTime
from showroom.models.local import SyncKeys

log = logging.getLogger(__name__)

# local_state keys only this module uses (the shared ones are in SyncKeys).
FULL_RESYNC_KEY = "sync.full_resync"  # "1" while a full resync is under way
SEARCH_REBUILD_KEY = "sync.search_rebuild"  # "1" when the search index must be rebuilt
PURGED_KEY = "sync.purged_through"  # the server's purged_through at the last meta
# The server's history marks this laptop was given, "SEQ.ID,..." newest first (sync.protocol)
HISTORY_KEY = "sync.history"
# JSON [[name, sql], ...] of the indexes dropped while a first download fills empty tables
BULK_DOWNLOAD_KEY = "sync.bulk_download"
DEVICE_KEY = "device_id"

DEALER_TABLE = "dealer"
SYSTEM_USERNAME = "system"
# Pages touching more customers than this leave the search index to one rebuild at the end.
REINDEX_LIMIT = 200
CHUNK = 500  # bound parameters per IN list, well under SQLite's limit
SQLITE = sqlite.dialect()


class LocalSyncError(Exception):
    """Something in the local database or a pulled page stops sync. ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


# --- tables ----------------------------------------------------------------------------------


@cache
def synced_tables() -> dict[str, Table]:
    """Every synced table by name, parents before children."""
    import showroom.models  # noqa: F401  (registers every model)
    from showroom.db.base import Base, SyncMixin

    names = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, SyncMixin)
    }
    return {t.name: t for t in Base.metadata.sorted_tables if t.name in names}


@cache
def content_columns(table_name: str) -> tuple[Column, ...]:
    """The columns a row carries in ``data`` on the wire, and an insert op in ``fields``.

    All but the sync bookkeeping columns; ``deleted`` is content (a delete is an edit of it),
    and a pulled row also carries it beside ``data``.
    """
    table = synced_tables()[table_name]
    return tuple(c for c in table.columns if c.name not in SYNC_COLUMNS)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- state -----------------------------------------------------------------------------------


def read_state(conn: Connection, key: str) -> str | None:
    return conn.execute(text("SELECT value FROM local_state WHERE key = :k"), {"k": key}).scalar()


def write_state(conn: Connection, key: str, value: str | None) -> None:
    """Set ``key``; ``None`` removes it."""
    if value is None:
        conn.execute(text("DELETE FROM local_state WHERE key = :k"), {"k": key})
        return
    conn.execute(
        text(
            "INSERT INTO local_state (key, value) VALUES (:k, :v)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": str(value)},
    )


def get_state(db: Database, *keys: str) -> dict[str, str | None]:
    with db.engine.connect() as conn:
        return {key: read_state(conn, key) for key in keys}


def set_state(db: Database, values: Mapping[str, str | None]) -> None:
    """Write several keys in one transaction."""
    with writer(db) as conn:
        for key, value in values.items():
            write_state(conn, key, value)


def cursor_of(db: Database) -> int:
    value = get_state(db, SyncKeys.CURSOR)[SyncKeys.CURSOR]
    return int(value) if value else 0


def pending_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM sync_outbox WHERE NOT acknowledged")
        ).scalar()


class writer:
    """A write transaction (BEGIN IMMEDIATE) on a Core connection; optionally without FKs.

    ``PRAGMA foreign_keys`` only changes outside a transaction, so it is set on the raw
    connection before BEGIN and set back before the connection returns to the pool.
    """

    def __init__(self, db: Database, *, foreign_keys: bool = True) -> None:
        self.engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.foreign_keys = foreign_keys

    def __enter__(self) -> Connection:
        self.conn = self.engine.connect()
        if not self.foreign_keys:
            self.conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        self.tx = self.conn.begin()
        return self.conn

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.tx.commit()
            else:
                self.tx.rollback()
        finally:
            try:
                if not self.foreign_keys:
                    self.conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")
            finally:
                self.conn.close()


# --- wire <-> database values ----------------------------------------------------------------


# The two converters below do what from_wire + the column type's bind processing (and the
# result processing + to_wire) do, without SQLAlchemy's per-value machinery: the initial
# upload and download move millions of values. tests/client checks them against the slow path.


def stored_value(column: Column) -> Callable[[Any], Any]:
    """wire value -> the value SQLite stores for ``column``; raises TypeError/ValueError."""
    kind = column.type
    if isinstance(kind, Money):
        money = Money()

        def fen(value: Any) -> Any:
            if value is None:
                return None
            return money.process_bind_param(from_wire(column, value), None)

        return fen
    if isinstance(kind, UTCDateTime):

        def moment(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not str:
                raise TypeError("a timestamp must travel as text")
            parsed = dt.datetime.fromisoformat(value)  # checks the value whatever its form
            if parsed.tzinfo is None:
                raise ValueError("timestamp without a UTC offset")
            if value[10:11] == "T" and value.endswith("+00:00"):
                # The form every server sends: already UTC, so the stored text is a slice.
                if len(value) == 32 and value[19] == ".":
                    return f"{value[:10]} {value[11:26]}"
                if len(value) == 25:
                    return f"{value[:10]} {value[11:19]}.000000"
            return utc_text(parsed)

        return moment
    if isinstance(kind, Date) and not isinstance(kind, DateTime):

        def day(value: Any) -> Any:
            return None if value is None else from_wire(column, value).isoformat()

        return day
    if isinstance(kind, Boolean | Integer | String):
        exact = bool if isinstance(kind, Boolean) else int if isinstance(kind, Integer) else str
        length = getattr(kind, "length", None) if exact is str else None

        def plain(value: Any) -> Any:
            if value is None or (type(value) is exact and (length is None or len(value) <= length)):
                return value
            return from_wire(column, value)  # raises with the reason

        return plain
    processor = kind.bind_processor(SQLITE)

    def other(value: Any) -> Any:
        value = from_wire(column, value)
        return processor(value) if processor is not None else value

    return other


def wire_value(column: Column) -> Callable[[Any], Any]:
    """The value SQLite returns for ``column`` -> its wire form (as to_wire gives it)."""
    kind = column.type
    if isinstance(kind, Money):

        def money(fen: Any) -> Any:
            if fen is None:
                return None
            units, cents = divmod(abs(int(fen)), 100)
            return f"{'-' if fen < 0 else ''}{units}.{cents:02d}"

        return money
    if isinstance(kind, UTCDateTime):

        def moment(raw: Any) -> Any:
            if raw is None:
                return None
            if type(raw) is str and len(raw) == 26 and raw[10] == " " and raw[19] == ".":
                # As UTCDateTime stores it: isoformat() of the same moment is a slice of it.
                if raw.endswith("000000"):
                    return f"{raw[:10]}T{raw[11:19]}+00:00"
                return f"{raw[:10]}T{raw[11:]}+00:00"
            return dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC).isoformat()

        return moment
    if isinstance(kind, Date) and not isinstance(kind, DateTime):

        def day(raw: Any) -> Any:
            return None if raw is None else dt.date.fromisoformat(raw).isoformat()

        return day
    if isinstance(kind, Boolean):

        def flag(raw: Any) -> Any:
            return None if raw is None else bool(raw)

        return flag
    if isinstance(kind, Integer | String):
        return _same
    processor = kind.result_processor(SQLITE, None)

    def other(raw: Any) -> Any:
        return to_wire(processor(raw) if processor is not None else raw)

    return other


def _same(value: Any) -> Any:
    return value


@cache
def column_converters(table_name: str) -> tuple[tuple[str, Callable, Callable], ...]:
    """(name, stored_value, wire_value) per content column of ``table_name``."""
    return tuple((c.name, stored_value(c), wire_value(c)) for c in content_columns(table_name))


def utc_text(moment: dt.datetime) -> str:
    """A UTC moment as UTCDateTime stores it on SQLite."""
    return (
        moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    )
