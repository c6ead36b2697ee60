"""Full resync after a purge or a mismatch, and the local checksums."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import text

from showroom.db.engine import Database
from showroom.models.local import SyncKeys
from sync import protocol
from sync.local.searchkeys import customers_of, reindex
from sync.local.sqlwire import digest_text_sql, install
from sync.local.store import (
    FULL_RESYNC_KEY,
    PURGED_KEY,
    get_state,
    quote,
    read_state,
    synced_tables,
    write_state,
    writer,
)

log = logging.getLogger(__name__)

# --- full resync and restore recovery --------------------------------------------------------


def start_full_resync(db: Database) -> None:
    """Pull everything again from 0, keeping the outbox.

    Every row the server has acknowledged is marked (negative ``server_version``) until the
    server sends it again; :func:`finish_full_resync` deals with the rows still marked. The
    marks and the cursor are written together, so a resync cut short resumes where it stopped.
    """
    with writer(db) as conn:
        for name in synced_tables():
            conn.execute(
                text(
                    f"UPDATE {quote(name)} SET server_version = -server_version"
                    " WHERE server_version > 0"
                )
            )
        write_state(conn, SyncKeys.CURSOR, "0")
        write_state(conn, FULL_RESYNC_KEY, "1")


def full_resync_pending(db: Database) -> bool:
    return bool(get_state(db, FULL_RESYNC_KEY)[FULL_RESYNC_KEY])


def finish_full_resync(db: Database) -> int:
    """After the whole pull: rows the server did not send were purged there; mark them deleted.

    A row with a pending op keeps its state (the op will tell the server). Returns the number
    of rows marked deleted. Does nothing unless a full resync is under way.
    """
    marked = 0
    if not get_state(db, FULL_RESYNC_KEY)[FULL_RESYNC_KEY]:
        return 0  # the usual case, without taking the write lock
    with writer(db) as conn:
        if not read_state(conn, FULL_RESYNC_KEY):
            return 0
        touched: set[str] = set()
        for name in synced_tables():
            q = quote(name)
            pending = (
                f"EXISTS (SELECT 1 FROM sync_outbox o WHERE o.row_id = {q}.id"
                " AND NOT o.acknowledged)"
            )
            conn.execute(
                text(
                    f"UPDATE {q} SET server_version = -server_version"
                    f" WHERE server_version < 0 AND {pending}"
                )
            )
            ids = list(conn.execute(text(f"SELECT id FROM {q} WHERE server_version < 0")).scalars())
            if not ids:
                continue
            touched |= customers_of(conn, name, ids)
            # Version 0: the server no longer has the row, so checksums leave it out.
            result = conn.execute(
                text(f"UPDATE {q} SET deleted = 1, server_version = 0 WHERE server_version < 0")
            )
            marked += result.rowcount
        reindex(conn, touched)
        write_state(conn, FULL_RESYNC_KEY, None)
    if marked:
        log.info("full resync: %d rows purged on the server are marked deleted here", marked)
    return marked


# --- checksum --------------------------------------------------------------------------------


def local_checksums(db: Database, tables: Iterable[str] | None = None) -> dict[str, dict]:
    """``{table: {"count", "hash"}}`` over the rows this laptop has from the server.

    Rows the server has never acknowledged (``server_version`` 0, for example a rejected
    insert) are left out: the server cannot count them. So are tombstones at or below the
    server's ``purged_through`` (stored from its meta): the server has purged them, except open
    conflicts, which it never purges. Equal to the server's checksum when the two agree and
    nothing is pending.
    """
    names = [n for n in (tables or synced_tables()) if n in synced_tables()]
    out = {}
    with db.engine.connect() as conn:
        install(conn)
        purged = int(read_state(conn, PURGED_KEY) or 0)
        for name in names:
            where = "server_version > 0"
            if purged:
                gone = f"deleted AND server_version <= {purged}"
                if name == protocol.CONFLICT_TABLE:
                    gone += " AND status != 'open'"
                where += f" AND NOT ({gone})"
            # The digest texts are assembled by SQLite (sync.local.sqlwire): a Python call per
            # value would cost seconds at a million rows.
            rows = conn.exec_driver_sql(
                f"SELECT {digest_text_sql(name)} FROM {quote(name)} WHERE {where}"
            )
            out[name] = protocol.checksum_of_texts(row[0] for row in rows)
    return out
