"""CNY amounts: exact Decimal in, exact Decimal out, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from showroom.errors import ValidationError
from showroom.money import format_cny, parse_money, to_money


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("189900", "189900.00"),
        ("¥189,900.00", "189900.00"),
        ("￥ 189,900 元", "189900.00"),
        ("18.99万", "189900.00"),
        ("0.005", "0.01"),  # half up, as invoices round
        ("0.004", "0.00"),
    ],
)
def test_parse_money(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "-5", "NaN", "1e12", "Infinity"])
def test_bad_amounts_name_the_field(text):
    with pytest.raises(ValidationError) as raised:
        parse_money(text, "msrp")
    assert raised.value.field == "msrp"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_money(0.1)
    with pytest.raises(TypeError):
        parse_money(0.1)


def test_display():
    assert format_cny(Decimal("189900")) == "¥189,900.00"
    assert format_cny(Decimal("-50.5")) == "-¥50.50"


def test_money_column_round_trips_exactly(db):
    from showroom.models import Trim

    with db.session_scope() as session:
        session.add(
            Trim(brand="大众", model="途观L", trim="330TSI", model_year=2026, fuel="petrol",
                 msrp=Decimal("219999.99"))
        )  # fmt: skip
    with db.session_scope() as session:
        from sqlalchemy import select

        assert session.scalar(select(Trim.msrp)) == Decimal("219999.99")
        raw = session.connection().exec_driver_sql("SELECT msrp FROM catalogue_trim").scalar()
        assert raw == 21999999  # whole fen in the database, no float anywhere
