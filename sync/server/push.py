"""Applying a pushed batch (``POST /v1/sync/push``) in one transaction per batch.

Per batch the database sees a fixed handful of statements, whatever the number of ops: lock the
dealer row, look up the batch, look up the op ids, load the touched records (one query per
table), load what the domain rules need, then write records, op ledger, batch answer and
counter (on PostgreSQL all in one statement). Everything in between happens in Python, and the
ops are parsed before the lock is taken.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    String,
    Text,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from showroom.db.types import UTCDateTime
from showroom.ids import new_id
from sync import protocol
from sync.protocol import Mark, canonical_json
from sync.server.auth import DeviceContext
from sync.server.db import utcnow, write_transaction
from sync.server.errors import bad_request, too_large
from sync.server.models import applied_op, dealer, device, history, push_batch, record
from sync.server.records import (
    DealerState,
    Head,
    Rec,
    check_restore,
    history_value,
    in_list,
    load_dealer,
    load_records,
    new_head,
    raise_epoch_changed,
    write_head,
    write_records,
)
from sync.server.rules import Rules, RuleViolation
from sync.server.schema import MAX_INT, SyncedTable, synced_tables

NOT_FOUND = "row not found (deleted)"
# Tables whose rows are only ever added: an op that would change a stored row is rejected.
APPEND_ONLY = frozenset({"audit_log"})
_STORED = (protocol.RESULT_APPLIED, protocol.RESULT_MERGED, protocol.RESULT_CONFLICT)


class Rejected(Exception):
    """This op cannot be applied; the message names the table or field and says why."""


@dataclasses.dataclass(frozen=True)
class Op:
    op_id: str
    table: str
    row_id: str
    kind: str
    new: dict[str, Any]
    base: dict[str, Any]
    base_version: int
    actor_id: str | None
    # Every value arrived in canonical form (and an insert carried every column): once applied
    # as is, the stored row is exactly the laptop's.
    exact: bool = False
    # Deletes: the row's fields as the laptop held them when it deleted it (empty when not sent).
    held: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Envelope:
    batch_id: str
    epoch: str | None
    cursor: int
    ops: list[Any]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 36 and value.isascii()


def _is_seq(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_INT


def parse_envelope(body: Any, max_ops: int) -> Envelope:
    """The batch's envelope, or 400/413 naming the field. Ops are checked one by one later."""
    if not isinstance(body, dict):
        raise bad_request("body: expected a JSON object")
    batch_id = body.get("batch_id")
    if not _is_id(batch_id):
        raise bad_request("batch_id: expected an id of 1 to 36 characters")
    epoch = body.get("epoch")
    if epoch is not None and (not isinstance(epoch, str) or len(epoch) > 64 or not epoch.isascii()):
        raise bad_request("epoch: expected the server's epoch text or null")
    cursor = body.get("cursor", 0)
    if not _is_seq(cursor):
        raise bad_request("cursor: expected a whole number >= 0")
    ops = body.get("ops")
    if not isinstance(ops, list):
        raise bad_request("ops: expected a list of ops")
    if len(ops) > max_ops:
        raise too_large(f"ops: at most {max_ops} ops per batch, got {len(ops)}")
    for index, raw in enumerate(ops):
        if not isinstance(raw, dict):
            raise bad_request(f"ops[{index}]: expected an object")
        if not _is_id(raw.get("op_id")):
            raise bad_request(f"ops[{index}].op_id: expected an id of 1 to 36 characters")
    return Envelope(batch_id, epoch, cursor, ops)


