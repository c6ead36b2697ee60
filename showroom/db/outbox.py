"""Capture every change to a synced row as ``sync_outbox`` ops, in the same transaction.

This is the one place where ops are made: services never write the outbox themselves. A flush
hook looks at what the unit of work is about to write, stamps the sync columns and adds one op
per changed row. Because the ops are ordinary rows of the same session, a rollback takes them
away with the change. The same hook keeps the customer search index in step.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, String, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from showroom.db.base import SyncMixin, utcnow
from showroom.db.types import Money, UTCDateTime
from showroom.ids import new_id
from showroom.money import to_money

# Columns that describe the row's sync state rather than its content.
SYNC_COLUMNS = frozenset({"id", "server_version", "updated_at", "updated_by_device"})

# session.info keys
CAPTURE = "sync_capture"  # False while applying rows pulled from the server
ACTOR = "actor_id"
_REINDEX = "_search_reindex"


def install(factory: sessionmaker) -> None:
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush_postexec", _after_flush_postexec)
    event.listen(factory, "after_rollback", _after_rollback)


def to_wire(value: Any) -> Any:
    """The JSON form of a column value, as the sync protocol carries it.

    Money travels with exactly two places ("12.50"), so a value reads the same on the wire
    whether it came from an edit or back from the database: checksums depend on it.
    """
    if isinstance(value, Decimal):
        return str(to_money(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_wire(column: Column, value: Any) -> Any:
    """The Python value for ``column`` from its JSON form (the inverse of :func:`to_wire`).

    Raises ValueError or TypeError when the value does not fit the column.
    """
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, Money):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError("money must travel as a string")
        return to_money(Decimal(value))
    if isinstance(kind, UTCDateTime):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("timestamp without a UTC offset")
        return moment
    if isinstance(kind, Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected a whole number")
        return value
    if isinstance(kind, String):  # String and Text
        if not isinstance(value, str):
            raise TypeError("expected text")
        if kind.length is not None and len(value) > kind.length:
            raise ValueError(f"longer than {kind.length} characters")
        return value
    return value


def _content_columns(obj: SyncMixin) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in SYNC_COLUMNS]


def _held(obj: SyncMixin) -> dict[str, Any]:
    """The row's content as the laptop held it before this flush changed it, as wire values.

    A delete carries it: the server compares it with the row it stores, and a difference means
    the laptop deleted a row it had not seen as it is (see ``sync.server.push``).
    """
    state = inspect(obj)
    held = {}
    for key in _content_columns(obj):
        if key == "deleted":
            continue
        history = state.attrs[key].history
        held[key] = to_wire(history.deleted[0] if history.deleted else getattr(obj, key))
    return held


def _before_flush(session: Session, _flush_context, _instances) -> None:
    from showroom.models import SyncOutbox

    capture = session.info.get(CAPTURE, True)
    device_id = session.info.get("device_id")
    actor_id = session.info.get(ACTOR)
    now = utcnow()
    ops: list[SyncOutbox] = []

    def op(obj: SyncMixin, kind: str, fields: dict[str, dict[str, Any]]) -> None:
        held = None
        if kind == "delete":
            held = json.dumps(_held(obj), ensure_ascii=False, sort_keys=True)
        ops.append(
            SyncOutbox(
                op_id=new_id(),
                table_name=obj.__tablename__,
                row_id=obj.id,
                op=kind,
                fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
                held=held,
                base_version=obj.server_version or 0,
                created_at=now,
                device_id=device_id,
                actor_id=actor_id,
            )
        )

    for obj in list(session.new):
        if not isinstance(obj, SyncMixin):
            continue
        _note_reindex(session, obj, inserted=True)
        if not capture:
            continue
        if obj.id is None:
            obj.id = new_id()
        obj.updated_at = now
        obj.updated_by_device = device_id
        fields = {}
        for key in _content_columns(obj):
            value = getattr(obj, key)
            if value is None:
                # Fill Python-side defaults now, so the op carries what the row will hold.
                column_default = inspect(obj).mapper.columns[key].default
                if column_default is not None and column_default.is_scalar:
                    value = column_default.arg
                elif column_default is not None and column_default.is_callable:
                    value = column_default.arg(None)
                if value is not None:
                    setattr(obj, key, value)
            fields[key] = {"new": to_wire(value), "base": None}
        op(obj, "insert", fields)

    for obj in list(session.dirty):
        if not isinstance(obj, SyncMixin) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        fields = {}
        for key in _content_columns(obj):
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            new = history.added[0] if history.added else None
            base = history.deleted[0] if history.deleted else None
            if new == base:
                continue
            fields[key] = {"new": to_wire(new), "base": to_wire(base)}
        if not fields:
            continue
        _note_reindex(session, obj)
        if not capture:
            continue
        obj.updated_at = now
        obj.updated_by_device = device_id
        tombstoned = fields.get("deleted", {}).get("new") is True
        op(obj, "delete" if tombstoned else "update", fields)

    for obj in list(session.deleted):
        if not isinstance(obj, SyncMixin):
            continue
        _note_reindex(session, obj)
        if capture:
            op(obj, "delete", {"deleted": {"new": True, "base": bool(obj.deleted)}})

    session.add_all(ops)


def _note_reindex(session: Session, obj: SyncMixin, *, inserted: bool = False) -> None:
    """Remember which customers' search keys this flush changes."""
    from showroom.search import customer_ids_touched_by

    ids = customer_ids_touched_by(obj, inserted=inserted)
    if ids:
        session.info.setdefault(_REINDEX, set()).update(ids)


def _after_flush_postexec(session: Session, _flush_context) -> None:
    from showroom.search import reindex_customers

    pending = session.info.pop(_REINDEX, None)
    if pending:
        reindex_customers(session.connection(), pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(_REINDEX, None)
