"""Who buys what: a municipality's membership of the MGR on a day, and the products not bought for it.

The rules, defined once:

* A municipality is a member on a day when one of its ``memberships`` (``from`` .. ``until``, inclusive)
  contains it — Leudal, Nederweert and Weert joined on 1 July 2024.
* A product is not bought for a municipality that its ``not_for`` names (any case, with or without "(L.)"):
  client support LN017/LN018 is not bought for Venlo and Venray (source MGR2018.1).

:func:`is_member` / :func:`excluded` are the scalar rules; :func:`member_of` / :func:`excluded_of` the same
over a frame (distinct pairs looked up once), held equal by ``tests/test_core_twins.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from mgr_tariffs.catalogue.models import Catalogue, Municipality, Product
from mgr_tariffs.catalogue.pairs import code_rank, pair_key, per_pair

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl

_SUFFIX_L = re.compile(r"\(\s*l(?:imburg)?\s*\.?\s*\)")


def normalise_name(name: str) -> str:
    """A municipality's name for matching: lower case, single spaces, without "(L.)" / "(Limburg)"."""
    return " ".join(_SUFFIX_L.sub(" ", name.lower()).split())


def is_member(municipality: Municipality, day: dt.date) -> bool:
    """Whether the municipality bought through the MGR on ``day``."""
    return any(m.covers(day) for m in municipality.memberships)


def excluded(product: Product, municipality: Municipality) -> bool:
    """Whether ``not_for`` of the product names the municipality."""
    return normalise_name(municipality.name) in {normalise_name(n) for n in product.not_for}


# --- the same over columns -----------------------------------------------------------------------


def member_of(frame: pl.DataFrame, catalogue: Catalogue, municipality: str = "municipality_id",
              day: str = "date") -> pl.Series:
    """:func:`is_member` for every row (``municipality`` holds the CBS code as a number); null where either is."""
    by_code = {int(m.code): m for m in catalogue.municipalities}

    def members(pairs: pl.DataFrame) -> pl.Series:
        return pl.Series([is_member(by_code[code], d) if code in by_code else False for code, d in pairs.iter_rows()],
                         dtype=pl.Boolean)

    key = pair_key(pl.col(municipality), pl.col(day))
    columns = {"_m": pl.col(municipality).cast(pl.Int64), "_day": pl.col(day)}
    return per_pair(frame, key, columns, members, pl.Boolean()).alias("member")


def excluded_pairs(catalogue: Catalogue) -> list[tuple[str, int]]:
    """Every (product code, CBS code as a number) that is not bought."""
    return [(p.code, int(m.code)) for p in catalogue.products for m in catalogue.municipalities if excluded(p, m)]


def excluded_of(frame: pl.DataFrame, catalogue: Catalogue, product: str = "product",
                municipality: str = "municipality_id") -> pl.Series:
    """:func:`excluded` for every row; false where the product or the municipality is missing or unknown."""
    pairs = excluded_pairs(catalogue)
    codes = sorted(p.code for p in catalogue.products)
    place = {code: i for i, code in enumerate(codes)}
    wanted = [place[code] * 2**32 + code_number + 2**31 for code, code_number in pairs]
    key = frame.select(pair_key(code_rank(pl.col(product), codes), pl.col(municipality))).to_series()
    return key.is_in(pl.Series(wanted, dtype=pl.Int64).implode()).fill_null(False).alias("excluded")
