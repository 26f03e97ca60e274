"""Allocations applied to a billing run: ``mgr bill --allocations`` and ``--cap-to-allocation``.

:func:`apply_allocations` takes a :class:`~mgr_tariffs.billing.engine.BillingResult` and returns one in which

* every row no allocation covers is rejected (an error at its log line, and a row of ``rejected``);
* over-allocation is never billed silently: strict (the default) adds one error per allocation and month over its
  allowed volume, naming allowed, billed and the money at stake; with ``cap`` the rows of such a month are billed
  earliest first as long as they fit in what may be billed, and the others are left out (whole rows: a row cut in
  part would get another fingerprint in the ledger and be billed again by a run without allocations), each
  allocation and month reported as a warning with the money not billed;
* each invoice line carries the number(s) of the allocation(s) of its rows (column ``allocation``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from mgr_tariffs.allocations.frame import assign_frame
from mgr_tariffs.allocations.model import Register
from mgr_tariffs.allocations.report import AllocationUse, Evaluation, Settings, evaluate, uses_of
from mgr_tariffs.allocations.usage import empty_rows
from mgr_tariffs.billing.engine import BillingResult, price_lines
from mgr_tariffs.money import format_euro, from_cents, gross_cents, net_cents
from mgr_tariffs.problems import Problem, warning

LINE_KEY = ["provider", "municipality_id", "period_id", "bsn_id", "product", "price_cents", "unit"]


@dataclass(frozen=True)
class Applied:
    """The billing result with the allocations applied, and the evaluation behind it."""

    result: BillingResult
    evaluation: Evaluation


def apply_allocations(result: BillingResult, register: Register, *, cap: bool = False,
                      earlier: pl.DataFrame | None = None, already_billed: pl.DataFrame | None = None,
                      settings: Settings | None = None) -> Applied:
    """Hold a billing run to the register (see the module's text). ``earlier``: rows issued before (a ledger's
    live rows); ``already_billed``: the run's rows among them (``_file, _line``), counted only as ``earlier`` and
    left as they are (issuing skips them)."""
    if result.rows.is_empty():
        return Applied(result, evaluate(register, empty_rows(), earlier, settings))
    rows, billed_before = result.rows, None
    if already_billed is not None and not already_billed.is_empty():
        billed_before = rows.join(already_billed, on=["_file", "_line"], how="semi", maintain_order="left")
        rows = rows.join(already_billed, on=["_file", "_line"], how="anti", maintain_order="left")
    evaluation = evaluate(register, rows, earlier, settings)
    assigned = evaluation.rows
    uncovered = assigned.get_column("number").is_null()
    kept = assigned.filter(~uncovered) if uncovered.any() else assigned
    errors = [*result.errors, *evaluation.uncovered]
    warnings = [*result.warnings, *evaluation.warnings]
    if cap:
        kept, notes = _capped(kept, evaluation)
        warnings += notes
    else:
        errors += evaluation.over
    rows = kept.drop("number", "ended", "_allocation")
    if billed_before is not None:
        rows = pl.concat([rows, billed_before], how="vertical_relaxed")
    changed = rows.height != result.rows.height
    lines = price_lines(rows, result.lookup) if changed and not rows.is_empty() else result.lines
    if rows.is_empty():
        lines = pl.DataFrame()
    if not lines.is_empty():
        lines = with_allocation_numbers(lines, kept, evaluation.table)
    outside = assigned.filter(uncovered) if uncovered.any() else assigned.clear()
    rejected = _rejected(result.rejected, outside, evaluation)
    applied = dataclasses.replace(result, lines=lines, rows=rows, rejected=rejected, errors=errors,
                                  warnings=warnings)
    return Applied(applied, evaluation)


def with_allocation_numbers(lines: pl.DataFrame, rows: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    """The lines with ``allocation``: the number of the allocation of the line's rows (``A1, A2`` for a line whose
    rows two allocations cover, when one ends and the next begins within a month).

    An allocation covers a span of days and the allocations of one key do not overlap, so a line is covered as a
    whole by the allocation of its first day when that one does not end before the line's last day; only for the
    other lines is the last day looked up, and the lines whose last day another allocation covers row by row."""
    keys = lines.select("provider", "municipality_id", "bsn_id", "product")
    first = assign_frame(register, keys.with_columns(date=lines.get_column("first_day")))
    ends = register.get_column("end")
    index = first.get_column("_allocation")
    ends_before = lines.select(_row=pl.int_range(pl.len(), dtype=pl.UInt32), _end=ends.gather(index) if
                               index.null_count() < len(index) else pl.lit(None, pl.Date)).filter(
        pl.col("_end") < lines.get_column("last_day"))
    numbered = lines.with_columns(allocation=first.get_column("number"))
    if ends_before.is_empty():
        return numbered
    rows_ending = ends_before.get_column("_row")
    last = assign_frame(register, keys[rows_ending].with_columns(date=lines.get_column("last_day").gather(
        rows_ending))).get_column("number")
    numbered = numbered.with_columns(_last=first.get_column("number").clone().scatter(rows_ending, last))
    split = numbered.filter(pl.col("allocation") != pl.col("_last"))
    if split.is_empty():
        return numbered.drop("_last")
    period = pl.col("date").dt.year().cast(pl.Int64) * 100 + pl.col("date").dt.month().cast(pl.Int64)
    wanted = split.select(LINE_KEY).with_columns(pl.col("municipality_id").cast(pl.Int64))
    joined = rows.select(*[c for c in LINE_KEY if c != "period_id"], period.alias("period_id"), "number").with_columns(
        pl.col("municipality_id").cast(pl.Int64)).join(wanted, on=LINE_KEY, how="semi")
    both = joined.unique().group_by(LINE_KEY).agg(_numbers=pl.col("number").sort().str.join(", "))
    numbered = numbered.with_columns(pl.col("municipality_id").cast(pl.Int64).alias("_municipality")).join(
        both.rename({"municipality_id": "_municipality"}),
        on=[c if c != "municipality_id" else "_municipality" for c in LINE_KEY], how="left", maintain_order="left")
    return numbered.with_columns(allocation=pl.coalesce("_numbers", "allocation")).drop(
        "_last", "_numbers", "_municipality")


def _rejected(rejected: pl.DataFrame, uncovered: pl.DataFrame, evaluation: Evaluation) -> pl.DataFrame:
    if uncovered.is_empty():
        return rejected
    reasons = {(p.file, p.line): p.message for p in evaluation.uncovered}
    extra = uncovered.select("_file", "_line").with_columns(reden=pl.Series(
        [reasons.get((f, ln), "no allocation") for f, ln in uncovered.select("_file", "_line").iter_rows()],
        dtype=pl.String))
    return pl.concat([rejected, extra], how="diagonal_relaxed") if rejected.width else extra


def _capped(rows: pl.DataFrame, evaluation: Evaluation) -> tuple[pl.DataFrame, list[Problem]]:
    """Leave out the rows of each month over its allocation that do not fit, earliest rows first."""
    months = evaluation.months.filter(pl.col("current") > pl.col("billable"))
    if months.is_empty():
        return rows, []
    over = {(n, p): b for n, p, b in months.select("number", "period_id", "billable").iter_rows()}
    numbers = set(months.get_column("number").to_list())
    uses = {u.allocation.number: u for u in uses_of(
        evaluation.register.numbered(numbers),
        evaluation.months.filter(pl.col("number").is_in(list(numbers))))}
    period = pl.col("date").dt.year().cast(pl.Int64) * 100 + pl.col("date").dt.month().cast(pl.Int64)
    indexed = rows.with_columns(_period=period, _row=pl.int_range(pl.len(), dtype=pl.UInt32))
    keys = pl.DataFrame([(n, p) for n, p in over], schema={"number": pl.String, "_period": pl.Int64}, orient="row")
    affected = indexed.join(keys, on=["number", "_period"], how="semi").sort("number", "_period", "date", "_file",
                                                                             "_line")
    dropped: list[int] = []
    notes: list[Problem] = []
    for (number, month), part in affected.group_by(["number", "_period"], maintain_order=True):
        use = uses[str(number)]
        records = part.select("_row", "ticks", "revenue_cents", "price_cents", "unit").rows()
        keep = _fitting(records, over[(str(number), int(month))], use.allocation.in_money)
        cut = records[keep:]
        dropped += [r[0] for r in cut]
        notes.append(_note(use, int(month), cut, records))
    kept = indexed.filter(~pl.col("_row").is_in(dropped)).drop("_period", "_row")
    return kept, notes


Record = tuple[int, int, int | None, int, str]


def _measure(records: Sequence[Record], money: bool) -> int:
    if not money:
        return sum(r[1] for r in records)
    segments: dict[tuple[int, str], list[int]] = {}
    for _, ticks, revenue, price, unit in records:
        part = segments.setdefault((price, unit), [0, 0])
        part[0] += ticks
        part[1] += revenue or 0
    total = 0
    for (price, _), (ticks, revenue) in segments.items():
        gross = gross_cents(ticks, price)
        total += gross - net_cents(gross, revenue, True)[0]
    return total


def _fitting(records: Sequence[Record], billable: int, money: bool) -> int:
    """How many of the first rows may be billed: the longest run of them whose use stays within ``billable``
    (one pass: the use of each longer run from the sums per price and unit so far)."""
    segments: dict[tuple[int, str], list[int]] = {}
    fits, ticks_so_far = 0, 0
    for n, (_, ticks, revenue, price, unit) in enumerate(records, start=1):
        part = segments.setdefault((price, unit), [0, 0])
        part[0] += ticks
        part[1] += revenue or 0
        ticks_so_far += ticks
        used = ticks_so_far if not money else sum(
            gross - net_cents(gross, rev, True)[0]
            for gross, rev in ((gross_cents(t, p), r) for (p, _), (t, r) in segments.items()))
        if used <= billable:
            fits = n
    return fits


def _note(use: AllocationUse, month: int, cut: Sequence[Record], records: Sequence[Record]) -> Problem:
    a = use.allocation
    kept = records[: len(records) - len(cut)]
    money = _amount(records) - _amount(kept)
    measure = _measure(records, a.in_money) - _measure(kept, a.in_money)
    period = f"{month // 100:04d}-{month % 100:02d}"
    return warning(a.file, a.line, (
        f"allocation {a.number} ({a.size_text}), {period}: {len(cut)} row(s) not billed "
        f"({use.text(measure)}, {format_euro(from_cents(money))}): over the allocation "
        f"(--cap-to-allocation)"))


def _amount(records: Sequence[Record]) -> int:
    return _measure(records, True)
