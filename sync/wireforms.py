"""Whole-column checks of wire values, shared by the server and the laptop.

A million-row upload or download cannot afford a Python call per value. These checks run a few
C-level passes over a whole column (a regex over the values joined by newlines, ``map`` over a
parser, ``set(map(type, ...))``) and say whether every value is already in the one canonical
wire form (:func:`showroom.db.outbox.to_wire`). A column that passes can be stored or converted
without looking at each value again; one that does not goes value by value through the
ordinary converters, which convert or explain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy import Column, Date

from showroom.db.types import Money, UTCDateTime

# What a BIGINT holds (the laptop keeps money as whole fen in one).
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1

_MONEY_FORM = re.compile(r"(?:-?(?:0|[1-9][0-9]{0,15})\.[0-9][0-9]\n)*")
_MOMENT_FORM = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.(?!000000)[0-9]{6})?"
    r"\+00:00\n)*"
)
_DAY_FORM = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}\n)*")

MONEY = "money"
MOMENT = "moment"
DAY = "day"
TEXT = "text"
WHOLE = "whole"
FLAG = "flag"
OTHER = "other"


def kind_of(column: Column) -> str:
    kind = column.type
    if isinstance(kind, Money):
        return MONEY
    if isinstance(kind, UTCDateTime):
        return MOMENT
    if isinstance(kind, Date):
        return DAY
    python_type = None
    with contextlib.suppress(NotImplementedError):
        python_type = kind.python_type
    if python_type is str:
        return TEXT
    if python_type is bool:
        return FLAG
    if python_type is int:
        return WHOLE
    return OTHER


def canonical_check(column: Column) -> Callable[[list], bool]:
    """A check of a whole column of wire values: True only when every value is in canonical
    wire form and fits the column (nulls aside: the caller checks those against the column)."""
    kind = kind_of(column)
    form = {MONEY: _MONEY_FORM, MOMENT: _MOMENT_FORM, DAY: _DAY_FORM}.get(kind)
    parse = {MOMENT: dt.datetime.fromisoformat, DAY: dt.date.fromisoformat}.get(kind)
    length = getattr(column.type, "length", None)

    def check(values: list) -> bool:
        given = [v for v in values if v is not None]
        if not given:
            return True
        kinds = set(map(type, given))
        if form is not None:
            if kinds != {str} or form.fullmatch("\n".join(given) + "\n") is None:
                return False
            if parse is not None:
                try:
                    list(map(parse, given))
                except ValueError:
                    return False
            return True
        if kind == TEXT:
            if kinds != {str}:
                return False
            if length is not None and max(map(len, given)) > length:
                return False
            joined = "".join(given)
            if "\x00" in joined:
                return False
            try:
                joined.encode()
            except UnicodeEncodeError:
                return False
            return True
        if kind == WHOLE:
            return kinds == {int} and min(given) >= MIN_INT and max(given) <= MAX_INT
        if kind == FLAG:
            return kinds == {bool}
        return False

    return check
