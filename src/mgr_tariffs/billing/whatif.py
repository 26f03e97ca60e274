"""What-if pricing: a log billed under two catalogues, and the difference per municipality.

:func:`compare_tariffs` calls :func:`mgr_tariffs.billing.engine.bill` once per catalogue (every rule,
every rounding as on a real invoice) and compares the billed amounts (excluding VAT, after LN034
netting) per municipality, provider, product and month. Every figure is integer cents, so the
comparison reconciles exactly: old + difference = new, per row, per municipality and in total.

Rows are priced on their service date, as always. To see what an indexation will cost, give ``as_of``:
each catalogue then prices every row at its tariff in force on that day (the hours of last year at
this year's and at next year's prices), see :func:`priced_as_of`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.catalogue.indexation import change_percent
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.models import Price
from mgr_tariffs.money import from_cents, json_money
from mgr_tariffs.problems import Problem, warning

KEYS = ("municipality", "provider", "product", "period")
FIELDS = (*KEYS, "old", "new", "difference", "percent")


def priced_as_of(lookup: Lookup, day: dt.date) -> tuple[Lookup, list[str]]:
    """A catalogue in which every product costs, on every date, what it costs on ``day``.

    A product without a price on ``day`` keeps its own periods; the second value names them.
    """
    products, unpriced = [], []
    for product in lookup.catalogue.products:
        quote = lookup.price(product.code, day)
        if quote is None:
            unpriced.append(product.code)
            products.append(product)
            continue
        period = Price(start=dt.date.min, amount=quote.amount, source=quote.source)
        products.append(product.model_copy(update={"prices": (period,)}))
    return Lookup(lookup.catalogue.model_copy(update={"products": tuple(products)})), unpriced


@dataclass(frozen=True)
class Comparison:
    """Amounts in cents of one municipality, provider, product and month under both catalogues."""

    municipality: str
    provider: str
    product: str
    period: str
    old_cents: int
    new_cents: int

    @property
    def difference_cents(self) -> int:
        return self.new_cents - self.old_cents

    def as_json(self) -> dict[str, Any]:
        return {"municipality": self.municipality, "provider": self.provider, "product": self.product,
                "period": self.period, **_money(self.old_cents, self.new_cents)}


def _money(old: int, new: int) -> dict[str, str | None]:
    percent = change_percent(Decimal(old), Decimal(new)) if old else None
    return {"old": json_money(from_cents(old)), "new": json_money(from_cents(new)),
            "difference": json_money(from_cents(new - old)), "percent": f"{percent:f}" if percent is not None else None}


@dataclass(frozen=True)
class Totals:
    old_cents: int
    new_cents: int

    @property
    def difference_cents(self) -> int:
        return self.new_cents - self.old_cents

    def as_json(self) -> dict[str, str | None]:
        return _money(self.old_cents, self.new_cents)


@dataclass(frozen=True)
class WhatIf:
    """Both billing runs, the rows compared, and every row problem of either run."""

    old: BillingResult
    new: BillingResult
    rows: list[Comparison]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def totals_by(self, key: str) -> dict[str, Totals]:
        """Old and new amount per municipality, provider, product or period, sorted by name."""
        sums: dict[str, list[int]] = {}
        for row in self.rows:
            entry = sums.setdefault(getattr(row, key), [0, 0])
            entry[0] += row.old_cents
            entry[1] += row.new_cents
        return {name: Totals(*sums[name]) for name in sorted(sums)}

    @property
    def total(self) -> Totals:
        return Totals(sum(r.old_cents for r in self.rows), sum(r.new_cents for r in self.rows))

    def as_json(self) -> dict[str, Any]:
        return {"rows": [r.as_json() for r in self.rows],
                "by_municipality": {k: v.as_json() for k, v in self.totals_by("municipality").items()},
                "by_provider": {k: v.as_json() for k, v in self.totals_by("provider").items()},
                "by_product": {k: v.as_json() for k, v in self.totals_by("product").items()},
                "by_period": {k: v.as_json() for k, v in self.totals_by("period").items()},
                "total": self.total.as_json(),
                "rows_billed": {"old": self.old.summary.rows_billed, "new": self.new.summary.rows_billed},
                "errors": [p.model_dump(mode="json") for p in self.errors],
                "warnings": [p.model_dump(mode="json") for p in self.warnings]}


def compare_tariffs(paths: Sequence[Path], old: Lookup, new: Lookup, options: BillOptions | None = None,
                    as_of: dt.date | None = None) -> WhatIf:
    """Bill ``paths`` under ``old`` and under ``new`` and compare; raises only for an unreadable log."""
    notes: list[Problem] = []
    if as_of is not None:
        old, old_unpriced = priced_as_of(old, as_of)
        new, new_unpriced = priced_as_of(new, as_of)
        notes = [warning("tariffs", None, f"{code} has no price on {as_of}; its rows are priced on their service "
                         "date") for code in sorted(set(old_unpriced) | set(new_unpriced))]
    before = bill(paths, old, options)
    after = bill(paths, new, options)
    seen = {(p.file, p.line, p.message) for p in before.errors}
    errors = [*before.errors, *(p.model_copy(update={"message": f"under the new tariffs: {p.message}"})
                                for p in after.errors if (p.file, p.line, p.message) not in seen)]
    return WhatIf(before, after, _compare(before.lines, after.lines), errors, [*notes, *before.warnings])


def _amounts(lines: pl.DataFrame, name: str) -> pl.DataFrame:
    if lines.is_empty():
        return pl.DataFrame(schema={**dict.fromkeys(KEYS, pl.String), name: pl.Int64})
    return lines.group_by(list(KEYS)).agg(pl.col("amount_cents").sum().cast(pl.Int64).alias(name))


def _compare(old: pl.DataFrame, new: pl.DataFrame) -> list[Comparison]:
    joined = _amounts(old, "old").join(_amounts(new, "new"), on=list(KEYS), how="full", coalesce=True)
    joined = joined.with_columns(pl.col("old").fill_null(0), pl.col("new").fill_null(0)).sort(list(KEYS))
    return [Comparison(*row) for row in joined.select(*KEYS, "old", "new").iter_rows()]
