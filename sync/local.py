"""The laptop's side of sync that needs no network: state keys, outbox batches, pulled pages.

Everything here works on the local SQLite database through SQLAlchemy Core, so that the
100,000-customer initial upload and download stay bulk operations, and so that it can be tested
without a server. :mod:`sync.client` drives these functions over HTTP.

Contracts kept here (DESIGN.md, "Sync contract"):

* A pulled page and the cursor that follows it are written in one transaction.
* Pulled rows never make outbox ops. Pending (unacknowledged) ops are re-applied on top of
  pulled rows, so the user keeps seeing their unsynced edits.
* A batch id is stored on the ops before they are sent, so a retry is the same batch.
* A rejected op stays in the outbox with its reason.
* Full resync: rows that the server has not sent again are marked by a negative
  ``server_version`` until it does; the marks survive a crash, so a resync resumes instead of
  restarting, and what is still marked at the end was purged on the server.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Date, DateTime, Integer, String, Table, text
from sqlalchemy.dialects import sqlite

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.db.outbox import SYNC_COLUMNS, from_wire, to_wire
from showroom.db.types import Money, UTCDateTime
from showroom.ids import new_id
from showroom.models.local import SyncKeys
from sync import protocol

log = logging.getLogger(__name__)

# local_state keys only this module uses (the shared ones are in SyncKeys).
FULL_RESYNC_KEY = "sync.full_resync"  # "1" while a full resync is under way
SEARCH_REBUILD_KEY = "sync.search_rebuild"  # "1" when the search index must be rebuilt
PURGED_KEY = "sync.purged_through"  # the server's purged_through at the last meta
DEVICE_KEY = "device_id"

DEALER_TABLE = "dealer"
SYSTEM_USERNAME = "system"
# Pages touching more customers than this leave the search index to one rebuild at the end.
REINDEX_LIMIT = 200
_CHUNK = 500  # bound parameters per IN list, well under SQLite's limit
_SQLITE = sqlite.dialect()


class LocalSyncError(Exception):
    """Something in the local database or a pulled page stops sync. ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


# --- tables ----------------------------------------------------------------------------------


@cache
def synced_tables() -> dict[str, Table]:
    """Every synced table by name, parents before children."""
    import showroom.models  # noqa: F401  (registers every model)
    from showroom.db.base import Base, SyncMixin

    names = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, SyncMixin)
    }
    return {t.name: t for t in Base.metadata.sorted_tables if t.name in names}


@cache
def content_columns(table_name: str) -> tuple[Column, ...]:
    """The columns a row carries in ``data`` on the wire, and an insert op in ``fields``.

    All but the sync bookkeeping columns; ``deleted`` is content (a delete is an edit of it),
    and a pulled row also carries it beside ``data``.
    """
    table = synced_tables()[table_name]
    return tuple(c for c in table.columns if c.name not in SYNC_COLUMNS)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- state -----------------------------------------------------------------------------------


def read_state(conn: Connection, key: str) -> str | None:
    return conn.execute(text("SELECT value FROM local_state WHERE key = :k"), {"k": key}).scalar()


def write_state(conn: Connection, key: str, value: str | None) -> None:
    """Set ``key``; ``None`` removes it."""
    if value is None:
        conn.execute(text("DELETE FROM local_state WHERE key = :k"), {"k": key})
        return
    conn.execute(
        text(
            "INSERT INTO local_state (key, value) VALUES (:k, :v)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": str(value)},
    )


def get_state(db: Database, *keys: str) -> dict[str, str | None]:
    with db.engine.connect() as conn:
        return {key: read_state(conn, key) for key in keys}


def set_state(db: Database, values: Mapping[str, str | None]) -> None:
    """Write several keys in one transaction."""
    with _writer(db) as conn:
        for key, value in values.items():
            write_state(conn, key, value)


def cursor_of(db: Database) -> int:
    value = get_state(db, SyncKeys.CURSOR)[SyncKeys.CURSOR]
    return int(value) if value else 0


def pending_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM sync_outbox WHERE NOT acknowledged")
        ).scalar()


