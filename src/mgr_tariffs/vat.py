"""VAT (btw) — defined once: the amount on a base, the UBL category of a treatment and the exemption text.

VAT is computed per invoice and per treatment and rate, on the sum of the line amounts of that group,
rounded half away from zero to whole cents once per group (EN 16931: BT-117 from BT-116). All MGR
products are taken as exempt (category E, artikel 11 Wet OB 1968): an assumption recorded in the catalogue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgr_tariffs.money import half_up_div

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

EXEMPT = "vrijgesteld"
DEFAULT_EXEMPTION = "Vrijgesteld van btw op grond van artikel 11, lid 1, Wet op de omzetbelasting 1968"


def vat_cents(base_cents: int, rate_percent: int) -> int:
    """The VAT on a base in cents at a whole percentage, rounded half-up once (never a negative zero)."""
    return half_up_div(base_cents * rate_percent, 100)


def vat_cents_expr(base_cents: pl.Expr, rate_percent: pl.Expr) -> pl.Expr:
    """:func:`vat_cents` over columns."""
    product = base_cents * rate_percent
    size = (product.abs() * 2 + 100) // 200
    return pl.when(product < 0).then(-size).otherwise(size)


def category(treatment: str) -> str:
    """UNCL 5305 code of a treatment: ``E`` for exempt (vrijgesteld), ``S`` for the standard and reduced rates."""
    return "E" if treatment == EXEMPT else "S"
