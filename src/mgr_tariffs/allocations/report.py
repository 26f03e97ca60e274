"""Allowed / used / remaining per allocation and month, the findings over billed rows, and the warnings.

:func:`evaluate` runs the bulk rules (:mod:`.frame`) on the billed rows of a run and, optionally, the rows
issued before (a ledger), and walks each allocation's months in order:

* the rows no allocation covers are errors at their log line (``no allocation on 2025-10-03``; TR307/TR308);
* a month's line over its allowed volume (TR321), or use over the whole allocation (TR322, TR369 for a budget),
  is an error at the allocation's register line naming allowed, billed and the money at stake. What may be billed
  of a month is ``min(this run's use, the month's allowed minus earlier use, what is left of the total)``, the
  total being spent month by month; the rest is *over* (``--cap-to-allocation`` bills the allowed part);
* warnings: an allocation at or above ``threshold`` percent of its total, one ending within ``ending_days`` of
  the reference day (``--on``, else the last service date), hours logged after an allocation ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache

import polars as pl

from mgr_tariffs.allocations import rules
from mgr_tariffs.allocations.frame import (
    allowed_in_month,
    allowed_total_expr,
    billable,
    month_use_by_index,
)
from mgr_tariffs.allocations.model import Allocation, Register, Unit
from mgr_tariffs.bsn import Mask, mask
from mgr_tariffs.money import format_euro, format_quantity, from_cents, gross_cents, json_decimal
from mgr_tariffs.problems import Problem, error, warning
from mgr_tariffs.quantity import TICKS_PER_HOUR, TICKS_PER_MINUTE

DEFAULT_THRESHOLD = 80
DEFAULT_ENDING_DAYS = 30


@dataclass(frozen=True)
class Settings:
    """When to warn: at ``threshold`` percent of the total, and ``ending_days`` before an allocation's end."""

    threshold: int = DEFAULT_THRESHOLD
    ending_days: int = DEFAULT_ENDING_DAYS
    on: dt.date | None = None
    shown: Mask = mask


@dataclass(frozen=True)
class Month:
    """One month of an allocation: allowed (``None``: no per-month limit), earlier, this run, billable, over."""

    period_id: int
    allowed: int | None
    earlier: int
    current: int
    billable: int
    price_cents: int

    @property
    def used(self) -> int:
        return self.earlier + self.current

    @property
    def over(self) -> int:
        return self.current - self.billable

    @property
    def period(self) -> str:
        return f"{self.period_id // 100:04d}-{self.period_id % 100:02d}"


@dataclass(frozen=True)
class AllocationUse:
    """One allocation with its months and totals, in its measure (ticks or cents)."""

    allocation: Allocation
    months: tuple[Month, ...]
    allowed: int | None

    @property
    def earlier(self) -> int:
        return sum(m.earlier for m in self.months)

    @property
    def current(self) -> int:
        return sum(m.current for m in self.months)

    @property
    def used(self) -> int:
        return self.earlier + self.current

    @property
    def over(self) -> int:
        return sum(m.over for m in self.months)

    @property
    def remaining(self) -> int | None:
        return None if self.allowed is None else self.allowed - self.used

    @property
    def percent(self) -> int | None:
        """Whole percent of the total used (rounded down), ``None`` without a total."""
        return None if not self.allowed else self.used * 100 // self.allowed

    def status(self, settings: Settings, reference: dt.date) -> str:
        if self.over:
            return "exceeded"
        if self.allowed is not None and self.used * 100 >= settings.threshold * self.allowed:
            return "nearly used"
        if self.allocation.end is not None and self.allocation.end < reference:
            return "expired"
        return "ok"

    @cached_property  # asked for every number of the report
    def display_unit(self) -> str:
        """``euro``, or ``uur`` when every number is a whole number of thousandths of an hour, else ``minuut``."""
        if self.allocation.in_money:
            return "euro"
        numbers = [self.allowed or 0, *(v for m in self.months for v in (m.allowed or 0, m.earlier, m.current))]
        exact = all(n % 3 == 0 for n in numbers) and self.allocation.unit is not Unit.MINUTE
        return "uur" if exact else "minuut"

    def amount(self, measure: int) -> Decimal:
        """A measure in :attr:`display_unit`, exact."""
        per = {"euro": 100, "uur": TICKS_PER_HOUR, "minuut": TICKS_PER_MINUTE}[self.display_unit]
        return Decimal(measure) / per

    def text(self, measure: int | None) -> str:
        """A measure for people: ``€ 1.200,00``, ``12 uur``, ``7,5 minuut``; ``—`` for no limit."""
        if measure is None:
            return "—"
        return _measure_text(measure, self.display_unit)

    def data(self, measure: int | None) -> str | None:
        """A measure in data outputs: a plain string (``"12"``, ``"48.60"``); ``None`` for no limit."""
        if measure is None:
            return None
        if self.allocation.in_money:
            return f"{from_cents(measure):.2f}"
        return json_decimal(self.amount(measure))

    def at_stake(self, month: Month) -> int:
        """The money (cents) of a month's over part: euros as they are, time at the month's (highest) price."""
        return month.over if self.allocation.in_money else gross_cents(month.over, month.price_cents)


