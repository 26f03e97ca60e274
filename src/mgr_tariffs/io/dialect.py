"""The Dutch spreadsheet dialect every CSV and workbook of ``mgr`` is written in — defined once.

``;`` between fields, a decimal comma, UTF-8 with a byte order mark (so Excel opens it as UTF-8), CRLF line
ends, and text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) written with a leading apostrophe, so that it stays text (CSV/formula injection).
``mgr check`` reads such text back as written (:func:`unneutralised`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

BOM = "\ufeff"
SEPARATOR = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = r"^[=+\-@\t\r]"
""":data:`FORMULA_STARTS` as a pattern, for the column twin."""


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (``=1+1`` -> ``'=1+1``)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def neutralised(column: str) -> pl.Expr:
    """:func:`neutralise` over a text column."""
    text = pl.col(column).cast(pl.String)
    return pl.when(text.str.contains(FORMULA_START)).then(pl.lit("'") + text).otherwise(text).alias(column)


def unneutralised(column: str) -> pl.Expr:
    """A column as written before :func:`neutralised` put an apostrophe before formula-like text."""
    return pl.col(column).str.replace(r"^'([=+\-@\t\r])", "$1")
