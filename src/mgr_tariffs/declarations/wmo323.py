"""From an invoice to a WMO323 declaration: one message per invoice, one Prestatie per invoice line.

Field by field (docs/iwmo.md has the full table with the rule codes):

* DeclaratieNummer: the invoice number in letters and digits only (CS319, at most 12: RS017);
* DeclaratiePeriode: the invoice's calendar month (CS340); TotaalIngediendBedrag = Σ debit − Σ credit (TR358);
* ProductReferentie: DeclaratieNummer + the line's position (unique, at most 20: RS019), so the answer
  can be matched; ToewijzingNummer from the allocation; ProductCategorie/ProductCode from the catalogue;
* ProductPeriode: the month, clamped to the allocation's first and last day (IV089, TR319, CS337);
* GeleverdVolume and Eenheid: whole hours as 04 (uur), otherwise whole minutes as 01 (minuut) (IV042);
* ProductTarief and IngediendBedrag in eurocent: volume × tariff (TR346); for minutes on an hourly tariff
  that does not divide by 60, IngediendBedrag = hourly tariff × minutes / 60 rounded half-up to a cent, and
  ProductTarief the per-minute tariff rounded half-up (TR346's toelichting, IV081) — the same amount as the
  invoice line (``money.gross_cents``);
* a credit note mirrors its debit: same prestaties, a new ReferentieNummer, VorigReferentieNummer = the
  debit's, DebetCredit C (IV091, CD060, TR389/TR390).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

from lxml import etree

from mgr_tariffs import bsn as bsn_
from mgr_tariffs.billing.invoices import Invoice, InvoiceLine
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.models import IwmoMapping
from mgr_tariffs.declarations.allocations import Allocation, Allocations, MissingAllocation
from mgr_tariffs.declarations.material import IwmoMaterial
from mgr_tariffs.declarations.validation import Finding, validate_bytes
from mgr_tariffs.frozen import Frozen
from mgr_tariffs.money import half_up_div, to_cents
from mgr_tariffs.quantity import QuantityUnit

NS = "http://www.istandaarden.nl/iwmo/3_2/wmo323/schema"
BASE = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"
MESSAGE_CODE = "484"
VERSION, SUBVERSION = "3", "2"  # CS025, CS015
XSD_VERSION = "1.0.0"
"""BasisschemaXsdVersie and BerichtXsdVersie: the shared XSDs carry ``version="1.0"``, written in three
parts as RS048 wants (as the published example does)."""
FIRST_PERIOD = dt.date(2021, 1, 1)  # CS100: iWmo 3 declares periods from 2021 on
UNIT_HOUR, UNIT_MINUTE = "04", "01"  # WJ756
MAX_NUMBER, MAX_REFERENCE = 12, 20


class DeclarationError(Exception):
    """An invoice that cannot be declared in iWmo; ``messages`` says every reason at once."""

    def __init__(self, invoice: str, messages: Sequence[str], findings: Sequence[Finding] = ()) -> None:
        super().__init__(f"{invoice}: " + "; ".join(messages))
        self.invoice = invoice
        self.messages = tuple(messages)
        self.findings = tuple(findings)


class Prestatie(Frozen):
    """One line of a declaration (amounts in eurocent, always positive; ``debit`` says D or C)."""

    reference: str
    previous_reference: str | None = None
    bsn: str
    allocation: int
    category: str
    code: str
    first_day: dt.date
    last_day: dt.date
    volume: int
    unit: str
    tariff: int
    amount: int
    debit: bool = True
    product: str  # the MGR product code of the invoice line


class Declaration(Frozen):
    """One WMO323 message: the declaration of one invoice."""

    number: str
    invoice_number: str
    sender_agb: str
    municipality_code: str
    message_id: str
    message_date: dt.date
    period_start: dt.date
    period_end: dt.date
    prestaties: tuple[Prestatie, ...]

    @property
    def total(self) -> int:
        """Σ debit − Σ credit in eurocent (TR358); negative for a credit note."""
        return sum(p.amount if p.debit else -p.amount for p in self.prestaties)


def declaration_number(invoice_number: str) -> str:
    """The invoice number in letters and digits (CS319), at most 12 (RS017): ``2026-000001`` → ``2026000001``."""
    number = re.sub(r"[^0-9A-Za-z]", "", invoice_number)
    if not 1 <= len(number) <= MAX_NUMBER:
        raise DeclarationError(invoice_number, [f"invoice number {invoice_number!r} gives DeclaratieNummer "
                                                f"{number!r}: it must have 1 to {MAX_NUMBER} letters or digits"])
    return number


def product_reference(number: str, position: int) -> str:
    """ReferentieNummer of the ``position``-th line (1-based): DeclaratieNummer + at least four digits."""
    reference = f"{number}{position:04d}"
    if len(reference) > MAX_REFERENCE:
        raise DeclarationError(number, [f"line {position}: ProductReferentie {reference} is longer than 20"])
    return reference


def declare(invoice: Invoice, *, agb: str, lookup: Lookup, allocations: Allocations, message_date: dt.date,
            message_id: str | None = None, original: Invoice | None = None) -> Declaration:
    """The declaration of an issued invoice (or of a credit note, given the ``original`` it mirrors).

    Raises :class:`DeclarationError` with every reason the invoice cannot be declared.
    """
    if invoice.number is None:
        raise DeclarationError("invoice", ["only an issued invoice (with a number) can be declared"])
    number = declaration_number(invoice.number)
    messages = _header_problems(invoice, agb)
    previous: tuple[Prestatie, ...] = ()
    if invoice.credits is not None:
        previous, credit_messages = _credited(invoice, original, agb, lookup, allocations, message_date)
        messages += credit_messages
    prestaties: list[Prestatie] = []
    seen: dict[tuple[str, str], int] = {}
    for position, line in enumerate(invoice.lines, start=1):
        where = f"line {position} ({bsn_.mask(line.bsn)}, {line.product})"
        key = (line.bsn, line.product)
        if key in seen:
            messages.append(f"{where}: a second unit price for the same client, product and month (line "
                            f"{seen[key]}); iWmo declares one Prestatie per client, product and month (IV089, TR416)")
            continue
        seen[key] = position
        try:
            prestatie = _prestatie(invoice, line, product_reference(number, position), lookup, allocations)
        except DeclarationError as exc:
            messages += [f"{where}: {m}" for m in exc.messages]
            continue
        if invoice.credits is not None:
            mirrored = _mirror(prestatie, previous, position)
            if isinstance(mirrored, str):
                messages.append(f"{where}: {mirrored}")
                continue
            prestatie = mirrored
        prestaties.append(prestatie)
    if messages:
        raise DeclarationError(invoice.number, messages)
    return Declaration(number=number, invoice_number=invoice.number, sender_agb=agb,
                       municipality_code=invoice.municipality_code, message_id=message_id or number,
                       message_date=message_date, period_start=invoice.period_start,
                       period_end=invoice.period_end, prestaties=tuple(prestaties))


def _mapping(invoice: Invoice, line: InvoiceLine, reference: str, lookup: Lookup,
             allocations: Allocations) -> tuple[Allocation, IwmoMapping]:
    """The product's allocation and its iWmo mapping; refused for a row that does not fall under the Wmo."""
    product = lookup.products.get(line.product)
    if product is None:
        raise DeclarationError(reference, [f"product {line.product} is not in the catalogue"])
    try:
        allocation = allocations.find(line.bsn, line.product, invoice.period_start, invoice.period_end)
    except MissingAllocation as exc:
        if product.domain.strip().lower() != "wmo":
            raise DeclarationError(reference, [_not_wmo(product.code, product.domain, None)]) from None
        raise DeclarationError(reference, [str(exc)]) from None
    law = allocation.law or product.domain
    if law.strip().lower() != "wmo":
        raise DeclarationError(reference, [_not_wmo(product.code, law, allocation.number)])
    if product.iwmo is None:
        raise DeclarationError(reference, [f"{product.code} has no iWmo mapping (ProductCategorie, ProductCode) "
                                           "in the catalogue: add `iwmo:` to the product"])
    return allocation, product.iwmo


