"""Invoices as values: what ``mgr bill`` computes and every document writer reads.

Money is ``Decimal`` with two decimals. ``InvoiceLine.amount`` is what is billed for the line
(after LN034 revenue netting); ``gross_amount`` is quantity x unit price, rounded once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mgr_tariffs.frozen import Frozen
from mgr_tariffs.money import json_decimal, json_money
from mgr_tariffs.quantity import QuantityUnit


class InvoiceLine(Frozen):
    """One client and product at one unit price within a monthly invoice."""

    bsn: str
    product: str
    product_name: str
    unit: QuantityUnit = QuantityUnit.HOUR
    unit_price: Decimal
    quantity: Decimal
    gross_amount: Decimal
    revenue: Decimal = Decimal("0.00")
    revenue_netted: Decimal = Decimal("0.00")
    revenue_unnetted: Decimal = Decimal("0.00")
    amount: Decimal
    vat_treatment: str
    vat_rate: Decimal
    first_day: dt.date
    last_day: dt.date
    rows: int

    def as_json(self) -> dict[str, Any]:
        return {
            "bsn": self.bsn, "product": self.product, "product_name": self.product_name,
            "unit": self.unit.value, "unit_price": json_money(self.unit_price),
            "quantity": json_decimal(self.quantity), "gross_amount": json_money(self.gross_amount),
            "revenue": json_money(self.revenue), "revenue_netted": json_money(self.revenue_netted),
            "revenue_unnetted": json_money(self.revenue_unnetted), "amount": json_money(self.amount),
            "vat_treatment": self.vat_treatment, "vat_rate": json_decimal(self.vat_rate),
            "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(), "rows": self.rows,
        }


class VatBreakdown(Frozen):
    """The VAT of one treatment on an invoice: the base it is charged on and the amount."""

    treatment: str
    rate: Decimal
    base: Decimal
    amount: Decimal


class Invoice(Frozen):
    """One invoice: one provider, one municipality, one calendar month of service dates."""

    provider: str
    municipality: str
    municipality_code: str
    period: str  # YYYY-MM
    lines: tuple[InvoiceLine, ...]
    total: Decimal  # excluding VAT: the sum of the line amounts
    vat: tuple[VatBreakdown, ...] = ()
    number: str | None = None
    credits: str | None = None  # the number of the invoice a credit note mirrors

    @property
    def vat_total(self) -> Decimal:
        return sum((v.amount for v in self.vat), Decimal("0.00"))

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total + self.vat_total

    @property
    def revenue_unnetted(self) -> Decimal:
        return sum((line.revenue_unnetted for line in self.lines), Decimal("0.00"))

    @property
    def period_start(self) -> dt.date:
        return dt.date.fromisoformat(f"{self.period}-01")

    @property
    def period_end(self) -> dt.date:
        start = self.period_start
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"number": self.number} if self.number is not None else {}
        if self.credits is not None:
            data["credits"] = self.credits
        return {
            **data, "provider": self.provider, "municipality": self.municipality,
            "municipality_code": self.municipality_code, "period": self.period,
            "lines": [line.as_json() for line in self.lines], "total": json_money(self.total),
            "vat": [{"treatment": v.treatment, "rate": json_decimal(v.rate), "base": json_money(v.base),
                     "amount": json_money(v.amount)} for v in self.vat],
            "total_incl_vat": json_money(self.total_incl_vat),
            "revenue_unnetted": json_money(self.revenue_unnetted),
        }
