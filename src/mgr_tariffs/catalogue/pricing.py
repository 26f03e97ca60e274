"""Which price applies: the catalogue price in force on the service date, never the invoice date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mgr_tariffs.catalogue.loader import Lookup, Quote
from mgr_tariffs.catalogue.models import Product
from mgr_tariffs.money import format_euro, json_money


class PriceError(Exception):
    """A question the catalogue cannot answer, worded for a clerk."""


def price_on(lookup: Lookup, code: str, day: dt.date) -> PricedQuote:
    """The price of ``code`` on ``day``, or :class:`PriceError` saying why there is none."""
    product = lookup.products.get(code.strip().upper())
    if product is None:
        known = ", ".join(sorted(lookup.products))
        raise PriceError(f"unknown product code {code!r}; the catalogue has {known}")
    quote = lookup.price(product.code, day)
    if quote is None:
        raise PriceError(no_price_message(product, day))
    return PricedQuote(quote)


def no_price_message(product: Product, day: dt.date) -> str:
    """Why a product has no price on a day: before the first, after the last or in a gap."""
    first = product.prices[0]
    if day < first.start:
        return (f"{product.code} has no price on {day.isoformat()}: its first tariff "
                f"({format_euro(first.amount)}) applies from {first.start.isoformat()}")
    last = product.prices[-1]
    if last.until is not None and day > last.until:
        return f"{product.code} has no price on {day.isoformat()}: its last tariff ended on {last.until.isoformat()}"
    return f"{product.code} has no price on {day.isoformat()}: that date falls between two tariff periods"


@dataclass(frozen=True)
class PricedQuote:
    quote: Quote

    @property
    def product(self) -> Product:
        return self.quote.product

    @property
    def amount(self) -> Decimal:
        return self.quote.amount

    @property
    def start(self) -> dt.date:
        return self.quote.start

    @property
    def until(self) -> dt.date | None:
        return self.quote.until

    @property
    def source(self) -> str:
        return self.quote.source

    def as_json(self) -> dict[str, Any]:
        return {"code": self.product.code, "name": self.product.name, "date": self.quote.day.isoformat(),
                "price": json_money(self.amount), "unit": self.product.unit.value,
                "from": self.start.isoformat(), "until": self.until.isoformat() if self.until else None,
                "source": self.source}


@dataclass(frozen=True)
class PriceRow:
    """One dated price of one product, as the ``mgr tariffs`` listing shows it."""

    product: Product
    amount: Decimal
    start: dt.date
    until: dt.date | None

    def as_json(self) -> dict[str, str | None]:
        """The row in data outputs: money as ``"48.60"``, an open end as ``null``."""
        return {"code": self.product.code, "name": self.product.name, "category": self.product.category,
                "unit": self.product.unit.value, "price": json_money(self.amount), "from": self.start.isoformat(),
                "until": self.until.isoformat() if self.until else None, "vat": self.product.vat.treatment.value,
                "not_for": ", ".join(self.product.not_for), "source": self.product.source}

    def as_csv(self) -> dict[str, str]:
        """The row for CSV: like :meth:`as_json`, with an open end as an empty cell."""
        return {key: value or "" for key, value in self.as_json().items()}


def catalogue_rows(lookup: Lookup, day: dt.date | None = None) -> list[PriceRow]:
    """Every dated price, or only those in force on ``day``, in catalogue order."""
    return [
        PriceRow(product, price.amount, price.start, price.until)
        for product in lookup.catalogue.products
        for price in product.prices
        if day is None or price.covers(day)
    ]
