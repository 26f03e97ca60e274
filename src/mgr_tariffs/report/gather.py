"""Gather what the report shows: billed lines (from hour logs or a ``mgr bill --json`` result) to a frozen
:class:`~mgr_tariffs.report.model.Report`.

Both sources become one frame of invoice lines (provider, municipality, period, product, first day, rows and
amount in cents); every total is a sum of those integer cents, so the report's totals are the invoices' totals
to the cent. Pure functions: nothing is written and nothing is formatted.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from mgr_tariffs import bsn as bsn_
from mgr_tariffs.billing.engine import BillingResult
from mgr_tariffs.billing.whatif import WhatIf as WhatIfResult
from mgr_tariffs.budgets.status import SubsidyStatus
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.money import to_cents
from mgr_tariffs.problems import Problem
from mgr_tariffs.report.model import (
    AllocationUse,
    Amount,
    BurnMonth,
    Input,
    LedgerMonth,
    MonthCell,
    PriceChange,
    ProblemKind,
    Report,
    SubsidyBurn,
    WhatIf,
    WhatIfRow,
)

TITLE = "Rapportage zorgkosten MGR Sociaal Domein Limburg-Noord"
LINE_SCHEMA: dict[str, Any] = {
    "provider": pl.String, "municipality": pl.String, "period": pl.String, "product": pl.String,
    "product_name": pl.String, "first_day": pl.Date, "rows": pl.Int64, "amount_cents": pl.Int64}


class BillJsonError(ValueError):
    """A ``mgr bill --json`` result that is not one, worded for the user."""


@dataclass(frozen=True)
class Billed:
    """What the report needs of a billing run, whichever way it came."""

    lines: pl.DataFrame  # LINE_SCHEMA
    rows_read: int
    rows_billed: int
    rows_rejected: int
    invoices: int
    vat_cents: int
    errors: Sequence[Problem]
    warnings: Sequence[Problem]


def billed_from_result(result: BillingResult) -> Billed:
    """A billing run's lines and counts."""
    summary = result.summary
    lines = pl.DataFrame(schema=LINE_SCHEMA) if result.lines.is_empty() else result.lines.select(
        *(pl.col(name).cast(kind) for name, kind in LINE_SCHEMA.items()))
    return Billed(lines, summary.rows_read, summary.rows_billed, summary.rows_rejected, summary.invoices,
                  to_cents(summary.vat), result.errors, result.warnings)


def billed_from_json(data: Any, file: str) -> Billed:
    """The lines and counts of a ``mgr bill --json`` result; raises :class:`BillJsonError` when it is not one."""
    try:
        summary = data["summary"]
        records = [{"provider": inv["provider"], "municipality": inv["municipality"], "period": inv["period"],
                    "product": line["product"], "product_name": line["product_name"],
                    "first_day": dt.date.fromisoformat(line["first_day"]), "rows": int(line["rows"]),
                    "amount_cents": _cents(line["amount"])}
                   for inv in data["invoices"] for line in inv["lines"]]
        errors = [_problem(p, file, "error") for p in data["errors"]]
        warnings = [_problem(p, file, "warning") for p in data["warnings"]]
        return Billed(pl.DataFrame(records, schema=LINE_SCHEMA), int(summary["rows_read"]),
                      int(summary["rows_billed"]), int(summary["rows_rejected"]), int(summary["invoices"]),
                      _cents(summary["vat"]), errors, warnings)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BillJsonError(f"not a result of `mgr bill --json` ({type(exc).__name__}: {exc})") from None


def _cents(text: Any) -> int:
    if not isinstance(text, str):
        raise TypeError(f"money {text!r} is not a string such as \"48.60\"")
    return to_cents(Decimal(text))


def _problem(data: Any, file: str, severity: str) -> Problem:
    return Problem(file=str(data.get("file", file)), line=data.get("line"), message=str(data["message"]),
                   severity=severity)


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extras:
    """The optional sections, gathered by their own libraries."""

    what_if: WhatIfResult | None = None
    new_tariffs: str | None = None
    subsidies: Sequence[SubsidyStatus] = ()
    subsidy_note: str | None = None
    ledger: Sequence[Any] | None = None  # mgr_tariffs.ledger.store.IssuedInvoice headers
    allocations: Sequence[AllocationUse] | None = None