def parse_op(raw: dict[str, Any], tables: dict[str, SyncedTable]) -> Op:
    """One op, its values checked and put in canonical wire form; :class:`Rejected` if bad."""
    table_name = raw.get("table")
    spec = tables.get(table_name) if type(table_name) is str else None
    if spec is None:
        raise Rejected(f"table: unknown table {table_name!a}")
    row_id = raw.get("row_id")
    if not _is_id(row_id):
        raise Rejected("row_id: expected an id of 1 to 36 characters")
    kind = raw.get("op")
    if kind not in protocol.OPS:
        raise Rejected(f"op: expected one of {', '.join(protocol.OPS)}, got {kind!a}")
    base_version = raw.get("base_version", 0)
    if not _is_seq(base_version):
        raise Rejected("base_version: expected a whole number >= 0")
    actor_id = raw.get("actor_id")
    if actor_id is not None and not _is_id(actor_id):
        raise Rejected("actor_id: expected an id of 1 to 36 characters or null")
    fields = raw.get("fields")
    if type(fields) is not dict:
        raise Rejected("fields: expected an object of {field: {new, base}}")
    columns = spec.columns
    not_null = spec.not_null
    new: dict[str, Any] = {}
    base: dict[str, Any] = {}
    exact = True
    for name, change in fields.items():
        normalize = columns.get(name)
        if normalize is None:
            shown = name if name.isascii() and name.isprintable() else ascii(name)
            raise Rejected(f"{table_name}.{shown}: unknown field")
        if type(change) is not dict or "new" not in change:
            raise Rejected(f'{table_name}.{name}: expected {{"new": ..., "base": ...}}')
        given = change["new"]
        try:
            value = normalize(given)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise Rejected(f"{table_name}.{name}: {exc}") from None
        if value is None:
            if name in not_null:
                raise Rejected(f"{table_name}.{name}: cannot be empty")
        elif exact and (type(value) is not type(given) or value != given):
            exact = False  # stored in another form than the laptop holds it
        new[name] = value
        base[name] = _compared_form(normalize, change.get("base"))
    if kind == protocol.OP_UPDATE and new.get("deleted") is True:
        kind = protocol.OP_DELETE
    if kind == protocol.OP_DELETE and new.get("deleted") is not True:
        raise Rejected(f"{table_name}.deleted: a delete must set deleted to true")
    if kind == protocol.OP_INSERT and len(new) != len(columns):
        missing = sorted(spec.required - new.keys())
        if missing:
            raise Rejected(f"{table_name}.{missing[0]}: required for a new row")
        exact = False  # the server fills the columns left out
    held = _held(raw.get("held"), columns) if kind == protocol.OP_DELETE else {}
    return Op(
        raw["op_id"], table_name, row_id, kind, new, base, base_version, actor_id, exact, held
    )


def _held(raw: Any, columns: dict[str, Any]) -> dict[str, Any]:
    """A delete's ``held`` values in canonical form, for comparing with the stored row.

    Never written into the row, only compared with it and kept as a conflict's base: a field
    this server does not know (a newer laptop's) is left out, and a value that does not fit
    its column is kept as sent, so it differs.
    """
    if raw is None:
        return {}
    if type(raw) is not dict:
        raise Rejected("held: expected an object of {field: value}")
    held = {}
    for name, value in raw.items():
        normalize = columns.get(name)
        if normalize is not None and name != "deleted":
            held[name] = _compared_form(normalize, value)
    return held


def _compared_form(normalize: Any, value: Any) -> Any:
    """A base or held value in canonical form; one that does not fit its column is kept as
    sent (it is only compared with, so it differs, and never stored in the row)."""
    if value is None:
        return None
    try:
        return normalize(value)
    except (ValueError, TypeError, ArithmeticError):
        return value


@dataclasses.dataclass
class _Plan:
    status: str
    changes: dict[str, Any]
    conflicts: list[dict[str, Any]]


