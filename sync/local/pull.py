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
    LocalSyncError,
    chunks,
    column_converters,
    quote,
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
    statements: list[tuple[str, list[tuple]]] = []
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
        statements += [(_upsert_sql(name, names), params) for names, params in groups.items()]
    written = 0
    with writer(db, foreign_keys=False) as conn:
        touched = customers_before(conn, by_table)
        for sql, params in statements:
            conn.exec_driver_sql(sql, params)
            written += len(params)
        _reapply_pending(conn, by_table)
        touched |= customers_after(by_table)
        reindex(conn, touched)
        write_state(conn, SyncKeys.CURSOR, str(next_since))
    return PageResult(written, ignored, next_since, has_more)


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
