"""UBL 2.1 e-invoices in the Dutch SI-UBL 2.0 (NLCIUS) profile, serialised directly.

One ``Invoice`` per invoice, or a ``CreditNote`` (type 381, with a ``BillingReference`` to the
original) when the invoice credits another. The Invoice objects of a credit carry negative
amounts; a UBL credit note states them positive (the document type says they are a credit), so
quantities and amounts are negated and prices stay positive (EN 16931 BR-27).

Per line: the BSN as line note and as item property ``BSN`` (the municipality matches it to its
allocations), the service dates as line period, the quantity in ``HUR`` or ``MIN``, the hourly
price with base quantity 1 HUR or 60 MIN, and LN034 revenue netting as a line allowance
``Verrekende opbrengst`` so that price x quantity - allowance = line amount (EN 16931 BR-LIN).

The document is written as text, element by element in schema order, with XML escaping of every
value (``&``, ``<``, ``>``, and in attributes ``"`` and white space), two spaces of indentation and the
declaration lxml writes: the bytes are those ``lxml.etree.tostring(..., pretty_print=True)`` gave for the
same tree (the tests hold the two equal). The parties of an invoice are written once per party and reused.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.documents.prepare import Prepared, VatGroup, vat_category
from mgr_tariffs.money import json_decimal, json_money
from mgr_tariffs.parties import MunicipalityParty, Provider
from mgr_tariffs.quantity import QuantityUnit

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
SCHEME_KVK = "0106"
SCHEME_OIN = "0190"
PAYMENT_SEPA_CREDIT_TRANSFER = "58"
NETTING_REASON = "Verrekende opbrengst"
CURRENCY = "EUR"
MINUS_ONE = Decimal(-1)
DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;",
                                    "\n": "&#10;", "\t": "&#9;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 cannot hold (never in a checked input: :mod:`mgr_tariffs.text` refuses it on its line)."""


