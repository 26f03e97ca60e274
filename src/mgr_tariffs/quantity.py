"""Quantities and their units: hours, minutes and the integer *ticks* every sum is made in — defined once.

A tick is 1/3000 hour (1,2 seconds): hours with up to three decimals (0,125 h = 375 ticks) and whole minutes
(1 min = 50 ticks) are both whole numbers of ticks, so rows in hours and rows in minutes add up exactly and a
line's amount is ``ticks x price in cents / 3000``, rounded once (:mod:`mgr_tariffs.money`).

A line is in hours when every row of it is in hours, and in minutes otherwise: a sum of hours and minutes is
always a whole number of ticks, and ticks / 50 is an exact number of minutes with at most two decimals
(0,125 h + 1 min = 8,5 min), where the same sum in hours may have no exact decimal form (0,1 h + 1 min).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

TICKS_PER_HOUR = 3000
TICKS_PER_MINUTE = 50
HOUR_DECIMALS = 3
"""Hours in a log have at most three decimals (0,125 h); finer is refused, never rounded."""
MINUTE_DECIMALS = 2
"""Minutes on a line have at most two decimals: ticks / 50."""


class QuantityUnit(StrEnum):
    """The unit of a row or line quantity; the price is always per hour."""

    HOUR = "uur"
    MINUTE = "minuut"

    @property
    def ticks(self) -> int:
        """Ticks in one of this unit."""
        return TICKS_PER_MINUTE if self is QuantityUnit.MINUTE else TICKS_PER_HOUR

    @property
    def per_hour(self) -> int:
        return 60 if self is QuantityUnit.MINUTE else 1

    @property
    def un_ece_code(self) -> str:
        """UN/ECE Recommendation 20 unit code, as UBL wants it."""
        return "MIN" if self is QuantityUnit.MINUTE else "HUR"


def to_ticks(value: Decimal, unit: QuantityUnit) -> int | None:
    """``value`` in ``unit`` as ticks; ``None`` when it is not a whole number of ticks (finer than 1,2 s)."""
    ticks = value * unit.ticks
    return int(ticks) if ticks == ticks.to_integral_value() else None


def from_ticks(ticks: int, unit: QuantityUnit) -> Decimal:
    """Ticks as an exact quantity in ``unit`` (minutes always exact; hours exact for sums of hours)."""
    return (Decimal(ticks) / unit.ticks).normalize() if ticks else Decimal(0)


def line_unit(units: Iterable[QuantityUnit]) -> QuantityUnit:
    """The unit of a line: hours when every row is in hours, else minutes (see the module's text)."""
    return QuantityUnit.HOUR if all(u is QuantityUnit.HOUR for u in units) else QuantityUnit.MINUTE


def plain(value: Decimal) -> str:
    """A quantity in data outputs: plain text with a point, no exponent, no trailing zeros (``1.25``)."""
    return f"{value.normalize():f}" if value else "0"


# --- the same over columns -----------------------------------------------------------------------


def line_unit_expr(unit: pl.Expr) -> pl.Expr:
    """:func:`line_unit` as an aggregation over a group's row units."""
    return pl.when((unit == QuantityUnit.HOUR.value).all()).then(pl.lit(QuantityUnit.HOUR.value)).otherwise(
        pl.lit(QuantityUnit.MINUTE.value))


def text_expr(ticks: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """``plain(from_ticks(ticks, unit))`` over columns: hours to three decimals, minutes to two."""
    def exact(per: int, places: int) -> pl.Expr:
        whole = (ticks.abs() // per).cast(pl.String)
        fraction = ((ticks.abs() % per) * 10**places // per).cast(pl.String).str.pad_start(places, "0")
        fraction = fraction.str.strip_chars_end("0")
        text = pl.when(fraction == "").then(whole).otherwise(whole + "." + fraction)
        return pl.when(ticks < 0).then("-" + text).otherwise(text)
    return pl.when(unit == QuantityUnit.MINUTE.value).then(exact(TICKS_PER_MINUTE, MINUTE_DECIMALS)).otherwise(
        exact(TICKS_PER_HOUR, HOUR_DECIMALS))
