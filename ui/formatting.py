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


def phone(number: str | None) -> str:
    """A phone for display. The core hands phones out masked ("138****8000"), and those are
    shown as they are; a full number from an audited reveal is spaced ("138 1234 5678")."""
    if not number:
        return ""
    try:
        return validation.format_phone(number)
    except ValueError:  # masked, or a stored value that never parsed
        return number


def plate(value: str | None) -> str:
    return validation.format_plate(value) if value else ""