def xml_text(text: str) -> str:
    """``text`` escaped for element content (most texts have nothing to escape: four scans of a short text are
    several times faster than ``str.translate``, which looks up every character)."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT_ESCAPES)
    return text


def xml_attribute(text: str) -> str:
    """``text`` escaped for a double-quoted attribute value."""
    return text.translate(_ATTRIBUTE_ESCAPES)


class _Writer:
    """The lines of one document; ``depth`` is the indentation of the next element."""

    def __init__(self, depth: int = 0) -> None:
        self.lines: list[str] = []
        self.depth = depth

    def cbc(self, name: str, text: str, **attrs: str) -> None:
        extra = "".join(f' {key}="{xml_attribute(value)}"' for key, value in attrs.items())
        self.lines.append(f"{'  ' * self.depth}<cbc:{name}{extra}>{xml_text(text)}</cbc:{name}>")

    def money(self, name: str, amount: Decimal) -> None:
        self.lines.append(f'{"  " * self.depth}<cbc:{name} currencyID="{CURRENCY}">{json_money(amount)}</cbc:{name}>')

    @contextmanager
    def cac(self, name: str) -> Iterator[None]:
        indent = "  " * self.depth
        self.lines.append(f"{indent}<cac:{name}>")
        self.depth += 1
        yield
        self.depth -= 1
        self.lines.append(f"{indent}</cac:{name}>")


def build_ubl(doc: Prepared) -> bytes:
    """The UBL document of one prepared invoice, as UTF-8 bytes with an XML declaration."""
    credit = doc.is_credit
    name, namespace = ("CreditNote", NS_CREDIT) if credit else ("Invoice", NS_INVOICE)
    sign = Decimal(-1) if credit else Decimal(1)
    head = _Writer(1)
    _header(head, doc)
    parties = (_supplier(doc.supplier, doc.invoice.provider), _customer(doc.buyer, doc.municipality.name))
    out = _Writer(1)
    if not credit:
        _payment_means(out, doc)
    with out.cac("PaymentTerms"):
        out.cbc("Note", payment_terms(doc))
    _tax_total(out, doc, sign)
    _monetary_total(out, doc, sign)
    _check_xml(doc.id, "\n".join(head.lines), "\n".join(out.lines),
               *(f"{line.bsn}{line.product}{line.product_name}" for line in doc.invoice.lines))
    for number, line in enumerate(doc.invoice.lines, 1):
        _line(out, doc, number, line)
    text = "\n".join((f'{DECLARATION}<{name} xmlns="{namespace}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">',
                      *head.lines, *parties, *out.lines, f"</{name}>\n"))
    return text.encode("utf-8")


def _check_xml(what: str, *texts: str) -> None:
    """A :class:`DocumentError` when a text from the inputs has a character XML 1.0 cannot hold."""
    if any(_NOT_XML.search(text) for text in texts):
        raise DocumentError(f"{what}: a text of this invoice has a character XML cannot hold (a control character)")


def document_note(doc: Prepared) -> str:
    invoice = doc.invoice
    note = (f"Zorgfactuur MGR Sociaal Domein Limburg-Noord: {invoice.provider} aan {doc.buyer.legal_name}, "
            f"dienstverlening {invoice.period_start.isoformat()} t/m {invoice.period_end.isoformat()}")
    if doc.is_credit:
        note += f"; creditnota op factuur {invoice.credits}"
    if doc.is_concept:
        note += "; CONCEPT: nog niet gefactureerd, niet betalen"
    return note


def payment_terms(doc: Prepared) -> str:
    if doc.is_credit:
        return f"Creditnota op factuur {doc.invoice.credits}; het bedrag wordt verrekend of terugbetaald."
    return (f"Betaling binnen 30 dagen, uiterlijk {doc.due_date.isoformat()}, op {doc.supplier.iban} "
            f"onder vermelding van {doc.id}.")


def _header(out: _Writer, doc: Prepared) -> None:
    out.cbc("CustomizationID", CUSTOMIZATION_ID)
    out.cbc("ProfileID", PROFILE_ID)
    out.cbc("ID", doc.id)
    out.cbc("IssueDate", doc.issue_date.isoformat())
    if doc.is_credit:
        out.cbc("CreditNoteTypeCode", "381")
    else:
        out.cbc("DueDate", doc.due_date.isoformat())
        out.cbc("InvoiceTypeCode", "380")
    out.cbc("Note", document_note(doc))
    out.cbc("DocumentCurrencyCode", CURRENCY)
    out.cbc("BuyerReference", doc.buyer.buyer_reference)
    with out.cac("InvoicePeriod"):
        out.cbc("StartDate", doc.invoice.period_start.isoformat())
        out.cbc("EndDate", doc.invoice.period_end.isoformat())
    if doc.is_credit:
        with out.cac("BillingReference"), out.cac("InvoiceDocumentReference"):
            out.cbc("ID", str(doc.invoice.credits))


def _address(out: _Writer, street: str, postcode: str, city: str, country: str) -> None:
    with out.cac("PostalAddress"):
        out.cbc("StreetName", street)
        out.cbc("CityName", city)
        out.cbc("PostalZone", postcode)
        with out.cac("Country"):
            out.cbc("IdentificationCode", country)


@functools.lru_cache(maxsize=1024)
def _supplier(supplier: Provider, name: str) -> str:
    """The ``AccountingSupplierParty`` block of a provider (named ``name`` in the hour logs)."""
    if supplier.vat_id is None:
        raise DocumentError(f"{name}: an e-invoice needs the supplier's VAT id (EN 16931 BR-E-02, "
                            f"BR-S-02), but the parties file gives none ({supplier.no_vat_id_reason})")
    out = _Writer(1)
    with out.cac("AccountingSupplierParty"), out.cac("Party"):
        out.cbc("EndpointID", supplier.kvk, schemeID=SCHEME_KVK)
        with out.cac("PartyIdentification"):
            out.cbc("ID", supplier.kvk, schemeID=SCHEME_KVK)
        with out.cac("PartyName"):
            out.cbc("Name", name)
        a = supplier.address
        _address(out, a.street, a.postcode, a.city, a.country)
        with out.cac("PartyTaxScheme"):
            out.cbc("CompanyID", supplier.vat_id)
            with out.cac("TaxScheme"):
                out.cbc("ID", "VAT")
        with out.cac("PartyLegalEntity"):
            out.cbc("RegistrationName", supplier.legal_name)
            out.cbc("CompanyID", supplier.kvk, schemeID=SCHEME_KVK)
        with out.cac("Contact"):
            out.cbc("Name", supplier.contact.name)
            out.cbc("Telephone", supplier.contact.phone)
            out.cbc("ElectronicMail", supplier.contact.email)
    block = "\n".join(out.lines)
    _check_xml(name, block)
    return block


@functools.lru_cache(maxsize=1024)
def _customer(buyer: MunicipalityParty, municipality: str) -> str:
    """The ``AccountingCustomerParty`` block of a municipality."""
    legal_id = buyer.legal_id
    if legal_id is None:
        raise DocumentError(f"{municipality}: an e-invoice needs the municipality's OIN (scheme 0190) or "
                            "KvK number (0106); the parties file gives neither")
    scheme, endpoint = buyer.endpoint
    out = _Writer(1)
    with out.cac("AccountingCustomerParty"), out.cac("Party"):
        out.cbc("EndpointID", endpoint, schemeID=scheme)
        with out.cac("PartyIdentification"):
            out.cbc("ID", legal_id[1], schemeID=legal_id[0])
        with out.cac("PartyName"):
            out.cbc("Name", buyer.legal_name)
        a = buyer.address
        _address(out, a.street, a.postcode, a.city, a.country)
        with out.cac("PartyLegalEntity"):
            out.cbc("RegistrationName", buyer.legal_name)
            out.cbc("CompanyID", legal_id[1], schemeID=legal_id[0])
    block = "\n".join(out.lines)
    _check_xml(municipality, block)
    return block


def _payment_means(out: _Writer, doc: Prepared) -> None:
    with out.cac("PaymentMeans"):
        out.cbc("PaymentMeansCode", PAYMENT_SEPA_CREDIT_TRANSFER)
        out.cbc("PaymentID", doc.id)
        with out.cac("PayeeFinancialAccount"):
            out.cbc("ID", doc.supplier.iban)


def _tax_category(out: _Writer, name: str, group_category: str, rate: Decimal, reason: str | None) -> None:
    with out.cac(name):
        out.cbc("ID", group_category)
        out.cbc("Percent", json_decimal(rate))
        if reason is not None:
            out.cbc("TaxExemptionReason", reason)
        with out.cac("TaxScheme"):
            out.cbc("ID", "VAT")


def _tax_total(out: _Writer, doc: Prepared, sign: Decimal) -> None:
    with out.cac("TaxTotal"):
        out.money("TaxAmount", sign * doc.vat_total)
        for group in doc.vat:
            _tax_subtotal(out, group, sign)


def _tax_subtotal(out: _Writer, group: VatGroup, sign: Decimal) -> None:
    with out.cac("TaxSubtotal"):
        out.money("TaxableAmount", sign * group.base)
        out.money("TaxAmount", sign * group.amount)
        _tax_category(out, "TaxCategory", group.category, group.rate, group.reason)


def _monetary_total(out: _Writer, doc: Prepared, sign: Decimal) -> None:
    with out.cac("LegalMonetaryTotal"):
        out.money("LineExtensionAmount", sign * doc.invoice.total)
        out.money("TaxExclusiveAmount", sign * doc.invoice.total)
        out.money("TaxInclusiveAmount", sign * doc.total_incl_vat)
        out.money("PayableAmount", sign * doc.total_incl_vat)


def _line(out: _Writer, doc: Prepared, number: int, line: InvoiceLine) -> None:
    """One ``InvoiceLine`` (``CreditNoteLine``), filled into a fixed text: the hot loop of a document.

    What a line shares with the other lines of its product and price (item name, tax category, price) is made
    once (:func:`_item_parts`); amounts, quantities and dates are worded once per distinct value
    (:func:`_money_text`, :func:`_quantity_text`, :func:`_day`)."""
    credit = doc.is_credit
    tag, quantity_tag, opening, name, item, price = _item_parts(
        credit, line.product, line.product_name, line.unit, line.unit_price, line.unit_price.is_signed(),
        line.vat_treatment, line.vat_rate)
    unit = line.unit.un_ece_code
    bsn = xml_text(line.bsn)
    first, last = _day(line.first_day), _day(line.last_day)
    netting = "" if line.revenue_netted == 0 else (
        "\n    <cac:AllowanceCharge>\n      <cbc:ChargeIndicator>false</cbc:ChargeIndicator>\n"
        f"      <cbc:AllowanceChargeReason>{NETTING_REASON}</cbc:AllowanceChargeReason>\n"
        f'      <cbc:Amount currencyID="{CURRENCY}">{_money_text(line.revenue_netted, credit)}</cbc:Amount>\n'
        "    </cac:AllowanceCharge>")
    negated = credit != (line.unit_price < 0)
    money = f'currencyID="{CURRENCY}"'
    out.lines.append(
        f"{opening}{number}</cbc:ID>\n    <cbc:Note>BSN {bsn}</cbc:Note>\n"
        f'    <cbc:{quantity_tag} unitCode="{unit}">{_quantity_text(line.quantity, negated)}</cbc:{quantity_tag}>\n'
        f"    <cbc:LineExtensionAmount {money}>{_money_text(line.amount, credit)}</cbc:LineExtensionAmount>\n"
        f"    <cac:InvoicePeriod>\n      <cbc:StartDate>{first}</cbc:StartDate>\n"
        f"      <cbc:EndDate>{last}</cbc:EndDate>\n    </cac:InvoicePeriod>{netting}\n"
        f"    <cac:Item>\n      <cbc:Description>{name}, {first} t/m {last}, BSN {bsn}</cbc:Description>\n"
        f"{item}        <cbc:Value>{bsn}</cbc:Value>\n      </cac:AdditionalItemProperty>\n    </cac:Item>\n"
        f"{price}  </cac:{tag}>")


@functools.lru_cache(maxsize=4096)
def _item_parts(credit: bool, product: str, product_name: str, unit: QuantityUnit, unit_price: Decimal,
                price_signed: bool, vat_treatment: str, vat_rate: Decimal) -> tuple[str, str, str, str, str, str]:
    """The parts of a line that depend on its product and price only: the line's tags, the opening up to its
    number, the description's start, the item (name, seller's id, tax category, up to the BSN's value) and the
    price block. ``price_signed`` keeps -0 apart from 0 (equal as Decimals, worded apart)."""
    del price_signed  # part of the cache's key only
    tag, quantity_tag = ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    name = f"{product} {product_name}"
    described = xml_text(f"{name}, {'minuten' if unit is QuantityUnit.MINUTE else 'uren'}")
    item = (f"      <cbc:Name>{xml_text(name[:200])}</cbc:Name>\n"
            f"      <cac:SellersItemIdentification>\n        <cbc:ID>{xml_text(product)}</cbc:ID>\n"
            f"      </cac:SellersItemIdentification>\n{_item_tax_category(vat_category(vat_treatment), vat_rate)}\n"
            f"      <cac:AdditionalItemProperty>\n        <cbc:Name>BSN</cbc:Name>\n")
    price = (f'    <cac:Price>\n      <cbc:PriceAmount currencyID="{CURRENCY}">{price_text(abs(unit_price))}'
             f'</cbc:PriceAmount>\n      <cbc:BaseQuantity unitCode="{unit.un_ece_code}">{unit.per_hour}'
             "</cbc:BaseQuantity>\n    </cac:Price>\n")
    return tag, quantity_tag, f"  <cac:{tag}>\n    <cbc:ID>", described, item, price


def _money_text(amount: Decimal, negate: bool) -> str:
    """``json_money(-1 * amount if negate else amount)``, worded once per distinct amount."""
    return _worded(json_money, amount, amount.is_signed(), negate)


def _quantity_text(quantity: Decimal, negate: bool) -> str:
    """``json_decimal(-1 * quantity if negate else quantity)``, worded once per distinct quantity."""
    return _worded(json_decimal, quantity, quantity.is_signed(), negate)


@functools.lru_cache(maxsize=65536)
def _worded(word: Callable[[Decimal], str], value: Decimal, signed: bool, negate: bool) -> str:
    del signed  # part of the cache's key only: -0.00 and 0.00 are equal Decimals, worded apart
    return word(MINUS_ONE * value if negate else value)  # not -value: that turns -0.00 into 0.00


@functools.lru_cache(maxsize=65536)
def _day(day: dt.date) -> str:
    return day.isoformat()


@functools.lru_cache(maxsize=256)
def _item_tax_category(category: str, rate: Decimal) -> str:
    """The ``ClassifiedTaxCategory`` of a line's item (the same few for every line)."""
    out = _Writer(3)
    _tax_category(out, "ClassifiedTaxCategory", category, rate, None)
    return "\n".join(out.lines)


def price_text(value: Decimal) -> str:
    """A unit price: two decimals like money, more only when the tariff has more."""
    return json_money(value) if value == value.quantize(Decimal("0.01")) else json_decimal(value)
