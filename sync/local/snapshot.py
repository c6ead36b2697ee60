"""Starting a fresh laptop from its dealer's snapshot (see :mod:`sync.server.snapshot`).

The snapshot is a laptop database that holds every row of the dealer up to a version, written
by the same code as a pull, with its indexes and search keys. Copying its tables into this
database's empty ones is SQLite's table-to-table transfer: records and index entries are
copied as they are, without being decoded or sorted again. It is one transaction with the
cursor, like a pulled page: a copy cut short leaves nothing behind.

The copy is as large as the database. In the laptop's usual write-ahead-log mode it would be
written twice: into the log, then from the log into the file. When no other connection has the
file open, the copy switches the file to a rollback journal for its transaction, writes the
database once (the journal keeps only the few pages the file held before), and switches back.
A power cut or a kill during the copy leaves a journal that SQLite plays back when the file is
next opened, as it does a log. When another connection holds the file, the copy goes through
the log as before.

The snapshot is plain SQLite. A plain laptop unpacks it beside its database file. An encrypted
laptop (the app's) never writes it to its disk: it unpacks it into memory (the tmpfs at
``/dev/shm``, in a file only its user can read), and SQLCipher copies it into the encrypted
file, encrypting as it writes. Where there is no such folder, or the snapshot would take more
than half of its free space, the laptop pulls pages instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

from sqlalchemy import Connection

from showroom.db.engine import BUSY_TIMEOUT_MS, Database
from showroom.models.local import SyncKeys
from sync.local import usernames
from sync.local.outbox import set_fields
from sync.local.pull import FRESH_ROWS, holds_few_rows
from sync.local.searchkeys import customers_of, reindex
from sync.local.store import (
    FULL_RESYNC_KEY,
    LocalSyncError,
    quote,
    read_state,
    synced_tables,
    write_state,
)
from sync.local.upload import (
    INITIAL_POSITION_KEY,
    INITIAL_ROWS_KEY,
    INITIAL_UPLOAD_KEY,
    rows_to_upload,
)

log = logging.getLogger(__name__)

# Local tables that hold what a pull derives from the synced rows: copied with them.
SEARCH_TABLES = ("search_doc", "search_key")
# The memory-backed folder an encrypted laptop unpacks a snapshot into (when it is a tmpfs), and
# the share of its free space one snapshot may take: other programs keep the rest.
RAM_FOLDER = Path("/dev/shm")
RAM_SHARE = 0.5
MOUNTS = Path("/proc/mounts")
# How long the copy waits for the file to itself before it goes through the log instead.
JOURNAL_SWITCH_WAIT_MS = 250


class SnapshotRefused(LocalSyncError):
    """The snapshot file cannot be taken by this laptop; nothing was written."""


def snapshot_wanted(db: Database) -> bool:
    """Whether this laptop would start from a snapshot: it pulled nothing yet, is not in a full
    resync, holds at most a few rows of its own, and, if its file is encrypted, this system
    has memory to unpack the snapshot into (:func:`ram_folder`)."""
    if db.encrypted and ram_folder() is None:
        return False
    with db.engine.connect() as conn:
        return _not_fresh(conn) is None


def ram_folder() -> Path | None:
    """:data:`RAM_FOLDER` when it is a tmpfs (memory, never the disk), else None."""
    try:
        mounts = MOUNTS.read_text("utf-8")
    except OSError:
        return None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == str(RAM_FOLDER) and fields[2] == "tmpfs":
            return RAM_FOLDER
    return None


def _not_fresh(conn: Connection) -> str | None:
    """Why this laptop can no longer start from a snapshot, or None when it can."""
    if int(read_state(conn, SyncKeys.CURSOR) or 0) != 0 or read_state(conn, FULL_RESYNC_KEY):
        return "this laptop has pulled already"
    if not holds_few_rows(conn):
        return f"this laptop holds more than {FRESH_ROWS} rows"
    return None


def schema_revision(db: Database) -> str | None:
    """This laptop database's migration revision (a snapshot must have the same)."""
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def snapshot_file(db: Database, unpacked: int = 0) -> Path:
    """Where a downloaded snapshot of ``unpacked`` bytes is unpacked: beside a plain database
    file; in memory for an encrypted one (:func:`ram_folder`). Raises SnapshotRefused when an
    encrypted laptop has no memory folder, or not room enough in it, or is not told the size."""
    name = _file_name(db)
    if name is None:
        raise SnapshotRefused("snapshot", "this database has no file")
    if not db.encrypted:
        return Path(f"{name}.snapshot")
    folder = ram_folder()
    if folder is None:
        raise SnapshotRefused("snapshot", f"{RAM_FOLDER} is not memory: not unpacked on disk")
    if unpacked <= 0:
        raise SnapshotRefused("snapshot", "the server did not tell its unpacked size")
    try:
        space = _free_bytes(folder)
    except OSError as error:
        raise SnapshotRefused("snapshot", f"{folder}: {error}") from error
    if unpacked > space * RAM_SHARE:
        raise SnapshotRefused(
            "snapshot", f"{unpacked} bytes unpacked, {space} free in {folder}: too little memory"
        )
    return _ram_file(folder, name)