def _header_problems(invoice: Invoice, agb: str) -> list[str]:
    messages = []
    if not re.fullmatch(r"\d{8}", agb or ""):
        messages.append(f"the provider's AGB code {agb!r} is not 8 digits; set `agb` in the parties file")
    if invoice.period_start < FIRST_PERIOD:
        messages.append(f"period {invoice.period} lies before 2021-01: iWmo 3 declares from 2021 on (CS100); "
                        "invoice it (UBL) instead")
    if not invoice.lines:
        messages.append("the invoice has no lines")
    return messages


def _credited(invoice: Invoice, original: Invoice | None, agb: str, lookup: Lookup, allocations: Allocations,
              message_date: dt.date) -> tuple[tuple[Prestatie, ...], list[str]]:
    """The prestaties of the invoice a credit note mirrors (their references become VorigReferentieNummer)."""
    if original is None or original.number != invoice.credits:
        raise DeclarationError(invoice.number or "credit note", [
            f"a credit note is declared with the invoice it credits ({invoice.credits}): the debit's references "
            "are needed (IV091)"])
    try:
        return declare(original, agb=agb, lookup=lookup, allocations=allocations,
                       message_date=message_date).prestaties, []
    except DeclarationError as exc:
        return (), [f"the credited invoice {original.number}: {m}" for m in exc.messages]


