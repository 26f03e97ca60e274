"""Realised work under a subsidy: the recipient's hours from an hour log, valued at the subsidy's rate.

The log is read and checked by the billing engine (:func:`mgr_tariffs.billing.bill_tables`): the same field
and row rules, the same line numbers. Membership of the MGR is not a condition of a subsidy (the grantor pays,
not the MGR), so the log is checked against the catalogue with the key's municipalities counted as members
during the subsidy period; every other rule applies unchanged.

Of the valid rows, those of the recipient (by :func:`~mgr_tariffs.identity.provider_key`), for a municipality
of the key, within the period and of the valuation's products count. Each counts at the tariff of the
valuation's product (or of its own product) in force on its service date
(:func:`~mgr_tariffs.catalogue.pricing.price_on`), or at a fixed hourly rate. Amounts are rounded once per
month, municipality and rate (:func:`~mgr_tariffs.money.gross_cents_expr`), as a line of an invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from mgr_tariffs.billing import BillOptions, bill_tables
from mgr_tariffs.budgets.models import Subsidy
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.models import Membership
from mgr_tariffs.catalogue.pricing import PriceError, price_on
from mgr_tariffs.identity import provider_key, provider_key_expr
from mgr_tariffs.io.tables import Table
from mgr_tariffs.money import gross_cents_expr, to_cents
from mgr_tariffs.problems import Problem, error

GROUP_COLUMNS = ["month", "municipality_id", "rate_cents"]


@dataclass(frozen=True)
class Realised:
    """The counted work: one row per month, municipality and rate, with hours (ticks) and value (cents)."""

    groups: pl.DataFrame
    rows_counted: int
    rows_outside: int
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return int(self.groups.get_column("value_cents").sum()) if len(self.groups) else 0

    @property
    def total_ticks(self) -> int:
        return int(self.groups.get_column("ticks").sum()) if len(self.groups) else 0


def subsidy_lookup(subsidy: Subsidy, lookup: Lookup) -> Lookup:
    """The catalogue with the key's municipalities members during the subsidy period (see the module's text)."""
    codes = {m.code for s in subsidy.key.shares if (m := lookup.municipality(s.municipality)) is not None}
    extra = Membership(start=subsidy.period.start, until=subsidy.period.until,
                       assumption="subsidised work: membership of the MGR is not a condition")
    municipalities = tuple(
        m.model_copy(update={"memberships": (*m.memberships, extra)}) if m.code in codes else m
        for m in lookup.catalogue.municipalities)
    return Lookup(lookup.catalogue.model_copy(update={"municipalities": municipalities}))


def empty_groups() -> pl.DataFrame:
    return pl.DataFrame(schema={"month": pl.String, "municipality_id": pl.Int64, "rate_cents": pl.Int64,
                                "ticks": pl.Int64, "rows": pl.UInt32, "value_cents": pl.Int64})


def realised_work(subsidy: Subsidy, tables: Sequence[Table], lookup: Lookup, today: dt.date | None = None) -> Realised:
    """The subsidy's realised work in hour logs already read; rejected rows come back as errors."""
    if not tables:
        return Realised(empty_groups(), 0, 0)
    billed = bill_tables(tables, subsidy_lookup(subsidy, lookup), BillOptions(today=today), lambda _: None)
    rows = billed.rows
    if rows.is_empty():
        return Realised(empty_groups(), 0, 0, billed.errors, billed.warnings)
    keys = [provider_key(n) for n in (subsidy.recipient.name, *subsidy.recipient.aliases)]
    members = [int(m.code) for s in subsidy.key.shares if (m := lookup.municipality(s.municipality)) is not None]
    wanted = (provider_key_expr(pl.col("provider")).is_in(keys) & pl.col("municipality_id").is_in(members)
              & pl.col("date").is_between(subsidy.period.start, subsidy.period.until))
    if subsidy.valuation.products:
        wanted = wanted & pl.col("product").is_in(list(subsidy.valuation.products))
    counted = rows.filter(wanted)
    rated, problems = _rates(subsidy, counted, lookup)
    groups = rated.with_columns(month=pl.col("date").dt.strftime("%Y-%m")).group_by(
        GROUP_COLUMNS, maintain_order=True).agg(ticks=pl.col("ticks").sum(), rows=pl.len())
    groups = groups.with_columns(pl.col("municipality_id").cast(pl.Int64), pl.col("rate_cents").cast(pl.Int64),
                                 value_cents=gross_cents_expr(pl.col("ticks"), pl.col("rate_cents")))
    return Realised(groups.sort(GROUP_COLUMNS), len(counted), len(rows) - len(counted),
                    billed.errors + problems, billed.warnings)


def _rates(subsidy: Subsidy, rows: pl.DataFrame, lookup: Lookup) -> tuple[pl.DataFrame, list[Problem]]:
    """Each row's hourly rate in cents: the price in force on its date, asked once per product and date."""
    valuation = subsidy.valuation
    if valuation.hourly_rate is not None:
        return rows.with_columns(rate_cents=pl.lit(to_cents(valuation.hourly_rate), pl.Int64)), []
    product = pl.lit(valuation.product) if valuation.product else pl.col("product")
    keyed = rows.with_columns(rate_product=product)
    rates: dict[tuple[str, dt.date], int | None] = {}
    reasons: dict[tuple[str, dt.date], str] = {}
    for code, day in keyed.select("rate_product", "date").unique().iter_rows():
        try:
            rates[(code, day)] = to_cents(price_on(lookup, code, day).amount)
        except PriceError as exc:
            rates[(code, day)] = None
            reasons[(code, day)] = str(exc)
    table = pl.DataFrame({"rate_product": [k[0] for k in rates], "date": [k[1] for k in rates],
                          "rate_cents": list(rates.values())},
                         schema={"rate_product": pl.String, "date": pl.Date, "rate_cents": pl.Int64})
    joined = keyed.join(table, on=["rate_product", "date"], how="left", maintain_order="left")
    bad = joined.filter(pl.col("rate_cents").is_null())
    problems = [error(f, line, f"valuation: {reasons[(code, day)]}")
                for f, line, code, day in bad.select("_file", "_line", "rate_product", "date").iter_rows()]
    return joined.filter(pl.col("rate_cents").is_not_null()), problems