class _writer:
    """A write transaction (BEGIN IMMEDIATE) on a Core connection; optionally without FKs.

    ``PRAGMA foreign_keys`` only changes outside a transaction, so it is set on the raw
    connection before BEGIN and set back before the connection returns to the pool.
    """

    def __init__(self, db: Database, *, foreign_keys: bool = True) -> None:
        self.engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.foreign_keys = foreign_keys

    def __enter__(self) -> Connection:
        self.conn = self.engine.connect()
        if not self.foreign_keys:
            self.conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        self.tx = self.conn.begin()
        return self.conn

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.tx.commit()
            else:
                self.tx.rollback()
        finally:
            try:
                if not self.foreign_keys:
                    self.conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")
            finally:
                self.conn.close()


# --- wire <-> database values ----------------------------------------------------------------


# The two converters below do what from_wire + the column type's bind processing (and the
# result processing + to_wire) do, without SQLAlchemy's per-value machinery: the initial
# upload and download move millions of values. tests/client checks them against the slow path.


def stored_value(column: Column) -> Callable[[Any], Any]:
    """wire value -> the value SQLite stores for ``column``; raises TypeError/ValueError."""
    kind = column.type
    if isinstance(kind, Money):
        money = Money()

        def fen(value: Any) -> Any:
            if value is None:
                return None
            return money.process_bind_param(from_wire(column, value), None)

        return fen
    if isinstance(kind, UTCDateTime):

        def moment(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not str:
                raise TypeError("a timestamp must travel as text")
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("timestamp without a UTC offset")
            return utc_text(parsed)

        return moment
    if isinstance(kind, Date) and not isinstance(kind, DateTime):

        def day(value: Any) -> Any:
            return None if value is None else from_wire(column, value).isoformat()

        return day
    if isinstance(kind, Boolean | Integer | String):
        exact = bool if isinstance(kind, Boolean) else int if isinstance(kind, Integer) else str
        length = getattr(kind, "length", None) if exact is str else None

        def plain(value: Any) -> Any:
            if value is None or (type(value) is exact and (length is None or len(value) <= length)):
                return value
            return from_wire(column, value)  # raises with the reason

        return plain
    processor = kind.bind_processor(_SQLITE)

    def other(value: Any) -> Any:
        value = from_wire(column, value)
        return processor(value) if processor is not None else value

    return other


def wire_value(column: Column) -> Callable[[Any], Any]:
    """The value SQLite returns for ``column`` -> its wire form (as to_wire gives it)."""
    kind = column.type
    if isinstance(kind, Money):

        def money(fen: Any) -> Any:
            if fen is None:
                return None
            units, cents = divmod(abs(int(fen)), 100)
            return f"{'-' if fen < 0 else ''}{units}.{cents:02d}"

        return money
    if isinstance(kind, UTCDateTime):

        def moment(raw: Any) -> Any:
            if raw is None:
                return None
            return dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC).isoformat()

        return moment
    if isinstance(kind, Date) and not isinstance(kind, DateTime):

        def day(raw: Any) -> Any:
            return None if raw is None else dt.date.fromisoformat(raw).isoformat()

        return day
    if isinstance(kind, Boolean):

        def flag(raw: Any) -> Any:
            return None if raw is None else bool(raw)

        return flag
    if isinstance(kind, Integer | String):
        return _same
    processor = kind.result_processor(_SQLITE, None)

    def other(raw: Any) -> Any:
        return to_wire(processor(raw) if processor is not None else raw)

    return other


def _same(value: Any) -> Any:
    return value


@cache
def _converters(table_name: str) -> tuple[tuple[str, Callable, Callable], ...]:
    """(name, stored_value, wire_value) per content column of ``table_name``."""
    return tuple((c.name, stored_value(c), wire_value(c)) for c in content_columns(table_name))


# --- outbox: initial upload, batches, results ------------------------------------------------


