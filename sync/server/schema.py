"""Which tables and columns a push may touch, learnt from the laptop's models.

Every table whose mapped class carries the sync mixin is synced. Its content columns are all
columns but the sync bookkeeping ones (``deleted`` is content: a delete is an edit of it). Values
are checked with :func:`showroom.db.outbox.from_wire` and kept in one canonical wire form, so the
same value always reads the same on both sides (checksums depend on it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Date

from showroom.db.outbox import SYNC_COLUMNS, from_wire, to_wire
from showroom.db.types import Money, UTCDateTime
from sync.wireforms import MAX_INT, MIN_INT, canonical_check

Normalizer = Callable[[Any], Any]

MAX_MONEY = (Decimal(MAX_INT) / 100).quantize(Decimal(1))


@dataclass(frozen=True)
class SyncedTable:
    name: str
    # column name -> function giving the canonical wire value (raises ValueError/TypeError)
    columns: dict[str, Normalizer]
    # Content columns an insert must carry: not nullable and without a default.
    required: frozenset[str]
    # Content columns that may never hold null.
    not_null: frozenset[str]
    # Makers of the value an insert gets for a column it leaves out (wire form).
    defaults: dict[str, Callable[[], Any]]
    # column name -> check of a whole column of values at once (see fast_check)
    fast_checks: dict[str, Callable[[list], bool]]


def _normalizer(column: Column) -> Normalizer:
    kind = column.type

    if isinstance(kind, Money):

        def money(value: Any) -> Any:
            amount = from_wire(column, value)
            if amount is not None and abs(amount) > MAX_MONEY:
                raise ValueError(f"amount out of range (at most {MAX_MONEY})")
            return to_wire(amount)

        return money
    if isinstance(kind, Date):

        def day(value: Any) -> Any:
            return to_wire(from_wire(column, value))

        return day
    if isinstance(kind, UTCDateTime):
        utc = dt.UTC
        parse = dt.datetime.fromisoformat

        def moment(value: Any) -> Any:
            if type(value) is not str:
                parsed = from_wire(column, value)  # None, or explains what is wrong
                return None if parsed is None else parsed.astimezone(utc).isoformat()
            parsed = parse(value)
            if parsed.tzinfo is None:
                raise ValueError("timestamp without a UTC offset")
            return parsed.astimezone(utc).isoformat()

        return moment

    length = getattr(kind, "length", None)
    python_type = None
    with contextlib.suppress(NotImplementedError):
        python_type = kind.python_type

    if python_type is str:

        def text(value: Any) -> Any:
            if type(value) is not str or (length is not None and len(value) > length):
                return from_wire(column, value)  # explains what is wrong
            check_text(value)
            return value

        return text
    if python_type is int:

        def whole(value: Any) -> Any:
            number = value if type(value) is int else from_wire(column, value)
            if number is not None and not MIN_INT <= number <= MAX_INT:
                raise ValueError("number out of range")
            return number

        return whole

    def plain(value: Any) -> Any:
        if value is None or type(value) is python_type:
            return value
        return from_wire(column, value)

    return plain


def fast_check(column: Column) -> Callable[[list], bool]:
    """A check of a whole column of wire values: True only when the column's normalizer would
    return every value unchanged (nulls aside, which the caller checks against ``not_null``).
    See :mod:`sync.wireforms`; a column it does not pass goes through the normalizer value by
    value."""
    return canonical_check(column)


def check_text(value: str) -> None:
    """Text every database and JSON parser here can hold: no NUL, no lone surrogates."""
    if value.isascii():
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None
    if "\x00" in value:
        raise ValueError("contains a NUL character")


def _default(column: Column) -> Callable[[], Any] | None:
    for default in (column.default, column.server_default):
        if default is None:
            continue
        if getattr(default, "is_scalar", False):
            value = to_wire(default.arg)
            return lambda: value
        if getattr(default, "is_callable", False):
            make = default.arg
            return lambda: to_wire(make(None))
        arg = getattr(default, "arg", None)
        text = getattr(arg, "text", arg)
        if isinstance(text, str):
            value = _server_default_value(column, text)
            return lambda: value
    return None


def _server_default_value(column: Column, text: str) -> Any:
    python_type = column.type.python_type
    if python_type is bool:
        return text.strip().lower() in ("1", "true")
    if python_type is int:
        return int(text)
    return text


@functools.cache
def synced_tables() -> dict[str, SyncedTable]:
    import showroom.models  # noqa: F401 - registers every table on the metadata
    from showroom.db.base import Base

    tables = {}
    for table in Base.metadata.sorted_tables:
        if "server_version" not in table.c:
            continue
        columns = {}
        fast_checks = {}
        required = set()
        not_null = set()
        defaults = {}
        for column in table.c:
            if column.name in SYNC_COLUMNS:
                continue
            columns[column.name] = _normalizer(column)
            fast_checks[column.name] = fast_check(column)
            if not column.nullable:
                not_null.add(column.name)
            default = _default(column)
            if default is not None:
                defaults[column.name] = default
            elif not column.nullable:
                required.add(column.name)
        tables[table.name] = SyncedTable(
            table.name, columns, frozenset(required), frozenset(not_null), defaults, fast_checks
        )
    return tables
