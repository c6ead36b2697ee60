"""Stored -> wire value conversion written as SQL, so that SQLite does it in C.

The initial upload and the checksums read every synced row: a Python call per value (the
converters in :mod:`sync.local.store`) costs seconds at a million rows. Here each column gets an
SQL expression doing the same conversion for the forms the app stores. A value in an unusual
stored form is converted by the Python converter, called from SQL (``sync_wire``), so the
result is always the converter's.

SQLite's JSON functions write text exactly as :func:`sync.protocol.canonical_json` does
(compact, keys in the order given, the same escapes; the tests check it), so a row's digest
text can be assembled by SQLite too.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Column, Connection

from sync import wireforms
from sync.local.store import column_converters, content_columns, quote, synced_tables

WIRE_FUNCTION = "sync_wire"


def install(conn: Connection) -> None:
    """Register the Python fallback (``sync_wire(table, column, stored)``) on ``conn``."""
    raw = conn.connection.dbapi_connection
    raw.create_function(WIRE_FUNCTION, 3, _wire_fallback, deterministic=True)


def _wire_fallback(table: str, column: str, stored):
    for name, _to_db, to_wire in column_converters(table):
        if name == column:
            return to_wire(stored)
    raise KeyError(f"{table}.{column}")


def wire_sql(table: str, column: Column, ref: str) -> str:
    """SQL giving the wire value of ``column`` (read as ``ref``), ready for json_array()."""
    kind = wireforms.kind_of(column)
    fallback = f"{WIRE_FUNCTION}('{table}', '{column.name}', {ref})"
    if kind in (wireforms.TEXT, wireforms.WHOLE):
        return ref
    if kind == wireforms.FLAG:
        return f"json(CASE WHEN {ref} IS NULL THEN 'null' WHEN {ref} THEN 'true' ELSE 'false' END)"
    if kind == wireforms.MONEY:
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN typeof({ref}) = 'integer' THEN"
            f" printf('%s%d.%02d', CASE WHEN {ref} < 0 THEN '-' ELSE '' END,"
            f" abs({ref}) / 100, abs({ref}) % 100) ELSE {fallback} END"
        )
    if kind == wireforms.MOMENT:
        # As UTCDateTime stores it, "YYYY-MM-DD HH:MM:SS.ffffff"; the wire form is isoformat()
        # of the same UTC moment, which leaves out a zero fraction.
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL WHEN typeof({ref}) = 'text'"
            f" AND length({ref}) = 26 AND substr({ref}, 11, 1) = ' '"
            f" AND substr({ref}, 20, 1) = '.' THEN substr({ref}, 1, 10) || 'T' ||"
            f" substr({ref}, 12, 8) || CASE WHEN substr({ref}, 21) = '000000' THEN ''"
            f" ELSE substr({ref}, 20) END || '+00:00' ELSE {fallback} END"
        )
    if kind == wireforms.DAY:
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
