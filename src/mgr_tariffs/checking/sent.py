"""What a municipality receives from ``mgr bill``, read back for ``mgr check``: the UBL e-invoices (SI-UBL 2.0
``Invoice`` / ``CreditNote``) and the workbook ``facturen.xlsx``.

Each becomes the rows ``mgr check`` reads from an invoice specification (the canonical column names of
:data:`mgr_tariffs.checking.engine.COLUMNS`, as text), so everything after reading is the same check. A credit
note's lines are negated (a credit is a negative line) and carry the number of the invoice they credit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from mgr_tariffs.io.files import read_bounded
from mgr_tariffs.problems import InputError

CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
ROOTS = {"{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": "InvoiceLine",
         "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": "CreditNoteLine"}
MAX_BYTES = 64 * 1024 * 1024
UNITS = {"HUR": "uur", "MIN": "minuut"}
WORKBOOK_LINES = "Regels"
WORKBOOK_INVOICES = "Facturen"
WORKBOOK_COLUMNS = {
    "Factuurnummer": "factuurnummer", "Zorgaanbieder": "aanbieder", "Gemeente": "gemeente", "Periode": "periode",
    "BSN": "bsn", "Product": "productcode", "Eenheid": "eenheid", "Aantal": "aantal", "Tarief per uur": "tarief",
    "Bruto": "bedrag_bruto", "Opbrengst": "opbrengst", "Bedrag excl. btw": "bedrag", "Eerste dag": "datum_van",
    "Laatste dag": "datum_tot",
}
"""The lines sheet of ``facturen.xlsx`` (:mod:`mgr_tariffs.documents.xlsx`) in the names of an invoice specification."""


def is_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_ubl(path: Path, file: str) -> list[dict[str, Any]]:
    """The lines of a UBL invoice or credit note as invoice-specification rows (``_line``: the line's XML line)."""
    data = read_bounded(path, file, MAX_BYTES, "64 MiB")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(file, f"is not well-formed XML ({exc})") from None
    line_tag = ROOTS.get(root.tag)
    if line_tag is None:
        raise InputError(file, f"is XML but not a UBL Invoice or CreditNote (root element {root.tag!r})")
    credit = line_tag == "CreditNoteLine"
    head = _head(root, credit)
    return [{**head, **_line(element, credit)} for element in root.iter(f"{CAC}{line_tag}")]


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return None if found is None or found.text is None else str(found.text).strip()


def _negated(text: str | None, credit: bool) -> str | None:
    if text is None or not credit:
        return text
    return text[1:] if text.startswith("-") else f"-{text}"


def _head(root: Any, credit: bool) -> dict[str, Any]:
    start = _text(root, f"{CAC}InvoicePeriod/{CBC}StartDate") or ""
    return {
        "factuurnummer": _text(root, f"{CBC}ID"), "factuurdatum": _text(root, f"{CBC}IssueDate"),
        "aanbieder": _text(root, f"{CAC}AccountingSupplierParty/{CAC}Party/{CAC}PartyName/{CBC}Name"),
        "gemeente": _municipality(root), "periode": start[:7] or None,
        "totaal": _negated(_text(root, f"{CAC}LegalMonetaryTotal/{CBC}TaxExclusiveAmount"), credit),
        "credit_van": _text(root, f"{CAC}BillingReference/{CAC}InvoiceDocumentReference/{CBC}ID") if credit else None,
    }


def _municipality(root: Any) -> str | None:
    """The buyer: its name without "Gemeente" (as `mgr bill` names it), else its city."""
    party = f"{CAC}AccountingCustomerParty/{CAC}Party/"
    name = _text(root, f"{party}{CAC}PartyName/{CBC}Name")
    if name and name.lower().startswith("gemeente "):
        return name[len("gemeente "):]
    return name or _text(root, f"{party}{CAC}PostalAddress/{CBC}CityName")


def _line(element: Any, credit: bool) -> dict[str, Any]:
    quantity = element.find(f"{CBC}CreditedQuantity" if credit else f"{CBC}InvoicedQuantity")
    unit = UNITS.get(quantity.get("unitCode", "") if quantity is not None else "", "uur")
    amount = _text(element, f"{CBC}LineExtensionAmount")
    netted = _text(element, f"{CAC}AllowanceCharge/{CBC}Amount")
    value = None if quantity is None or quantity.text is None else str(quantity.text).strip()
    bsn = next((_text(p, f"{CBC}Value") for p in element.iter(f"{CAC}AdditionalItemProperty")
                if _text(p, f"{CBC}Name") == "BSN"), None)
    return {
        "_line": element.sourceline, "bsn": bsn,
        "productcode": _text(element, f"{CAC}Item/{CAC}SellersItemIdentification/{CBC}ID"),
        "datum_van": _text(element, f"{CAC}InvoicePeriod/{CBC}StartDate"),
        "datum_tot": _text(element, f"{CAC}InvoicePeriod/{CBC}EndDate"),
        "aantal" if unit == "uur" else "minuten": _negated(value, credit), "eenheid": unit,
        "tarief": _text(element, f"{CAC}Price/{CBC}PriceAmount"), "bedrag": _negated(amount, credit),
        "opbrengst": _negated(netted, credit),
    }