def _file_name(db: Database) -> str | None:
    """The database's file, or None for one held in memory."""
    name = db.engine.url.database
    return name if name and name != ":memory:" else None


def _free_bytes(folder: Path) -> int:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize


def _ram_file(folder: Path, name: str) -> Path:
    # Named after the database, so that a download killed part way is found and removed.
    digest = hashlib.sha256(str(Path(name).resolve()).encode()).hexdigest()[:24]
    return folder / f"showroom-{digest}.snapshot"


def discard_snapshot_file(db: Database) -> None:
    """Remove a snapshot file (and any journal SQLite made for it), if there is one, beside the
    database file or in memory."""
    name = _file_name(db)
    if name is None:
        return
    places = [f"{name}.snapshot"]
    if db.encrypted and (folder := ram_folder()) is not None:
        places.append(str(_ram_file(folder, name)))
    for place in places:
        for suffix in ("", "-journal", "-wal", "-shm"):
            # Another user's file of that name is never ours to remove.
            with contextlib.suppress(OSError):
                Path(f"{place}{suffix}").unlink(missing_ok=True)


def import_snapshot(db: Database, path: Path, *, seq: int) -> int:
    """Copy the snapshot database at ``path`` (every row up to ``seq``) into this laptop and
    move the cursor to ``seq``, in one transaction; returns the rows copied.

    Rows this laptop holds already (the dealer's placeholder, the system account, a few made
    before enrolment) are overwritten by the snapshot's where it has them, as by a pulled page,
    and kept otherwise; pending edits are then put back on top. Raises SnapshotRefused, with
    nothing written, when the file is not a snapshot this laptop can take or the laptop is no
    longer fresh.
    """
    # Idle pooled connections hold the file open in log mode, which would keep the copy in
    # the log; closing them costs the next user of each a reconnect.
    db.engine.dispose()
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw.execute("PRAGMA foreign_keys = OFF")  # a child may be copied before its parent
        # The snapshot is plain: on an encrypted laptop, an empty key says so to SQLCipher.
        attach = "ATTACH DATABASE ? AS snap" + (" KEY ''" if db.encrypted else "")
        try:
            raw.execute(attach, (str(path),))
        except Exception as error:  # sqlite3.Error, or sqlcipher3's
            raw.execute("PRAGMA foreign_keys = ON")
            raise SnapshotRefused("snapshot", f"cannot open the file ({error})") from error
        journal = _to_rollback_journal(raw)
        try:
            with conn.begin():
                copied = _copy(conn, seq)
        finally:
            raw.execute("DETACH DATABASE snap")
            raw.execute("PRAGMA foreign_keys = ON")
            in_log = _back_to_log(conn) if journal else True
        if in_log:
            # A copy that went through the log (as large as the database) is folded into the
            # file now, on this thread, rather than by whichever commit comes next.
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return copied


def _to_rollback_journal(raw) -> bool:
    """Switch the file to a rollback journal when no other connection has it open; whether it
    did. A file in log mode stays so while another connection has it open: the switch is
    refused, after a short wait, and the copy goes through the log."""
    raw.execute(f"PRAGMA busy_timeout = {JOURNAL_SWITCH_WAIT_MS}")
    try:
        # main only: without a schema the pragma would change the attached snapshot too.
        (mode,) = raw.execute("PRAGMA main.journal_mode = DELETE").fetchone()
    except Exception as error:  # sqlite3.OperationalError, or sqlcipher3's: locked
        log.info("snapshot copied through the log: %s", error)
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if mode != "delete":
        log.info("snapshot copied through the log: the file stayed in %s mode", mode)
        return False
    # In rollback mode only a full sync keeps the file whole through a power cut.
    raw.execute("PRAGMA synchronous = FULL")
    return True


