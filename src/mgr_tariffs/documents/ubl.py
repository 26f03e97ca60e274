"""UBL 2.1 e-invoices in the Dutch SI-UBL 2.0 (NLCIUS) profile, built with lxml.

One ``Invoice`` per invoice, or a ``CreditNote`` (type 381, with a ``BillingReference`` to the
original) when the invoice credits another. The Invoice objects of a credit carry negative
amounts; a UBL credit note states them positive (the document type says they are a credit), so
quantities and amounts are negated and prices stay positive (EN 16931 BR-27).

Per line: the BSN as line note and as item property ``BSN`` (the municipality matches it to its
allocations), the service dates as line period, the quantity in ``HUR`` or ``MIN``, the hourly
price with base quantity 1 HUR or 60 MIN, and LN034 revenue netting as a line allowance
``Verrekende opbrengst`` so that price x quantity - allowance = line amount (EN 16931 BR-LIN).
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.documents.prepare import Prepared, VatGroup
from mgr_tariffs.money import json_decimal, json_money
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


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _money(parent: etree._Element, name: str, amount: Decimal) -> None:
    _cbc(parent, name, json_money(amount), currencyID=CURRENCY)


def build_ubl(doc: Prepared) -> bytes:
    """The UBL document of one prepared invoice, as UTF-8 bytes with an XML declaration."""
    credit = doc.is_credit
    root = etree.Element(f"{{{NS_CREDIT if credit else NS_INVOICE}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: NS_CREDIT if credit else NS_INVOICE, "cac": CAC, "cbc": CBC})
    sign = Decimal(-1) if credit else Decimal(1)
    _header(root, doc)
    _supplier(_cac(_cac(root, "AccountingSupplierParty"), "Party"), doc)
    _customer(_cac(_cac(root, "AccountingCustomerParty"), "Party"), doc)
    if not credit:
        _payment_means(root, doc)
    _cbc(_cac(root, "PaymentTerms"), "Note", payment_terms(doc))
    _tax_total(root, doc, sign)
    _monetary_total(root, doc, sign)
    for number, line in enumerate(doc.invoice.lines, 1):
        _line(root, doc, number, line, sign)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


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


def _header(root: etree._Element, doc: Prepared) -> None:
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", doc.id)
    _cbc(root, "IssueDate", doc.issue_date.isoformat())
    if doc.is_credit:
        _cbc(root, "CreditNoteTypeCode", "381")
    else:
        _cbc(root, "DueDate", doc.due_date.isoformat())
        _cbc(root, "InvoiceTypeCode", "380")
    _cbc(root, "Note", document_note(doc))
    _cbc(root, "DocumentCurrencyCode", CURRENCY)
    _cbc(root, "BuyerReference", doc.buyer.buyer_reference)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", doc.invoice.period_start.isoformat())
    _cbc(period, "EndDate", doc.invoice.period_end.isoformat())
    if doc.is_credit:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", str(doc.invoice.credits))


def _address(party: etree._Element, street: str, postcode: str, city: str, country: str) -> None:
    address = _cac(party, "PostalAddress")
    _cbc(address, "StreetName", street)
    _cbc(address, "CityName", city)
    _cbc(address, "PostalZone", postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", country)


def _supplier(party: etree._Element, doc: Prepared) -> None:
    supplier = doc.supplier
    if supplier.vat_id is None:
        raise DocumentError(f"{doc.invoice.provider}: an e-invoice needs the supplier's VAT id (EN 16931 BR-E-02, "
                            f"BR-S-02), but the parties file gives none ({supplier.no_vat_id_reason})")
    _cbc(party, "EndpointID", supplier.kvk, schemeID=SCHEME_KVK)
    _cbc(_cac(party, "PartyIdentification"), "ID", supplier.kvk, schemeID=SCHEME_KVK)
    _cbc(_cac(party, "PartyName"), "Name", doc.invoice.provider)
    a = supplier.address
    _address(party, a.street, a.postcode, a.city, a.country)
    tax = _cac(party, "PartyTaxScheme")
    _cbc(tax, "CompanyID", supplier.vat_id)
    _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", supplier.legal_name)
    _cbc(legal, "CompanyID", supplier.kvk, schemeID=SCHEME_KVK)
    contact = _cac(party, "Contact")
    _cbc(contact, "Name", supplier.contact.name)
    _cbc(contact, "Telephone", supplier.contact.phone)
    _cbc(contact, "ElectronicMail", supplier.contact.email)


def _customer(party: etree._Element, doc: Prepared) -> None:
    buyer = doc.buyer
    legal_id = buyer.legal_id
    if legal_id is None:
        raise DocumentError(f"{doc.municipality.name}: an e-invoice needs the municipality's OIN (scheme 0190) or "
                            "KvK number (0106); the parties file gives neither")
    scheme, endpoint = buyer.endpoint
    _cbc(party, "EndpointID", endpoint, schemeID=scheme)
    _cbc(_cac(party, "PartyIdentification"), "ID", legal_id[1], schemeID=legal_id[0])
    _cbc(_cac(party, "PartyName"), "Name", buyer.legal_name)
    a = buyer.address
    _address(party, a.street, a.postcode, a.city, a.country)
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", buyer.legal_name)
    _cbc(legal, "CompanyID", legal_id[1], schemeID=legal_id[0])


def _payment_means(root: etree._Element, doc: Prepared) -> None:
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", PAYMENT_SEPA_CREDIT_TRANSFER)
    _cbc(means, "PaymentID", doc.id)
    _cbc(_cac(means, "PayeeFinancialAccount"), "ID", doc.supplier.iban)


def _tax_category(parent: etree._Element, name: str, group_category: str, rate: Decimal,
                  reason: str | None) -> None:
    category = _cac(parent, name)
    _cbc(category, "ID", group_category)
    _cbc(category, "Percent", json_decimal(rate))
    if reason is not None:
        _cbc(category, "TaxExemptionReason", reason)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _tax_total(root: etree._Element, doc: Prepared, sign: Decimal) -> None:
    total = _cac(root, "TaxTotal")
    _money(total, "TaxAmount", sign * doc.vat_total)
    for group in doc.vat:
        _tax_subtotal(total, group, sign)


def _tax_subtotal(total: etree._Element, group: VatGroup, sign: Decimal) -> None:
    subtotal = _cac(total, "TaxSubtotal")
    _money(subtotal, "TaxableAmount", sign * group.base)
    _money(subtotal, "TaxAmount", sign * group.amount)
    _tax_category(subtotal, "TaxCategory", group.category, group.rate, group.reason)


def _monetary_total(root: etree._Element, doc: Prepared, sign: Decimal) -> None:
    total = _cac(root, "LegalMonetaryTotal")
    _money(total, "LineExtensionAmount", sign * doc.invoice.total)
    _money(total, "TaxExclusiveAmount", sign * doc.invoice.total)
    _money(total, "TaxInclusiveAmount", sign * doc.total_incl_vat)
    _money(total, "PayableAmount", sign * doc.total_incl_vat)


def _line(root: etree._Element, doc: Prepared, number: int, line: InvoiceLine, sign: Decimal) -> None:
    credit = doc.is_credit
    element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(element, "ID", str(number))
    _cbc(element, "Note", f"BSN {line.bsn}")
    price_sign = Decimal(-1) if line.unit_price < 0 else Decimal(1)
    quantity = sign * price_sign * line.quantity
    _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", json_decimal(quantity),
         unitCode=line.unit.un_ece_code)
    _money(element, "LineExtensionAmount", sign * line.amount)
    period = _cac(element, "InvoicePeriod")
    _cbc(period, "StartDate", line.first_day.isoformat())
    _cbc(period, "EndDate", line.last_day.isoformat())
    if line.revenue_netted != 0:
        _netting(element, sign * line.revenue_netted)
    _item(element, doc, line)
    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", price_text(abs(line.unit_price)), currencyID=CURRENCY)
    _cbc(price, "BaseQuantity", str(line.unit.per_hour), unitCode=line.unit.un_ece_code)


def price_text(value: Decimal) -> str:
    """A unit price: two decimals like money, more only when the tariff has more."""
    return json_money(value) if value == value.quantize(Decimal("0.01")) else json_decimal(value)


def _netting(element: etree._Element, amount: Decimal) -> None:
    allowance = _cac(element, "AllowanceCharge")
    _cbc(allowance, "ChargeIndicator", "false")
    _cbc(allowance, "AllowanceChargeReason", NETTING_REASON)
    _money(allowance, "Amount", amount)


def _item(element: etree._Element, doc: Prepared, line: InvoiceLine) -> None:
    item = _cac(element, "Item")
    unit = "minuten" if line.unit is QuantityUnit.MINUTE else "uren"
    _cbc(item, "Description", f"{line.product} {line.product_name}, {unit}, "
                              f"{line.first_day.isoformat()} t/m {line.last_day.isoformat()}, BSN {line.bsn}")
    _cbc(item, "Name", f"{line.product} {line.product_name}"[:200])
    _cbc(_cac(item, "SellersItemIdentification"), "ID", line.product)
    group = next(g for g in doc.vat if (g.treatment, g.rate) == (line.vat_treatment, line.vat_rate))
    _tax_category(item, "ClassifiedTaxCategory", group.category, group.rate, None)
    prop = _cac(item, "AdditionalItemProperty")
    _cbc(prop, "Name", "BSN")
    _cbc(prop, "Value", line.bsn)
