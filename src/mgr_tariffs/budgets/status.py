"""Where a subsidy stands on a day: advances, realised value, burn-down, forecast and the expected settlement.

Settlement follows the Awb (art. 4:46): the subsidy is settled (vastgesteld) at the realised costs up to the
ceiling; the advances paid are set off against it (art. 4:95) and what was paid too much is reclaimed
(art. 4:57). Before the end of the period the expected settlement uses a straight-line forecast: the grantor's
part realised so far, per day elapsed, times the days of the period.

All money is integer cents; a share of an amount is rounded half-up once (:func:`~mgr_tariffs.money.half_up_div`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from mgr_tariffs.budgets.models import Advance, AdvanceSchedule, Deadline, Subsidy
from mgr_tariffs.budgets.realised import Realised, empty_groups
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.money import from_cents, half_up_div, to_cents


def share_cents(cents: int, percent: Decimal) -> int:
    """``percent`` % of an amount in cents, rounded half-up once to whole cents."""
    scaled = percent.scaleb(4)  # percentages carry at most four decimals: exact as an integer
    return half_up_div(cents * int(scaled), 100 * 10**4)


def advance_schedule(subsidy: Subsidy) -> list[Advance]:
    """The advances: the listed ones, or ``part`` % of the ceiling in equal parts on the first day of each quarter
    (month) of the period, the first on the period's first day; cents that do not divide go to the first parts."""
    advances = subsidy.advances
    if advances.items:
        return list(advances.items)
    days = _schedule_days(subsidy)
    total = share_cents(to_cents(subsidy.ceiling.amount), advances.part)
    base, extra = divmod(total, len(days))
    return [Advance(date=day, amount=from_cents(base + (1 if i < extra else 0))) for i, day in enumerate(days)]


