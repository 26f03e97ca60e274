"""Realistic example invoices built by hand, for the documentation images and the tests.

They do not come from ``mgr bill``: lines are made here with :func:`~mgr_tariffs.money.line_amount`
so the document writers can be shown and tested on their own. BSNs pass the 11-test but are made up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mgr_tariffs.billing.invoices import Invoice, InvoiceLine, VatBreakdown
from mgr_tariffs.money import line_amount, round_cents
from mgr_tariffs.quantity import QuantityUnit

ZERO = Decimal("0.00")
EXEMPT = "vrijgesteld"
PRODUCTS = {
    "LN031": ("Re-integratie mbo-niveau", Decimal("50.40")),
    "LN033": ("Re-integratie wo-niveau", Decimal("95.40")),
    "LN034": ("Arbeidsmatige dagbesteding", Decimal("12.00")),
    "LN032": ("Re-integratie hbo-niveau", Decimal("75.60")),
    "LN036": ("Participatie hbo-niveau", Decimal("75.60")),
}
RATES = {"vrijgesteld": Decimal(0), "hoog": Decimal(21), "laag": Decimal(9)}


def fake_bsn(index: int) -> str:
    """The ``index``-th 9-digit number from 123456700 upwards that passes the BSN 11-test."""
    while len(_BSNS) <= index:
        _BSNS.append(_next_bsn(int(_BSNS[-1]) if _BSNS else 123_456_700))
    return _BSNS[index]


def _next_bsn(after: int) -> str:
    candidate = after + 1
    while not _passes_eleven_test(f"{candidate:09d}"):
        candidate += 1
    return f"{candidate:09d}"


def _passes_eleven_test(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


_BSNS: list[str] = []


def make_line(bsn: str, product: str, quantity: str, *, period: str = "2019-03", unit: QuantityUnit = QuantityUnit.HOUR,
              revenue: str = "0.00", treatment: str = EXEMPT, price: str | None = None) -> InvoiceLine:
    """One invoice line the way billing makes it: gross rounded once, LN034 revenue netted, never below zero."""
    name, tariff = PRODUCTS.get(product, (f"Product {product}", Decimal("50.00")))
    unit_price = Decimal(price) if price is not None else tariff
    qty = Decimal(quantity)
    gross = line_amount(qty, unit_price, unit.per_hour)
    earned = Decimal(revenue)
    netted = min(earned, gross) if gross > 0 else ZERO
    start = dt.date.fromisoformat(f"{period}-01")
    return InvoiceLine(bsn=bsn, product=product, product_name=name, unit=unit, unit_price=unit_price, quantity=qty,
                       gross_amount=gross, revenue=earned, revenue_netted=netted, revenue_unnetted=earned - netted,
                       amount=gross - netted, vat_treatment=treatment, vat_rate=RATES[treatment], first_day=start,
                       last_day=start + dt.timedelta(days=27), rows=3)


def make_invoice(lines: list[InvoiceLine], *, provider: str = "Werkbedrijf De Peel B.V.", municipality: str = "Venlo",
                 code: str = "0983", period: str = "2019-03", number: str | None = None,
                 credits: str | None = None) -> Invoice:
    """An invoice with total and VAT breakdown computed from its lines, VAT rounded once per treatment."""
    vat = []
    for treatment in sorted({line.vat_treatment for line in lines}):
        base = sum((line.amount for line in lines if line.vat_treatment == treatment), ZERO)
        vat.append(VatBreakdown(treatment=treatment, rate=RATES[treatment], base=base,
                                amount=round_cents(base * RATES[treatment] / 100)))
    return Invoice(provider=provider, municipality=municipality, municipality_code=code, period=period,
                   lines=tuple(lines), total=sum((line.amount for line in lines), ZERO), vat=tuple(vat),
                   number=number, credits=credits)


def negated(invoice: Invoice, number: str) -> Invoice:
    """The credit note of an invoice: every quantity and amount negated, referring to its number."""
    lines = [line.model_copy(update={
        "quantity": -line.quantity, "gross_amount": -line.gross_amount, "revenue": -line.revenue,
        "revenue_netted": -line.revenue_netted, "revenue_unnetted": -line.revenue_unnetted, "amount": -line.amount})
        for line in invoice.lines]
    credit = make_invoice(lines, provider=invoice.provider, municipality=invoice.municipality,
                          code=invoice.municipality_code, period=invoice.period, number=number,
                          credits=invoice.number)
    return credit


def example_invoice(number: str | None = "2019-000123") -> Invoice:
    """A small March 2019 invoice: re-integration, day activities with netted revenue, minutes, a line taxed at 21 %."""
    lines = [
        make_line(fake_bsn(0), "LN031", "12.5"),
        make_line(fake_bsn(0), "LN034", "64", revenue="210.00"),
        make_line(fake_bsn(1), "LN033", "375", unit=QuantityUnit.MINUTE),
        make_line(fake_bsn(2), "LN034", "40", revenue="1000.00"),
        make_line(fake_bsn(3), "LN036", "8.25"),
        make_line(fake_bsn(4), "LN032", "3", treatment="hoog"),
    ]
    return make_invoice(lines, number=number)


def large_invoice(count: int = 520, number: str | None = "2019-000124") -> Invoice:
    """``count`` lines of full-time re-integration and day activities: millions of euros in total."""
    lines = []
    for i in range(count):
        bsn = fake_bsn(i // 2)
        if i % 2:
            lines.append(make_line(bsn, "LN034", "152", revenue=f"{(i % 7) * 95}.35"))
        elif i % 10 == 0:
            lines.append(make_line(bsn, "LN033", "9617", unit=QuantityUnit.MINUTE))
        else:
            lines.append(make_line(bsn, "LN033", "160.75"))
    return make_invoice(lines, provider="Stichting Perspectief Noord-Limburg", municipality="Peel en Maas",
                        code="1894", period="2019-04", number=number)