def _back_to_log(conn: Connection) -> bool:
    """Put the file back in write-ahead-log mode; whether it is. Should another connection
    hold it for longer than the busy wait, the next connection to open the file does it
    instead (every connection asks for log mode), and this one is not used again."""
    raw = conn.connection.dbapi_connection
    try:
        (mode,) = raw.execute("PRAGMA main.journal_mode = WAL").fetchone()
    except Exception as error:  # sqlite3.OperationalError, or sqlcipher3's
        mode = str(error)
    if mode != "wal":
        log.warning("the file stays in rollback mode until it is next opened: %s", mode)
        conn.invalidate()
        return False
    raw.execute("PRAGMA synchronous = NORMAL")
    return True


def _copy(conn: Connection, seq: int) -> int:
    reason = _not_fresh(conn)  # again, now that the copy holds the write lock
    if reason is not None:
        raise SnapshotRefused("snapshot", reason)
    _check_same_schema(conn)
    # The initial upload sends the rows the server never saw: none of the snapshot's. When
    # this laptop had none of its own either, it ends here instead of scanning every table.
    nothing_to_upload = bool(read_state(conn, INITIAL_UPLOAD_KEY)) and rows_to_upload(conn) == 0
    copied = 0
    local_customers: set[str] = set()
    users = conn.exec_driver_sql(f"SELECT id, username FROM snap.{usernames.USER_TABLE}").all()
    usernames.make_way(conn, users)
    for name in synced_tables():
        if _empty(conn, "main", name):
            # The table-to-table transfer: only for exactly this statement into an empty table.
            copied += conn.exec_driver_sql(
                f"INSERT INTO main.{quote(name)} SELECT * FROM snap.{quote(name)}"
            ).rowcount
            continue
        if name == "customer":
            local_customers = set(
                conn.exec_driver_sql(
                    "SELECT id FROM main.customer EXCEPT SELECT id FROM snap.customer"
                ).scalars()
            )
        columns = [c.name for c in synced_tables()[name].columns]
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c != "id")
        # As a pulled row: the server's state replaces this laptop's where both have the row.
        # (Local users holding a server's username were moved aside above.)
        copied += conn.exec_driver_sql(
            f"INSERT INTO main.{quote(name)} SELECT * FROM snap.{quote(name)} WHERE true"
            f" ON CONFLICT (id) DO UPDATE SET {updates}"
        ).rowcount
    for name in SEARCH_TABLES:
        conn.exec_driver_sql(f"DELETE FROM main.{quote(name)}")
        conn.exec_driver_sql(f"INSERT INTO main.{quote(name)} SELECT * FROM snap.{quote(name)}")
    touched = _reapply_pending(conn) | local_customers
    reindex(conn, touched)
    if nothing_to_upload:
        for key in (INITIAL_UPLOAD_KEY, INITIAL_POSITION_KEY, INITIAL_ROWS_KEY):
            write_state(conn, key, None)
    write_state(conn, SyncKeys.CURSOR, str(seq))
    return copied


def _empty(conn: Connection, schema: str, name: str) -> bool:
    return conn.exec_driver_sql(f"SELECT 1 FROM {schema}.{quote(name)} LIMIT 1").first() is None


def _check_same_schema(conn: Connection) -> None:
    """The snapshot's tables must be this database's, column for column."""
    try:
        theirs = conn.exec_driver_sql("SELECT version_num FROM snap.alembic_version").scalar()
    except Exception as error:  # not a laptop database at all
        raise SnapshotRefused("snapshot", f"not a laptop database ({error})") from error
    mine = conn.exec_driver_sql("SELECT version_num FROM main.alembic_version").scalar()
    if theirs != mine:
        raise SnapshotRefused("snapshot", f"schema {theirs}, this laptop's is {mine}")
    names = (*synced_tables(), *SEARCH_TABLES)
    marks = ",".join("?" for _ in names)
    query = f"SELECT name, sql FROM {{}}.sqlite_master WHERE type = 'table' AND name IN ({marks})"
    ours = dict(conn.exec_driver_sql(query.format("main"), names).all())
    given = dict(conn.exec_driver_sql(query.format("snap"), names).all())
    for name in names:
        if ours.get(name) != given.get(name):
            raise SnapshotRefused(f"snapshot.{name}", "the table differs from this laptop's")


def _reapply_pending(conn: Connection) -> set[str]:
    """Put every pending edit back over the copied rows; the customers they concern."""
    tables = synced_tables()
    ops = conn.exec_driver_sql(
        "SELECT table_name, row_id, fields FROM sync_outbox WHERE NOT acknowledged ORDER BY seq"
    ).all()
    touched: set[str] = set()
    for table, row_id, fields_text in ops:
        if table in tables:
            set_fields(conn, table, row_id, json.loads(fields_text), "new")
            touched |= customers_of(conn, table, [row_id])
    return touched
