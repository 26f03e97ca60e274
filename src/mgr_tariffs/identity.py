"""Who a provider is: one normalisation of a provider's name, used by bill, check, the ledger, the parties
file and file names.

Hour logs spell a provider as a person typed it. Two spellings are the same supplier when they are equal
after Unicode NFC, white space collapsed and case folded (``"Zorg  B.V."``, ``"ZORG B.V."`` and an NFD
``"é"`` are one). Within a run a supplier is shown by its first spelling; spellings that differ are a
warning naming them, never two suppliers (two invoices could otherwise get the same number).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl


def provider_key(name: str) -> str:
    """The matching key of a provider's name: NFC, white space collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def provider_key_expr(name: pl.Expr) -> pl.Expr:
    """:func:`provider_key` over a text column, computed once per distinct name (a log has few providers)."""
    return name.map_batches(_keys, return_dtype=pl.String)


def _keys(column: pl.Series) -> pl.Series:
    distinct = column.unique()
    keys = pl.Series([None if t is None else provider_key(t) for t in distinct.to_list()], dtype=pl.String)
    return column.replace_strict(distinct, keys, return_dtype=pl.String)


def canonical_spellings(spellings: Iterable[str], known: Iterable[str] = ()) -> dict[str, str]:
    """Each spelling -> the one spelling its supplier is shown by: a ``known`` one (the ledger's, the parties
    file's) when there is one with the same key, else the first spelling seen."""
    chosen: dict[str, str] = {}
    for name in known:
        chosen.setdefault(provider_key(name), name)
    result = {}
    for name in spellings:
        result[name] = chosen.setdefault(provider_key(name), name)
    return result
