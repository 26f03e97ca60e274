"""The BSN (burgerservicenummer): how it is written, checked and shown — defined once.

* :func:`normalise` — a cell's text to nine digits: spaces and dots are dropped, and a number of seven or
  eight digits gets its leading zeros back (a spreadsheet stores a BSN as a number and drops them).
* :func:`is_valid` — the elfproef, by python-stdnum's ``nl.bsn`` (``000000000`` is refused too).
* :func:`mask` — what a person sees: ``*****2333``; :func:`mask_in` masks every BSN-shaped number in a message.

The bulk path runs the same rules over a column (:func:`normalise_expr`, :func:`valid_expr`); a property
test (``tests/test_core_twins.py``) holds each twin equal to its scalar function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

LENGTH = 9
SHORTEST = 7  # up to two leading zeros lost in a spreadsheet
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)

Mask = Callable[[str], str]


def normalise(text: str) -> str | None:
    """Nine ASCII digits, or ``None`` when ``text`` is not a BSN-shaped number (7 to 9 digits)."""
    digits = text.strip().replace(" ", "").replace(".", "")
    if not digits.isascii() or not digits.isdigit() or not SHORTEST <= len(digits) <= LENGTH:
        return None
    return digits.zfill(LENGTH)


def is_valid(bsn: str) -> bool:
    """Nine digits that pass the elfproef (weights 9..2 and -1), and not all zeros."""
    from stdnum.nl import bsn as stdnum_bsn  # noqa: PLC0415 - python-stdnum (and the ssl it imports) when used

    return len(bsn) == LENGTH and bsn != "0" * LENGTH and bool(stdnum_bsn.is_valid(bsn))


def mask(bsn: str) -> str:
    """What a person sees of a BSN: ``*****2333`` (only the last four digits)."""
    return f"*****{bsn[-4:]}" if len(bsn) >= 4 else "*****"


_BSN_SHAPED = re.compile(r"(?<![0-9])(?<![0-9][.,])[0-9]{7,9}(?![0-9])(?![.,][0-9])")


def mask_in(text: str, shown: Mask = mask) -> str:
    """``text`` with every run of seven to nine digits (what may be a BSN, also one typed into another
    column) shown as ``shown`` shows a BSN: ``unknown product code '123456782'`` becomes
    ``unknown product code '*****6782'``. Longer and shorter runs of digits are left alone, and so are the
    parts of a decimal number (``12345678,50``)."""
    return _BSN_SHAPED.sub(lambda m: shown(m.group()), text)


def masker(show: bool) -> Mask:
    """The function that shows a BSN: in full when ``show`` (``--show-bsn``), else masked."""
    return (lambda bsn: bsn) if show else mask


def parse(text: str, shown: Mask = mask) -> tuple[int | None, str | None]:
    """A cell to the BSN as a number, or the reason it is not one (the BSN in the reason as ``shown``)."""
    padded = normalise(text)
    if padded is None:
        return None, f"BSN {shown(text.strip())!r} is not a number of nine digits"
    if not is_valid(padded):
        return None, f"BSN {shown(padded)} fails the elfproef"
    return int(padded), None


# --- the same over a column ----------------------------------------------------------------------


def normalise_expr(text: pl.Expr) -> pl.Expr:
    """:func:`normalise` over a text column: nine digits, or null."""
    digits = text.str.strip_chars().str.replace_all(" ", "", literal=True).str.replace_all(".", "", literal=True)
    shaped = digits.str.contains(rf"^[0-9]{{{SHORTEST},{LENGTH}}}$").fill_null(False)
    return pl.when(shaped).then(digits.str.pad_start(LENGTH, "0"))


def valid_expr(padded: pl.Expr) -> pl.Expr:
    """:func:`is_valid` over a column of nine-digit texts (null counts as not valid)."""
    number = padded.cast(pl.Int64, strict=False)
    checksum = pl.sum_horizontal([(number // 10 ** (LENGTH - 1 - i)) % 10 * w for i, w in enumerate(_WEIGHTS)])
    return ((checksum % 11 == 0) & (number != 0) & (padded.str.len_bytes() == LENGTH)).fill_null(False)


def parse_many(texts: pl.Series, shown: Mask = mask) -> tuple[pl.Series, pl.Series]:
    """:func:`parse` over a column: the BSNs as numbers and the reasons, the valid ones without Python per value.

    Only the texts that are not valid BSNs (few, in a real log) go through :func:`parse` for their reason.
    """
    frame = pl.DataFrame({"text": texts.cast(pl.String)}).with_columns(padded=normalise_expr(pl.col("text")))
    frame = frame.with_columns(ok=valid_expr(pl.col("padded")))
    values = frame.select(pl.when("ok").then(pl.col("padded").cast(pl.Int64, strict=False))).to_series()
    bad = frame.filter(~pl.col("ok") & pl.col("text").is_not_null()).get_column("text").unique()
    why = pl.Series([parse(text, shown)[1] for text in bad.to_list()], dtype=pl.String)
    reasons = frame.get_column("text").replace_strict(bad, why, default=None, return_dtype=pl.String)
    return values.alias("bsn"), reasons.alias("reason")
