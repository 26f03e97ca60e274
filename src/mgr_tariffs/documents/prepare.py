"""Everything a document needs about one invoice, resolved and checked once for every format.

:func:`prepare` finds the provider and municipality of each invoice in the parties file, computes
the VAT breakdown per category from the lines (EN 16931 rounds VAT once per category) and checks
that the invoice's own totals agree, so the UBL, PDF and Excel outputs can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mgr_tariffs import vat
from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.models import Municipality
from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.documents.naming import document_id
from mgr_tariffs.money import from_cents, to_cents
from mgr_tariffs.parties import MunicipalityParty, Parties, Provider
from mgr_tariffs.vat import DEFAULT_EXEMPTION, vat_cents

PAYMENT_DAYS = 30
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class VatGroup:
    """One VAT category of an invoice: UBL category code, rate, base, tax and (for exempt) the reason."""

    treatment: str
    category: str
    rate: Decimal
    base: Decimal
    amount: Decimal
    reason: str | None


@dataclass(frozen=True)
class Prepared:
    """One invoice with its parties, dates, id and VAT breakdown."""

    invoice: Invoice
    supplier: Provider
    buyer: MunicipalityParty
    municipality: Municipality
    issue_date: dt.date
    vat: tuple[VatGroup, ...]

    @property
    def id(self) -> str:
        return document_id(self.invoice)

    @property
    def is_concept(self) -> bool:
        return self.invoice.number is None

    @property
    def is_credit(self) -> bool:
        return self.invoice.credits is not None

    @property
    def due_date(self) -> dt.date:
        return self.issue_date + dt.timedelta(days=PAYMENT_DAYS)

    @property
    def vat_total(self) -> Decimal:
        return sum((g.amount for g in self.vat), ZERO)

    @property
    def total_incl_vat(self) -> Decimal:
        return self.invoice.total + self.vat_total

    @property
    def netted_total(self) -> Decimal:
        return sum((line.revenue_netted for line in self.invoice.lines), ZERO)

    @property
    def gross_total(self) -> Decimal:
        return sum((line.gross_amount for line in self.invoice.lines), ZERO)


def vat_category(treatment: str) -> str:
    """UNCL 5305 code of a treatment (:func:`mgr_tariffs.vat.category`)."""
    return vat.category(treatment)


def exemption_reason(product: str, lookup: Lookup) -> str:
    """Why a product's VAT is exempt, as its catalogue entry says (else the default reason)."""
    entry = lookup.products.get(product)
    reason = entry.vat.reason if entry is not None else None
    return reason or DEFAULT_EXEMPTION


def vat_groups(invoice: Invoice, lookup: Lookup) -> tuple[VatGroup, ...]:
    """The VAT breakdown from the lines: per treatment and rate, tax rounded once per group (one pass over the
    lines: a million-row log has 322,843 of them)."""
    bases: dict[tuple[str, Decimal], Decimal] = {}
    products: dict[tuple[str, Decimal], set[str]] = {}
    for line in invoice.lines:
        key = (line.vat_treatment, line.vat_rate)
        bases[key] = bases.get(key, ZERO) + line.amount
        products.setdefault(key, set()).add(line.product)
    return tuple(_group(treatment, rate, bases[treatment, rate], products[treatment, rate], lookup)
                 for treatment, rate in sorted(bases, key=lambda k: (-k[1], k[0])))


def _group(treatment: str, rate: Decimal, base: Decimal, products: set[str], lookup: Lookup) -> VatGroup:
    category = vat_category(treatment)
    reasons = sorted({exemption_reason(product, lookup) for product in products}) if category == "E" else []
    tax = from_cents(vat_cents(to_cents(base), int(rate)))
    return VatGroup(treatment, category, rate, base, tax, "; ".join(reasons) or None)


def consistency_problems(invoice: Invoice, groups: Sequence[VatGroup]) -> list[str]:
    """Where an invoice's own amounts contradict its lines (a bug upstream, never silently 'fixed')."""
    what = document_id(invoice)
    problems = [f"{what}, line {i} ({line.bsn} {line.product}): amount {line.amount} is not gross "
                f"{line.gross_amount} minus netted revenue {line.revenue_netted}"
                for i, line in enumerate(invoice.lines, 1) if line.amount != line.gross_amount - line.revenue_netted]
    if invoice.total != sum((line.amount for line in invoice.lines), ZERO):
        problems.append(f"{what}: total {invoice.total} is not the sum of its line amounts")
    if invoice.vat and {(v.treatment, v.base, v.amount) for v in invoice.vat} != {
            (g.treatment, g.base, g.amount) for g in groups}:
        problems.append(f"{what}: its VAT breakdown differs from the one computed per category from its lines")
    if any(v.rate != 0 and v.treatment == "vrijgesteld" for v in invoice.vat):
        problems.append(f"{what}: an exempt VAT line has a rate other than 0")
    return problems


def missing_parties(invoices: Sequence[Invoice], parties: Parties, lookup: Lookup) -> list[str]:
    """Every provider and municipality that the invoices name and the parties file does not cover."""
    missing: dict[str, None] = {}
    for invoice in invoices:
        if parties.provider(invoice.provider) is None:
            missing[f"provider {invoice.provider!r}"] = None
        municipality = lookup.municipality(invoice.municipality_code)
        if municipality is None:
            missing[f"municipality {invoice.municipality_code} ({invoice.municipality}) in the tariff catalogue"] = None
        elif parties.municipality(municipality) is None:
            missing[f"municipality {municipality.name!r} ({municipality.code})"] = None
    return list(missing)


def prepare(invoices: Sequence[Invoice], parties: Parties, lookup: Lookup, issue_date: dt.date) -> list[Prepared]:
    """Resolve and check every invoice; one :class:`DocumentError` lists everything that is missing or wrong."""
    missing = missing_parties(invoices, parties, lookup)
    if missing:
        raise DocumentError("the parties file does not cover " + "; ".join(missing))
    prepared = [_prepare_one(invoice, parties, lookup, issue_date) for invoice in invoices]
    problems = [p for doc in prepared for p in consistency_problems(doc.invoice, doc.vat)]
    if problems:
        raise DocumentError("inconsistent invoice amounts: " + "; ".join(problems))
    return prepared


def _prepare_one(invoice: Invoice, parties: Parties, lookup: Lookup, issue_date: dt.date) -> Prepared:
    municipality = lookup.municipality(invoice.municipality_code)
    supplier = parties.provider(invoice.provider)
    assert municipality is not None and supplier is not None  # checked by missing_parties
    buyer = parties.municipality(municipality)
    assert buyer is not None
    return Prepared(invoice, supplier, buyer, municipality, issue_date, vat_groups(invoice, lookup))
