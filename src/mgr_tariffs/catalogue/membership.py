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
    keys = frame.select(pl.col(municipality).cast(pl.Int64).alias("_m"), pl.col(day).alias("_day"))
    pairs = keys.unique().drop_nulls()
    by_code = {int(m.code): m for m in catalogue.municipalities}
    answers = [is_member(by_code[code], d) if code in by_code else False
               for code, d in pairs.iter_rows()]
    found = pairs.with_columns(member=pl.Series(answers, dtype=pl.Boolean))
    return keys.join(found, on=["_m", "_day"], how="left", maintain_order="left").get_column("member")


def excluded_pairs(catalogue: Catalogue) -> list[tuple[str, int]]:
    """Every (product code, CBS code as a number) that is not bought."""
    return [(p.code, int(m.code)) for p in catalogue.products for m in catalogue.municipalities if excluded(p, m)]


def excluded_of(frame: pl.DataFrame, catalogue: Catalogue, product: str = "product",
                municipality: str = "municipality_id") -> pl.Series:
    """:func:`excluded` for every row; false where the product or the municipality is missing or unknown."""
    pairs = excluded_pairs(catalogue)
    table = pl.DataFrame({"_p": [p for p, _ in pairs], "_m": [m for _, m in pairs], "excluded": [True] * len(pairs)},
                         schema={"_p": pl.String, "_m": pl.Int64, "excluded": pl.Boolean})
    keys = frame.select(pl.col(product).cast(pl.String).alias("_p"), pl.col(municipality).cast(pl.Int64).alias("_m"))
    joined = keys.join(table, on=["_p", "_m"], how="left", maintain_order="left")
    return joined.get_column("excluded").fill_null(False)
