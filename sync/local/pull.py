"""Writing pulled pages: one transaction per page with its cursor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.db.outbox import to_wire
from showroom.models.local import SyncKeys
from sync import wireforms
from sync.local import usernames
from sync.local.outbox import set_fields
from sync.local.searchkeys import customers_after, customers_before, reindex
from sync.local.store import (
    BULK_DOWNLOAD_KEY,
    SEARCH_REBUILD_KEY,
    LocalSyncError,
    chunks,
    column_converters,
    get_state,
    quote,
    read_state,
    stored_value,
    synced_tables,
    write_state,
    writer,
)

# --- pull ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageResult:
    rows: int  # rows written
    ignored: int  # rows of tables this laptop does not know
    next_since: int
    has_more: bool


def _check_page(page: Any, since: int) -> tuple[list[Mapping[str, Any]], int, bool]:
    if not isinstance(page, Mapping):
        raise LocalSyncError("page", "expected an object")
    rows = page.get("rows")
    if not isinstance(rows, list):
        raise LocalSyncError("rows", "expected a list")
    next_since = page.get("next_since")
    if isinstance(next_since, bool) or not isinstance(next_since, int) or next_since < since:
        raise LocalSyncError("next_since", f"expected a whole number >= {since}")
    has_more = page.get("has_more")
    if not isinstance(has_more, bool):
        raise LocalSyncError("has_more", "expected true or false")
    return rows, next_since, has_more


# A laptop holding fewer synced rows than this (the dealer, the system account, a few edits
# made before enrolment) downloads as into empty tables.
FRESH_ROWS = 1000


def holds_few_rows(conn: Connection) -> bool:
    """Whether the synced tables hold at most FRESH_ROWS rows in all."""
    held = 0
    for name in synced_tables():
        held += conn.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM {quote(name)} LIMIT {FRESH_ROWS + 1})"
        ).scalar()
        if held > FRESH_ROWS:
            return False
    return True


def begin_bulk_download(db: Database) -> bool:
    """Prepare a first download into (nearly) empty tables; True when one is under way.

    The secondary indexes of the synced tables are dropped, so that each is built once when
    the download ends instead of being updated row by row in random order. Their definitions
    are stored first, in the same transaction: a download cut short keeps them until a later
    cycle finishes it (:func:`end_bulk_download`). Unique indexes stay, and with them every
    uniqueness check.
    """
    with writer(db) as conn:
        if read_state(conn, BULK_DOWNLOAD_KEY):
            return True
        if int(read_state(conn, SyncKeys.CURSOR) or 0) != 0:
            return False
        if not holds_few_rows(conn):
            return False
        tables = list(synced_tables())
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({','.join('?' * len(tables))})"
            " ORDER BY name",
            tuple(tables),
        ).all()
        for index_name, _ in indexes:
            conn.exec_driver_sql(f"DROP INDEX {quote(index_name)}")
        write_state(conn, BULK_DOWNLOAD_KEY, json.dumps([list(i) for i in indexes]))
    return True


def end_bulk_download(db: Database) -> bool:
    """Build the indexes a first download dropped, once it is complete; True when it did."""
    if not get_state(db, BULK_DOWNLOAD_KEY)[BULK_DOWNLOAD_KEY]:
        return False  # the usual case, without taking the write lock
    with writer(db) as conn:
        stored = read_state(conn, BULK_DOWNLOAD_KEY)
        if not stored:
            return False
        for index_name, sql in json.loads(stored):
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (index_name,)
            ).first()
            if exists is None:
                conn.exec_driver_sql(sql)
        write_state(conn, BULK_DOWNLOAD_KEY, None)
    return True


@cache
def _upsert_sql(table_name: str, names: tuple[str, ...]) -> str:
    columns = ("id", "server_version", "deleted", "updated_at", "updated_by_device", *names)
    quoted = [quote(c) for c in columns]
    updates = ", ".join(f"{q} = excluded.{q}" for q in quoted[1:])
    return (
        f"INSERT INTO {quote(table_name)} ({', '.join(quoted)})"
        f" VALUES ({', '.join('?' for _ in columns)})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )


def apply_pull_page(db: Database, page: Mapping[str, Any], *, since: int) -> PageResult:
    """Write one pulled page and advance the cursor to its ``next_since``, in one transaction.

    Rows are upserted with their server version, tombstone flag and stamps; no outbox op is
    made. Foreign keys are off while the page is written (a child can arrive before its
    parent). Pending ops of the page's rows are then re-applied on top, and the search index of
    the customers touched follows. Rows of unknown tables and unknown columns are ignored.
    Raises LocalSyncError naming the bad field when the page is malformed; nothing is written
    then.
    """
    rows, next_since, has_more = _check_page(page, since)
    by_table, ignored = _rows_by_table(rows)
    stamp = stored_value(synced_tables()["customer"].c.updated_at)
    now_text = to_wire(utcnow())
    statements: list[tuple[str, str, list[tuple]]] = []
    for name, table_rows in by_table.items():
        groups = _table_params(name, table_rows, stamp, now_text)
        statements += [(name, _upsert_sql(name, names), params) for names, params in groups.items()]
    written = 0
    with writer(db, foreign_keys=False) as conn:
        users = by_table.get(usernames.USER_TABLE, ())
        usernames.make_way(conn, ((r["id"], r["data"].get("username")) for r in users))
        if read_state(conn, BULK_DOWNLOAD_KEY):
            # A first download into empty tables: nothing to compare, keep or reindex row by
            # row; the search index is rebuilt once at the end.
            for _name, sql, params in statements:
                conn.exec_driver_sql(sql, params)
                written += len(params)
            _reapply_pending(conn, by_table)  # edits made while the download goes on
            write_state(conn, SEARCH_REBUILD_KEY, "1")
            write_state(conn, SyncKeys.CURSOR, str(next_since))
            return PageResult(written, ignored, next_since, has_more)
        unchanged = _unchanged_rows(conn, by_table)
        if unchanged:
            by_table = {
                name: kept
                for name, table_rows in by_table.items()
                if (kept := [r for r in table_rows if r["id"] not in unchanged])
            }
        touched = customers_before(conn, by_table)
        for _name, sql, params in statements:
            if unchanged:
                params = [p for p in params if p[0] not in unchanged]
            if params:
                conn.exec_driver_sql(sql, params)
            written += len(params)
        _reapply_pending(conn, by_table)
        touched |= customers_after(by_table)
        reindex(conn, touched)
        write_state(conn, SyncKeys.CURSOR, str(next_since))
    return PageResult(written, ignored, next_since, has_more)


def _table_params(
    name: str, table_rows: list[Mapping[str, Any]], stamp, now_text: str
) -> dict[tuple[str, ...], list[tuple]]:
    """The parameter rows of one table's upsert, by the columns they carry.

    Values are converted a column at a time: a column whose values are all in canonical wire
    form (:mod:`sync.wireforms`) is converted in a few C-level passes; any other column value
    by value, which converts or raises naming the field. Rows lacking some columns (an older
    server) go row by row.
    """
    # The row's own ``deleted`` flag is the one written, not the copy in ``data``.
    converters = [(n, to_db) for n, to_db, _ in column_converters(name) if n != "deleted"]
    full = tuple(n for n, _ in converters)
    take = itemgetter(*full)
    try:
        values = [take(row["data"]) for row in table_rows]
    except KeyError:
        return _table_params_by_row(name, table_rows, stamp, now_text)
    columns = list(zip(*values, strict=True)) if len(full) > 1 else [tuple(values)]
    converted = []
    for (column_name, to_db), given in zip(converters, columns, strict=True):
        converted.append(_column(name, column_name, to_db, given, table_rows))
    moments = [row.get("updated_at") or now_text for row in table_rows]
    stamps = _column(name, "updated_at", stamp, moments, table_rows)
    heads = (
        [row["id"] for row in table_rows],
        [row["version"] for row in table_rows],
        [row["deleted"] for row in table_rows],
        stamps,
        [text_or_none(row.get("updated_by_device")) for row in table_rows],
    )
    return {full: list(zip(*heads, *converted, strict=True))}


def _column(table: str, name: str, to_db, given, rows) -> list:
    """One column's stored values: in bulk when canonical, else value by value."""
    fast = _bulk_converter(table, name)
    if fast is not None:
        done = fast(given)
        if done is not None:
            return done
    out = []
    for value, row in zip(given, rows, strict=True):
        try:
            out.append(to_db(value))
        except (TypeError, ValueError) as error:
            raise LocalSyncError(f"{table}.{name}", f"{error} (row {row['id']})") from error
    return out