_OUTBOX_INSERT = (
    "INSERT INTO sync_outbox (op_id, table_name, row_id, op, fields, base_version, created_at,"
    " device_id, actor_id, acknowledged) VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL, 0)"
)
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _insert_ops_for(
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
    converters = _converters(table_name)
    columns = ", ".join(["id", *(_quote(name) for name, _, _ in converters)])
    created = utc_text(utcnow())
    encode = _FIELDS_JSON.encode
    rows = conn.exec_driver_sql(
        f"SELECT {columns} FROM {_quote(table_name)} WHERE {where}", params
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


def utc_text(moment: dt.datetime) -> str:
    """A UTC moment as UTCDateTime stores it on SQLite."""
    return (
        moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    )


def enqueue_unsynced(db: Database) -> int:
    """The initial upload: an ``insert`` op for every synced row the server has never seen.

    A row qualifies when its ``server_version`` is 0, it is not deleted, and no outbox op
    (pending or answered) names it, as in a demo or pre-existing database. The dealer row and
    the system account are not queued. Returns the number of ops queued.
    """
    total = 0
    with _writer(db) as conn:
        for name in synced_tables():
            total += _insert_ops_for(
                conn,
                name,
                "server_version = 0 AND NOT deleted AND NOT EXISTS"
                f" (SELECT 1 FROM sync_outbox o WHERE o.row_id = {_quote(name)}.id)",
                (),
                db.device_id,
            )
    return total


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
    return {
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


_OP_SELECT = (
    "SELECT seq, op_id, table_name, row_id, op, fields, base_version, created_at, actor_id,"
    " batch_id FROM sync_outbox"
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
    with _writer(db) as conn:
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
    with _writer(db) as conn:
        rows = []
        for chunk in _chunks(list(seqs)):
            rows += conn.execute(
                text(_OP_SELECT + f" WHERE seq IN ({','.join(str(int(s)) for s in chunk)})")
            ).all()
        rows.sort(key=lambda r: r.seq)
        return _assign(conn, rows)


def _assign(conn: Connection, rows: Sequence[Any]) -> Batch:
    batch_id = new_id()
    seqs = [r.seq for r in rows]
    for chunk in _chunks(seqs):
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


def record_results(db: Database, batch: Batch, answer: Mapping[str, Any]) -> PushOutcome:
    """Store the server's per-op answers for ``batch`` and move row versions forward.

    Each op becomes acknowledged with its ``result`` (and ``reason`` when rejected). A row's
    ``server_version`` takes the returned version unless a newer pending op exists for it (the
    local row then holds more than that version). A rejected update or delete puts back the
    base values it changed, unless a newer pending op covers the row, so the row shows what
    the server holds; a rejected insert stays as a local row. Raises LocalSyncError when the
    answer does not hold one well-formed result per op (the batch then stays pending).
    """
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
    missing = [op["op_id"] for op in batch.ops if op["op_id"] not in by_op]
    if missing:
        raise LocalSyncError("results", f"no result for {len(missing)} of the batch's ops")

    outcome = PushOutcome()
    tables = synced_tables()
    touched_customers: set[str] = set()
    with _writer(db) as conn:
        for op, seq in zip(batch.ops, batch.seqs, strict=True):
            result = by_op[op["op_id"]]
            status = result["status"]
            reason = result.get("reason")
            conn.execute(
                text(
                    "UPDATE sync_outbox SET acknowledged = 1, result = :r, reason = :why"
                    " WHERE seq = :seq"
                ),
                {"r": status, "why": str(reason) if reason is not None else None, "seq": seq},
            )
            if status == protocol.RESULT_REJECTED:
                outcome.rejected += 1
                outcome.rejected_reasons[op["op_id"]] = str(reason or "")
            elif status == protocol.RESULT_CONFLICT:
                outcome.conflicts += 1
            elif status == protocol.RESULT_DUPLICATE:
                outcome.duplicates += 1
            else:
                outcome.applied += 1
            table = op["table"]
            if table not in tables:
                continue
            newer = conn.execute(
                text(
                    "SELECT 1 FROM sync_outbox WHERE table_name = :t AND row_id = :id"
                    " AND NOT acknowledged AND seq > :seq LIMIT 1"
                ),
                {"t": table, "id": op["row_id"], "seq": seq},
            ).first()
            if newer:
                continue
            version = result.get("version")
            if status != protocol.RESULT_REJECTED and version is not None:
                conn.execute(
                    text(
                        f"UPDATE {_quote(table)} SET server_version = :v"
                        " WHERE id = :id AND abs(server_version) < :v"
                    ),
                    {"v": version, "id": op["row_id"]},
                )
            elif status == protocol.RESULT_REJECTED and op["op"] != protocol.OP_INSERT:
                _put_back_base(conn, table, op)
                touched_customers |= _customers_of(conn, table, [op["row_id"]])
        _reindex(conn, touched_customers)
    return outcome


def _put_back_base(conn: Connection, table: str, op: Mapping[str, Any]) -> None:
    _set_fields(conn, table, op["row_id"], op["fields"], "base")


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
    quoted = [_quote(c) for c in columns]
    updates = ", ".join(f"{q} = excluded.{q}" for q in quoted[1:])
    return (
        f"INSERT INTO {_quote(table_name)} ({', '.join(quoted)})"
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
        converters = [(n, to_db) for n, to_db, _ in _converters(name) if n != "deleted"]
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
                    _text_or_none(row.get("updated_by_device")),
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
    with _writer(db, foreign_keys=False) as conn:
        touched = _customers_before(conn, by_table)
        for sql, params in statements:
            conn.exec_driver_sql(sql, params)
            written += len(params)
        _reapply_pending(conn, by_table)
        touched |= _customers_after(by_table)
        _reindex(conn, touched)
        write_state(conn, SyncKeys.CURSOR, str(next_since))
    return PageResult(written, ignored, next_since, has_more)


def _text_or_none(value: Any) -> str | None:
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
    for name, to_db, _ in _converters(table):
        if name in row["data"]:
            try:
                to_db(row["data"][name])
            except (TypeError, ValueError):
                return name
    return "updated_at"


_CUSTOMER_CHILDREN = ("customer_phone", "customer_vehicle")


def _customers_before(conn: Connection, by_table: Mapping[str, list]) -> set[str]:
    """Customers whose phones or vehicles in this page may be moving away from them."""
    found: set[str] = set()
    for name in _CUSTOMER_CHILDREN:
        ids = [r["id"] for r in by_table.get(name, ())]
        found |= _customers_of(conn, name, ids)
    return found


def _customers_of(conn: Connection, table: str, ids: Sequence[str]) -> set[str]:
    if table == "customer":
        return set(ids)
    if table not in _CUSTOMER_CHILDREN:
        return set()
    found: set[str] = set()
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" for _ in chunk)
        found.update(
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT customer_id FROM {table} WHERE id IN ({marks})", tuple(chunk)
            )
            if r[0]
        )
    return found


def _customers_after(by_table: Mapping[str, list]) -> set[str]:
    found = {r["id"] for r in by_table.get("customer", ())}
    for name in _CUSTOMER_CHILDREN:
        found.update(
            r["data"]["customer_id"]
            for r in by_table.get(name, ())
            if isinstance(r["data"].get("customer_id"), str)
        )
    return found


def _reindex(conn: Connection, customer_ids: set[str]) -> None:
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

    with _writer(db) as conn:
        if not read_state(conn, SEARCH_REBUILD_KEY):
            return False
        rebuild_search_index(conn)
        write_state(conn, SEARCH_REBUILD_KEY, None)
    return True


def _reapply_pending(conn: Connection, by_table: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """Put the new values of pending ops back over the pulled rows they concern."""
    for name, rows in by_table.items():
        ids = [r["id"] for r in rows]
        ops = []
        for chunk in _chunks(ids):
            marks = ",".join("?" for _ in chunk)
            ops += conn.exec_driver_sql(
                "SELECT seq, row_id, fields FROM sync_outbox WHERE NOT acknowledged"
                f" AND table_name = ? AND row_id IN ({marks})",
                (name, *chunk),
            ).all()
        ops.sort(key=lambda r: r[0])
        for _seq, row_id, fields_text in ops:
            _set_fields(conn, name, row_id, json.loads(fields_text), "new")


def _set_fields(
    conn: Connection, table: str, row_id: str, fields: Mapping[str, Any], which: str
) -> None:
    """Write the ``new`` (or ``base``) values of an op's fields into the row."""
    converters = {name: to_db for name, to_db, _ in _converters(table)}
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
        sets.append(f"{_quote(name)} = ?")
    if sets:
        conn.exec_driver_sql(
            f"UPDATE {_quote(table)} SET {', '.join(sets)} WHERE id = ?", (*params, row_id)
        )


# --- full resync and restore recovery --------------------------------------------------------


def start_full_resync(db: Database) -> None:
    """Pull everything again from 0, keeping the outbox.

    Every row the server has acknowledged is marked (negative ``server_version``) until the
    server sends it again; :func:`finish_full_resync` deals with the rows still marked. The
    marks and the cursor are written together, so a resync cut short resumes where it stopped.
    """
    with _writer(db) as conn:
        for name in synced_tables():
            conn.execute(
                text(
                    f"UPDATE {_quote(name)} SET server_version = -server_version"
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
    with _writer(db) as conn:
        if not read_state(conn, FULL_RESYNC_KEY):
            return 0
        touched: set[str] = set()
        for name in synced_tables():
            q = _quote(name)
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
            touched |= _customers_of(conn, name, ids)
            # Version 0: the server no longer has the row, so checksums leave it out.
            result = conn.execute(
                text(f"UPDATE {q} SET deleted = 1, server_version = 0 WHERE server_version < 0")
            )
            marked += result.rowcount
        _reindex(conn, touched)
        write_state(conn, FULL_RESYNC_KEY, None)
    if marked:
        log.info("full resync: %d rows purged on the server are marked deleted here", marked)
    return marked


def requeue_lost_rows(db: Database, epoch_base_seq: int) -> int:
    """The server was restored from a backup that ends at ``epoch_base_seq``.

    Every local row at a later version holds data the server lost: it is queued again as an
    ``insert`` op with all its fields. Returns the number of ops queued.
    """
    total = 0
    with _writer(db) as conn:
        for name in synced_tables():
            total += _insert_ops_for(
                conn, name, "abs(server_version) > ?", (epoch_base_seq,), db.device_id
            )
    return total


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
        purged = int(read_state(conn, PURGED_KEY) or 0)
        for name in names:
            converters = _converters(name)
            columns = ", ".join(["id", "server_version", *(_quote(n) for n, _, _ in converters)])
            where = "server_version > 0"
            if purged:
                gone = f"deleted AND server_version <= {purged}"
                if name == protocol.CONFLICT_TABLE:
                    gone += " AND status != 'open'"
                where += f" AND NOT ({gone})"
            rows = conn.exec_driver_sql(f"SELECT {columns} FROM {_quote(name)} WHERE {where}")
            out[name] = protocol.table_checksum(
                (row[0], row[1], data["deleted"], data)
                for row in rows
                for data in (
                    {n: wire(raw) for (n, _, wire), raw in zip(converters, row[2:], strict=True)},
                )
            )
    return out


# --- enrolment -------------------------------------------------------------------------------


def system_user_id(dealer_id: str) -> str:
    """The id of a dealer's ``system`` account: the same on every laptop of the store."""
    return str(uuid.uuid5(uuid.UUID(dealer_id), SYSTEM_USERNAME))


def _id_columns() -> list[tuple[str, str]]:
    """(table, column) of every column that can hold a row id, in every local table."""
    from showroom.db.base import Base

    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            length = getattr(column.type, "length", None)
            if column.foreign_keys or (length == 36 and column.name != "id"):
                found.append((table.name, column.name))
    return found


def _rekey(conn: Connection, table: str, old: str, new: str) -> None:
    """Give row ``old`` of ``table`` the id ``new``, and every reference to it (FKs off)."""
    if old == new:
        return
    conn.execute(
        text(f"UPDATE {_quote(table)} SET id = :new WHERE id = :old"), {"new": new, "old": old}
    )
    for name, column in _id_columns():
        if name == "sync_outbox" and column not in ("row_id", "actor_id"):
            continue
        conn.execute(
            text(
                f"UPDATE {_quote(name)} SET {_quote(column)} = :new WHERE {_quote(column)} = :old"
            ),
            {"new": new, "old": old},
        )
    # Ids inside pending ops' values (for example an insert op's dealer_id).
    conn.execute(
        text("UPDATE sync_outbox SET fields = replace(fields, :old, :new) WHERE fields LIKE :pat"),
        {"old": old, "new": new, "pat": f"%{old}%"},
    )


@dataclass(frozen=True)
class EnrolmentChanges:
    dealer_rekeyed: bool
    system_user_rekeyed: bool
    ops_queued: int


def adopt_enrolment(
    db: Database,
    *,
    server_url: str,
    token: str,
    device_id: str,
    dealer_id: str,
    dealer_name: str,
) -> EnrolmentChanges:
    """Make this database the laptop of the server's dealer ``dealer_id``.

    Stores the server, token and dealer; gives the local dealer row (and everything that
    points at it) the server's dealer id, and the ``system`` account its per-dealer id, so
    that two laptops of one store make one dealer and one system user. A laptop that never
    synced gets its outbox rebuilt from its rows (the initial upload). All in one transaction.
    """
    try:
        uuid.UUID(dealer_id)
    except (TypeError, ValueError, AttributeError) as error:
        raise LocalSyncError("dealer_id", "not a UUID") from error
    with _writer(db, foreign_keys=False) as conn:
        never_synced = (
            int(read_state(conn, SyncKeys.CURSOR) or 0) == 0
            and not conn.execute(
                text("SELECT 1 FROM sync_outbox WHERE acknowledged LIMIT 1")
            ).first()
        )
        local_dealers = list(
            conn.execute(text("SELECT id FROM dealer WHERE NOT deleted ORDER BY id")).scalars()
        )
        dealer_rekeyed = False
        if local_dealers and dealer_id not in local_dealers:
            _rekey(conn, DEALER_TABLE, local_dealers[0], dealer_id)
            dealer_rekeyed = True
        elif not local_dealers:
            # A placeholder until the pull brings the server's row, so that nothing here
            # creates a second dealer meanwhile.
            conn.execute(
                text(
                    "INSERT INTO dealer (id, server_version, deleted, updated_at, name)"
                    " VALUES (:id, 0, 0, :now, :name) ON CONFLICT (id) DO NOTHING"
                ),
                {"id": dealer_id, "now": utc_text(utcnow()), "name": dealer_name[:100]},
            )
        system_id = system_user_id(dealer_id)
        current = conn.execute(
            text("SELECT id FROM app_user WHERE username = :u"), {"u": SYSTEM_USERNAME}
        ).scalar()
        system_rekeyed = False
        if current is not None and current != system_id:
            _rekey(conn, "app_user", current, system_id)
            system_rekeyed = True
        elif current is None:
            conn.execute(
                text(
                    "INSERT INTO app_user (id, server_version, deleted, updated_at, dealer_id,"
                    " username, display_name, role, active, system_account)"
                    " VALUES (:id, 0, 0, :now, :dealer, :u, '系统', 'admin', 1, 1)"
                ),
                {"id": system_id, "now": utc_text(utcnow()), "dealer": dealer_id, "u": "system"},
            )
        write_state(conn, SyncKeys.SERVER_URL, server_url)
        write_state(conn, SyncKeys.TOKEN, token)
        write_state(conn, SyncKeys.DEALER_ID, dealer_id)
        write_state(conn, SyncKeys.DEALER_NAME, dealer_name)
        write_state(conn, DEVICE_KEY, device_id)
        if never_synced:
            conn.execute(text("DELETE FROM sync_outbox"))
            write_state(conn, SyncKeys.CURSOR, "0")
    db.device_id = device_id
    queued = enqueue_unsynced(db) if never_synced else 0
    return EnrolmentChanges(dealer_rekeyed, system_rekeyed, queued)
