"""Which price applies: the catalogue price in force on the service date, never the invoice date.

The rule, defined once: a product's price on a day is the price whose period (``from`` .. ``until``, both
inclusive; no ``until``: until further notice) contains the day; none before the first period, between two
periods or after the last. The periods of a product never overlap (``mgr validate`` refuses that).

* :func:`price_in_force` — the scalar rule, for one product and day.
* :func:`price_cents_of` — the same over a frame's product and date columns: an as-of join of the distinct
  (product, day) pairs against the table of all periods, so the cost does not grow with the number of periods
  (a nested ``when/then`` per period did: 1,000 products x 10 periods made billing two rows take minutes).
* :func:`boundary_inside` / :func:`boundary_inside_of` — whether a price period starts or ends within a span
  of days (an invoice line that straddles a price change).

``tests/test_core_twins.py`` holds each twin equal to its scalar function on random catalogues.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mgr_tariffs.catalogue.models import Catalogue, Price, Product
from mgr_tariffs.catalogue.pairs import code_rank, pair_key, per_pair
from mgr_tariffs.money import format_euro, json_money

if TYPE_CHECKING:
    import polars as pl

    from mgr_tariffs.catalogue.loader import Lookup
else:
    from mgr_tariffs.lazy import polars as pl


@dataclass(frozen=True)
class Quote:
    """The price of a product on a day, with the period it belongs to and where it comes from."""

    product: Product
    day: dt.date
    amount: Decimal
    start: dt.date
    until: dt.date | None
    source: str


def price_in_force(product: Product, day: dt.date) -> Price | None:
    """The price period of ``product`` that contains ``day``; ``None`` before, between or after its periods."""
    return next((price for price in product.prices if price.covers(day)), None)


def quote(product: Product, day: dt.date) -> Quote | None:
    """:func:`price_in_force` with the period and the source it comes from."""
    price = price_in_force(product, day)
    if price is None:
        return None
    return Quote(product, day, price.amount, price.start, price.until, price.source or product.source)


def boundary_inside(product: Product, first: dt.date, last: dt.date) -> bool:
    """Whether a price period of ``product`` starts after ``first`` or ends before ``last`` (within the span)."""
    return any(first < price.start <= last or (price.until is not None and first <= price.until < last)
               for price in product.prices)


# --- the same over columns -----------------------------------------------------------------------


def price_table(catalogue: Catalogue) -> pl.DataFrame:
    """Every price period: ``product, start, until, cents``, sorted by start (for the as-of join)."""
    rows = [(p.code, price.start, price.until, int(price.amount * 100)) for p in catalogue.products
            for price in p.prices]
    return pl.DataFrame(rows, schema={"product": pl.String, "start": pl.Date, "until": pl.Date, "cents": pl.Int64},
                        orient="row").sort("start")


def _latest_start(pairs: pl.DataFrame, table: pl.DataFrame, day: str) -> pl.DataFrame:
    """Per (product, day) pair, the period with the latest start on or before the day (it may have ended)."""
    ordered = pairs.sort(day)
    found = ordered.join_asof(table.rename({"start": "_start"}), left_on=day, right_on="_start", by="product",
                              strategy="backward", check_sortedness=False)
    return found


def price_cents_of(frame: pl.DataFrame, catalogue: Catalogue, product: str = "product",
                   day: str = "date") -> pl.Series:
    """:func:`price_in_force` (in cents) for every row of ``frame``; null where no price is in force."""
    codes = sorted(p.code for p in catalogue.products)
    table = price_table(catalogue)

    def cents(pairs: pl.DataFrame) -> pl.Series:
        found = _latest_start(pairs.with_row_index("_i"), table, "_day").sort("_i")
        return found.select(pl.when(pl.col("until").is_null() | (pl.col("_day") <= pl.col("until")))
                            .then(pl.col("cents"))).to_series()

    key = pair_key(code_rank(pl.col(product), codes), pl.col(day))
    columns = {"product": pl.col(product).cast(pl.String), "_day": pl.col(day)}
    return per_pair(frame, key, columns, cents, pl.Int64()).alias("price_cents")


def boundary_inside_of(frame: pl.DataFrame, catalogue: Catalogue, product: str = "product",
                       first: str = "start", last: str = "end") -> pl.Series:
    """:func:`boundary_inside` for every row of ``frame`` (false where product or a day is missing)."""
    keys = frame.select(pl.col(product).cast(pl.String).alias("product"), pl.col(first).alias("_first"),
                        pl.col(last).alias("_last"))
    spans = keys.unique().drop_nulls()
    table = price_table(catalogue)
    at_first = _latest_start(spans, table, "_first").rename({"_start": "_s1", "until": "_u1"}).drop("cents")
    at_last = _latest_start(at_first, table, "_last").rename({"_start": "_s2", "until": "_u2"}).drop("cents")
    # a period starts within (first, last] exactly when the latest start on or before ``last`` is after ``first``;
    # a period ends within [first, last) when the one containing ``first`` (if any) ends before ``last``
    starts_inside = pl.col("_s2").is_not_null() & (pl.col("_s2") > pl.col("_first"))
    contains_first = pl.col("_s1").is_not_null() & (pl.col("_u1").is_null() | (pl.col("_u1") >= pl.col("_first")))
    ends_inside = contains_first & pl.col("_u1").is_not_null() & (pl.col("_u1") < pl.col("_last"))
    flagged = at_last.select("product", "_first", "_last", inside=(starts_inside | ends_inside).fill_null(False))
    joined = keys.join(flagged, on=["product", "_first", "_last"], how="left", maintain_order="left")
    return joined.get_column("inside").fill_null(False).alias("straddle")


class PriceError(Exception):
    """A question the catalogue cannot answer, worded for a clerk."""


def price_on(lookup: Lookup, code: str, day: dt.date) -> PricedQuote:
    """The price of ``code`` on ``day``, or :class:`PriceError` saying why there is none."""
    product = lookup.products.get(code.strip().upper())
    if product is None:
        known = ", ".join(sorted(lookup.products))
        raise PriceError(f"unknown product code {code!r}; the catalogue has {known}")
    found = quote(product, day)
    if found is None:
        raise PriceError(no_price_message(product, day))
    return PricedQuote(found)


def no_price_message(product: Product, day: dt.date) -> str:
    """Why a product has no price on a day: before the first, after the last or in a gap."""
    first = product.prices[0]
    if day < first.start:
        return (f"{product.code} has no price on {day.isoformat()}: its first tariff "
                f"({format_euro(first.amount)}) applies from {first.start.isoformat()}")
    last = product.prices[-1]
    if last.until is not None and day > last.until:
        return f"{product.code} has no price on {day.isoformat()}: its last tariff ended on {last.until.isoformat()}"
    return f"{product.code} has no price on {day.isoformat()}: that date falls between two tariff periods"


@dataclass(frozen=True)
class PricedQuote:
    quote: Quote

    @property
    def product(self) -> Product:
        return self.quote.product

    @property
    def amount(self) -> Decimal:
        return self.quote.amount

    @property
    def start(self) -> dt.date:
        return self.quote.start

    @property
    def until(self) -> dt.date | None:
        return self.quote.until

    @property
    def source(self) -> str:
        return self.quote.source

    def as_json(self) -> dict[str, Any]:
        return {"code": self.product.code, "name": self.product.name, "date": self.quote.day.isoformat(),
                "price": json_money(self.amount), "unit": self.product.unit.value,
                "from": self.start.isoformat(), "until": self.until.isoformat() if self.until else None,
                "source": self.source}


@dataclass(frozen=True)
class PriceRow:
    """One dated price of one product, as the ``mgr tariffs`` listing shows it."""

    product: Product
    amount: Decimal
    start: dt.date
    until: dt.date | None

    def as_json(self) -> dict[str, str | None]:
        """The row in data outputs: money as ``"48.60"``, an open end as ``null``."""
        return {"code": self.product.code, "name": self.product.name, "category": self.product.category,
                "unit": self.product.unit.value, "price": json_money(self.amount), "from": self.start.isoformat(),
                "until": self.until.isoformat() if self.until else None, "vat": self.product.vat.treatment.value,
                "not_for": ", ".join(self.product.not_for), "source": self.product.source}

    def as_csv(self) -> dict[str, str]:
        """The row for CSV: like :meth:`as_json`, with an open end as an empty cell."""
        return {key: value or "" for key, value in self.as_json().items()}


def catalogue_rows(lookup: Lookup, day: dt.date | None = None) -> list[PriceRow]:
    """Every dated price, or only those in force on ``day``, in catalogue order."""
    return [
        PriceRow(product, price.amount, price.start, price.until)
        for product in lookup.catalogue.products
        for price in product.prices
        if day is None or price.covers(day)
    ]
