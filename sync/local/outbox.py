"""The outbox side of push: batches with stored ids, and the server's answers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.ids import new_id
from sync import protocol
from sync.local.searchkeys import customers_of, reindex
from sync.local.store import (
    DEALER_TABLE,
    SYSTEM_USERNAME,
    LocalSyncError,
    chunks,
    column_converters,
    quote,
    synced_tables,
    utc_text,
    writer,
)

log = logging.getLogger(__name__)

# --- outbox: batches, results ------------------------------------------------


_OUTBOX_INSERT = (
    "INSERT INTO sync_outbox (op_id, table_name, row_id, op, fields, base_version, created_at,"
    " device_id, actor_id, acknowledged) VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL, 0)"
)
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def insert_ops_for(
    conn: Connection, table_name: str, where: str, params: tuple, device_id: str
) -> int:
    """Queue an ``insert`` op with every field for each row of ``table_name`` matching.

    ``where`` is SQL over the table's columns with ``?`` for ``params``. The dealer row is the
    server's, and the ``system`` account is made with the same id on every laptop of the
    dealer (see :func:`system_user_id`): neither is uploaded.
    """
    if table_name == DEALER_TABLE:
        return 0
    if table_name == "app_user":
        where += f" AND NOT (username = '{SYSTEM_USERNAME}' AND system_account)"
    converters = column_converters(table_name)
    columns = ", ".join(["id", *(quote(name) for name, _, _ in converters)])
    created = utc_text(utcnow())
    encode = _FIELDS_JSON.encode
    rows = conn.exec_driver_sql(
        f"SELECT {columns} FROM {quote(table_name)} WHERE {where}", params
    ).fetchall()
    ops = []
    for row in rows:
        fields = {
            name: {"new": to_wire_value(raw), "base": None}
            for (name, _, to_wire_value), raw in zip(converters, row[1:], strict=True)
        }
        ops.append(
            (str(uuid.uuid4()), table_name, row[0], protocol.OP_INSERT, encode(fields), created,
             device_id)
        )  # fmt: skip
    if ops:
        conn.exec_driver_sql(_OUTBOX_INSERT, ops)
    return len(ops)


@dataclass(frozen=True)
class Batch:
    """Ops to push together; ``ops`` are wire dicts in outbox order, ``seqs`` their outbox rows."""

    batch_id: str
    ops: list[dict[str, Any]]
    seqs: list[int]


def _wire_op(row: Any) -> dict[str, Any]:
    created = row.created_at
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC).isoformat()
    op = {
        "op_id": row.op_id,
        "table": row.table_name,
        "row_id": row.row_id,
        "op": row.op,
        "fields": json.loads(row.fields),
        # Negative while a full resync has not seen the row again: the number is the same.
        "base_version": abs(row.base_version or 0),
        "created_at": created,
        "actor_id": row.actor_id,
    }
    if row.held is not None:
        op["held"] = json.loads(row.held)
    return op


_OP_SELECT = (
    "SELECT seq, op_id, table_name, row_id, op, fields, held, base_version, created_at,"
    " actor_id, batch_id FROM sync_outbox"
)


def pending_ops(db: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """Unacknowledged ops in the order they were made, as wire dicts."""
    sql = _OP_SELECT + " WHERE NOT acknowledged ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with db.engine.connect() as conn:
        return [_wire_op(r) for r in conn.execute(text(sql))]


def next_batch(db: Database, limit: int = protocol.MAX_BATCH_OPS) -> Batch | None:
    """The next batch to push, or None when nothing waits.

    A batch that was sent but not answered is at the head of the queue and comes back whole,
    with its batch id and op ids. Otherwise the oldest ``limit`` ops get a new batch id, stored
    before anything is sent (see :func:`assign_batch`).
    """
    with writer(db) as conn:
        head = conn.execute(
            text(_OP_SELECT + " WHERE NOT acknowledged ORDER BY seq LIMIT :n"), {"n": limit}
        ).all()
        if not head:
            return None
        if head[0].batch_id:
            rows = conn.execute(
                text(_OP_SELECT + " WHERE batch_id = :b AND NOT acknowledged ORDER BY seq"),
                {"b": head[0].batch_id},
            ).all()
            return Batch(head[0].batch_id, [_wire_op(r) for r in rows], [r.seq for r in rows])
        fresh = []
        for row in head:
            if row.batch_id:
                break
            fresh.append(row)
        return _assign(conn, fresh)


def assign_batch(db: Database, seqs: Sequence[int]) -> Batch:
    """Store a new batch id on these outbox rows (by ``seq``) and return the batch."""
    with writer(db) as conn:
        rows = []
        for chunk in chunks(list(seqs)):
            rows += conn.execute(
                text(_OP_SELECT + f" WHERE seq IN ({','.join(str(int(s)) for s in chunk)})")
            ).all()
        rows.sort(key=lambda r: r.seq)
        return _assign(conn, rows)


def _assign(conn: Connection, rows: Sequence[Any]) -> Batch:
    batch_id = new_id()
    seqs = [r.seq for r in rows]
    for chunk in chunks(seqs):
        conn.execute(
            text(
                f"UPDATE sync_outbox SET batch_id = :b WHERE seq IN ({','.join(map(str, chunk))})"
            ),
            {"b": batch_id},
        )
    return Batch(batch_id, [_wire_op(r) for r in rows], seqs)


@dataclass
class PushOutcome:
    """What one answered batch did: counts by result, and the conflict/rejected op ids."""

    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejected_reasons: dict[str, str] = field(default_factory=dict)

    def note(self, op_id: str, result: Mapping[str, Any]) -> None:
        status = result["status"]
        if status == protocol.RESULT_REJECTED:
            self.rejected += 1
            self.rejected_reasons[op_id] = str(result.get("reason") or "")
        elif status == protocol.RESULT_CONFLICT:
            self.conflicts += 1
        elif status == protocol.RESULT_DUPLICATE:
            self.duplicates += 1
        else:
            self.applied += 1


def results_by_op(
    answer: Mapping[str, Any], ops: Sequence[Mapping[str, Any]]
) -> dict[str, Mapping[str, Any]]:
    """The server's result for each op id; LocalSyncError naming the field when malformed."""
    results = answer.get("results") if isinstance(answer, Mapping) else None
    if not isinstance(results, list):
        raise LocalSyncError("results", "the server's answer has no result list")
    by_op: dict[str, Mapping[str, Any]] = {}
    for i, result in enumerate(results):
        if not isinstance(result, Mapping) or not isinstance(result.get("op_id"), str):
            raise LocalSyncError(f"results[{i}].op_id", "missing")
        status = result.get("status")
        if status not in protocol.RESULTS:
            raise LocalSyncError(f"results[{i}].status", f"unknown status {status!r}")
        version = result.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise LocalSyncError(f"results[{i}].version", "expected a whole number")
        by_op[result["op_id"]] = result
    missing = [op["op_id"] for op in ops if op["op_id"] not in by_op]
    if missing:
        raise LocalSyncError("results", f"no result for {len(missing)} of the batch's ops")

    return by_op