def gather_report(billed: Billed, lookup: Lookup, *, inputs: Sequence[Input], catalogue: str, run_date: dt.date,
                  extras: Extras | None = None) -> Report:
    """The report of one billing run (and its optional sections)."""
    extras = extras or Extras()
    lines = billed.lines
    names = _names(lookup, lines)
    cells = lines.group_by("municipality", "period").agg(cents=pl.col("amount_cents").sum()).sort(
        "period", "municipality")
    return Report(
        title=TITLE, run_date=run_date, catalogue=catalogue, inputs=tuple(inputs), rows_read=billed.rows_read,
        rows_billed=billed.rows_billed, rows_rejected=billed.rows_rejected, invoices=billed.invoices,
        total_cents=int(lines.get_column("amount_cents").sum()), vat_cents=billed.vat_cents,
        months=tuple(sorted(set(cells.get_column("period").to_list()))),
        by_month=tuple(MonthCell(municipality=m, period=p, cents=c) for m, p, c in cells.iter_rows()),
        by_municipality=_amounts(lines, "municipality"), by_provider=_amounts(lines, "provider"),
        by_product=_amounts(lines, "product", "product_name"),
        price_changes=tuple(price_changes(lines, lookup)), rejected=tuple(problem_kinds(billed.errors, names)),
        warnings=tuple(problem_kinds(billed.warnings, names)),
        what_if=what_if_section(extras.what_if, extras.new_tariffs or "") if extras.what_if else None,
        subsidies=tuple(subsidy_section(s) for s in extras.subsidies), subsidy_note=extras.subsidy_note,
        ledger=None if extras.ledger is None else tuple(ledger_section(extras.ledger)),
        allocations=None if extras.allocations is None else allocation_section(extras.allocations))


def _names(lookup: Lookup, lines: pl.DataFrame) -> list[str]:
    """What a problem message may name: municipalities (also without "(L.)"), product codes and billed providers."""
    catalogue = lookup.catalogue
    municipalities = [m.name for m in catalogue.municipalities]
    short = [n.removesuffix(" (L.)") for n in municipalities if n.endswith(" (L.)")]
    return [*municipalities, *short, *(p.code for p in catalogue.products),
            *lines.get_column("provider").unique().to_list()]


def _amounts(lines: pl.DataFrame, key: str, name: str | None = None) -> tuple[Amount, ...]:
    """Totals per ``key``, largest first (ties by name); ``name`` adds a description to the label."""
    keys = [key] if name is None else [key, name]
    grouped = lines.group_by(keys).agg(cents=pl.col("amount_cents").sum(), rows=pl.col("rows").sum()).sort(
        ["cents", key], descending=[True, False])
    return tuple(Amount(label=row[0] if name is None else f"{row[0]} {row[1]}", cents=row[-2], rows=row[-1])
                 for row in grouped.iter_rows())


def price_changes(lines: pl.DataFrame, lookup: Lookup) -> list[PriceChange]:
    """Per price period start of each product (after its first period): the rows and amounts billed in the
    previous period and in the new one. A line is placed by its first day; its rows share one price."""
    periods = [(p.code, i, price.start, to_cents(price.amount))
               for p in lookup.catalogue.products for i, price in enumerate(p.prices)]
    if lines.is_empty() or not periods:
        return []
    starts = pl.DataFrame(periods, schema={"product": pl.String, "index": pl.Int64, "start": pl.Date,
                                           "price": pl.Int64}, orient="row").sort("start")
    placed = lines.select("product", "first_day", "rows", "amount_cents").sort("first_day").join_asof(
        starts, left_on="first_day", right_on="start", by="product", strategy="backward",
        check_sortedness=False)
    used = placed.drop_nulls("index").group_by("product", "index").agg(
        rows=pl.col("rows").sum(), cents=pl.col("amount_cents").sum())
    sums = {(p, i): (r, c) for p, i, r, c in used.iter_rows()}
    names = {p.code: p.name for p in lookup.catalogue.products}
    changes = []
    for product in lookup.catalogue.products:
        for i in range(1, len(product.prices)):
            before, after = sums.get((product.code, i - 1), (0, 0)), sums.get((product.code, i), (0, 0))
            if before[0] or after[0]:
                changes.append(PriceChange(
                    product=product.code, product_name=names[product.code], start=product.prices[i].start,
                    old_price_cents=to_cents(product.prices[i - 1].amount),
                    new_price_cents=to_cents(product.prices[i].amount), rows_before=before[0],
                    cents_before=before[1], rows_after=after[0], cents_after=after[1]))
    return sorted(changes, key=lambda c: (c.start, c.product))


_NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")
_PARTICULARS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "…"),
    (re.compile(r"\*+\d+"), "…"),
    (re.compile(r"\(.*?\)"), ""),
    (re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-Q\d"), "…"),
    (re.compile(r"\d+([.,]\d+)*"), "#"),
    (re.compile(r"\s+"), " "),
]
_PREFIX = re.compile(r"^([a-z][a-z-]*): ")


def mask_text(text: str) -> str:
    """Every nine-digit number in ``text`` masked as a BSN (``*****2333``): a report never shows a full BSN."""
    return _NINE_DIGITS.sub(lambda m: bsn_.mask(m.group(0)), text)


@functools.lru_cache(maxsize=8)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def problem_kind(message: str, names: Sequence[str] = ()) -> str:
    """The kind of a problem: its ``prefix:`` (``norm``), else the message without its particulars (quoted values,
    BSNs, dates, numbers, remarks in brackets and the ``names`` of municipalities, products or providers), up to
    the first ``;``."""
    prefix = _PREFIX.match(message)
    if prefix:
        return prefix.group(1)
    kind = message.split(";", maxsplit=1)[0]
    pattern = _names_pattern(tuple(names))
    if pattern is not None:
        kind = pattern.sub("…", kind)
    for pattern, replacement in _PARTICULARS:
        kind = pattern.sub(replacement, kind)
    return kind.strip(" ,")


def problem_kinds(problems: Iterable[Problem], names: Iterable[str] = ()) -> list[ProblemKind]:
    """Problems counted per kind (:func:`problem_kind`), most frequent first, each with its first occurrence as an
    example."""
    known = tuple(names)
    counts: dict[str, list[Any]] = {}
    for problem in problems:
        entry = counts.setdefault(problem_kind(problem.message, known), [0, problem])
        entry[0] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    return [ProblemKind(kind=mask_text(kind), count=n, example=mask_text(_where(first)))
            for kind, (n, first) in ordered]


def _where(problem: Problem) -> str:
    place = problem.file if problem.line is None else f"{problem.file}:{problem.line}"
    return f"{place}: {problem.message}"


def what_if_section(result: WhatIfResult, new_tariffs: str) -> WhatIf:
    rows = tuple(WhatIfRow(municipality=name, old_cents=t.old_cents, new_cents=t.new_cents)
                 for name, t in result.totals_by("municipality").items())
    total = result.total
    return WhatIf(new_tariffs=new_tariffs, rows=rows, old_total_cents=total.old_cents,
                  new_total_cents=total.new_cents)


def subsidy_section(status: SubsidyStatus) -> SubsidyBurn:
    s = status.subsidy
    return SubsidyBurn(
        id=s.id, title=s.title, grantor=status.grantor, start=s.period.start, until=s.period.until, on=status.on,
        ceiling_cents=status.ceiling_cents, part_cents=status.part_cents, forecast_cents=status.forecast_cents,
        months=tuple(BurnMonth(month=m.month, part_cents=m.part_cents, cumulative_cents=m.cumulative_cents,
                               remaining_cents=m.remaining_cents) for m in status.months),
        outcome=status.settlement.outcome, balance_cents=status.settlement.balance_cents)


def ledger_section(invoices: Iterable[Any]) -> list[LedgerMonth]:
    """Issued invoices and credit notes per billed month (the period on the invoice)."""
    months: dict[str, list[int]] = {}
    for invoice in invoices:
        entry = months.setdefault(invoice.period, [0, 0, 0, 0])
        cents = to_cents(invoice.total)
        if invoice.is_credit_note:
            entry[2] += 1
            entry[3] += cents
        else:
            entry[0] += 1
            entry[1] += cents
    return [LedgerMonth(period=p, invoices=n, issued_cents=i, credit_notes=k, credited_cents=c)
            for p, (n, i, k, c) in sorted(months.items())]


def allocation_section(uses: Iterable[AllocationUse]) -> tuple[AllocationUse, ...]:
    """Allocations fullest first (over their limit, then near it; those without a total limit last), ties by
    allocation number.

    The hook for an allocation register (issue 14): whoever evaluates a register passes one
    :class:`AllocationUse` per allocation (allowed / used in its unit); the report sorts and draws them.
    """
    def fullness(use: AllocationUse) -> tuple[int, Decimal, str]:
        if use.allowed is None:
            return 1, Decimal(0), use.allocation
        share = use.used / use.allowed if use.allowed else Decimal(1 if use.used else 0)
        return 0, -share, use.allocation

    return tuple(sorted(uses, key=fullness))
