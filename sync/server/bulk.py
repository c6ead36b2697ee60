"""The initial upload's fast path (``POST /v1/sync/bulk``): many new rows of one table at once.

A laptop that held rows before its first sync sends them as rows of values rather than as one
op per row::

    {"batch_id", "epoch", "cursor", "table", "columns": [...], "rows": [[id, v1, v2, ...], ...]}

The rows are checked column by column (one pass of C-level checks over a column, the per-value
checks of :mod:`sync.server.schema` only for a column that fails them) and, when none of them
is on the server yet, written in one COPY with consecutive versions: no op ledger, no merge.
The batch's answer is stored under its ``batch_id`` like a push's, so a retry gets it back.

Anything the fast path does not cover goes through the ordinary op machinery of
:mod:`sync.server.push`, as ``insert`` ops with the ids :func:`sync.protocol.upload_op_id`
gives, so the result is exactly what the same rows pushed as ops would have had:

* rows already on the server (sent again after a restore, or by two laptops): merged or kept
  as conflicts;
* tables under domain rules (usernames, demo-car bookings), the append-only audit trail and
  the conflict table.

The answer: ``{"batch_id", "table", "last_seq", "server_time"}`` and either ``"first_version"``
with ``"rejected": [{"index", "reason"}]`` (every row not rejected was applied and took the
next version from ``first_version`` on, in row order), or ``"results"``: one
``{"op_id", "status", "version", "reason"}`` per row, in order, as a push answers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sync import protocol
from sync.protocol import Mark
from sync.server.auth import DeviceContext
from sync.server.db import utcnow, write_transaction
from sync.server.errors import bad_request, too_large
from sync.server.models import record
from sync.server.push import (
    APPEND_ONLY,
    Op,
    Outcome,
    Rejected,
    _is_id,
    _is_seq,
    _stored_answer,
    apply_ops,
    finish_batch,
)
from sync.server.records import (
    DealerState,
    Head,
    check_restore,
    history_value,
    load_dealer,
    new_head,
    raise_epoch_changed,
)
from sync.server.rules import TEST_DRIVE_TABLE, USER_TABLE
from sync.server.schema import SyncedTable, synced_tables

_ANSWER_KEYS = uuid.UUID("0b4c1f55-7a3e-4f7e-9d0a-6c2f3e8b5d21")
# Rows of these tables always take the op path: the server's rules look at each of them.
OP_PATH_TABLES = frozenset({USER_TABLE, TEST_DRIVE_TABLE, protocol.CONFLICT_TABLE, *APPEND_ONLY})

log = logging.getLogger(__name__)


class _Envelope:
    __slots__ = ("batch_id", "columns", "cursor", "epoch", "rows", "table")

    def __init__(self, body: Any, max_rows: int) -> None:
        if not isinstance(body, dict):
            raise bad_request("body: expected a JSON object")
        self.batch_id = body.get("batch_id")
        if not _is_id(self.batch_id):
            raise bad_request("batch_id: expected an id of 1 to 36 characters")
        epoch = body.get("epoch")
        if epoch is not None and (
            not isinstance(epoch, str) or len(epoch) > 64 or not epoch.isascii()
        ):
            raise bad_request("epoch: expected the server's epoch text or null")
        self.epoch = epoch
        self.cursor = body.get("cursor", 0)
        if not _is_seq(self.cursor):
            raise bad_request("cursor: expected a whole number >= 0")
        self.table = body.get("table")
        if not isinstance(self.table, str) or not 0 < len(self.table) <= 64:
            raise bad_request("table: expected a table name")
        columns = body.get("columns")
        if (
            not isinstance(columns, list)
            or not all(isinstance(c, str) for c in columns)
            or len(set(columns)) != len(columns)
        ):
            raise bad_request("columns: expected a list of distinct column names")
        self.columns: list[str] = columns
        rows = body.get("rows")
        if not isinstance(rows, list):
            raise bad_request("rows: expected a list of rows")
        if len(rows) > max_rows:
            raise too_large(f"rows: at most {max_rows} rows per batch, got {len(rows)}")
        self.rows: list[Any] = rows


def bulk(
    engine: Engine,
    who: DeviceContext,
    body: Any,
    *,
    epoch_header: str | None,
    max_rows: int,
    marks: Sequence[Mark] = (),
) -> str:
    """Store one batch of new rows and return the answer (JSON text); see the module doc."""
    envelope = _Envelope(body, max_rows)
    now = utcnow()
    checked = _check_rows(envelope)
    # The stored form of each row is made before the dealer's lock is taken: under it only
    # versions are handed out and the rows copied in.
    prepared = _prepare(checked) if envelope.table not in OP_PATH_TABLES else None
    changed_epoch: DealerState | None = None
    with write_transaction(engine) as conn:
        state = load_dealer(conn, who.dealer_id, lock=True)
        changed_epoch = check_restore(
            conn, state, epoch_header or envelope.epoch, envelope.cursor, marks
        )
        if changed_epoch is None:
            answer = _stored_answer(conn, who.dealer_id, _answer_key(envelope.batch_id))
            if answer is None:
                answer = _apply(conn, who, state, envelope, checked, prepared, now)
    if changed_epoch is not None:
        raise_epoch_changed(changed_epoch)
    return answer


# A first upload adds up to a million rows in a minute, faster than autovacuum refreshes the
# table's statistics; queries planned on the old ones (an empty table) would sort where they
# should walk an index. So the upload refreshes them itself, each time the table has doubled
# since they were taken, from this size on (8 kB pages: 16 MB, about 100,000 records).
ANALYZE_FROM_PAGES = 2_000
_ANALYZE_LOCK = "showroom: ANALYZE record"  # an advisory lock's name: one refresh at a time


def refresh_statistics(engine: Engine) -> None:
    """Refresh the record table's statistics on PostgreSQL when it has grown (see above).

    Run after a bulk batch is answered, so that the laptop does not wait for it. The sizes
    compared are exact at once (the file's size and the pages counted by the last ANALYZE),
    unlike the activity counters, which reach the statistics views up to seconds late. When
    another refresh is under way this one is skipped; a failure is logged, and the next batch
    tries again.
    """
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as conn:
            pages, counted = conn.exec_driver_sql(
                "SELECT pg_relation_size(oid) / current_setting('block_size')::int, relpages"
                " FROM pg_class WHERE oid = 'record'::regclass"
            ).one()
            if pages < max(ANALYZE_FROM_PAGES, 2 * counted):
                return
            if conn.exec_driver_sql(
                "SELECT pg_try_advisory_xact_lock(hashtext(%(name)s))", {"name": _ANALYZE_LOCK}
            ).scalar():
                conn.exec_driver_sql("ANALYZE record")
    except SQLAlchemyError:
        log.warning("refreshing the statistics of the record table failed", exc_info=True)


class _Checked:
    """The batch's rows after the checks: canonical values, or why a row is refused."""

    def __init__(self, spec: SyncedTable | None, names: list[str]) -> None:
        self.spec = spec
        self.names = names  # every content column, sorted (the stored data's key order)
        self.ids: list[Any] = []
        self.values: list[list[Any] | None] = []  # per row, in ``names`` order; None: refused
        self.exact: list[bool] = []
        self.reasons: dict[int, str] = {}

    def refuse(self, index: int, reason: str) -> None:
        if index not in self.reasons:
            self.reasons[index] = reason
            self.values[index] = None


def _check_rows(envelope: _Envelope) -> _Checked:
    table = envelope.table
    spec = synced_tables().get(table)
    rows = envelope.rows
    checked = _Checked(spec, sorted(spec.columns) if spec is not None else [])
    width = len(envelope.columns) + 1
    shaped = []
    for index, row in enumerate(rows):
        good = type(row) is list and len(row) == width and _is_id(row[0])
        checked.ids.append(row[0] if good else None)
        checked.values.append([] if good else None)
        checked.exact.append(True)
        if good:
            shaped.append(index)
        else:
            checked.reasons[index] = f"rows[{index}]: expected [id, one value per column]"
    if spec is None:
        for index in shaped:
            checked.refuse(index, f"table: unknown table {table!a}")
        return checked
    unknown = [c for c in envelope.columns if c not in spec.columns]
    missing = sorted(spec.required - set(envelope.columns))
    problem = None
    if unknown:
        shown = unknown[0] if unknown[0].isascii() and unknown[0].isprintable() else "?"
        problem = f"{table}.{shown}: unknown field"
    elif missing:
        problem = f"{table}.{missing[0]}: required for a new row"
    if problem is not None:
        for index in shaped:
            checked.refuse(index, problem)
        return checked

    position = {name: i + 1 for i, name in enumerate(envelope.columns)}
    complete = len(envelope.columns) == len(spec.columns)
    columns: list[list[Any]] = []
    for name in checked.names:
        at = position.get(name)
        if at is None:
            make = spec.defaults.get(name)
            columns.append([make() if make is not None else None] * len(shaped))
            continue
        given = [rows[index][at] for index in shaped]
        if spec.fast_checks[name](given) and (name not in spec.not_null or None not in given):
            columns.append(given)
            continue
        normalize = spec.columns[name]
        values = []
        for index, value in zip(shaped, given, strict=True):
            try:
                canonical = normalize(value)
            except (ValueError, TypeError, ArithmeticError) as exc:
                checked.refuse(index, f"{table}.{name}: {exc}")
                values.append(None)
                continue
            if canonical is None and name in spec.not_null:
                checked.refuse(index, f"{table}.{name}: cannot be empty")
            elif type(canonical) is not type(value) or canonical != value:
                checked.exact[index] = False
            values.append(canonical)
        columns.append(values)
    for position_in_shaped, index in enumerate(shaped):
        if checked.values[index] is not None:
            checked.values[index] = [column[position_in_shaped] for column in columns]
            if not complete:
                checked.exact[index] = False
    return checked


def _apply(
    conn: Connection,
    who: DeviceContext,
    state: DealerState,
    envelope: _Envelope,
    checked: _Checked,
    prepared: _Prepared | None,
    now: dt.datetime,
) -> str:
    about = {"batch_id": envelope.batch_id, "table": envelope.table}
    first, head = None, state.head
    storable = any(values is not None for values in checked.values)
    if storable and prepared is not None:
        first, head = _insert_new(conn, who, state, prepared, now)
    if first is not None or not storable:
        rejected = [
            {"index": index, "reason": reason} for index, reason in sorted(checked.reasons.items())
        ]
        body = {**about, "first_version": first, "rejected": rejected}
        return _answer(conn, who, envelope, body, Outcome([], head, moved=first is not None), now)
    outcome = _as_ops(conn, who, state, envelope, checked, now)
    return _answer(conn, who, envelope, {**about, "results": outcome.results}, outcome, now)


def _answer(
    conn: Connection,
    who: DeviceContext,
    envelope: _Envelope,
    body: dict[str, Any],
    outcome: Outcome,
    now: dt.datetime,
) -> str:
    body["last_seq"] = outcome.head[0]
    body["history"] = history_value(outcome.head)
    body["server_time"] = now.isoformat()
    # ASCII: a reason may quote a client's broken text (a lone surrogate) verbatim.
    answer = json.dumps(body)
    finish_batch(conn, who, outcome, _answer_key(envelope.batch_id), answer, now)
    return answer


def _answer_key(batch_id: str) -> str:
    """Where a bulk batch's answer is kept: apart from the pushes' (a push may use the same
    batch id and must never get a bulk answer back)."""
    return str(uuid.uuid5(_ANSWER_KEYS, batch_id))


class _Prepared:
    """The good rows of a batch in stored form, waiting for their versions."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.ids: list[str] = []
        self.deleted: list[bool] = []
        self.data: list[bytes] = []  # canonical JSON, UTF-8
        self.clean: list[bool] = []


def _prepare(checked: _Checked) -> _Prepared | None:
    if checked.spec is None:
        return None
    prepared = _Prepared(checked.spec.name)
    names = checked.names
    deleted_at = names.index("deleted")
    # Keys in sorted order already: orjson writes them as given, which is canonical_json's form.
    dumps = orjson.dumps
    for row_id, values, exact in zip(checked.ids, checked.values, checked.exact, strict=True):
        if values is None:
            continue
        prepared.ids.append(row_id)
        prepared.deleted.append(values[deleted_at] is True)
        prepared.data.append(dumps(dict(zip(names, values, strict=True))))
        prepared.clean.append(exact)
    return prepared


def _insert_new(
    conn: Connection,
    who: DeviceContext,
    state: DealerState,
    prepared: _Prepared,
    now: dt.datetime,
) -> tuple[int | None, Head]:
    """Write the prepared rows as new records in one go; (None, the old head) when any is on the
    server already (nothing is written then). The counter is left to :func:`finish_batch`."""
    if not prepared.ids:
        return None, state.head
    first = state.last_seq + 1
    savepoint = conn.begin_nested()
    try:
        if conn.dialect.name == "postgresql":
            _copy_text(conn, who, prepared, first, now)
        else:
            _insert_rows(conn, who, prepared, first, now)
    except (IntegrityError, conn.dialect.dbapi.IntegrityError):
        savepoint.rollback()  # some row is on the server already: the op path merges them
        return None, state.head
    savepoint.commit()
    return first, new_head(first + len(prepared.ids) - 1)


# Row ids that need no escaping in COPY's text format (printable ASCII but the backslash).
_PLAIN_IDS = re.compile(r"[\x20-\x5b\x5d-\x7e]*")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_RECORD_COLUMNS = (
    "dealer_id",
    "table_name",
    "row_id",
    "version",
    "deleted",
    "data",
    "updated_at",
    "updated_by_device",
    "updated_by_actor",
    "clean_for",
)


def _copy_text(
    conn: Connection, who: DeviceContext, prepared: _Prepared, first: int, now: dt.datetime
) -> None:
    """COPY the rows into ``record`` as one block of PostgreSQL's text format.

    Canonical JSON holds no raw control characters (they are escaped), so the backslash is the
    only character of ``data`` to escape; an id gets COPY's escapes only if it needs any.
    """
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ").encode()
    head = f"{who.dealer_id}\t{prepared.table}\t".encode()
    clean = f"\t{who.enrolment}\n".encode() if who.enrolment else b"\t\\N\n"
    tail = b"\t" + stamp + f"\t{who.id}\t\\N".encode()
    flags = (b"\tf\t", b"\tt\t")
    lines = []
    append = lines.append
    version = first
    for row_id, deleted, data, exact in zip(
        prepared.ids, prepared.deleted, prepared.data, prepared.clean, strict=True
    ):
        ending = clean if exact else b"\t\\N\n"
        escaped = data.replace(b"\\", b"\\\\")
        if not _PLAIN_IDS.fullmatch(row_id):
            row_id = row_id.translate(_COPY_ESCAPES)
        append(head + row_id.encode() + b"\t" + str(version).encode() + flags[deleted]
               + escaped + tail + ending)  # fmt: skip
        version += 1
    raw = conn.connection.driver_connection
    columns = ", ".join(_RECORD_COLUMNS)
    with raw.cursor() as cursor, cursor.copy(f"COPY {record.name} ({columns}) FROM STDIN") as copy:
        copy.write(b"".join(lines))


def _insert_rows(
    conn: Connection, who: DeviceContext, prepared: _Prepared, first: int, now: dt.datetime
) -> None:
    """The same rows in one executemany (SQLite)."""
    stamp = record.c.updated_at.type.bind_processor(conn.dialect)
    updated_at = stamp(now) if stamp is not None else now
    rows = [
        (who.dealer_id, prepared.table, row_id, first + i, deleted, data.decode(), updated_at,
         who.id, None, who.enrolment if exact else None)
        for i, (row_id, deleted, data, exact) in enumerate(
            zip(prepared.ids, prepared.deleted, prepared.data, prepared.clean, strict=True)
        )
    ]  # fmt: skip
    columns = ", ".join(_RECORD_COLUMNS)
    marks = ", ".join("?" for _ in _RECORD_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO {record.name} ({columns}) VALUES ({marks})", rows)


def _as_ops(
    conn: Connection,
    who: DeviceContext,
    state: DealerState,
    envelope: _Envelope,
    checked: _Checked,
    now: dt.datetime,
) -> Outcome:
    """The rows as ``insert`` ops through the push machinery: one result per row."""
    op_ids = []
    parsed: list[Op | Rejected] = []
    for index, (row_id, values, exact) in enumerate(
        zip(checked.ids, checked.values, checked.exact, strict=True)
    ):
        op_id = protocol.upload_op_id(who.id, envelope.table, row_id if row_id else str(index))
        op_ids.append(op_id)
        if values is None:
            parsed.append(Rejected(checked.reasons[index]))
            continue
        new = dict(zip(checked.names, values, strict=True))
        parsed.append(
            Op(
                op_id,
                envelope.table,
                row_id,
                protocol.OP_INSERT,
                new,
                dict.fromkeys(new),
                0,
                None,
                exact,
            )
        )
    return apply_ops(conn, who, state, op_ids, parsed, now)
