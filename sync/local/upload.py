"""The initial upload: the rows a laptop held before its first sync, streamed from their tables.

Queueing an outbox op per row first would cost about as much as the upload itself at a million
rows, so batches are read straight from the tables (DESIGN.md, "Sync contract"):

* Op ids and batch ids are derived from the device and the row ids (uuid5). A batch sent
  again after a lost answer is the same batch holding the same ops, and the server answers it
  from what it stored.
* The versions the server answered are kept (``sync_upload_ack``) with the scan position, in
  the same transaction: an upload cut short resumes after the last answered batch. They are
  written into the rows once their table is answered, in one pass in storage order
  (:func:`write_upload_versions`), not batch by batch: a batch in id order lies all over its
  table's pages. When the server's history since the cursor is exactly the batch, the cursor
  moves past it too, so the laptop does not pull its own rows back.
* A rejected row becomes an answered ``insert`` op in the outbox with its reason, like every
  rejected op, so it is shown for review and never sent again.
* Outbox ops (edits made after enrolment) are pushed after the initial upload. A row edited
  meanwhile is uploaded as it is now; its own op then finds the server holding its values
  already and merges without a change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.models.local import SyncKeys
from showroom.services.sync_status import INITIAL_UPLOAD_ROWS
from sync import protocol
from sync.local.outbox import PushOutcome, results_by_op
from sync.local.sqlwire import install, row_array_sql
from sync.local.store import (
    DEALER_TABLE,
    FULL_RESYNC_KEY,
    SYSTEM_USERNAME,
    LocalSyncError,
    chunks,
    column_converters,
    get_state,
    quote,
    read_state,
    synced_tables,
    utc_text,
    write_state,
    writer,
)

INITIAL_UPLOAD_KEY = "sync.initial_upload"  # "1" while rows made before the first sync wait
INITIAL_POSITION_KEY = "sync.initial_upload.after"  # "<table> <id>" of the last row answered
# Rows the initial upload has still to send, for the status bar's pending count.
INITIAL_ROWS_KEY = INITIAL_UPLOAD_ROWS
_IDS = uuid.UUID("5f0c8a52-3d1e-4d8b-9a57-0e6b2f9c4a11")  # namespace of derived batch ids
upload_op_id = protocol.upload_op_id
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _qualifying(table: str) -> str:
    """SQL over ``table``: rows the server has never seen and no outbox insert op carries.

    A tombstone qualifies only while a pending op names it (deleted after enrolment, before
    the upload): the server needs the row for that op. The ``system`` account is made with
    the same id on every laptop of the store and is not uploaded; nor is the dealer row.
    """
    q = quote(table)
    where = (
        "server_version = 0"
        " AND (NOT deleted OR EXISTS (SELECT 1 FROM sync_outbox p"
        f" WHERE p.row_id = {q}.id AND NOT p.acknowledged))"
        " AND NOT EXISTS (SELECT 1 FROM sync_outbox o"
        f" WHERE o.row_id = {q}.id AND o.op = '{protocol.OP_INSERT}')"
    )
    if table == "app_user":
        where += f" AND NOT (username = '{SYSTEM_USERNAME}' AND system_account)"
    return where


def _upload_tables() -> list[str]:
    return [name for name in synced_tables() if name != DEALER_TABLE]


def start_initial_upload(conn: Connection, *, restart: bool = False) -> None:
    """Mark the rows of a laptop that never synced for upload (in the caller's transaction).

    An upload under way keeps its position unless ``restart`` (a new enrolment) is asked for.
    A laptop with no such rows (a fresh one) is left with no upload pending: otherwise, after
    its first download, the upload would look through every row pulled for rows to send.
    """
    if restart or not read_state(conn, INITIAL_UPLOAD_KEY):
        # Versions answered by the server of an earlier enrolment mean nothing to the next.
        conn.exec_driver_sql("DELETE FROM sync_upload_ack")
        waiting = _remaining(conn, None)
        write_state(conn, INITIAL_UPLOAD_KEY, "1" if waiting else None)
        write_state(conn, INITIAL_POSITION_KEY, None)
        write_state(conn, INITIAL_ROWS_KEY, str(waiting) if waiting else None)


def begin_initial_upload(db: Database) -> None:
    with writer(db) as conn:
        start_initial_upload(conn)


def initial_upload_pending(db: Database) -> bool:
    return bool(get_state(db, INITIAL_UPLOAD_KEY)[INITIAL_UPLOAD_KEY])


def initial_upload_remaining(db: Database) -> int:
    """How many rows the initial upload has still to send (0 when none is under way)."""
    with db.engine.connect() as conn:
        return rows_to_upload(conn)


def initial_upload_waiting(db: Database) -> int:
    """How many rows the initial upload has still to send, as the status bar shows it: counted
    when the upload began and lowered as batches are answered, so read without a scan of the
    tables (:func:`initial_upload_remaining` counts them). The count is set and cleared with
    the upload itself, so it alone tells."""
    waiting = get_state(db, INITIAL_ROWS_KEY)[INITIAL_ROWS_KEY]
    return int(waiting) if waiting and waiting.isdigit() else 0


def rows_to_upload(conn: Connection) -> int:
    """How many rows the initial upload has still to send (0 when none is under way)."""
    if not read_state(conn, INITIAL_UPLOAD_KEY):
        return 0
    return _remaining(conn, _position(read_state(conn, INITIAL_POSITION_KEY)))


def _remaining(conn: Connection, position: tuple[int, str] | None) -> int:
    """How many rows qualify for the initial upload past ``position`` (None: from the start)."""
    total = 0
    for index, table in enumerate(_upload_tables()):
        where, params = _after(index, table, position)
        if where is None:
            continue
        total += conn.exec_driver_sql(
            f"SELECT count(*) FROM {quote(table)} WHERE {_qualifying(table)}{where}", params
        ).scalar()
    return total


def _position(text: str | None) -> tuple[int, str] | None:
    """(table index, id) of the last row answered, from ``"<table> <id>"``."""
    if not text or " " not in text:
        return None
    table, row_id = text.split(" ", 1)
    tables = _upload_tables()
    return (tables.index(table), row_id) if table in tables else None


def _after(index: int, table: str, position: tuple[int, str] | None) -> tuple[str | None, tuple]:
    """The extra condition that keeps ``table``'s rows past ``position`` (None: none are)."""
    if position is None or index > position[0]:
        return "", ()
    if index == position[0]:
        return " AND id > ?", (position[1],)
    return None, ()


def finish_initial_upload(db: Database, after: str | None) -> bool:
    """End the initial upload when every row up to ``after`` is answered and none follows.

    ``after`` is the position of the last batch sent (None when none was); returns True when
    the upload ended here. The versions answered are written into their rows first.
    """
    write_upload_versions(db)
    with writer(db) as conn:
        if not read_state(conn, INITIAL_UPLOAD_KEY):
            return False
        if read_state(conn, INITIAL_POSITION_KEY) != after:
            return False
        write_state(conn, INITIAL_UPLOAD_KEY, None)
        write_state(conn, INITIAL_POSITION_KEY, None)
        write_state(conn, INITIAL_ROWS_KEY, None)
    return True


@dataclass(frozen=True)
class InitialBatch:
    """Rows of the initial upload to push together, as ``insert`` ops in scan order."""

    batch_id: str
    ops: list[dict[str, Any]]
    after: str  # the scan position once this batch is answered


def next_initial_batch(
    db: Database, limit: int = protocol.MAX_BATCH_OPS, *, after: str | None = None
) -> InitialBatch | None:
    """The next ``limit`` rows of the initial upload, or None when it is complete.

    The scan starts after ``after`` (a batch's position; by default the stored one), so the
    next batch can be read while the previous one is in flight. With the default, a batch
    whose answer was lost comes back identical.
    """
    with db.engine.connect() as conn:
        if not read_state(conn, INITIAL_UPLOAD_KEY):
            return None
        stored = read_state(conn, INITIAL_POSITION_KEY)
        position = _position(after if after is not None else stored)
        device_id = db.device_id
        created = utcnow().isoformat()
        ops: list[dict[str, Any]] = []
        last = None
        for index, table in enumerate(_upload_tables()):
            if len(ops) >= limit:
                break
            where, params = _after(index, table, position)
            if where is None:
                continue
            converters = column_converters(table)
            columns = ", ".join(["id", *(quote(name) for name, _, _ in converters)])
            rows = conn.exec_driver_sql(
                f"SELECT {columns} FROM {quote(table)} WHERE {_qualifying(table)}{where}"
                f" ORDER BY id LIMIT {int(limit - len(ops))}",
                params,
            ).fetchall()
            for row in rows:
                fields = {
                    name: {"new": to_wire(raw), "base": None}
                    for (name, _, to_wire), raw in zip(converters, row[1:], strict=True)
                }
                ops.append(
                    {
                        "op_id": upload_op_id(device_id, table, row[0]),
                        "table": table,
                        "row_id": row[0],
                        "op": protocol.OP_INSERT,
                        "fields": fields,
                        "base_version": 0,
                        "created_at": created,
                        "actor_id": None,
                    }
                )
            if rows:
                last = f"{table} {rows[-1][0]}"
    if not ops:
        return None
    batch_id = uuid.uuid5(_IDS, f"{device_id}/batch/{ops[0]['op_id']}/{last}/{len(ops)}")
    return InitialBatch(str(batch_id), ops, last)


def record_initial_results(
    db: Database, batch: InitialBatch, answer: Mapping[str, Any]
) -> PushOutcome:
    """Store the server's answers for an initial-upload batch and move the scan past it.

    The answered versions are kept for :func:`write_upload_versions`, except for rows a
    pending op names (the row then holds an edit the server has not seen; that op's answer
    brings the version). A rejected row is
    kept as an answered, rejected ``insert`` op with its reason. Raises LocalSyncError when
    the answer does not hold one well-formed result per op; nothing is written then.
    """
    by_op = results_by_op(answer, batch.ops)
    return _record_answers(
        db,
        [(op["table"], op["row_id"]) for op in batch.ops],
        [by_op[op["op_id"]] for op in batch.ops],
        lambda index: batch.ops[index]["fields"],
        answer,
        batch.after,
    )


def write_upload_versions(db: Database, *, keep: str | None = None) -> int:
    """Write the versions answered for the initial upload into their rows; returns how many.

    Answers are kept in ``sync_upload_ack`` as they arrive (:func:`_record_answers`) and
    written here a table at a time, in the order the rows are stored, so that each page of the
    table is written once. The table ``keep`` (the one the upload is still sending) is left for
    later. A row that a pending op names keeps its version, as when the answer arrived, and so
    does a row that already holds a newer one (pulled meanwhile). Each table is one
    transaction; what a crash leaves is written by the next call.
    """
    probe = "SELECT 1 FROM sync_upload_ack WHERE table_name = ? LIMIT 1"
    with db.engine.connect() as conn:  # the usual case, without taking the write lock
        staged = [
            table
            for table in _upload_tables()
            if table != keep and conn.exec_driver_sql(probe, (table,)).first()
        ]
    written = 0
    for table in staged:
        with writer(db) as conn:
            q = quote(table)
            written += conn.exec_driver_sql(
                f"UPDATE {q} SET server_version = a.version FROM (SELECT t.rowid AS rid,"
                f" s.version AS version FROM sync_upload_ack s JOIN {q} t ON t.id = s.row_id"
                " WHERE s.table_name = ? ORDER BY t.rowid) AS a"
                f" WHERE {q}.rowid = a.rid AND abs({q}.server_version) < a.version"
                " AND NOT EXISTS (SELECT 1 FROM sync_outbox o"
                f" WHERE o.row_id = {q}.id AND NOT o.acknowledged)",
                (table,),
            ).rowcount
            conn.exec_driver_sql("DELETE FROM sync_upload_ack WHERE table_name = ?", (table,))
    return written


def _skip_own(
    conn: Connection, results: list[Mapping[str, Any]], answer: Mapping[str, Any]
) -> None:
    """Move the cursor past a batch when the server's history there is exactly the batch.

    That is when the cursor was at the server's last sequence number and every row was
    applied as the next number in turn (``results`` in the batch's order): the rows at those
    numbers are these rows with these values, which this laptop holds already, so pulling
    them back would bring nothing new.
    """
    first = results[0].get("version") if results else None
    if type(first) is int and all(
        result["status"] == protocol.RESULT_APPLIED and result.get("version") == first + index
        for index, result in enumerate(results)
    ):
        _skip_own_run(conn, first, len(results), answer)


def _skip_own_run(conn: Connection, first: int, count: int, answer: Mapping[str, Any]) -> None:
    """:func:`_skip_own` for a batch applied as versions ``first`` to ``first + count - 1``."""
    if read_state(conn, FULL_RESYNC_KEY):
        return  # a full resync must see every row again, these included
    cursor = int(read_state(conn, SyncKeys.CURSOR) or 0)
    if first == cursor + 1 and answer.get("last_seq") == cursor + count:
        write_state(conn, SyncKeys.CURSOR, str(cursor + count))


def _rows_with_pending_ops(conn: Connection, row_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(row_ids):
        marks = ",".join("?" for _ in chunk)
        found.update(
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT row_id FROM sync_outbox WHERE NOT acknowledged AND row_id IN ({marks})",
                tuple(chunk),
            )
        )
    return found


# --- the bulk path (POST /sync/bulk) -----------------------------------------------------------


@dataclass(frozen=True)
class BulkBatch:
    """Rows of one table for the bulk path: ``rows_json`` is the JSON array of
    ``[id, value, ...]`` rows (values in ``columns`` order, wire form), made by SQLite."""

    batch_id: str
    table: str
    columns: list[str]
    ids: list[str]
    rows_json: str
    after: str

    def body(self, epoch: str | None, cursor: int) -> str:
        """The request body as JSON text (the rows spliced in as SQLite wrote them)."""
        head = json.dumps(
            {
                "batch_id": self.batch_id,
                "epoch": epoch,
                "cursor": cursor,
                "table": self.table,
                "columns": self.columns,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return f'{head[:-1]},"rows":{self.rows_json}}}'


def next_bulk_batch(
    db: Database, limit: int = protocol.MAX_BULK_ROWS, *, after: str | None = None
) -> BulkBatch | None:
    """The next rows of the initial upload for the bulk path: up to ``limit`` rows of the
    first table that has any left, or None when the upload is complete. Scan position and
    retries work as for :func:`next_initial_batch`: an unanswered batch comes back identical.
    """
    with db.engine.connect() as conn:
        if not read_state(conn, INITIAL_UPLOAD_KEY):
            return None
        install(conn)
        stored = read_state(conn, INITIAL_POSITION_KEY)
        position = _position(after if after is not None else stored)
        for index, table in enumerate(_upload_tables()):
            where, params = _after(index, table, position)
            if where is None:
                continue
            found = conn.exec_driver_sql(
                f"SELECT id, {row_array_sql(table)} FROM {quote(table)}"
                f" WHERE {_qualifying(table)}{where} ORDER BY id LIMIT {int(limit)}",
                params,
            ).all()
            if not found:
                continue
            ids = [row[0] for row in found]
            rows_json = "[" + ",".join(row[1] for row in found) + "]"
            last = f"{table} {ids[-1]}"
            batch_id = uuid.uuid5(_IDS, f"{db.device_id}/bulk/{table}/{ids[0]}/{last}/{len(ids)}")
            columns = [name for name, _, _ in column_converters(table)]
            return BulkBatch(str(batch_id), table, columns, ids, rows_json, last)
    return None


def _bulk_results(
    batch: BulkBatch, answer: Mapping[str, Any], device_id: str
) -> list[dict[str, Any]] | None:
    """One result per row from a bulk answer in either form; None when it is malformed.

    The rows' op ids (:func:`upload_op_id`) are worked out only where they are needed: for the
    answer in per-op form, and for rejected rows, whose op is kept in the outbox.
    """
    if not isinstance(answer, Mapping):
        return None
    count = len(batch.ids)
    results = answer.get("results")
    if results is not None:
        op_ids = [upload_op_id(device_id, batch.table, row_id) for row_id in batch.ids]
        if not isinstance(results, list) or len(results) != count:
            return None
        by_op = results_by_op(answer, [{"op_id": op_id} for op_id in op_ids])
        return [by_op[op_id] for op_id in op_ids]
    first, rejected = answer.get("first_version"), answer.get("rejected")
    if not isinstance(rejected, list):
        return None
    reasons: dict[int, str] = {}
    for item in rejected:
        index = item.get("index") if isinstance(item, Mapping) else None
        if type(index) is not int or not 0 <= index < count:
            return None
        reasons[index] = str(item.get("reason") or "")
    if len(reasons) < count and (type(first) is not int or first < 1):
        return None
    applied = protocol.RESULT_APPLIED
    if not reasons:
        return [{"op_id": None, "status": applied, "version": first + i} for i in range(count)]
    out = []
    version = first
    for index, row_id in enumerate(batch.ids):
        if index in reasons:
            out.append({"op_id": upload_op_id(device_id, batch.table, row_id),
                        "status": protocol.RESULT_REJECTED, "version": None,
                        "reason": reasons[index]})  # fmt: skip
        else:
            out.append({"op_id": None, "status": applied, "version": version})
            version += 1
    return out


def record_bulk_results(db: Database, batch: BulkBatch, answer: Mapping[str, Any]) -> PushOutcome:
    """Store the server's answer to a bulk batch and move the scan past it.

    As :func:`record_initial_results`: the rows' versions are kept (unless a pending op names
    them), a rejected row is kept as an answered, rejected ``insert`` op with its reason, and
    the cursor moves past the batch when the server's history since it is exactly the batch.
    Raises LocalSyncError when the answer is malformed; nothing is written then.
    """
    if _all_applied(answer):
        return _record_all_applied(db, batch, answer["first_version"], answer)
    results = _bulk_results(batch, answer, db.device_id)
    if results is None:
        raise LocalSyncError("results", "the server's answer does not cover the batch's rows")
    rows: list[Any] = []

    def fields_of(index: int) -> dict[str, Any]:
        if not rows:
            rows.extend(json.loads(batch.rows_json))
        values = zip(batch.columns, rows[index][1:], strict=True)
        return {name: {"new": value, "base": None} for name, value in values}

    return _record_answers(
        db, [(batch.table, row_id) for row_id in batch.ids], results, fields_of, answer, batch.after
    )


def _all_applied(answer: Any) -> bool:
    """Whether a bulk answer says every row was applied, in order, from ``first_version`` on
    (the usual answer to a first upload)."""
    if not isinstance(answer, Mapping) or answer.get("results") is not None:
        return False
    first = answer.get("first_version")
    return answer.get("rejected") == [] and type(first) is int and first >= 1


def _record_all_applied(
    db: Database, batch: BulkBatch, first: int, answer: Mapping[str, Any]
) -> PushOutcome:
    """:func:`record_bulk_results` for an answer in which every row was applied: the versions
    are staged by SQLite from the batch's ids, without a result per row made here."""
    count = len(batch.ids)
    with writer(db) as conn:
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_upload_ack (table_name, row_id, version)"
            " SELECT ?, value, ? + key FROM json_each(?)"
            # A row a pending op names keeps its version: that op's answer brings it.
            " WHERE value NOT IN (SELECT row_id FROM sync_outbox"
            " WHERE NOT acknowledged AND row_id IS NOT NULL)",
            (batch.table, first, json.dumps(batch.ids)),
        )
        write_state(conn, INITIAL_POSITION_KEY, batch.after)
        waiting = int(read_state(conn, INITIAL_ROWS_KEY) or 0)
        write_state(conn, INITIAL_ROWS_KEY, str(max(0, waiting - count)))
        _skip_own_run(conn, first, count, answer)
    return PushOutcome(applied=count)


def _record_answers(
    db: Database,
    rows: list[tuple[str, str]],
    results: list[Mapping[str, Any]],
    fields_of: Callable[[int], dict[str, Any]],
    answer: Mapping[str, Any],
    after: str,
) -> PushOutcome:
    """Write one answered initial-upload batch, whichever path sent it: ``rows`` are its
    (table, id) in order, ``results`` their answers, ``fields_of(index)`` a row's fields (for a
    rejected row, kept in the outbox). The scan moves to ``after`` in the same transaction."""
    outcome = PushOutcome()
    versions: dict[str, list[tuple[str, int]]] = {}
    rejected = []
    now = utc_text(utcnow())
    with writer(db) as conn:
        edited = _rows_with_pending_ops(conn, [row_id for _, row_id in rows])
        for index, ((table, row_id), result) in enumerate(zip(rows, results, strict=True)):
            outcome.note(result["op_id"], result)
            version = result.get("version")
            if result["status"] == protocol.RESULT_REJECTED:
                reason = result.get("reason")
                rejected.append(
                    (result["op_id"], table, row_id, _FIELDS_JSON.encode(fields_of(index)), now,
                     db.device_id, protocol.RESULT_REJECTED,
                     str(reason) if reason is not None else None)
                )  # fmt: skip
            elif version is not None and row_id not in edited:
                versions.setdefault(table, []).append((row_id, version))
        for table, pairs in versions.items():
            # One statement, not one per row: each row of an executemany lets the thread
            # reading the next batch take the interpreter lock, and wait for it back.
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO sync_upload_ack (table_name, row_id, version)"
                " SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]')"
                " FROM json_each(?)",
                (table, json.dumps(pairs)),
            )
        if rejected:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO sync_outbox (op_id, table_name, row_id, op, fields,"
                " base_version, created_at, device_id, actor_id, acknowledged, result, reason)"
                f" VALUES (?, ?, ?, '{protocol.OP_INSERT}', ?, 0, ?, ?, NULL, 1, ?, ?)",
                rejected,
            )
        write_state(conn, INITIAL_POSITION_KEY, after)
        waiting = int(read_state(conn, INITIAL_ROWS_KEY) or 0)
        write_state(conn, INITIAL_ROWS_KEY, str(max(0, waiting - len(rows))))
        _skip_own(conn, results, answer)
    return outcome