class _Batch:
    """The work on one batch: records in memory, seqs handed out, conflicts to write."""

    def __init__(
        self, dealer_state: DealerState, device_id: str, now: dt.datetime, enrolment: str = ""
    ) -> None:
        self.seq = dealer_state.last_seq
        self.device_id = device_id
        self.enrolment = enrolment or None
        self.now = now
        self.now_text = now.isoformat()
        self.records: dict[tuple[str, str], Rec] = {}
        self.tables = synced_tables()
        self.rules: Rules | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- conflicts ------------------------------------------------------------------------

    def _conflict(self, kind: str, op: Op, rec: Rec | None, **values: Any) -> dict[str, Any]:
        data = {
            "kind": kind,
            "table_name": op.table,
            "row_id": op.row_id,
            "field": None,
            "base_value": None,
            "theirs_value": None,
            "mine_value": None,
            "theirs_device": rec.updated_by_device if rec is not None else None,
            "mine_device": self.device_id,
            "theirs_actor": rec.updated_by_actor if rec is not None else None,
            "mine_actor": op.actor_id,
            "other_row_id": None,
            "detected_at": self.now_text,
            "status": "open",
            "resolution": None,
            "resolved_by_id": None,
            "resolved_at": None,
            "deleted": False,
        }
        data.update(values)
        return data

    def field_conflict(self, op: Op, rec: Rec, field: str, *, base_known: bool) -> dict:
        return self._conflict(
            "field",
            op,
            rec,
            field=field,
            base_value=canonical_json(op.base.get(field)) if base_known else None,
            theirs_value=canonical_json(rec.data.get(field)),
            mine_value=canonical_json(op.new[field]),
        )

    def write_conflict(self, data: dict[str, Any]) -> None:
        row_id = new_id()
        self.records[(protocol.CONFLICT_TABLE, row_id)] = Rec(
            protocol.CONFLICT_TABLE,
            row_id,
            self.next_seq(),
            False,
            data,
            self.device_id,
            None,
            updated_at=self.now,
            in_db=False,
            dirty=True,
        )

    # -- ops ------------------------------------------------------------------------------

    def plan(self, op: Op, rec: Rec | None) -> _Plan:
        """What the op does to the row, before the domain rules have their say."""
        if rec is not None and op.table in APPEND_ONLY:
            _check_append_only(op, rec)
        if op.kind == protocol.OP_INSERT:
            if rec is None:
                spec = self.tables[op.table]
                data = {name: None for name in spec.columns}
                for name, make in spec.defaults.items():
                    if name not in op.new:
                        data[name] = make()
                data.update(op.new)
                return _Plan(protocol.RESULT_APPLIED, data, [])
            if rec.deleted:
                # The row was deleted since: it stays deleted, the insert is kept for review.
                return _Plan(protocol.RESULT_CONFLICT, {}, [self._edit_on_deleted(op, rec)])
            # The same row inserted twice (two laptops, or a re-push after a restore): every
            # field's base is unknown, so each differing field is a conflict.
            changes = {f: v for f, v in op.new.items() if rec.data.get(f) != v}
            conflicts = [self.field_conflict(op, rec, f, base_known=False) for f in changes]
            status = protocol.RESULT_CONFLICT if conflicts else protocol.RESULT_MERGED
            return _Plan(status, changes, conflicts)
        if rec is None:
            raise Rejected(NOT_FOUND)
        if rec.deleted and op.new.get("deleted") is not False:
            return self._on_deleted(op, rec)
        if op.kind == protocol.OP_DELETE:
            # A merged answer gives the laptop's row the newest version before its pull brings
            # the others' fields, so the version alone does not show what the laptop had seen.
            # (A field the stored row lacks, one added to the table since, had nothing to miss.)
            # A delete holding every stored value saw the row as it is, whatever its version:
            # a row inserted and deleted before the laptop heard back carries version 0.
            seen = all(rec.data.get(f, v) == v for f, v in op.held.items())
            if seen and (op.base_version == rec.version or _holds_whole_row(op, rec)):
                return _Plan(_stored_status(op, rec), dict(op.new), [])
            # Edited since this laptop saw it: delete, but keep what it held for a restore, and
            # what the laptop showed (its held values), so a manager sees what it had missed.
            conflict = self._conflict(
                "delete_edit",
                op,
                rec,
                base_value=canonical_json(op.held) if op.held else None,
                theirs_value=canonical_json(rec.data),
                mine_value=canonical_json(op.new),
            )
            return _Plan(protocol.RESULT_CONFLICT, dict(op.new), [conflict])
        changes = {f: v for f, v in op.new.items() if rec.data.get(f) != v}
        # Each field is checked against its base even on the current version: a merged answer
        # moves the laptop's version forward before its pull brings the others' fields, so its
        # row may hold a stale value, which must not overwrite theirs.
        conflicts = [
            self.field_conflict(op, rec, f, base_known=True)
            for f in changes
            if rec.data.get(f) != op.base.get(f)
        ]
        if conflicts:
            return _Plan(protocol.RESULT_CONFLICT, changes, conflicts)
        return _Plan(_stored_status(op, rec), changes, [])

    def _on_deleted(self, op: Op, rec: Rec) -> _Plan:
        """An op that leaves a deleted row deleted: a second delete, or an edit that met the
        delete. What it changes is kept for review, unless it only clears values the laptop had
        seen (an erasure's blanking); a second delete that changes nothing is merged."""
        edits = {f: v for f, v in op.new.items() if f != "deleted" and rec.data.get(f) != v}
        if edits and _clears_what_it_saw(op, rec, edits):
            # A second erasure from a laptop that had not seen the first: its mark is in place
            # and the first one's is kept, as for a live record (a field conflict, which the
            # laptops then blank and close with the customer's other conflicts).
            marks = []
            earlier = rec.data.get(ERASED_MARK)
            if ERASED_MARK in edits and earlier not in (None, op.base.get(ERASED_MARK)):
                marks.append(self.field_conflict(op, rec, ERASED_MARK, base_known=True))
            status = protocol.RESULT_CONFLICT if marks else _stored_status(op, rec)
            return _Plan(status, edits, marks)
        if op.kind != protocol.OP_DELETE:
            return _Plan(protocol.RESULT_CONFLICT, {}, [self._edit_on_deleted(op, rec)])
        if edits:
            conflict = self._conflict("delete_edit", op, rec, mine_value=canonical_json(edits))
            return _Plan(protocol.RESULT_CONFLICT, {}, [conflict])
        return _Plan(protocol.RESULT_MERGED, {}, [])

    def _edit_on_deleted(self, op: Op, rec: Rec) -> dict[str, Any]:
        return self._conflict("delete_edit", op, rec, mine_value=canonical_json(op.new))

    def run(self, op: Op) -> tuple[str, int]:
        key = (op.table, op.row_id)
        rec = self.records.get(key)
        plan = self.plan(op, rec)
        after = {**rec.data, **plan.changes} if rec is not None else plan.changes
        try:
            self.rules.check(op.table, op.row_id, rec, after)
        except RuleViolation as exc:
            raise Rejected(str(exc)) from None
        created = rec is None
        if created:
            rec = Rec(op.table, op.row_id, 0, False, {}, None, None, in_db=False)
            self.records[key] = rec
        if plan.changes:
            rec.data.update(plan.changes)
            rec.deleted = rec.data.get("deleted") is True
            rec.version = self.next_seq()
            rec.updated_at = self.now
            rec.updated_by_device = self.device_id
            rec.updated_by_actor = op.actor_id
            rec.dirty = True
            self.rules.note(rec)
        for conflict in plan.conflicts:
            self.write_conflict(conflict)
        status = plan.status
        for other in self.rules.overlapping_bookings(op.table, rec, plan.changes, created):
            self.write_conflict(
                self._conflict(
                    "double_booking",
                    op,
                    other,
                    other_row_id=other.row_id,
                    theirs_value=canonical_json(_booking(other)),
                    mine_value=canonical_json(_booking(rec)),
                )
            )
            status = protocol.RESULT_CONFLICT
        if plan.changes:
            # A new row stored exactly as sent, nothing flagged: the laptop holds it exactly, so
            # its own pulls may leave it out. Only inserts: after an edit the laptop's row may
            # still hold a value of an op the server rejected, which must come back.
            clean = (
                status == protocol.RESULT_APPLIED
                and op.kind == protocol.OP_INSERT
                and op.exact
                and not plan.conflicts
            )
            rec.clean_for = self.enrolment if clean else None
        return status, rec.version


