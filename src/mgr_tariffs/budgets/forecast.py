"""Capacity forecast: requests x hours per request + extra hours, in hours, fte and cost at an MGR tariff.

Source 002 (Weert's set-up proposal, section 4.2.2) estimates the capacity of formal client support as 125
requests x the Wlz norm of 6-8 hours per traject = 875 hours (at the middle, 7 hours), plus 325 hours for
information and advice and for building the link with informal support: 1.200 hours, which it calls "de inzet
van 1 fte". One fte is therefore 1.200 *productive* hours here (:data:`DEFAULT_FTE_HOURS`): what is left of a
full-time year (36 h x 52 weeks = 1.872 hours) after leave, holidays, training, absence and overhead.

``from_log`` derives the requests and the hours per request from an hour log: a request is a traject when the
log has a request column (:data:`~mgr_tariffs.budgets.norms.REQUEST_COLUMN`), else a client's hours for a
product with one provider in a calendar quarter; low and high are the 25th and 75th percentile (nearest rank)
of the hours per request, the middle is their mean.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.pricing import PricedQuote, price_on
from mgr_tariffs.identity import provider_key_expr
from mgr_tariffs.money import json_money, line_amount, parse_decimal
from mgr_tariffs.quantity import TICKS_PER_HOUR

DEFAULT_FTE_HOURS = Decimal(1200)
"""Productive hours of one fte, as source 002 arrives at "1 fte": 125 x 7 + 325 = 1.200 hours."""
HOURS_PLACES = Decimal("0.001")
FTE_PLACES = Decimal("0.01")


class ForecastError(ValueError):
    """An option that cannot make a forecast, worded for the user."""


def parse_range(text: str) -> tuple[Decimal, Decimal]:
    """``6-8``, ``6,5-8`` or ``7``: the low and high hours per request."""
    parts = [p.strip() for p in text.split("-")]
    values = [parse_decimal(p) for p in parts]
    if len(parts) not in (1, 2) or any(v is None for v in values):
        raise ForecastError(f"{text!r} is not a number of hours or a range such as 6-8")
    low, high = values[0] or Decimal(0), values[-1] or Decimal(0)
    if low <= 0 or high < low:
        raise ForecastError(f"{text!r}: hours must be more than zero, the low end first")
    return low, high


@dataclass(frozen=True)
class Scenario:
    name: str  # low, mid, high
    hours_per_request: Decimal
    request_hours: Decimal
    hours: Decimal
    fte: Decimal
    cost: Decimal | None

    @property
    def shown_per_request(self) -> Decimal:
        """Hours per request to three decimals (a mean from a log may have more)."""
        return self.hours_per_request.quantize(HOURS_PLACES, ROUND_HALF_UP).normalize()

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.name, "hours_per_request": _plain(self.shown_per_request),
                "request_hours": _plain(self.request_hours), "hours": _plain(self.hours), "fte": f"{self.fte:.2f}",
                "cost": json_money(self.cost) if self.cost is not None else None}


@dataclass(frozen=True)
class Forecast:
    requests: int
    extra_hours: Decimal
    fte_hours: Decimal
    scenarios: tuple[Scenario, Scenario, Scenario]
    quote: PricedQuote | None
    basis: str  # "given", or how the log was read

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "extra_hours": _plain(self.extra_hours),
                "fte_hours": _plain(self.fte_hours), "basis": self.basis,
                "tariff": self.quote.as_json() if self.quote else None,
                "scenarios": [s.as_json() for s in self.scenarios]}


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def forecast(requests: int, low: Decimal, high: Decimal, extra_hours: Decimal = Decimal(0),
             fte_hours: Decimal = DEFAULT_FTE_HOURS, lookup: Lookup | None = None, product: str | None = None,
             on: dt.date | None = None, mid: Decimal | None = None, basis: str = "given") -> Forecast:
    """Hours, fte and cost for ``requests`` requests of ``low``-``high`` hours (middle: ``mid``, else halfway)."""
    if requests < 0 or extra_hours < 0:
        raise ForecastError("requests and extra hours cannot be negative")
    if fte_hours <= 0:
        raise ForecastError("the hours per fte must be more than zero")
    quote = price_on(lookup, product, on or dt.date.today()) if lookup is not None and product else None
    middle = mid if mid is not None else (low + high) / 2

    def scenario(name: str, per_request: Decimal) -> Scenario:
        request_hours = (requests * per_request).quantize(HOURS_PLACES, ROUND_HALF_UP)
        hours = request_hours + extra_hours
        fte = (hours / fte_hours).quantize(FTE_PLACES, ROUND_HALF_UP)
        cost = line_amount(hours, quote.amount) if quote else None
        return Scenario(name, per_request, request_hours, hours, fte, cost)

    return Forecast(requests, extra_hours, fte_hours,
                    (scenario("low", low), scenario("mid", middle), scenario("high", high)), quote, basis)


@dataclass(frozen=True)
class LogRequests:
    """Requests found in a log and their hours: low (P25), mid (mean), high (P75)."""

    requests: int
    low: Decimal
    mid: Decimal
    high: Decimal
    basis: str


def requests_from_rows(rows: pl.DataFrame, requests: pl.DataFrame | None, product: str | None) -> LogRequests:
    """Requests and hours per request of billed rows (see the module's text)."""
    if product:
        rows = rows.filter(pl.col("product") == product)
    frame = rows.select("_file", pl.col("_line").cast(pl.Int64), "date", "bsn_id", "provider", "product", "ticks")
    if requests is not None:
        frame = frame.join(requests, on=["_file", "_line"], how="left", maintain_order="left")
    else:
        frame = frame.with_columns(traject=pl.lit(None, pl.String))
    quarter = pl.format("{}-Q{}", pl.col("date").dt.year(), pl.col("date").dt.quarter())
    window = pl.when(pl.col("traject").is_not_null()).then(pl.format("t:{}", pl.col("traject"))).otherwise(quarter)
    per = frame.with_columns(who=provider_key_expr(pl.col("provider")), window=window).group_by(
        "who", "bsn_id", "product", "window").agg(ticks=pl.col("ticks").sum())
    if per.is_empty():
        raise ForecastError("the log has no rows" + (f" of {product}" if product else "") + " to count requests in")
    ticks = sorted(per.get_column("ticks").to_list())
    by_traject = requests is not None and frame.get_column("traject").is_not_null().any()
    basis = "log: requests by traject" if by_traject else "log: requests per client, product and quarter"
    mean = Decimal(sum(ticks)) / len(ticks) / TICKS_PER_HOUR  # unrounded: requests x mean is the logged total
    return LogRequests(len(ticks), _hours(_rank(ticks, 25)), mean, _hours(_rank(ticks, 75)), basis)


def _rank(ordered: list[int], percent: int) -> int:
    """The nearest-rank percentile of sorted values."""
    index = max(1, -(-percent * len(ordered) // 100))
    return ordered[index - 1]


def _hours(ticks: Decimal | int) -> Decimal:
    return (Decimal(ticks) / TICKS_PER_HOUR).quantize(HOURS_PLACES, ROUND_HALF_UP).normalize()