@lru_cache(maxsize=65536)  # a report of 100,000 allocations words the same few hundred measures again and again
def _measure_text(measure: int, unit: str) -> str:
    """:meth:`AllocationUse.text` of a measure in ``unit`` (``euro``: cents; else ticks)."""
    if unit == "euro":
        return format_euro(from_cents(measure))
    per = TICKS_PER_HOUR if unit == "uur" else TICKS_PER_MINUTE
    return f"{format_quantity(Decimal(measure) / per)} {unit}"


@dataclass(frozen=True)
class Evaluation:
    """Everything :func:`evaluate` found."""

    register: Register
    table: pl.DataFrame
    """The register as columns (:attr:`~mgr_tariffs.allocations.model.Register.table`)."""
    months: pl.DataFrame
    """Per allocation and month (sorted): ``number, period_id, allowed, earlier, current, billable, price_cents,
    total`` in the allocation's measure."""
    uncovered: list[Problem]
    """Errors at the log rows no allocation covers."""
    over: list[Problem]
    """Errors at the allocations (register lines) a month's line or the total goes over."""
    warnings: list[Problem]
    rows: pl.DataFrame
    """The rows with ``number`` (the covering allocation, or null) and ``ended``."""
    reference: dt.date
    at_stake_cents: int = 0
    """The money of everything over (the sum of the over errors' money at stake)."""

    @property
    def errors(self) -> list[Problem]:
        return [*self.uncovered, *self.over]

    @property
    def ok(self) -> bool:
        return not self.errors

    @cached_property
    def uses(self) -> tuple[AllocationUse, ...]:
        """Every allocation with its months, in register order."""
        return tuple(uses_of(self.register.allocations, self.months))


def uses_of(allocations: Sequence[Allocation], months: pl.DataFrame) -> list[AllocationUse]:
    """The :class:`AllocationUse` of each allocation from the rows of ``months`` (an allocation without rows has
    no months)."""
    grouped: dict[str, list[Month]] = {}
    for r in months.select("number", "period_id", "allowed", "earlier", "current", "billable",
                           "price_cents").iter_rows():
        grouped.setdefault(r[0], []).append(Month(*r[1:]))
    return [AllocationUse(a, tuple(grouped.get(a.number, ())), rules.allowed_total(a)) for a in allocations]


def evaluate(register: Register, rows: pl.DataFrame, earlier: pl.DataFrame | None = None,
             settings: Settings | None = None, *, all_months: bool = False) -> Evaluation:
    """The allocations' use by ``rows`` (billed rows: ``_file, _line, date, bsn_id, provider, municipality_id,
    product, ticks, unit, revenue_cents, price_cents``) and ``earlier`` (rows issued before).

    ``months`` has the months with use; with ``all_months`` also every other month of each allocation (up to its
    end, an open one up to the reference month), as ``mgr allocations`` shows them. A month without use spends
    nothing, so what may be billed is the same either way."""
    settings = settings or Settings()
    frame = register.table
    assigned, use = month_use_by_index(frame, rows, earlier)
    last_day = rows.get_column("date").max() if not rows.is_empty() else None
    reference = settings.on or (last_day if isinstance(last_day, dt.date) else dt.date.today())
    months = _periods(frame, use, reference, all_months)
    months = months.with_columns(billable=billable(months, "index"))
    months = months.select("number", "period_id", "allowed", "earlier", "current", "billable", "price_cents",
                           "total", "index")
    over = months.filter(pl.col("current") > pl.col("billable")).get_column("index").unique().to_list()
    totals = months.group_by("index").agg(
        used=(pl.col("earlier") + pl.col("current")).sum(), over=(pl.col("current") - pl.col("billable")).sum(),
        total=pl.col("total").first())
    near = totals.filter((pl.col("over") == 0) & (pl.col("total") > 0)
                         & (pl.col("used") * 100 >= settings.threshold * pl.col("total"))).get_column("index")
    ending = frame.filter(pl.col("end").is_not_null() & (pl.col("end") >= reference)
                          & (pl.col("end") <= reference + dt.timedelta(days=settings.ending_days)))
    named = set(over) | set(near.to_list())
    noted = uses_of(register.at(named), months.filter(pl.col("index").is_in(list(named))))
    near_numbers = set(frame.get_column("number").gather(near).to_list())
    warnings = _warnings([u for u in noted if u.allocation.number in near_numbers], ending, assigned, register,
                         reference)
    over_uses = [u for u in noted if u.allocation.number not in near_numbers]
    stake = sum(use.at_stake(m) for use in over_uses for m in use.months if m.over)
    return Evaluation(register, frame, months, _uncovered(assigned, frame, settings), _over(over_uses, settings),
                      warnings, assigned, reference, stake)


