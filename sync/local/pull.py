"""Writing pulled pages: one transaction per page with its cursor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.db.outbox import to_wire
from showroom.models.local import SyncKeys
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
        held = 0
        for name in synced_tables():
            held += conn.exec_driver_sql(
                f"SELECT count(*) FROM (SELECT 1 FROM {quote(name)} LIMIT {FRESH_ROWS + 1})"
            ).scalar()
        if held > FRESH_ROWS:
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
    text = getattr(page, "text", None)
    if text is not None and get_state(db, BULK_DOWNLOAD_KEY)[BULK_DOWNLOAD_KEY]:
        written = _write_page_in_sql(db, text, len(rows), next_since)
        if written is not None:
            return PageResult(written, len(rows) - written, next_since, has_more)
    by_table, ignored = _rows_by_table(rows)
    stamp = stored_value(synced_tables()["customer"].c.updated_at)
    now_text = to_wire(utcnow())
    statements: list[tuple[str, str, list[tuple]]] = []
    for name, table_rows in by_table.items():
        # The row's own ``deleted`` flag is the one written, not the copy in ``data``.
        converters = [(n, to_db) for n, to_db, _ in column_converters(name) if n != "deleted"]
        full = tuple(n for n, _ in converters)
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
                try:
                    values = [to_db(data[n]) for n, to_db in converters]
                    names = full
                except KeyError:  # a row without some columns (an older server)
                    present = [(n, to_db) for n, to_db in converters if n in data]
                    values = [to_db(data[n]) for n, to_db in present]
                    names = tuple(n for n, _ in present)
            except (TypeError, ValueError) as error:
                raise LocalSyncError(
                    f"{name}.{_bad_key(name, row)}", f"{error} (row {row['id']})"
                ) from error
            groups.setdefault(names, []).append((*head, *values))
        statements += [(name, _upsert_sql(name, names), params) for names, params in groups.items()]
    written = 0
    with writer(db, foreign_keys=False) as conn:
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


class _NotCanonical(Exception):
    """A page holds a value the SQL path does not convert: the Python path takes the page."""


def _write_page_in_sql(db: Database, text: str, count: int, next_since: int) -> int | None:
    """Write a page of a first download straight from its JSON text, converting values in
    SQLite (:mod:`sync.local.sqlwire`); returns the rows written.

    None when any row is not in the form handled there (an unexpected shape, a value in
    another form, a missing column): nothing is written then, and the caller takes the page
    through the Python path, which converts the value or names the field it refuses.
    """
    tables = synced_tables()
    try:
        with writer(db, foreign_keys=False) as conn:
            if not read_state(conn, BULK_DOWNLOAD_KEY):
                return None
            counts = dict(conn.exec_driver_sql(_ENVELOPE_SQL, (text,)).all())
            if sum(counts.values()) != count:
                raise _NotCanonical
            written = 0
            for name, expected in counts.items():
                if name not in tables:
                    continue
                done = conn.exec_driver_sql(_page_insert_sql(name), (text, name)).rowcount
                if done != expected:
                    raise _NotCanonical
                written += done
            pending = conn.exec_driver_sql(
                "SELECT seq, table_name, row_id, fields FROM sync_outbox WHERE NOT acknowledged"
                " AND row_id IN (SELECT value ->> '$.id' FROM json_each(?, '$.rows'))"
                " ORDER BY seq",
                (text,),
            ).all()
            for _seq, name, row_id, fields_text in pending:  # edits made meanwhile
                if name in tables:
                    set_fields(conn, name, row_id, json.loads(fields_text), "new")
            write_state(conn, SEARCH_REBUILD_KEY, "1")
            write_state(conn, SyncKeys.CURSOR, str(next_since))
    except _NotCanonical:
        return None
    return written


# Rows of a page by table, counting only those of the expected shape.
_ENVELOPE_SQL = (
    "SELECT value ->> '$.table', count(*) FROM json_each(?, '$.rows')"
    " WHERE json_type(value, '$.table') = 'text'"
    " AND json_type(value, '$.id') = 'text' AND length(value ->> '$.id') BETWEEN 1 AND 36"
    " AND json_type(value, '$.version') = 'integer' AND value ->> '$.version' >= 0"
    " AND json_type(value, '$.deleted') IN ('true', 'false')"
    " AND json_type(value, '$.data') = 'object'"
    " GROUP BY 1"
)


@cache
def _page_insert_sql(table_name: str) -> str:
    """INSERT of one table's rows of a page (``?`` 1: the page, 2: the table), upserting like
    :func:`_upsert_sql`; a row with any value not in canonical form is left out."""
    from sync.local.sqlwire import canonical_sql, stored_sql

    table = synced_tables()[table_name]
    stamp = table.c.updated_at

    def ref(path: str) -> tuple[str, str]:
        return f"(value ->> '{path}')", f"json_type(value, '{path}')"

    names = [n for n, _, _ in column_converters(table_name) if n != "deleted"]
    values = []
    checks = [canonical_sql(stamp, *ref("$.updated_at"))]
    for name in names:
        value, kind = ref(f"$.data.{name}")
        checks.append(canonical_sql(table.c[name], value, kind))
        values.append(stored_sql(table.c[name], value))
    device = "CASE WHEN json_type(value, '$.updated_by_device') = 'text'" \
        " THEN value ->> '$.updated_by_device' END"  # fmt: skip
    columns = ("id", "server_version", "deleted", "updated_at", "updated_by_device", *names)
    quoted = [quote(c) for c in columns]
    updates = ", ".join(f"{q} = excluded.{q}" for q in quoted[1:])
    selected = [
        "value ->> '$.id'",
        "value ->> '$.version'",
        "value ->> '$.deleted'",
        stored_sql(stamp, "(value ->> '$.updated_at')"),
        device,
        *values,
    ]
    return (
        f"INSERT INTO {quote(table_name)} ({', '.join(quoted)})"
        f" SELECT {', '.join(selected)} FROM json_each(?, '$.rows')"
        f" WHERE value ->> '$.table' = ? AND {' AND '.join(checks)}"
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )


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