@cache
def _bulk_converter(table: str, name: str):
    """A whole-column wire -> stored conversion for canonical values (None when the column's
    values are not all canonical, or its type has none)."""
    column = synced_tables()[table].c[name]
    check = wireforms.canonical_check(column)
    kind = wireforms.kind_of(column)
    if kind in (wireforms.TEXT, wireforms.WHOLE, wireforms.FLAG, wireforms.DAY):
        return lambda values: list(values) if check(values) else None
    if kind == wireforms.MONEY:

        def fen(values):
            if not check(values):
                return None
            return [None if v is None else int(v.replace(".", "")) for v in values]

        return fen
    if kind == wireforms.MOMENT:

        def moments(values):
            if not check(values):
                return None
            # As UTCDateTime stores it: "YYYY-MM-DD HH:MM:SS.ffffff", a slice of the wire form.
            return [
                None
                if v is None
                else f"{v[:10]} {v[11:26]}"
                if len(v) == 32
                else f"{v[:10]} {v[11:19]}.000000"
                for v in values
            ]

        return moments
    return None


def _table_params_by_row(
    name: str, table_rows: list[Mapping[str, Any]], stamp, now_text: str
) -> dict[tuple[str, ...], list[tuple]]:
    """As :func:`_table_params`, a row at a time, for rows that do not all carry every column."""
    converters = [(n, to_db) for n, to_db, _ in column_converters(name) if n != "deleted"]
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for row in table_rows:
        data = row["data"]
        try:
            head = (
                row["id"],
                row["version"],
                row["deleted"],
                stamp(row.get("updated_at") or now_text),
                text_or_none(row.get("updated_by_device")),
            )
            present = [(n, to_db) for n, to_db in converters if n in data]
            values = [to_db(data[n]) for n, to_db in present]
            names = tuple(n for n, _ in present)
        except (TypeError, ValueError) as error:
            raise LocalSyncError(
                f"{name}.{_bad_key(name, row)}", f"{error} (row {row['id']})"
            ) from error
        groups.setdefault(names, []).append((*head, *values))
    return groups