def record_results(db: Database, batch: Batch, answer: Mapping[str, Any]) -> PushOutcome:
    """Store the server's per-op answers for ``batch`` and move row versions forward.

    Each op becomes acknowledged with its ``result`` (and ``reason`` when rejected). A row's
    ``server_version`` takes the returned version unless a newer pending op exists for it (the
    local row then holds more than that version). A rejected update or delete puts back the
    base values it changed, unless a newer pending op covers the row, so the row shows what
    the server holds; a rejected insert stays as a local row. Raises LocalSyncError when the
    answer does not hold one well-formed result per op (the batch then stays pending).
    """
    by_op = results_by_op(answer, batch.ops)
    outcome = PushOutcome()
    tables = synced_tables()
    acks, versions, put_back = [], {}, []
    last_in_batch: dict[tuple[str, str], int] = {}
    for op, seq in zip(batch.ops, batch.seqs, strict=True):
        key = (op["table"], op["row_id"])
        last_in_batch[key] = max(seq, last_in_batch.get(key, 0))
    with writer(db) as conn:
        for op, seq in zip(batch.ops, batch.seqs, strict=True):
            result = by_op[op["op_id"]]
            status = result["status"]
            reason = result.get("reason")
            acks.append((status, str(reason) if reason is not None else None, seq))
            outcome.note(op["op_id"], result)
        conn.exec_driver_sql(
            "UPDATE sync_outbox SET acknowledged = 1, result = ?, reason = ? WHERE seq = ?", acks
        )
        later = _newest_pending(conn, {op["row_id"] for op in batch.ops})
        for op, seq in zip(batch.ops, batch.seqs, strict=True):
            table, key = op["table"], (op["table"], op["row_id"])
            if table not in tables or later.get(key, 0) > seq:
                continue  # the local row holds more than the server answered for
            result = by_op[op["op_id"]]
            version = result.get("version")
            if result["status"] != protocol.RESULT_REJECTED and version is not None:
                versions.setdefault(table, []).append((version, op["row_id"], version))
            elif (
                result["status"] == protocol.RESULT_REJECTED
                and op["op"] != protocol.OP_INSERT
                and last_in_batch[key] == seq
            ):
                put_back.append(op)
        # Versions only move forward, so the batch's ops on one row may be written in any order.
        for table, params in versions.items():
            conn.exec_driver_sql(
                f"UPDATE {quote(table)} SET server_version = ?"
                " WHERE id = ? AND abs(server_version) < ?",
                params,
            )
        touched_customers: set[str] = set()
        for op in put_back:
            _put_back_base(conn, op["table"], op)
            touched_customers |= customers_of(conn, op["table"], [op["row_id"]])
        reindex(conn, touched_customers)
    return outcome