def _schedule_days(subsidy: Subsidy) -> list[dt.date]:
    start, until = subsidy.period.start, subsidy.period.until
    schedule = subsidy.advances.schedule
    if schedule is AdvanceSchedule.ONCE:
        return [start]
    step = 3 if schedule is AdvanceSchedule.QUARTERLY else 1
    days, month = [start], (start.year * 12 + start.month - 1) // step * step + step
    while True:
        day = dt.date(month // 12, month % 12 + 1, 1)
        if day > until:
            return days
        days.append(day)
        month += step


@dataclass(frozen=True)
class MonthRow:
    """One month of the burn-down: realised in total, the grantor's part, cumulative and what is left."""

    month: str
    ticks: int
    total_cents: int
    part_cents: int
    cumulative_cents: int
    remaining_cents: int
    by_municipality: dict[str, int]


@dataclass(frozen=True)
class Settlement:
    """The settlement expected on the day: settled amount, advances set off and the balance."""

    basis: str  # "realised" after the period, "forecast" before its end
    basis_cents: int
    settled_cents: int
    advances_cents: int
    advances_basis: str  # "payments" recorded, once the period has ended; else "schedule"
    balance_cents: int  # > 0: still to pay to the recipient; < 0: to reclaim

    @property
    def outcome(self) -> str:
        if self.balance_cents > 0:
            return "nabetaling"
        return "terugvordering" if self.balance_cents < 0 else "sluitend"


@dataclass(frozen=True)
class SubsidyStatus:
    subsidy: Subsidy
    on: dt.date
    grantor: str
    grantor_percent: Decimal
    ceiling_cents: int
    advances: list[Advance]
    advances_due_cents: int
    paid_cents: int | None
    key_split: list[tuple[str, Decimal, int]]  # municipality, percent, share of the application total (or ceiling)
    key_base_cents: int
    realised: Realised
    months: list[MonthRow]
    realised_total_cents: int
    part_cents: int
    by_key: list[tuple[str, int]]
    by_use: list[tuple[str, int]]
    elapsed_days: int
    forecast_cents: int | None
    settlement: Settlement
    next_deadline: Deadline | None

    @property
    def remaining_cents(self) -> int:
        return self.ceiling_cents - self.part_cents


def subsidy_status(subsidy: Subsidy, lookup: Lookup, on: dt.date, realised: Realised | None = None) -> SubsidyStatus:
    """The status of ``subsidy`` on ``on`` given its realised work (none counted when ``realised`` is None)."""
    realised = realised or Realised(empty_groups(), 0, 0)
    names = {int(m.code): m.name for m in lookup.catalogue.municipalities}
    shares = [(_name(lookup, s.municipality), s.percent) for s in subsidy.key.shares]
    grantor = _name(lookup, subsidy.grantor)
    percent = next((p for n, p in shares if n == grantor), Decimal(0))
    ceiling = to_cents(subsidy.ceiling.amount)
    base = to_cents(subsidy.application.total) if subsidy.application else ceiling
    advances = advance_schedule(subsidy)
    due = sum(to_cents(a.amount) for a in advances if a.date <= on)
    paid = sum(to_cents(p.amount) for p in subsidy.payments if p.date <= on) if subsidy.payments else None
    total = realised.total_cents
    use = _by_municipality(realised.groups, names)
    part = use.get(grantor, 0) if subsidy.valuation.basis == "use" else share_cents(total, percent)
    elapsed = max(0, (min(on, subsidy.period.until) - subsidy.period.start).days + 1)
    forecast = half_up_div(part * subsidy.period.days, elapsed) if elapsed else None
    return SubsidyStatus(
        subsidy=subsidy, on=on, grantor=grantor, grantor_percent=percent, ceiling_cents=ceiling, advances=advances,
        advances_due_cents=due, paid_cents=paid, key_split=[(n, p, share_cents(base, p)) for n, p in shares],
        key_base_cents=base, realised=realised, months=_months(realised.groups, names, subsidy, grantor, percent),
        realised_total_cents=total, part_cents=part, by_key=[(n, share_cents(total, p)) for n, p in shares],
        by_use=[(n, use.get(n, 0)) for n, _ in shares], elapsed_days=elapsed, forecast_cents=forecast,
        settlement=_settlement(subsidy, on, part, forecast, ceiling, advances),
        next_deadline=next((d for d in sorted(subsidy.deadlines, key=lambda d: d.date) if d.date >= on), None))


def _name(lookup: Lookup, text: str) -> str:
    found = lookup.municipality(text)
    return found.name if found else text


def _by_municipality(groups: pl.DataFrame, names: dict[int, str]) -> dict[str, int]:
    if groups.is_empty():
        return {}
    summed = groups.group_by("municipality_id").agg(pl.col("value_cents").sum())
    return {names[m]: int(v) for m, v in summed.iter_rows()}


def _months(groups: pl.DataFrame, names: dict[int, str], subsidy: Subsidy, grantor: str,
            percent: Decimal) -> list[MonthRow]:
    """The burn-down: the grantor's cumulative part is the share of the cumulative total, rounded once."""
    rows: list[MonthRow] = []
    cumulative_total = cumulative_part = 0
    ceiling = to_cents(subsidy.ceiling.amount)
    for month in sorted(set(groups.get_column("month").to_list())) if len(groups) else []:
        of_month = groups.filter(pl.col("month") == month)
        total = int(of_month.get_column("value_cents").sum())
        use = _by_municipality(of_month, names)
        cumulative_total += total
        if subsidy.valuation.basis == "use":
            part = use.get(grantor, 0)
            cumulative = cumulative_part + part
        else:
            cumulative = share_cents(cumulative_total, percent)
            part = cumulative - cumulative_part
        cumulative_part = cumulative
        rows.append(MonthRow(month, int(of_month.get_column("ticks").sum()), total, part, cumulative,
                             ceiling - cumulative, use))
    return rows


def _settlement(subsidy: Subsidy, on: dt.date, part: int, forecast: int | None, ceiling: int,
                advances: list[Advance]) -> Settlement:
    ended = on > subsidy.period.until
    basis, basis_cents = ("realised", part) if ended or forecast is None else ("forecast", forecast)
    settled = min(basis_cents, ceiling)
    if subsidy.payments and ended:
        paid, paid_basis = sum(to_cents(p.amount) for p in subsidy.payments), "payments"
    else:  # before the end: every scheduled advance is expected to be paid
        paid, paid_basis = sum(to_cents(a.amount) for a in advances), "schedule"
    return Settlement(basis, basis_cents, settled, paid, paid_basis, settled - paid)