def _prestatie(invoice: Invoice, line: InvoiceLine, reference: str, lookup: Lookup,
               allocations: Allocations) -> Prestatie:
    allocation, mapping = _mapping(invoice, line, reference, lookup, allocations)
    messages: list[str] = []
    if line.revenue_netted:
        messages.append(f"revenue of {line.revenue_netted} was netted on the line; a WMO323 amount is volume × "
                        "tariff (TR346) and has no place for netted revenue: invoice it (UBL) instead")
    first = max(invoice.period_start, allocation.start)
    last = min(invoice.period_end, allocation.until or invoice.period_end)
    if line.first_day < first or line.last_day > last:
        messages.append(f"support from {line.first_day} to {line.last_day} lies outside allocation "
                        f"{allocation.number} ({allocation.start} to {allocation.until or 'open'}) (TR307/TR308)")
    try:
        volume, unit, tariff, amount = volume_and_amount(abs(line.quantity), line.unit, line.unit_price)
    except ValueError as exc:
        messages.append(str(exc))
        volume = unit = tariff = amount = None  # type: ignore[assignment]
    if amount is not None and amount != abs(to_cents(line.gross_amount)):
        messages.append(f"internal error: the declared amount {amount} ct differs from the invoice line's "
                        f"{line.gross_amount}")
    if messages:
        raise DeclarationError(reference, messages)
    return Prestatie(reference=reference, bsn=line.bsn, allocation=allocation.number, category=mapping.category,
                     code=mapping.code, first_day=first, last_day=last, volume=volume, unit=unit, tariff=tariff,
                     amount=amount, debit=invoice.credits is None, product=line.product)


def falls_under_wmo(invoice: Invoice, line: InvoiceLine, lookup: Lookup, allocations: Allocations) -> bool:
    """Whether the line's row falls under the Wmo: its allocation's ``law``, else its product's ``domain``."""
    product = lookup.products.get(line.product)
    if product is None:
        return False
    try:
        law = allocations.find(line.bsn, line.product, invoice.period_start, invoice.period_end).law or product.domain
    except MissingAllocation:
        law = product.domain
    return law.strip().lower() == "wmo"


def _not_wmo(product: str, law: str, allocation: int | None) -> str:
    under = f"allocation {allocation}" if allocation is not None else "its catalogue domain; no allocation"
    return (f"{product} falls under the {law} ({under}), and iWmo's ProductCategorie (WMO020) is Wmo-only: "
            "invoice it (UBL, `--documents ubl`) instead, or record `law: Wmo` on an allocation bought under the Wmo")


def volume_and_amount(quantity: Decimal, unit: QuantityUnit, hourly: Decimal) -> tuple[int, str, int, int]:
    """GeleverdVolume, Eenheid, ProductTarief and IngediendBedrag (eurocent) of a line (IV042, TR346).

    Whole hours go as hours; anything else as whole minutes (a line in minutes that is not whole, such as
    7,5 minutes from 0,125 h, cannot be declared: :class:`ValueError`).
    """
    price = to_cents(hourly)
    if unit is QuantityUnit.HOUR and quantity == quantity.to_integral_value():
        volume = int(quantity)
        return volume, UNIT_HOUR, price, volume * price
    minutes = quantity * 60 if unit is QuantityUnit.HOUR else quantity
    if minutes != minutes.to_integral_value():
        raise ValueError(f"{minutes.normalize():f} minutes is not a whole number; GeleverdVolume must be whole "
                         "in its Eenheid (IV042)")
    volume = int(minutes)
    if price % 60 == 0:
        return volume, UNIT_MINUTE, price // 60, volume * (price // 60)
    return volume, UNIT_MINUTE, half_up_div(price, 60), half_up_div(price * volume, 60)


