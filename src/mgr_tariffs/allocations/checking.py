"""Allocations applied to invoice lines: ``mgr check --allocations``.

An invoice line (``checking.engine``: one client, product and month, ``start``–``end`` the days it covers) is held
to the register as a municipality holds a declared line: it must lie within one allocation of its client,
provider, municipality and product (TR307: its first day on or after the allocation's start; TR308: its last day
on or before the allocation's end), and the lines of one allocation must stay within its allowed volume per month
and in total (TR321, TR322, TR369), by the same rules and the same bulk code as ``mgr bill --allocations``
(:func:`.report.evaluate`, each line a billed row dated on its first day).

:func:`line_findings` returns plain :class:`Finding` values; the checking engine turns them into its
discrepancies (kind ``allocation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from mgr_tariffs.allocations.model import Register
from mgr_tariffs.allocations.report import Evaluation, Settings, evaluate, uses_of
from mgr_tariffs.bsn import Mask, mask
from mgr_tariffs.money import format_euro, from_cents, gross_cents


@dataclass(frozen=True)
class Finding:
    """One invoice line outside or over its allocation: where, what, and the money (cents) billed and payable."""

    file: str
    line: int | None
    invoice: str
    message: str
    billed_cents: int
    expected_cents: int


def line_findings(lines: pl.DataFrame, register: Register, shown: Mask = mask) -> list[Finding]:
    """The findings of checked invoice lines (columns ``_file, _line, invoice, provider, municipality_id, bsn_key,
    product, start, end, ticks, unit, price_cents, revenue_cents, amount_cents``; lines that cannot be paid at all
    — ``blocked`` — are left out: they are findings already)."""
    payable = lines.filter(~pl.col("blocked")) if "blocked" in lines.columns else lines
    payable = payable.filter(pl.col("bsn_key").str.contains(r"^\d{9}$") & pl.col("municipality_id").is_not_null())
    if payable.is_empty():
        return []
    rows = payable.select(
        "_file", "_line", "invoice", "end", "amount_cents", date=pl.col("start"),
        bsn_id=pl.col("bsn_key").cast(pl.Int64), provider="provider",
        municipality_id=pl.col("municipality_id").cast(pl.Int64), product="product", ticks="ticks", unit="unit",
        revenue_cents=pl.col("revenue_cents").fill_null(0), price_cents="price_cents")
    evaluation = evaluate(register, rows, settings=Settings(shown=shown))
    assigned = evaluation.rows
    ends = dict(zip(evaluation.table.get_column("number").to_list(), evaluation.table.get_column("end").to_list(),
                    strict=True))
    found = [_outside(row, ends, shown) for row in assigned.filter(
        pl.col("number").is_null() | (pl.col("end") > pl.col("number").replace_strict(
            ends, default=None, return_dtype=pl.Date))).iter_rows(named=True)]
    return found + _over(evaluation, assigned, shown)


def _outside(row: dict[str, Any], ends: dict[str, Any], shown: Mask) -> Finding:
    client = shown(f"{row['bsn_id']:09d}")
    days = f"{row['date']} – {row['end']}"
    if row["number"] is not None:
        message = (f"allocation: client {client}, {row['product']}, {days}: allocation {row['number']} ends on "
                   f"{ends[str(row['number'])]}, before the line's last day (TR308)")
    elif row["ended"] is not None:
        message = (f"allocation: client {client}, {row['product']}, {days}: no allocation; allocation "
                   f"{row['ended']} ended on {ends[str(row['ended'])]} (TR308)")
    else:
        message = f"allocation: client {client}, {row['product']}, {days}: no allocation covers the line (TR307)"
    return Finding(row["_file"], row["_line"], row["invoice"], message, row["amount_cents"], 0)


def _over(evaluation: Evaluation, assigned: pl.DataFrame, shown: Mask) -> list[Finding]:
    months = evaluation.months.filter(pl.col("current") > pl.col("billable"))
    if months.is_empty():
        return []
    numbers = set(months.get_column("number").to_list())
    uses = {u.allocation.number: u for u in uses_of(
        evaluation.register.numbered(numbers),
        evaluation.months.filter(pl.col("number").is_in(list(numbers))))}
    period = pl.col("date").dt.year().cast(pl.Int64) * 100 + pl.col("date").dt.month().cast(pl.Int64)
    last_lines = assigned.filter(pl.col("number").is_in(list(numbers))).with_columns(period_id=period).sort(
        "date", "_file", "_line").group_by("number", "period_id").agg(
        pl.col("_file").last(), pl.col("_line").last(), pl.col("invoice").last(), billed=pl.col("amount_cents").sum())
    places = {(r["number"], r["period_id"]): r for r in last_lines.iter_rows(named=True)}
    found = []
    for number, period_id in months.select("number", "period_id").iter_rows():
        use = uses[number]
        month = next(m for m in use.months if m.period_id == period_id)
        place = places[(number, period_id)]
        at_stake = month.over if use.allocation.in_money else gross_cents(month.over, month.price_cents)
        a = use.allocation
        message = (f"allocation {a.number} ({a.size_text}), {month.period}: billed {use.text(month.current)}, "
                   f"{use.text(month.billable)} allowed (TR321/TR322): {use.text(month.over)} over, "
                   f"{format_euro(from_cents(at_stake))} at stake (client {shown(f'{a.bsn_id:09d}')}, {a.product})")
        found.append(Finding(place["_file"], place["_line"], place["invoice"], message, place["billed"],
                             place["billed"] - at_stake))
    return found
