"""Dates, times, money and identifiers formatted for the user's locale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QDate, QDateTime, QLocale, QTimeZone

from showroom import validation
from showroom.money import format_cny


def date(value: dt.date | None) -> str:
    if value is None:
        return ""
    return QLocale().toString(
        QDate(value.year, value.month, value.day), QLocale.FormatType.ShortFormat
    )


def datetime(value: dt.datetime | None) -> str:
    """Local time, short form (2026/11/22 14:05 in zh_CN)."""
    if value is None:
        return ""
    utc = QDateTime.fromSecsSinceEpoch(int(value.timestamp()), QTimeZone.utc())
    return QLocale().toString(utc.toLocalTime(), QLocale.FormatType.ShortFormat)


def money(amount: Decimal | None) -> str:
    return "" if amount is None else format_cny(amount)


def phone(e164: str | None, *, reveal: bool = False) -> str:
    if not e164:
        return ""
    return validation.format_phone(e164) if reveal else validation.mask_phone(e164)


def id_number(value: str | None, *, reveal: bool = False) -> str:
    if not value:
        return ""
    return value if reveal else validation.mask_id_number(value)


def plate(value: str | None) -> str:
    return validation.format_plate(value) if value else ""
