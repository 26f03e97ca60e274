"""Exact money: ``Decimal`` and integer cents, never float.

Every amount the tool computes goes through these few functions, so the rounding rule
(half-up, once per invoice line, to whole cents) lives in exactly one place.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def round_cents(amount: Decimal) -> Decimal:
    """Round to whole cents, half away from zero (the Dutch ``afronden``: 0,005 -> 0,01)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal, per: int = 1) -> Decimal:
    """Amount of one invoice line: quantity x unrounded unit price (/ per), rounded once."""
    return round_cents(quantity * unit_price / per)


def to_cents(amount: Decimal) -> int:
    """Whole cents of an amount that has at most two decimals."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """The amount in euros of a whole number of cents, always with two decimals."""
    return (Decimal(cents) / 100).quantize(CENT)


def half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero, exactly (no float on the way)."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return sign * quotient


def parse_decimal(text: str) -> Decimal | None:
    """A number as people type it: ``12,5`` or ``12.5``; ``None`` when it is not a plain number.

    Thousands separators are refused on purpose: ``1.234`` is ambiguous in a Dutch file.
    """
    cleaned = text.strip()
    if not _PLAIN_NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        return None


def decimals(value: Decimal) -> int:
    """How many decimals a value carries, trailing zeros ignored (12,50 has one)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def format_euro(amount: Decimal) -> str:
    """Money for people, Dutch style: ``€ 1.234,56`` (and ``€ -12,00``)."""
    return f"€ {format_number(amount, 2)}"


def format_number(value: Decimal, places: int = 2) -> str:
    """A number Dutch style with a thousands point and a decimal comma."""
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{quantized:,.{places}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def format_quantity(value: Decimal) -> str:
    """A quantity Dutch style without superfluous zeros: ``1,5`` or ``12``."""
    normal = value.normalize()
    places = decimals(normal)
    return format_number(normal, places)


def json_money(amount: Decimal) -> str:
    """Money in data outputs: a string with a point and exactly two decimals (``"48.60"``)."""
    return f"{round_cents(amount):.2f}"


def json_decimal(value: Decimal) -> str:
    """A quantity in data outputs: a plain string with a point and no exponent."""
    normal = value.normalize()
    return f"{normal:f}"