# An erasure marks the customer record: the time it was erased, and a placeholder name.
ERASABLE_TABLE = "customer"
ERASED_MARK = "erased_at"
ERASED_REPLACED = ("name",)


def _stored_status(op: Op, rec: Rec) -> str:
    """Applied when the laptop edited the row's current version, merged over a newer one."""
    return protocol.RESULT_APPLIED if op.base_version == rec.version else protocol.RESULT_MERGED


def _holds_whole_row(op: Op, rec: Rec) -> bool:
    """Whether a delete's ``held`` values name every field of the stored row (a laptop of an
    older schema lacks the newer ones: its version must then match)."""
    return all(f in op.held for f in rec.data if f != "deleted")


def _clears_what_it_saw(op: Op, rec: Rec, edits: dict[str, Any]) -> bool:
    """Whether every edit of a deleted row only clears a value the laptop had seen, or the
    op is an erasure of a customer record.

    Such edits are applied to the tombstone rather than kept for review: an erasure (PIPL)
    blanks a customer's rows, deleted ones too, and a deleted row keeps its values. A value
    someone else set since the laptop saw it still differs from the op's base, so the edit is
    kept as a conflict and that value is not lost; the child rows' blanking then comes again
    from the laptop once it has pulled that value. The customer record itself is erased
    whatever it holds: the op marks it (``erased_at`` set, a placeholder in place of the name)
    and clears its personal fields, and kept as a conflict it would leave the customer
    unerased everywhere.
    """
    if op.table == ERASABLE_TABLE and edits.get(ERASED_MARK) is not None:
        return all(
            v in (None, "") or f in (ERASED_MARK, *ERASED_REPLACED) for f, v in edits.items()
        )
    return all(v in (None, "") and rec.data.get(f) == op.base.get(f) for f, v in edits.items())