def _newest_pending(conn: Connection, row_ids: set[str]) -> dict[tuple[str, str], int]:
    """(table, row id) -> the newest unacknowledged op's seq, for these rows."""
    newest: dict[tuple[str, str], int] = {}
    for chunk in chunks(sorted(row_ids)):
        marks = ",".join("?" for _ in chunk)
        for table, row_id, seq in conn.exec_driver_sql(
            "SELECT table_name, row_id, max(seq) FROM sync_outbox WHERE NOT acknowledged"
            f" AND row_id IN ({marks}) GROUP BY table_name, row_id",
            tuple(chunk),
        ):
            newest[(table, row_id)] = seq
    return newest


def _put_back_base(conn: Connection, table: str, op: Mapping[str, Any]) -> None:
    set_fields(conn, table, op["row_id"], op["fields"], "base")


def set_fields(
    conn: Connection, table: str, row_id: str, fields: Mapping[str, Any], which: str
) -> None:
    """Write the ``new`` (or ``base``) values of an op's fields into the row."""
    converters = {name: to_db for name, to_db, _ in column_converters(table)}
    sets, params = [], []
    for name, change in fields.items():
        to_db = converters.get(name)
        if to_db is None or not isinstance(change, Mapping):
            continue
        try:
            params.append(to_db(change.get(which)))
        except (TypeError, ValueError):
            log.warning("op value of %s.%s does not fit the column; left out", table, name)
            continue
        sets.append(f"{quote(name)} = ?")
    if sets:
        conn.exec_driver_sql(
            f"UPDATE {quote(table)} SET {', '.join(sets)} WHERE id = ?", (*params, row_id)
        )


def requeue_lost_rows(db: Database, epoch_base_seq: int) -> int:
    """The server was restored from a backup that ends at ``epoch_base_seq``.

    Every local row at a later version holds data the server lost: it is queued again as an
    ``insert`` op with all its fields. Returns the number of ops queued.
    """
    total = 0
    with writer(db) as conn:
        for name in synced_tables():
            total += insert_ops_for(
                conn, name, "abs(server_version) > ?", (epoch_base_seq,), db.device_id
            )
    return total
