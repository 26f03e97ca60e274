"""Answers per distinct pair, mapped back onto every row: the form the catalogue's column rules share.

A log has millions of rows but only thousands of distinct (product, day) or (municipality, day) pairs. Each rule
over columns works out its answer once per distinct pair and maps it back through one 64-bit key per row (a hash
lookup); no join of the rows is made, which for ten million rows would copy them and their indices several times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
else:  # loaded on first use: mgr validate needs the scalar rules of pricing and membership only
    from mgr_tariffs.lazy import polars as pl

_LOW = 2**32
_OFFSET = 2**31  # a date's day number or a CBS code, made non-negative in the low 32 bits


def pair_key(high: pl.Expr, low: pl.Expr) -> pl.Expr:
    """One Int64 per row for (``high``, ``low``): ``high`` a small non-negative integer, ``low`` a date or a 32-bit
    integer; null when either is."""
    return high.cast(pl.Int64) * _LOW + (low.to_physical().cast(pl.Int64) + _OFFSET)


def code_rank(column: pl.Expr, codes: Sequence[str]) -> pl.Expr:
    """The place of each row's text in ``codes`` (null: not one of them), to pack into a :func:`pair_key`."""
    return column.cast(pl.String).replace_strict(list(codes), list(range(len(codes))), default=None,
                                                 return_dtype=pl.Int64)


def per_pair(frame: pl.DataFrame, key: pl.Expr, columns: dict[str, pl.Expr],
             answer: Callable[[pl.DataFrame], pl.Series], dtype: pl.DataType) -> pl.Series:
    """``answer`` of the distinct rows of ``columns`` (one per distinct ``key``, nulls left out), for every row of
    ``frame``; null where the key is null. ``answer`` gets a frame of ``columns`` and returns one value per row."""
    keys = frame.select(key.alias("_k")).to_series()
    first = keys.is_first_distinct() & keys.is_not_null()
    distinct = frame.select(**columns).filter(first)
    values = answer(distinct)
    return keys.replace_strict(keys.filter(first), values, default=None, return_dtype=dtype)