def _check_append_only(op: Op, rec: Rec) -> None:
    """An append-only row, once stored, never changes: only a re-sent identical insert passes."""
    if op.kind == protocol.OP_INSERT and all(rec.data.get(f) == v for f, v in op.new.items()):
        return
    raise Rejected(f"{op.table}: rows are append-only; a stored row cannot be changed or deleted")


def _booking(rec: Rec) -> dict[str, Any]:
    return {key: rec.data.get(key) for key in ("demo_car", "starts_at", "ends_at", "status")}


def push(
    engine: Engine,
    who: DeviceContext,
    body: Any,
    *,
    epoch_header: str | None,
    max_ops: int,
    marks: Sequence[Mark] = (),
) -> str:
    """Apply one batch and return the response body (JSON text).

    A retried ``batch_id`` gets the stored answer, byte for byte. Raises an API error for a
    malformed envelope (400/413) or a changed epoch (409, committed first).
    """
    envelope = parse_envelope(body, max_ops)
    # Parsed before the dealer's lock is taken: other pushes wait for nothing but the database.
    tables = synced_tables()
    parsed: list[Op | Rejected] = []
    for raw in envelope.ops:
        try:
            parsed.append(parse_op(raw, tables))
        except Rejected as exc:
            parsed.append(exc)
    now = utcnow()
    changed_epoch: DealerState | None = None
    with write_transaction(engine) as conn:
        state = load_dealer(conn, who.dealer_id, lock=True)
        changed_epoch = check_restore(
            conn, state, epoch_header or envelope.epoch, envelope.cursor, marks
        )
        if changed_epoch is None:
            answer = _stored_answer(conn, who.dealer_id, envelope.batch_id)
            if answer is None:
                answer = _apply(conn, who, state, envelope, parsed, now)
    if changed_epoch is not None:
        raise_epoch_changed(changed_epoch)
    return answer


def _stored_answer(conn: Connection, dealer_id: str, batch_id: str) -> str | None:
    return conn.execute(
        select(push_batch.c.response).where(
            push_batch.c.dealer_id == dealer_id, push_batch.c.batch_id == batch_id
        )
    ).scalar()


def _apply(
    conn: Connection,
    who: DeviceContext,
    state: DealerState,
    envelope: Envelope,
    parsed: list[Op | Rejected],
    now: dt.datetime,
) -> str:
    op_ids = [raw["op_id"] for raw in envelope.ops]
    outcome = apply_ops(conn, who, state, op_ids, parsed, now)
    answer = json.dumps(
        {
            "batch_id": envelope.batch_id,
            "results": outcome.results,
            "last_seq": outcome.head[0],
            "history": history_value(outcome.head),
            "server_time": now.isoformat(),
        }
        # ASCII: a reason may quote a client's broken text (a lone surrogate) verbatim.
    )
    finish_batch(conn, who, outcome, envelope.batch_id, answer, now)
    return answer


