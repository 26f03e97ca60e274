"""The allocation rules in plain Python: the reference the bulk path (:mod:`.frame`) is held equal to.

Inspanningsgericht, as the iWmo instructions IV076–IV078 describe (``docs/allocations.md`` cites them):

* **Coverage** (TR307/TR308): a row is covered by the allocation of its client, provider (by
  :func:`~mgr_tariffs.identity.provider_key`), municipality and product whose period contains the service date.
* **Per monthly line** (TR321, IV077/IV078): the allowed volume of a calendar month is, for frequency ``week``,
  the number of ISO calendar weeks the month and the allocation share times the volume; ``maand`` the full volume
  even for a partial month; ``dag`` the days shared times the volume; ``totaal`` and a budget have no per-month
  limit.
* **Over the whole allocation** (TR322/TR369): the weeks, months or days of the allocation times the volume, the
  ``totaal`` volume, or the budget; an open-ended allocation with frequency ``dag`` or ``maand`` has no total.
* **Use** is measured like the allocation: ticks for time (hours, minutes, dagdeel = 4 h: exact), or for euros
  the amount of each part of an invoice line the allocation covers (its rows of one month, price and unit),
  priced and netted as a line
  (:func:`~mgr_tariffs.money.gross_cents`, :func:`~mgr_tariffs.money.net_cents`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mgr_tariffs.allocations.model import Allocation, Frequency
from mgr_tariffs.identity import provider_key
from mgr_tariffs.money import gross_cents, net_cents

Key = tuple[int, str, int, str]
"""What an allocation and a row are matched on: BSN, provider key, municipality code, product."""


def period_id(day: dt.date) -> int:
    """The monthly period of a day as ``yyyymm``."""
    return day.year * 100 + day.month


def month_bounds(period: int) -> tuple[dt.date, dt.date]:
    """First and last day of a ``yyyymm`` period."""
    year, month = divmod(period, 100)
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def shared(allocation: Allocation, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days ``first..last`` and the allocation have in common, or ``None``."""
    start = max(first, allocation.start)
    end = last if allocation.end is None else min(last, allocation.end)
    return (start, end) if start <= end else None


def iso_weeks(first: dt.date, last: dt.date) -> int:
    """How many ISO calendar weeks (week numbers, IV077) the days ``first..last`` touch: ISO weeks are the
    consecutive weeks from Monday to Sunday, so the weeks from the Monday of ``first`` to that of ``last``."""
    if last < first:
        return 0
    return ((last - dt.timedelta(days=last.weekday())) - (first - dt.timedelta(days=first.weekday()))).days // 7 + 1


def months(first: dt.date, last: dt.date) -> int:
    """How many calendar months the days ``first..last`` touch."""
    return (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1


def allowed_in_month(allocation: Allocation, period: int) -> int | None:
    """The most that may be billed on the monthly line of ``period`` (``None``: no per-month limit)."""
    if allocation.frequency in (None, Frequency.TOTAL):
        return None
    days = shared(allocation, *month_bounds(period))
    if days is None:
        return 0
    if allocation.frequency is Frequency.WEEK:
        return iso_weeks(*days) * allocation.amount
    if allocation.frequency is Frequency.DAY:
        return ((days[1] - days[0]).days + 1) * allocation.amount
    return allocation.amount  # maand: the full volume, even for a partial month (IV078 example 2)


def allowed_total(allocation: Allocation) -> int | None:
    """The most that may be billed over the whole allocation (``None``: no limit, an open end)."""
    if allocation.frequency in (None, Frequency.TOTAL):
        return allocation.amount
    if allocation.end is None:
        return None
    if allocation.frequency is Frequency.WEEK:
        return iso_weeks(allocation.start, allocation.end) * allocation.amount
    if allocation.frequency is Frequency.DAY:
        return ((allocation.end - allocation.start).days + 1) * allocation.amount
    return months(allocation.start, allocation.end) * allocation.amount


def billable(months: Sequence[tuple[int | None, int, int]], total: int | None) -> list[int]:
    """What may be billed of this run's use in each month of an allocation, the months ``(allowed, earlier,
    current)`` in order: at most the month's room (allowed minus earlier use) and what is left of the total after
    all earlier use and the months before."""
    left = None if total is None else total - sum(earlier for _, earlier, _ in months)
    result = []
    for allowed, earlier, current in months:
        limit = current if allowed is None else min(current, max(0, allowed - earlier))
        if left is not None:
            limit = min(limit, max(0, left))
            left -= limit
        result.append(limit)
    return result


# --- rows to allocations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Which allocation covers a row (``number``), else which one ended before its date (``ended``)."""

    number: str | None
    ended: str | None


def row_key(row: Mapping[str, Any]) -> Key:
    return int(row["bsn_id"]), provider_key(row["provider"]), int(row["municipality_id"]), row["product"]


def allocation_key(allocation: Allocation) -> Key:
    return allocation.bsn_id, allocation.provider_key, allocation.municipality_id, allocation.product


def index(allocations: Iterable[Allocation]) -> dict[Key, list[Allocation]]:
    """The allocations of each key, by start date."""
    found: dict[Key, list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        found[allocation_key(allocation)].append(allocation)
    return {key: sorted(items, key=lambda a: a.start) for key, items in found.items()}


def assign(by_key: Mapping[Key, list[Allocation]], row: Mapping[str, Any]) -> Assignment:
    """The allocation of a row: of those of its key that started on or before its date the latest; it covers the
    row unless it ended before (a register has no overlapping allocations of one key)."""
    day: dt.date = row["date"]
    started = [a for a in by_key.get(row_key(row), []) if a.start <= day]
    if not started:
        return Assignment(None, None)
    latest = started[-1]
    return Assignment(latest.number, None) if latest.covers(day) else Assignment(None, latest.number)


@dataclass(frozen=True)
class MonthUse:
    """The use of one allocation in one month: ``earlier`` (issued before, from a ledger) and ``current`` (this
    run), in the allocation's measure; ``price_cents`` the highest hourly price of this run's rows that month."""

    number: str
    period_id: int
    earlier: int
    current: int
    price_cents: int


def month_use(allocations: Sequence[Allocation], rows: Iterable[Mapping[str, Any]],
              earlier: Iterable[Mapping[str, Any]] = ()) -> tuple[list[Assignment], list[MonthUse]]:
    """Every row's assignment (in row order) and the use per allocation and month (sorted on number, month).

    ``rows`` and ``earlier`` carry the columns of billed rows: ``date, bsn_id, provider, municipality_id, product,
    ticks, revenue_cents, price_cents, unit``.
    """
    by_key = index(allocations)
    money = {a.number: a.in_money for a in allocations}
    table: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    assignments: list[Assignment] = []
    for slot, source in ((1, rows), (0, earlier)):
        segments: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        for row in source:
            found = assign(by_key, row)
            if slot == 1:
                assignments.append(found)
            if found.number is None:
                continue
            period = period_id(row["date"])
            cell = table[(found.number, period)]
            if slot == 1:
                cell[2] = max(cell[2], int(row["price_cents"]))
            if money[found.number]:
                part = segments[(found.number, period, int(row["price_cents"]), row["unit"])]
                part[0] += int(row["ticks"])
                part[1] += int(row["revenue_cents"] or 0)
            else:
                cell[slot] += int(row["ticks"])
        for (number, period, price, _unit), (ticks, revenue) in segments.items():
            gross = gross_cents(ticks, price)
            table[(number, period)][slot] += gross - net_cents(gross, revenue, True)[0]
    uses = [MonthUse(number, period, e, c, p) for (number, period), (e, c, p) in sorted(table.items())]
    return assignments, uses
