"""Column types shared by the models: exact money, UTC timestamps, UUID text keys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.types import TypeDecorator

from showroom.money import CENT, to_money


class Money(TypeDecorator[Decimal]):
    """CNY amounts stored as whole fen in a BIGINT.

    SQLite has no exact decimal type (NUMERIC degrades to a float), so money is kept as an integer
    count of fen on every backend and handed back as a ``Decimal`` with two places.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        if value is None:
            return None
        return int(to_money(value) / CENT)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) * CENT).quantize(CENT)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as naive UTC and returned timezone-aware (UTC).

    SQLite drops offsets; storing UTC everywhere keeps ordering and comparisons correct on both
    SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def IdColumnType() -> String:
    """UUIDs travel as canonical 36-character text on the wire and in both databases."""
    return String(36)
