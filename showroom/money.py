"""CNY money as ``Decimal``: parsing, rounding and display. Never ``float``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from showroom.errors import ValidationError

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000000")  # 1e11 CNY: far above any vehicle, far below BIGINT fen


def to_money(value: Decimal | int | str) -> Decimal:
    """Round an exact amount to fen (half up, as Chinese invoices do)."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(
    text: str | Decimal | int, field: str = "amount", *, allow_negative=False
) -> Decimal:
    """Parse user input such as "¥189,900.00" or "18.99万" into a Decimal amount.

    Raises ValidationError naming ``field`` when the text is not an amount, is negative (unless
    allowed) or is implausibly large.
    """
    if isinstance(text, float):
        raise TypeError("money must not be a float")
    raw = str(text).strip()
    cleaned = raw.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    cleaned = cleaned.removesuffix("元").strip()
    factor = Decimal(1)
    if cleaned.endswith("万"):
        factor = Decimal(10000)
        cleaned = cleaned[:-1].strip()
    try:
        amount = Decimal(cleaned) * factor
    except InvalidOperation:
        raise ValidationError(field, f"金额格式不正确：{raw}", f"not an amount: {raw}") from None
    if not amount.is_finite():
        raise ValidationError(field, f"金额格式不正确：{raw}", f"not an amount: {raw}")
    if amount < 0 and not allow_negative:
        raise ValidationError(field, "金额不能为负数", "amount must not be negative")
    if abs(amount) >= MAX_AMOUNT:
        raise ValidationError(field, "金额过大", "amount is too large")
    return to_money(amount)


def format_cny(amount: Decimal) -> str:
    """ "¥189,900.00": the form printed on quotes and shown in lists."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(to_money(amount)):,.2f}"
