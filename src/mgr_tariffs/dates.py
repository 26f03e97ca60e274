"""Dates and periods as people write them — defined once, for hour logs, invoices and every command option.

* A date is ``yyyy-mm-dd`` or ``dd-mm-yyyy`` (``2019-07-01``, ``01-07-2019``, ``1-7-2019``); a day that does not
  exist (31-02-2021) is refused, never moved.
* A period is a calendar month ``YYYY-MM``, a quarter ``YYYY-Qn``, a year ``YYYY``, or a range of those
  ``FROM..TO`` (both ends included): ``2019-07``, ``2019-07..2019-09``, ``2019-Q3``, ``2024``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "%d-%m-%Y"),
)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


_TIME_OF_DAY = re.compile(r"^(\S+)(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def parse_date(text: str, name: str = "datum") -> tuple[dt.date | None, str | None]:
    """The date, or the reason ``text`` is not one (worded with the field's ``name``). A date with a time of
    day (an Excel date-time cell, ``2019-07-01T08:30:00``) counts as its date."""
    cleaned = text.strip()
    timed = _TIME_OF_DAY.match(cleaned)
    if timed:
        cleaned = timed.group(1)
    for pattern, layout in _DATE_FORMATS:
        if pattern.match(cleaned):
            try:
                return dt.datetime.strptime(cleaned, layout).date(), None
            except ValueError:
                return None, f"{name} {text!r} does not exist"
    return None, f"{name} {text!r} is not a date (write yyyy-mm-dd or dd-mm-yyyy)"


@dataclass(frozen=True)
class Period:
    """Whole calendar months from ``first`` to ``last`` (both the first day of their month), inclusive."""

    first: dt.date
    last: dt.date

    def __str__(self) -> str:
        start, end = self.first.strftime("%Y-%m"), self.last.strftime("%Y-%m")
        return start if start == end else f"{start}..{end}"

    @property
    def end(self) -> dt.date:
        """The last day of the period."""
        following = (self.last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.end

    def months(self) -> list[str]:
        """Every month of the period as ``YYYY-MM``."""
        found, month = [], self.first
        while month <= self.last:
            found.append(month.strftime("%Y-%m"))
            month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return found


def _bounds(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last month of one period word, or ``None``."""
    if found := _MONTH.match(text):
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            return None
        day = dt.date(year, month, 1)
        return day, day
    if found := _QUARTER.match(text):
        year, quarter = int(found.group(1)), int(found.group(2))
        return dt.date(year, 3 * quarter - 2, 1), dt.date(year, 3 * quarter, 1)
    if found := _YEAR.match(text):
        year = int(found.group(1))
        return dt.date(year, 1, 1), dt.date(year, 12, 1)
    return None


def parse_period(text: str) -> tuple[Period | None, str | None]:
    """A period or range of periods, or the reason ``text`` is not one."""
    parts = [p.strip() for p in text.strip().split("..")]
    bounds = [_bounds(p) for p in parts]
    if len(parts) > 2 or any(b is None for b in bounds):
        return None, (f"period {text!r} is not a month, quarter or year (write YYYY-MM, YYYY-Qn or YYYY, "
                      "or a range FROM..TO such as 2019-07..2019-09)")
    first, last = bounds[0][0], bounds[-1][1]  # type: ignore[index]
    if last < first:
        return None, f"period {text!r} ends before it starts"
    return Period(first, last), None