@dataclasses.dataclass
class Outcome:
    """A batch applied in memory: what :func:`finish_batch` writes with its answer."""

    results: list[dict[str, Any]]  # one per op
    head: Head  # the dealer's head after the batch
    moved: bool = False  # versions were handed out: the counter moves, the commit gets a mark
    ledger: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (op_id, result)
    records: list[Rec] = dataclasses.field(default_factory=list)  # new and changed records


def finish_batch(
    conn: Connection,
    who: DeviceContext,
    outcome: Outcome,
    batch_key: str,
    answer: str,
    now: dt.datetime,
) -> None:
    """Write a batch with its answer: its new and changed records, the applied ops' ledger,
    the counter and the commit's history mark (when it handed out versions), the answer kept
    for retries, and when the device was seen.

    It runs under the dealer's lock, which every other push of the dealer waits for: on
    PostgreSQL it is one statement (data-modifying CTEs) instead of six or more round trips."""
    if conn.dialect.name == "postgresql":
        seq, commit = outcome.head
        conn.execute(
            _finish_statement(outcome.moved),
            {
                "dealer": who.dealer_id,
                "device": who.id,
                "batch": batch_key,
                "answer": answer,
                "now": now,
                "seq": seq,
                "commit": commit,
                "op_ids": [op_id for op_id, _ in outcome.ledger],
                "results": [result for _, result in outcome.ledger],
                **_record_columns(outcome.records),
            },
        )
        return
    write_records(conn, who.dealer_id, outcome.records)
    if outcome.ledger:
        rows = [
            {"dealer_id": who.dealer_id, "op_id": op_id, "result": result, "created_at": now}
            for op_id, result in outcome.ledger
        ]
        conn.execute(insert(applied_op), rows)
    if outcome.moved:
        write_head(conn, who.dealer_id, outcome.head, now)
    conn.execute(
        insert(push_batch).values(
            dealer_id=who.dealer_id,
            batch_id=batch_key,
            device_id=who.id,
            response=answer,
            created_at=now,
        )
    )
    conn.execute(update(device).where(device.c.id == who.id).values(last_seen_at=now))


# The record columns a batch writes, passed to PostgreSQL as one array each (``r_<column>``).
_RECORD_ARRAYS = {
    "table_name": String,
    "row_id": String,
    "version": BigInteger,
    "deleted": Boolean,
    "data": Text,
    "updated_at": UTCDateTime(),
    "updated_by_device": String,
    "updated_by_actor": String,
    "clean_for": String,
}
_RECORD_KEY = ("table_name", "row_id")


def _record_columns(recs: list[Rec]) -> dict[str, list[Any]]:
    """``recs`` as the arrays of :data:`_RECORD_ARRAYS`."""
    return {
        "r_table_name": [rec.table for rec in recs],
        "r_row_id": [rec.row_id for rec in recs],
        "r_version": [rec.version for rec in recs],
        "r_deleted": [rec.deleted for rec in recs],
        "r_data": [canonical_json(rec.data) for rec in recs],
        "r_updated_at": [rec.updated_at for rec in recs],
        "r_updated_by_device": [rec.updated_by_device for rec in recs],
        "r_updated_by_actor": [rec.updated_by_actor for rec in recs],
        "r_clean_for": [rec.clean_for for rec in recs],
    }