def _unchanged_rows(conn: Connection, by_table: Mapping[str, list[Mapping[str, Any]]]) -> set[str]:
    """Ids of pulled rows this laptop holds already: same version, tombstone and values.

    Mostly the laptop's own pushes coming back (after an initial upload, all of them). They
    are left as they are: writing them again would only cost time and search reindexing.
    """
    found: set[str] = set()
    for name, rows in by_table.items():
        converters = column_converters(name)
        columns = ", ".join(["id", "server_version", *(quote(n) for n, _, _ in converters)])
        local: dict[str, Any] = {}
        for chunk in chunks([r["id"] for r in rows]):
            marks = ",".join("?" for _ in chunk)
            for row in conn.exec_driver_sql(
                f"SELECT {columns} FROM {quote(name)} WHERE id IN ({marks})", tuple(chunk)
            ):
                local[row[0]] = row
        if not local:
            continue
        for pulled in rows:
            mine = local.get(pulled["id"])
            if mine is None or mine[1] != pulled["version"]:
                continue
            data = pulled["data"]
            values = {n: wire(raw) for (n, _, wire), raw in zip(converters, mine[2:], strict=True)}
            if values["deleted"] is pulled["deleted"] and all(
                values[n] == v for n, v in data.items() if n in values
            ):
                found.add(pulled["id"])
    return found


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _rows_by_table(rows: list) -> tuple[dict[str, list[Mapping[str, Any]]], int]:
    """Rows of known tables grouped by table, each checked; and how many were ignored."""
    tables = synced_tables()
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    ignored = 0
    if rows and _well_formed(rows):
        for row in rows:
            table = row["table"]
            if table in tables:
                by_table.setdefault(table, []).append(row)
            else:
                ignored += 1
        return by_table, ignored
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise LocalSyncError(f"rows[{i}]", "expected an object")
        table, row_id, version = row.get("table"), row.get("id"), row.get("version")
        if not isinstance(table, str):
            raise LocalSyncError(f"rows[{i}].table", "expected str")
        if not isinstance(row_id, str) or not 0 < len(row_id) <= 36:
            raise LocalSyncError(f"rows[{i}].id", "expected str of 1 to 36 characters")
        if type(version) is not int or version < 0:
            raise LocalSyncError(f"rows[{i}].version", "expected int >= 0")
        if type(row.get("deleted")) is not bool:
            raise LocalSyncError(f"rows[{i}].deleted", "expected bool")
        if not isinstance(row.get("data"), Mapping):
            raise LocalSyncError(f"rows[{i}].data", "expected an object")
        if table in tables:
            by_table.setdefault(table, []).append(row)
        else:
            ignored += 1
    return by_table, ignored