def _mirror(credit: Prestatie, previous: Sequence[Prestatie], position: int) -> Prestatie | str:
    """The credit prestatie mirroring the debit at the same position (IV091), or why it cannot."""
    if position > len(previous):
        return "the credited invoice has no line at this position"
    debit = previous[position - 1]
    same = (debit.bsn, debit.product, debit.volume, debit.unit, debit.amount) == (
        credit.bsn, credit.product, credit.volume, credit.unit, credit.amount)
    if not same:
        return f"does not mirror line {position} of the credited invoice ({debit.reference})"
    return debit.model_copy(update={"reference": credit.reference, "previous_reference": debit.reference,
                                    "debit": False})


# --- XML -------------------------------------------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: str | None = None, ns: str = NS) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        element.text = text
    return element


def _period(parent: etree._Element, name: str, first: dt.date, last: dt.date) -> None:
    period = _sub(parent, name)
    _sub(period, "Begindatum", first.isoformat(), BASE)
    _sub(period, "Einddatum", last.isoformat(), BASE)


def to_xml(declaration: Declaration) -> bytes:
    """The WMO323 message of a declaration (UTF-8, indented)."""
    root = etree.Element(f"{{{NS}}}Bericht", nsmap={"wmo323": NS, "iwmo": BASE})
    header = _sub(root, "Header")
    for name, value in (("BerichtCode", MESSAGE_CODE), ("BerichtVersie", VERSION), ("BerichtSubversie", SUBVERSION),
                        ("Afzender", declaration.sender_agb), ("Ontvanger", declaration.municipality_code)):
        _sub(header, name, value)
    ident = _sub(header, "BerichtIdentificatie")
    _sub(ident, "Identificatie", declaration.message_id, BASE)
    _sub(ident, "Dagtekening", declaration.message_date.isoformat(), BASE)
    versions = _sub(header, "XsdVersie")
    _sub(versions, "BasisschemaXsdVersie", XSD_VERSION, BASE)
    _sub(versions, "BerichtXsdVersie", XSD_VERSION, BASE)
    body = _sub(root, "Declaratie")
    _sub(body, "DeclaratieNummer", declaration.number)
    _period(body, "DeclaratiePeriode", declaration.period_start, declaration.period_end)
    _sub(body, "DeclaratieDagtekening", declaration.message_date.isoformat())
    total = _sub(body, "TotaalIngediendBedrag")
    _sub(total, "TotaalBedrag", str(abs(declaration.total)), BASE)
    _sub(total, "DebetCredit", "C" if declaration.total < 0 else "D", BASE)  # CS325: zero is D
    clients = _sub(body, "Clienten")
    by_client: dict[str, list[Prestatie]] = {}
    for prestatie in declaration.prestaties:
        by_client.setdefault(prestatie.bsn, []).append(prestatie)
    for bsn, prestaties in by_client.items():
        client = _sub(clients, "Client")
        _sub(client, "Bsn", bsn)
        items = _sub(client, "Prestaties")
        for p in prestaties:
            item = _sub(items, "Prestatie")
            reference = _sub(item, "ProductReferentie")
            _sub(reference, "ReferentieNummer", p.reference, BASE)
            if p.previous_reference is not None:
                _sub(reference, "VorigReferentieNummer", p.previous_reference, BASE)
            _sub(item, "ToewijzingNummer", str(p.allocation))
            _sub(item, "ProductCategorie", p.category)
            _sub(item, "ProductCode", p.code)
            _period(item, "ProductPeriode", p.first_day, p.last_day)
            _sub(item, "GeleverdVolume", str(p.volume))
            _sub(item, "Eenheid", p.unit)
            _sub(item, "ProductTarief", str(p.tariff))
            amount = _sub(item, "IngediendBedrag")
            _sub(amount, "Bedrag", str(p.amount), BASE)
            _sub(amount, "DebetCredit", "D" if p.debit else "C", BASE)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_checked(declaration: Declaration, material: IwmoMaterial) -> bytes:
    """The message, checked against the XSD and the rule stylesheet; :class:`DeclarationError` on a finding."""
    data = to_xml(declaration)
    findings = validate_bytes(data, material, f"WMO323 {declaration.number}")
    if findings:
        raise DeclarationError(declaration.invoice_number, [str(f) for f in findings], findings)
    return data


def file_name(declaration: Declaration) -> str:
    """``WMO323-<DeclaratieNummer>.xml``: one file per invoice."""
    return f"WMO323-{declaration.number}.xml"