def _periods(frame: pl.DataFrame, use: pl.DataFrame, reference: dt.date, all_months: bool) -> pl.DataFrame:
    """The months with use and, with ``all_months``, every month of each allocation up to its end (an open one: up
    to the reference month), with the use and the allowed volumes, sorted on allocation and month."""
    if not all_months:
        return _allowed(frame, use)
    until = pl.when(pl.col("end").is_null()).then(pl.lit(reference)).otherwise(pl.col("end"))
    spans = frame.select("index", first=pl.col("start").dt.month_start(),
                         last=pl.max_horizontal(until, pl.col("start")).dt.month_start())
    months = spans.select("index", month=pl.date_ranges("first", "last", interval="1mo")).explode("month")
    months = months.select("index", period_id=pl.col("month").dt.year().cast(pl.Int64) * 100
                           + pl.col("month").dt.month().cast(pl.Int64))
    keys = pl.concat([months, use.select("index", "period_id")]).unique()
    table = keys.join(use, on=["index", "period_id"], how="left").sort("index", "period_id")
    return _allowed(frame, table.with_columns(pl.col(c).fill_null(0) for c in ("earlier", "current", "price_cents")))


def _allowed(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """The months with the allocation's fields, the allowed volume of each month and the allocation's total
    (computed once per allocation)."""
    index = table.get_column("index")
    totals = frame.select(allowed_total_expr()).to_series()
    table = table.with_columns(*(frame.get_column(c).gather(index) for c in (
        "number", "start", "end", "amount", "frequency")), total=totals.gather(index))
    return table.with_columns(allowed=allowed_in_month(table))


def _uncovered(assigned: pl.DataFrame, frame: pl.DataFrame, settings: Settings) -> list[Problem]:
    outside = assigned.filter(pl.col("number").is_null())
    if outside.is_empty():
        return []
    ended = outside.get_column("ended").drop_nulls().unique().to_list()
    ends = dict(frame.filter(pl.col("number").is_in(ended)).select("number", "end").iter_rows())
    problems = []
    for row in outside.select("_file", "_line", "date", "bsn_id", "product", "ended").iter_rows(named=True):
        client = settings.shown(f"{row['bsn_id']:09d}")
        message = f"no allocation on {row['date'].isoformat()} for client {client}, product {row['product']}"
        if row["ended"] is not None:
            end = ends[row["ended"]]
            message += f": allocation {row['ended']} ended on {end.isoformat() if end else '?'}"
        problems.append(error(row["_file"], row["_line"], message))
    return problems


def _over(uses: list[AllocationUse], settings: Settings) -> list[Problem]:
    problems = []
    for use in uses:
        a = use.allocation
        for month in use.months:
            if not month.over:
                continue
            within_month = month.allowed is None or month.current <= month.allowed - month.earlier
            limit = (f"the total {use.text(use.allowed)} of the allocation" if within_month
                     else f"{use.text(month.allowed)} allowed in {month.period}")
            earlier = f" (after {use.text(month.earlier)} issued before)" if month.earlier else ""
            problems.append(error(a.file, a.line, (
                f"allocation {a.number} ({a.size_text}), {month.period}: billed {use.text(month.current)}{earlier}, "
                f"over {limit}: {use.text(month.over)} over, {format_euro(from_cents(use.at_stake(month)))} at "
                f"stake (client {settings.shown(f'{a.bsn_id:09d}')}, {a.product})")))
    return problems


def _warnings(near: list[AllocationUse], ending: pl.DataFrame, assigned: pl.DataFrame, register: Register,
              reference: dt.date) -> list[Problem]:
    """The warnings: ``near`` at the threshold, the register rows ``ending`` soon, and hours after an end."""
    problems = []
    for use in near:
        a = use.allocation
        problems.append(warning(a.file, a.line, (
            f"allocation {a.number} ({a.size_text}) is {use.percent} % used: {use.text(use.used)} of "
            f"{use.text(use.allowed)}, {use.text(use.remaining)} left")))
    days = (pl.col("end") - pl.lit(reference)).dt.total_days()
    texts = ending.select("file", "line", message=pl.format("allocation {} ends on {}, {} days after {}", "number",
                                                            pl.col("end").cast(pl.String), days,
                                                            pl.lit(reference.isoformat())))
    problems += [warning(file, line, message) for file, line, message in texts.iter_rows()]
    after = assigned.filter(pl.col("ended").is_not_null()).group_by("ended").agg(
        rows=pl.len(), first=pl.col("date").min(), last=pl.col("date").max()).sort("ended")
    if after.is_empty():
        return problems
    by_number = {a.number: a for a in register.numbered(after.get_column("ended").to_list())}
    for row in after.iter_rows(named=True):
        a = by_number[row["ended"]]
        problems.append(warning(a.file, a.line, (
            f"hours logged after allocation {a.number} ended on {a.end.isoformat() if a.end else '?'}: "
            f"{row['rows']} rows from {row['first'].isoformat()} to {row['last'].isoformat()}")))
    return problems