def _well_formed(rows: list) -> bool:
    """The checks of :func:`_rows_by_table` over whole columns at once (True: all pass). A page
    failing any goes through the row-by-row checks, which name the field."""
    if set(map(type, rows)) != {dict}:
        return False
    try:
        ids = [row["id"] for row in rows]
        versions = [row["version"] for row in rows]
        if set(map(type, [row["table"] for row in rows])) != {str}:
            return False
        if set(map(type, [row["deleted"] for row in rows])) != {bool}:
            return False
        if set(map(type, [row["data"] for row in rows])) != {dict}:
            return False
    except KeyError:
        return False
    return (
        set(map(type, ids)) == {str}
        and min(map(len, ids)) > 0
        and max(map(len, ids)) <= 36
        and set(map(type, versions)) == {int}
        and min(versions) >= 0
    )


def _bad_key(table: str, row: Mapping) -> str:
    """The first field of ``row`` that does not convert, for the error message."""
    for name, to_db, _ in column_converters(table):
        if name in row["data"]:
            try:
                to_db(row["data"][name])
            except (TypeError, ValueError):
                return name
    return "updated_at"


def _reapply_pending(conn: Connection, by_table: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """Put the new values of pending ops back over the pulled rows they concern."""
    # Read from the index ix_sync_outbox_pending (acknowledged, seq).
    pending = "SELECT 1 FROM sync_outbox WHERE acknowledged = 0 LIMIT 1"
    if conn.exec_driver_sql(pending).first() is None:
        return  # the usual case while a first download goes on: nothing to look up per row
    for name, rows in by_table.items():
        ids = [r["id"] for r in rows]
        ops = []
        for chunk in chunks(ids):
            marks = ",".join("?" for _ in chunk)
            ops += conn.exec_driver_sql(
                "SELECT seq, row_id, fields FROM sync_outbox WHERE NOT acknowledged"
                f" AND table_name = ? AND row_id IN ({marks})",
                (name, *chunk),
            ).all()
        ops.sort(key=lambda r: r[0])
        for _seq, row_id, fields_text in ops:
            set_fields(conn, name, row_id, json.loads(fields_text), "new")