@functools.cache
def _finish_statement(moved: bool) -> Update:
    """:func:`finish_batch` on PostgreSQL: the device's row updated, the rest in its WITH."""
    now = bindparam("now", type_=UTCDateTime())
    dealer_id = bindparam("dealer", type_=String)
    device_id = bindparam("device", type_=String)
    # Each record of the batch is new or was loaded under this lock: an upsert writes both.
    rows = (
        func.unnest(*(bindparam(f"r_{name}", type_=ARRAY(t)) for name, t in _RECORD_ARRAYS.items()))
        .table_valued(*_RECORD_ARRAYS)
        .render_derived()
    )
    upsert = pg_insert(record).from_select(
        ["dealer_id", *_RECORD_ARRAYS],
        select(dealer_id, *(rows.c[name] for name in _RECORD_ARRAYS)),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[record.c.dealer_id, record.c.table_name, record.c.row_id],
        set_={name: upsert.excluded[name] for name in _RECORD_ARRAYS if name not in _RECORD_KEY},
    )
    ops = (
        func.unnest(
            bindparam("op_ids", type_=ARRAY(String)), bindparam("results", type_=ARRAY(Text))
        )
        .table_valued("op_id", "result")
        .render_derived()
    )
    ledger = insert(applied_op).from_select(
        ["dealer_id", "op_id", "result", "created_at"],
        select(dealer_id, ops.c.op_id, ops.c.result, now),
    )
    answer = insert(push_batch).values(
        dealer_id=dealer_id,
        batch_id=bindparam("batch", type_=String),
        device_id=device_id,
        response=bindparam("answer", type_=Text),
        created_at=now,
    )
    statement = (
        update(device)
        .where(device.c.id == device_id)
        .values(last_seen_at=now)
        .add_cte(upsert.cte("records"))
        .add_cte(ledger.cte("ledger"))
        .add_cte(answer.cte("answer"))
    )
    if moved:
        seq = bindparam("seq", type_=BigInteger)
        commit = bindparam("commit", type_=String)
        counter = (
            update(dealer).where(dealer.c.id == dealer_id).values(last_seq=seq, last_commit=commit)
        )
        mark = insert(history).values(dealer_id=dealer_id, seq=seq, commit_id=commit, at=now)
        statement = statement.add_cte(counter.cte("counter")).add_cte(mark.cte("mark"))
    return statement


def apply_ops(
    conn: Connection,
    who: DeviceContext,
    state: DealerState,
    op_ids: list[str],
    parsed: list[Op | Rejected],
    now: dt.datetime,
) -> Outcome:
    """Apply parsed ops (a :class:`Rejected` stands for an op that did not parse) in order.

    Nothing is written here: the records, the op ledger and the counter are left to
    :func:`finish_batch`, with the batch's answer.
    """
    batch = _Batch(state, who.id, now, who.enrolment)
    seen: dict[str, dict[str, Any]] = {}
    if op_ids:
        for op_id, result in conn.execute(
            select(applied_op.c.op_id, applied_op.c.result).where(
                applied_op.c.dealer_id == who.dealer_id,
                in_list(conn, applied_op.c.op_id, "ids"),
            ),
            {"ids": list(set(op_ids))},
        ):
            seen[op_id] = json.loads(result)
    ops = [op for op in parsed if isinstance(op, Op) and op.op_id not in seen]
    keys: dict[str, set[str]] = {}
    for op in ops:
        keys.setdefault(op.table, set()).add(op.row_id)
    batch.records = load_records(conn, who.dealer_id, keys)
    batch.rules = Rules(conn, who.dealer_id, batch.records, ops)

    results = []
    ledger = []
    for op_id, op in zip(op_ids, parsed, strict=True):
        if op_id in seen:
            version = seen[op_id].get("version")
            results.append(_result(op_id, protocol.RESULT_DUPLICATE, version, None))
            continue
        if isinstance(op, Rejected):
            results.append(_result(op_id, protocol.RESULT_REJECTED, None, str(op)))
            continue
        try:
            status, version = batch.run(op)
        except Rejected as exc:
            results.append(_result(op_id, protocol.RESULT_REJECTED, None, str(exc)))
            continue
        result = _result(op_id, status, version, None)
        results.append(result)
        seen[op_id] = result
        ledger.append((op_id, f'{{"status":"{status}","version":{version}}}'))

    records = [rec for rec in batch.records.values() if rec.dirty]
    if batch.seq != state.last_seq:
        return Outcome(results, new_head(batch.seq), True, ledger, records)
    return Outcome(results, state.head, False, ledger, records)


def _result(op_id: str, status: str, version: int | None, reason: str | None) -> dict[str, Any]:
    return {"op_id": op_id, "status": status, "version": version, "reason": reason}
