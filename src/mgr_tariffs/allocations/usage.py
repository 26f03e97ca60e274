"""``mgr allocations`` as one library call: read the register, bill the hour logs, count the ledger, evaluate.

The hour logs are billed exactly as ``mgr bill`` bills them (:func:`mgr_tariffs.billing.engine.bill`): only the
rows it would bill count, and the rows it rejects are reported as its errors. With a ledger, the rows live
invoices billed count as used before, and the log's rows a live invoice already billed are not counted twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mgr_tariffs.allocations.register import RegisterResult, read_register
from mgr_tariffs.allocations.report import Evaluation, Settings, evaluate
from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.ledger.store import find_billed, live_rows
from mgr_tariffs.problems import Problem
from mgr_tariffs.quantity import QuantityUnit


@dataclass(frozen=True)
class Inputs:
    """What to read: the register files and, optionally, hour logs and a ledger."""

    registers: Sequence[Path]
    hours: Sequence[Path] = ()
    ledger: Path | None = None
    xsd_dir: Path | None = None
    agb_names: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None


@dataclass(frozen=True)
class AllocationsRun:
    """The register read, the problems of the inputs, and the evaluation (``None`` when the register is invalid)."""

    register: RegisterResult
    input_errors: list[Problem]
    input_warnings: list[Problem]
    evaluation: Evaluation | None

    @property
    def errors(self) -> list[Problem]:
        found = [p for p in self.register.problems if p.is_error] + self.input_errors
        return found + (self.evaluation.errors if self.evaluation else [])

    @property
    def warnings(self) -> list[Problem]:
        found = [p for p in self.register.problems if not p.is_error] + self.input_warnings
        return found + (self.evaluation.warnings if self.evaluation else [])


def run_allocations(inputs: Inputs, lookup: Lookup, settings: Settings) -> AllocationsRun:
    """Everything ``mgr allocations`` shows. Raises :class:`~mgr_tariffs.problems.InputError` for a file that
    cannot be read and :class:`~mgr_tariffs.ledger.schema.LedgerError` for a ledger that cannot be used."""
    register = read_register(inputs.registers, lookup, xsd_dir=inputs.xsd_dir, agb_names=inputs.agb_names,
                             sheet=inputs.sheet)
    rows, errors, warnings = _billed_rows(inputs, lookup, settings)
    if register.register is None:
        return AllocationsRun(register, errors, warnings, None)
    earlier = None
    if inputs.ledger is not None:
        earlier = priced_ledger_rows(live_rows(inputs.ledger), lookup)
        if not rows.is_empty():
            billed = find_billed(inputs.ledger, rows).select("_file", "_line")
            rows = rows.join(billed, on=["_file", "_line"], how="anti", maintain_order="left")
    evaluation = evaluate(register.register, rows, earlier, settings, all_months=True)
    return AllocationsRun(register, errors, warnings, evaluation)


def _billed_rows(inputs: Inputs, lookup: Lookup, settings: Settings) -> tuple[pl.DataFrame, list[Problem],
                                                                                 list[Problem]]:
    if not inputs.hours:
        return empty_rows(), [], []
    options = BillOptions(today=settings.on, sheet=inputs.sheet)
    result = bill(list(inputs.hours), lookup, options)
    rows = result.rows if not result.rows.is_empty() else empty_rows()
    return rows, result.errors, result.warnings


ROW_SCHEMA: dict[str, pl.DataType] = {
    "_file": pl.String(), "_line": pl.Int64(), "date": pl.Date(), "bsn_id": pl.Int64(), "provider": pl.String(),
    "municipality_id": pl.Int64(), "product": pl.String(), "ticks": pl.Int64(), "unit": pl.String(),
    "revenue_cents": pl.Int64(), "price_cents": pl.Int64(),
}


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=ROW_SCHEMA)


def priced_ledger_rows(live: pl.DataFrame, lookup: Lookup) -> pl.DataFrame:
    """A ledger's live rows as billed rows: each priced by the tariff in force on its service date (the price it
    was billed at), in hours (a ledger keeps ticks, not the unit the log used)."""
    if live.is_empty():
        return empty_rows()
    pairs = live.select("product", "date").unique()
    prices = pairs.with_columns(price_cents=pl.Series([
        _cents(lookup, product, day) for product, day in pairs.iter_rows()], dtype=pl.Int64))
    priced = live.join(prices, on=["product", "date"], how="left", maintain_order="left")
    return priced.select(
        pl.col("billed_file").alias("_file"), pl.col("billed_line").alias("_line"), "date", "bsn_id", "provider",
        pl.col("municipality_id").cast(pl.Int64), "product", "ticks", pl.lit(QuantityUnit.HOUR.value).alias("unit"),
        "revenue_cents", pl.col("price_cents").fill_null(0))


def _cents(lookup: Lookup, product: str, day: object) -> int:
    quote = lookup.price(product, day) if isinstance(day, dt.date) else None
    return int(quote.amount * 100) if quote else 0
