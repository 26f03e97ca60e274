"""Exact money: ``Decimal`` and integer cents, never float — and the rounding rules, defined once.

* A line's amount: quantity x the **unrounded** hourly price, rounded half away from zero **once per line**
  to whole cents (:func:`gross_cents`; quantities are ticks of 1/3000 hour, :mod:`mgr_tariffs.quantity`).
* LN034 netting: the line's revenue is taken off its amount, never below zero (:func:`net_cents`).
* VAT: :mod:`mgr_tariffs.vat`, with the same half-up rounding (:func:`half_up_div`).

The bulk path uses the column twins (:func:`gross_cents_expr`, :func:`net_cents_expr`); a property test
holds each equal to its scalar function.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mgr_tariffs.quantity import TICKS_PER_HOUR

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

CENT = Decimal("0.01")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def round_cents(amount: Decimal) -> Decimal:
    """Round to whole cents, half away from zero (the Dutch ``afronden``: 0,005 -> 0,01)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal, per: int = 1) -> Decimal:
    """Amount of one invoice line: quantity x unrounded unit price (/ per), rounded once."""
    return round_cents(quantity * unit_price / per)


def gross_cents(ticks: int, price_cents: int) -> int:
    """A line's amount in cents: ``ticks`` (1/3000 hour) x the hourly price in cents, rounded half-up once."""
    return half_up_div(ticks * price_cents, TICKS_PER_HOUR)


def net_cents(gross: int, revenue: int, nets: bool) -> tuple[int, int]:
    """LN034 netting: (netted, unnetted) revenue of a line; the billed amount is ``gross - netted``.

    Revenue is netted only on a product that nets revenue, never beyond the amount (a line never goes below
    zero); what cannot be netted is reported, never dropped. A credit line (negative amount and revenue)
    mirrors its debit: ``net_cents(-g, -r, nets) == (-n, -u)`` where ``net_cents(g, r, nets) == (n, u)``.
    """
    sign = (gross > 0) - (gross < 0) or 1
    own = max(sign * revenue, 0)  # revenue in the direction of the line
    netted = min(abs(gross), own) if nets else 0
    return sign * netted, sign * (own - netted)


def gross_cents_expr(ticks: pl.Expr, price_cents: pl.Expr) -> pl.Expr:
    """:func:`gross_cents` over columns (exact integer arithmetic, negative quantities rounded away from zero)."""
    size = (2 * ticks.abs() * price_cents.abs() + TICKS_PER_HOUR) // (2 * TICKS_PER_HOUR)
    negative = (ticks < 0) != (price_cents < 0)
    return pl.when(negative).then(-size).otherwise(size)


def net_cents_expr(gross: pl.Expr, revenue: pl.Expr, nets: pl.Expr) -> pl.Expr:
    """The netted revenue of :func:`net_cents` over columns (the unnetted part is ``revenue - netted``)."""
    sign = pl.when(gross < 0).then(-1).otherwise(1)
    own = (sign * revenue.fill_null(0)).clip(0)
    return pl.when(nets).then(sign * pl.min_horizontal(gross.abs(), own)).otherwise(0)


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
