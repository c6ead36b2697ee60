"""Keeping the customer search index in step with rows written by sync."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from showroom.db.engine import Database
from sync.local.store import (
    REINDEX_LIMIT,
    SEARCH_REBUILD_KEY,
    chunks,
    get_state,
    read_state,
    write_state,
    writer,
)

_CUSTOMER_CHILDREN = ("customer_phone", "customer_vehicle")


def customers_before(conn: Connection, by_table: Mapping[str, list]) -> set[str]:
    """Customers whose phones or vehicles in this page may be moving away from them."""
    found: set[str] = set()
    for name in _CUSTOMER_CHILDREN:
        ids = [r["id"] for r in by_table.get(name, ())]
        found |= customers_of(conn, name, ids)
    return found


def customers_of(conn: Connection, table: str, ids: Sequence[str]) -> set[str]:
    if table == "customer":
        return set(ids)
    if table not in _CUSTOMER_CHILDREN:
        return set()
    found: set[str] = set()
    for chunk in chunks(list(ids)):
        marks = ",".join("?" for _ in chunk)
        found.update(
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT customer_id FROM {table} WHERE id IN ({marks})", tuple(chunk)
            )
            if r[0]
        )
    return found


def customers_after(by_table: Mapping[str, list]) -> set[str]:
    found = {r["id"] for r in by_table.get("customer", ())}
    for name in _CUSTOMER_CHILDREN:
        found.update(
            r["data"]["customer_id"]
            for r in by_table.get(name, ())
            if isinstance(r["data"].get("customer_id"), str)
        )
    return found


def reindex(conn: Connection, customer_ids: set[str]) -> None:
    if not customer_ids:
        return
    if len(customer_ids) > REINDEX_LIMIT or read_state(conn, SEARCH_REBUILD_KEY):
        write_state(conn, SEARCH_REBUILD_KEY, "1")
        return
    from showroom.search import reindex_customers

    reindex_customers(conn, sorted(customer_ids))


def rebuild_search_if_needed(db: Database) -> bool:
    """Rebuild the customer search index when pulls left that for later; True when it did."""
    from showroom.search import rebuild_search_index

    if not get_state(db, SEARCH_REBUILD_KEY)[SEARCH_REBUILD_KEY]:
        return False  # the usual case, without taking the write lock
    with writer(db) as conn:
        if not read_state(conn, SEARCH_REBUILD_KEY):
            return False
        rebuild_search_index(conn)
        write_state(conn, SEARCH_REBUILD_KEY, None)
    return True
