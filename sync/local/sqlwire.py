"""Wire <-> stored value conversion written as SQL, so that SQLite does it in C.

The initial upload, a first download and the checksums move every synced row: a Python call per
value (the converters in :mod:`sync.local.store`) costs seconds at a million rows. Here each
column gets an SQL expression doing the same conversion for the forms the app stores and the
server sends. Anything else is left to the Python converters:

* stored -> wire: a value in an unusual stored form is converted by the Python converter,
  called from SQL (``sync_wire``), so the result is always the converter's;
* wire -> stored: :func:`canonical_sql` tells whether a wire value is in the form handled here;
  the caller falls back to the Python path for a page holding any other (it then either
  converts the value or raises naming the field).

SQLite's JSON functions write text exactly as :func:`sync.protocol.canonical_json` does
(compact, keys in the order given, the same escapes; the tests check it), so a row's digest
text can be assembled by SQLite too.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Boolean, Column, Connection, Date, DateTime, Integer, String

from showroom.db.types import Money, UTCDateTime
from sync.local.store import column_converters, content_columns, quote, synced_tables

WIRE_FUNCTION = "sync_wire"

# Money with at most this many digits before the point fits a BIGINT count of fen.
_MONEY_DIGITS = 16


def install(conn: Connection) -> None:
    """Register the Python fallback (``sync_wire(table, column, stored)``) on ``conn``."""
    raw = conn.connection.dbapi_connection
    raw.create_function(WIRE_FUNCTION, 3, _wire_fallback, deterministic=True)


def _wire_fallback(table: str, column: str, stored):
    for name, _to_db, to_wire in column_converters(table):
        if name == column:
            return to_wire(stored)
    raise KeyError(f"{table}.{column}")


def _kind(column: Column) -> str:
    kind = column.type
    if isinstance(kind, Money):
        return "money"
    if isinstance(kind, UTCDateTime):
        return "moment"
    if isinstance(kind, Date) and not isinstance(kind, DateTime):
        return "day"
    if isinstance(kind, Boolean):
        return "flag"
    if isinstance(kind, Integer | String):
        return "plain"
    return "other"


def wire_sql(table: str, column: Column, ref: str) -> str:
    """SQL giving the wire value of ``column`` (read as ``ref``), ready for json_array()."""
    kind = _kind(column)
    fallback = f"{WIRE_FUNCTION}('{table}', '{column.name}', {ref})"
    if kind == "plain":
        return ref
    if kind == "flag":
        return f"json(CASE WHEN {ref} IS NULL THEN 'null' WHEN {ref} THEN 'true' ELSE 'false' END)"
    if kind == "money":
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN typeof({ref}) = 'integer' THEN"
            f" printf('%s%d.%02d', CASE WHEN {ref} < 0 THEN '-' ELSE '' END,"
            f" abs({ref}) / 100, abs({ref}) % 100) ELSE {fallback} END"
        )
    if kind == "moment":
        # As UTCDateTime stores it, "YYYY-MM-DD HH:MM:SS.ffffff"; the wire form is isoformat()
        # of the same UTC moment, which leaves out a zero fraction.
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN typeof({ref}) = 'text'"
            f" AND length({ref}) = 26 AND substr({ref}, 11, 1) = ' '"
            f" AND substr({ref}, 20, 1) = '.' THEN substr({ref}, 1, 10) || 'T' ||"
            f" substr({ref}, 12, 8) || CASE WHEN substr({ref}, 21) = '000000' THEN ''"
            f" ELSE substr({ref}, 20) END || '+00:00' ELSE {fallback} END"
        )
    if kind == "day":
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN typeof({ref}) = 'text'"
            f" AND length({ref}) = 10 AND date(julianday({ref})) = {ref} THEN {ref}"
            f" ELSE {fallback} END"
        )
    return fallback


@cache
def row_array_sql(table: str) -> str:
    """``json_array(id, <wire values>)`` in :func:`column_converters` order."""
    columns = {c.name: c for c in content_columns(table)}
    names = [name for name, _, _ in column_converters(table)]
    values = [wire_sql(table, columns[name], quote(name)) for name in names]
    return f"json_array(id, {', '.join(values)})"


@cache
def digest_text_sql(table: str) -> str:
    """SQL giving the text :func:`sync.protocol.row_digest` hashes for a row of ``table``."""
    columns = sorted(content_columns(table), key=lambda c: c.name)
    pairs = ", ".join(f"'{c.name}', {wire_sql(table, c, quote(c.name))}" for c in columns)
    deleted = wire_sql(table, synced_tables()[table].c.deleted, "deleted")
    return f"json_array(id, server_version, {deleted}, json_object({pairs}))"


# --- wire -> stored ---------------------------------------------------------------------------


def canonical_sql(column: Column, ref: str, kind_ref: str) -> str:
    """SQL true when the JSON value ``ref`` (``->>``; ``kind_ref`` its json_type) is in a form
    :func:`stored_sql` converts exactly as :func:`sync.local.store.stored_value` would."""
    kind = _kind(column)
    null_ok = f"{kind_ref} = 'null' OR " if column.nullable else ""
    if kind == "plain":
        if isinstance(column.type, Integer):
            return f"({null_ok}{kind_ref} = 'integer')"
        length = getattr(column.type, "length", None)
        limit = f" AND length({ref}) <= {int(length)}" if length else ""
        return f"({null_ok}({kind_ref} = 'text'{limit}))"
    if kind == "flag":
        return f"({null_ok}{kind_ref} IN ('true', 'false'))"
    if kind == "money":
        digits = f"(CASE WHEN substr({ref}, 1, 1) = '-' THEN substr({ref}, 2) ELSE {ref} END)"
        return (
            f"({null_ok}({kind_ref} = 'text' AND {digits} GLOB '[0-9]*.[0-9][0-9]'"
            f" AND length({digits}) BETWEEN 4 AND {_MONEY_DIGITS + 3}"
            f" AND substr({digits}, 1, length({digits}) - 3) NOT GLOB '*[^0-9]*'))"
        )
    if kind == "moment":
        head = f"substr({ref}, 1, 19)"
        return (
            f"({null_ok}({kind_ref} = 'text' AND (length({ref}) = 25"
            f" AND substr({ref}, 20) = '+00:00' OR length({ref}) = 32"
            f" AND substr({ref}, 20, 1) = '.' AND substr({ref}, 27) = '+00:00'"
            f" AND substr({ref}, 21, 6) GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]')"
            f" AND strftime('%Y-%m-%dT%H:%M:%S', julianday({head})) = {head}))"
        )
    if kind == "day":
        return (
            f"({null_ok}({kind_ref} = 'text' AND length({ref}) = 10"
            f" AND date(julianday({ref})) = {ref}))"
        )
    return "0"


def stored_sql(column: Column, ref: str) -> str:
    """SQL giving the stored value of a wire value ``ref`` that :func:`canonical_sql` passed."""
    kind = _kind(column)
    if kind == "money":
        return f"CAST(replace({ref}, '.', '') AS INTEGER)"
    if kind == "moment":
        return (
            f"substr({ref}, 1, 10) || ' ' || substr({ref}, 12, 8) ||"
            f" CASE WHEN length({ref}) = 25 THEN '.000000' ELSE substr({ref}, 20, 7) END"
        )
    return ref
