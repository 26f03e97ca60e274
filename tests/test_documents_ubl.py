"""UBL e-invoices: every document passes the offline SI-UBL 2.0 validator; amounts read back to the cent."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from support.sample import example_invoice, large_invoice, make_invoice, make_line, negated

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents import DocumentError
from mgr_tariffs.documents.prepare import prepare
from mgr_tariffs.documents.ubl import build_ubl
from mgr_tariffs.parties import Parties, load_parties
from mgr_tariffs.quantity import QuantityUnit

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "parties.yaml"
EINVOICE = Path(__file__).resolve().parents[2] / "shared" / "einvoice"
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
ISSUED = dt.date(2019, 4, 5)


@pytest.fixture(scope="module")
def parties(lookup: Lookup) -> Parties:
    result = load_parties(EXAMPLE, lookup)
    assert result.parties is not None, result.problems
    return result.parties


@pytest.fixture(scope="module")
def validator() -> Any:
    if not EINVOICE.is_dir():
        pytest.skip(f"the offline UBL validator is not there ({EINVOICE} is missing)")
    sys.path.insert(0, str(EINVOICE))
    from validate_ubl import Validator  # noqa: PLC0415

    return Validator()


def invoices() -> list[Invoice]:
    small = example_invoice()
    big = large_invoice(520)
    return [small, negated(small, "2019-000200"), big, negated(big, "2019-000201"), example_invoice(None)]


def build(invoice: Invoice, parties: Parties, lookup: Lookup) -> bytes:
    (doc,) = prepare([invoice], parties, lookup, ISSUED)
    return build_ubl(doc)


@pytest.mark.parametrize("index", range(5), ids=["invoice", "credit", "large", "large-credit", "concept"])
def test_every_document_passes_si_ubl_validation(index: int, parties: Parties, lookup: Lookup, validator: Any,
                                                 tmp_path: Path) -> None:
    target = tmp_path / "invoice.xml"
    target.write_bytes(build(invoices()[index], parties, lookup))
    result = validator.validate(str(target))
    assert "nlcius" in result.rulesets
    assert result.ok, "\n".join(f.line() for f in result.findings if f.failing)


def amount(element: Any, path: str) -> Decimal:
    (text,) = element.xpath(f"({path})/text()", namespaces=NS)
    return Decimal(text)


@pytest.mark.parametrize("index", range(5), ids=["invoice", "credit", "large", "large-credit", "concept"])
def test_amounts_read_back_to_the_cent(index: int, parties: Parties, lookup: Lookup) -> None:
    invoice = invoices()[index]
    root = etree.fromstring(build(invoice, parties, lookup))
    sign = -1 if invoice.credits else 1
    assert amount(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == sign * invoice.total
    assert amount(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == sign * invoice.total_incl_vat
    assert amount(root, "cac:TaxTotal/cbc:TaxAmount") == sign * invoice.vat_total
    subtotals = {(s.xpath("string(cac:TaxCategory/cbc:ID)", namespaces=NS), amount(s, "cbc:TaxableAmount"),
                  amount(s, "cbc:TaxAmount")) for s in root.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)}
    assert subtotals == {("E" if v.treatment == "vrijgesteld" else "S", sign * v.base, sign * v.amount)
                         for v in invoice.vat}
    lines = root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS)
    assert len(lines) == len(invoice.lines)
    for element, line in zip(lines, invoice.lines, strict=True):
        assert amount(element, "cbc:LineExtensionAmount") == sign * line.amount
        assert amount(element, "cbc:InvoicedQuantity | cbc:CreditedQuantity") == sign * line.quantity
        assert amount(element, "cac:Price/cbc:PriceAmount") == line.unit_price
        netted = element.xpath("cac:AllowanceCharge/cbc:Amount/text()", namespaces=NS)
        assert [Decimal(n) for n in netted] == ([sign * line.revenue_netted] if line.revenue_netted else [])
        assert element.xpath("string(cac:Item/cac:AdditionalItemProperty[cbc:Name='BSN']/cbc:Value)",
                             namespaces=NS) == line.bsn
        unit = element.xpath("string((cbc:InvoicedQuantity | cbc:CreditedQuantity)/@unitCode)", namespaces=NS)
        assert unit == line.unit.un_ece_code


def test_the_large_invoice_is_in_the_millions_with_minutes_and_netting() -> None:
    big = large_invoice(520)
    assert big.total > 1_000_000 and len(big.lines) == 520
    assert any(line.unit is QuantityUnit.MINUTE for line in big.lines)
    assert any(line.revenue_netted for line in big.lines)


def test_credit_note_refers_to_the_original_and_concept_has_a_provisional_id(parties: Parties,
                                                                             lookup: Lookup) -> None:
    credit = etree.fromstring(build(negated(example_invoice(), "2019-000200"), parties, lookup))
    assert etree.QName(credit).localname == "CreditNote"
    assert credit.xpath("string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)", namespaces=NS) == \
        "2019-000123"
    assert credit.xpath("string(cbc:CreditNoteTypeCode)", namespaces=NS) == "381"
    concept = etree.fromstring(build(example_invoice(None), parties, lookup))
    assert concept.xpath("string(cbc:ID)", namespaces=NS) == "CONCEPT-werkbedrijf-de-peel-b-v-0983-2019-03"
    assert concept.xpath("string(cbc:BuyerReference)", namespaces=NS) == "MGR-SD-0983"
    assert concept.xpath("string(cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID)", namespaces=NS) == \
        "NL16TEST0734567890"
    assert concept.xpath("string(cbc:DueDate)", namespaces=NS) == "2019-05-05"


def test_missing_parties_are_named_all_at_once(parties: Parties, lookup: Lookup) -> None:
    strangers = [make_invoice([make_line("123456782", "LN031", "1")], provider="Onbekend B.V."),
                 make_invoice([make_line("123456782", "LN031", "1")], municipality="Roermond", code="0957"),
                 make_invoice([make_line("123456782", "LN031", "1")], municipality="Maastricht", code="0935")]
    only_venlo = Parties(providers=parties.providers, municipalities={"0983": parties.municipalities["0983"]})
    with pytest.raises(DocumentError) as caught:
        prepare(strangers, only_venlo, lookup, ISSUED)
    assert caught.value.message == (
        "the parties file does not cover provider 'Onbekend B.V.'; municipality 'Roermond' (0957); "
        "municipality 0935 (Maastricht) in the tariff catalogue")


def test_an_inconsistent_invoice_is_refused(parties: Parties, lookup: Lookup) -> None:
    invoice = example_invoice()
    wrong_total = invoice.model_copy(update={"total": invoice.total + Decimal("0.01")})
    wrong_vat = invoice.model_copy(update={"vat": invoice.vat[:1]})
    with pytest.raises(DocumentError, match=r"2019-000123: total 2634.76 is not the sum of its line amounts; "
                                            r"2019-000123: its VAT breakdown differs"):
        prepare([wrong_total, wrong_vat], parties, lookup, ISSUED)


def test_a_supplier_without_vat_id_cannot_send_an_e_invoice(parties: Parties, lookup: Lookup) -> None:
    provider = parties.providers["Werkbedrijf De Peel B.V."].model_copy(
        update={"vat_id": None, "no_vat_id_reason": "geen btw-ondernemer"})
    without = parties.model_copy(update={"providers": {"Werkbedrijf De Peel B.V.": provider}})
    with pytest.raises(DocumentError, match="needs the supplier's VAT id"):
        build(example_invoice(), without, lookup)
