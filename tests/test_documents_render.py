"""Rendering many documents: a pool of workers gives the bytes one process gives, errors come back as values,
progress is told; the UBL text is escaped as lxml escapes it; the PDF's text can be extracted."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from support.sample import example_invoice, make_invoice, make_line, negated

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents import DocumentError, pdf, render, ubl
from mgr_tariffs.documents.pdf import build_pdf
from mgr_tariffs.documents.prepare import Prepared, prepare
from mgr_tariffs.documents.render import POOL_FROM
from mgr_tariffs.documents.ubl import build_ubl, price_text, xml_attribute, xml_text
from mgr_tariffs.money import round_cents
from mgr_tariffs.parties import Parties, load_parties
from mgr_tariffs.quantity import QuantityUnit

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "parties.yaml"
PROVIDERS = ("Werkbedrijf De Peel B.V.", "Stichting Perspectief Noord-Limburg", "Cliëntondersteuning Maasland B.V.")


@pytest.fixture(scope="module")
def parties(lookup: Lookup) -> Parties:
    result = load_parties(EXAMPLE, lookup)
    assert result.parties is not None
    return result.parties


@pytest.fixture(scope="module")
def many(parties: Parties, lookup: Lookup) -> list[Prepared]:
    """More invoices than a pool starts for: invoices, credit notes and concepts of three providers."""
    invoices = []
    for index in range(POOL_FROM + 40):
        lines = [make_line(f"{index:09d}", "LN034", str(1 + index % 7), revenue=str(index % 50)),
                 make_line(f"{index:09d}", "LN032", "2", treatment="hoog")]
        invoice = make_invoice(lines, provider=PROVIDERS[index % 3], number=f"2019-{index:06d}" if index % 5 else None)
        invoices.append(negated(invoice, f"2019-9{index:05d}") if index % 11 == 0 and invoice.number else invoice)
    return prepare(invoices, parties, lookup, dt.date(2019, 5, 3))


def test_a_pool_gives_the_bytes_of_one_process_in_invoice_order(many: list[Prepared]) -> None:
    told: list[tuple[int, int]] = []
    pooled = render.render(many, ["ubl", "pdf"], workers=2, progress=lambda done, total: told.append((done, total)))
    alone = render.render(many, ["ubl", "pdf"], workers=1)
    assert pooled == alone
    assert pooled["ubl"] == [build_ubl(doc) for doc in many] and len(pooled["pdf"]) == len(many)
    assert told[-1] == (len(many), len(many)) and len(told) > 2
    assert [done for done, _ in told] == sorted(done for done, _ in told)


def test_only_pdf_goes_to_the_pool(many: list[Prepared], monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    pooled = render._pooled

    def spy(batches: list[list[Prepared]], formats: list[str], *args: object) -> object:
        started.append(list(formats))
        return pooled(batches, formats, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "_pooled", spy)
    assert render.render(many, ["ubl"], workers=2)["ubl"][0] == build_ubl(many[0])
    assert started == []  # a UBL run stays here: sending its bytes back costs more than a core gains
    both = render.render(many, ["pdf", "ubl"], workers=2)
    assert started == [["pdf"]] and both["ubl"] == [build_ubl(doc) for doc in many]


def test_a_small_run_stays_in_this_process(many: list[Prepared], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started")

    monkeypatch.setattr(render, "_pooled", no_pool)
    assert render.render(many[:POOL_FROM - 1], ["pdf"])["pdf"][0] == build_pdf(many[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_error_in_invoice_order_comes_back_as_a_document_error(many: list[Prepared], workers: int) -> None:
    supplier = many[130].supplier.model_copy(update={"vat_id": None, "no_vat_id_reason": "kleine ondernemer"})
    broken = [dataclasses.replace(doc, supplier=supplier) if i in (130, 190) else doc for i, doc in enumerate(many)]
    told: list[tuple[int, int]] = []
    with pytest.raises(DocumentError, match=r"supplier's VAT id.*kleine ondernemer") as raised:
        render.render(broken, ["ubl", "pdf"], workers=workers, progress=lambda d, t: told.append((d, t)))
    assert raised.value.args[0].startswith(f"{broken[130].invoice.provider}:")
    assert told[-1] == (len(many), len(many))  # the last call closes a progress display
    assert len(render.render(broken, ["pdf"], workers=workers)["pdf"]) == len(many)  # a PDF needs no VAT id


def test_a_writer_bug_in_a_worker_is_a_document_error_not_a_traceback(many: list[Prepared],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(doc: Prepared) -> bytes:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(pdf, "build_pdf", failing)  # the forked workers inherit the patch
    with pytest.raises(DocumentError, match=r"the pdf writer failed \(ZeroDivisionError: boom\)"):
        render.render(many, ["pdf"], workers=2)
    monkeypatch.setattr(ubl, "build_ubl", failing)  # UBL is rendered in this process: the same message
    with pytest.raises(DocumentError, match=r"the ubl writer failed \(ZeroDivisionError: boom\)"):
        render.render(many, ["ubl", "pdf"], workers=2)


XML_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 32))


@given(XML_TEXT)
def test_text_and_attributes_are_escaped_as_lxml_escapes_them(text: str) -> None:
    element = etree.Element("a", b=text)
    element.text = text
    assert etree.tostring(element, encoding="unicode") == f'<a b="{xml_attribute(text)}">{xml_text(text)}</a>'


def test_a_ubl_document_is_what_lxml_writes_for_its_tree(parties: Parties, lookup: Lookup) -> None:
    line = make_line("123456782", "LN031", "1").model_copy(update={"product_name": "Zorg & <co> \"A\" 'B' Łódź"})
    for invoice in (example_invoice(), negated(example_invoice(), "2019-000200"), make_invoice([line])):
        (doc,) = prepare([invoice], parties, lookup, dt.date(2019, 5, 3))
        data = build_ubl(doc)
        tree = etree.fromstring(data)
        assert etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True) == data
    assert "LN031 Zorg & <co> \"A\" 'B' Łódź" in tree.itertext()  # the last one: read back as it was


def test_a_control_character_never_makes_a_broken_e_invoice(parties: Parties, lookup: Lookup) -> None:
    line = make_line("123456782", "LN031", "1").model_copy(update={"product_name": "Zorg\x07"})
    (doc,) = prepare([make_invoice([line])], parties, lookup, dt.date(2019, 5, 3))
    with pytest.raises(DocumentError, match="XML cannot hold"):
        build_ubl(doc)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_the_pdf_text_can_be_extracted(parties: Parties, lookup: Lookup, tmp_path: Path) -> None:
    (doc,) = prepare([example_invoice()], parties, lookup, dt.date(2019, 5, 3))
    path = tmp_path / "factuur.pdf"
    path.write_bytes(build_pdf(doc))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("FACTUUR", "2019-000123", "€ 2.634,75", "€ 2.682,38", "LN034 Arbeidsmatige dagbesteding",
                     "Specificatie per cliënt en product", "Werkbedrijf De Peel B.V.", "pagina 1 van 1"):
        assert expected in text, expected


LINE_VALUES = st.tuples(st.sampled_from(["LN031", "LN034", "LN032"]), st.decimals(0, 40, places=2),
                        st.sampled_from(["0.00", "5.00", "12.34"]), st.sampled_from([None, "0.00", "-10.00", "47.04"]),
                        st.sampled_from(list(QuantityUnit)))


@given(st.lists(LINE_VALUES, min_size=1, max_size=6), st.booleans())
def test_every_line_of_a_ubl_document_says_its_own_values(parties: Parties, lookup: Lookup,
                                                          values: list[tuple[str, Decimal, str, str | None,
                                                                             QuantityUnit]],
                                                          credit: bool) -> None:
    """The line text is put together from parts shared between lines (per product and price, per amount):
    read back, each line still has its own quantity, amount, price, dates and BSN, a credit's negated exactly
    (-0.00 included) as ``-1 x`` the Decimal of its invoice line."""
    lines = [make_line(f"{i:09d}", product, str(quantity), revenue=revenue, price=price, unit=unit)
             for i, (product, quantity, revenue, price, unit) in enumerate(values)]
    invoice = make_invoice(lines, number="2019-000001")
    if credit:
        invoice = negated(invoice, "2019-000002")
    (doc,) = prepare([invoice], parties, lookup, dt.date(2019, 5, 3))
    tree = etree.fromstring(build_ubl(doc))
    tag = "CreditNoteLine" if credit else "InvoiceLine"
    found = tree.findall(f"{{{ubl.CAC}}}{tag}")
    sign = Decimal(-1) if credit else Decimal(1)
    assert len(found) == len(lines)
    for element, line in zip(found, invoice.lines, strict=True):
        def text(path: str, at: etree._Element = element) -> str:
            value = at.findtext(path, namespaces={"cac": ubl.CAC, "cbc": ubl.CBC})
            assert isinstance(value, str), path
            return value
        price_sign = Decimal(-1) if line.unit_price < 0 else Decimal(1)
        assert text("cbc:LineExtensionAmount") == f"{round_cents(sign * line.amount):.2f}"
        assert Decimal(text(f"cbc:{'CreditedQuantity' if credit else 'InvoicedQuantity'}")) == \
            sign * price_sign * line.quantity
        assert text("cac:Price/cbc:PriceAmount") == price_text(abs(line.unit_price))
        assert text("cac:InvoicePeriod/cbc:StartDate") == line.first_day.isoformat()
        assert text("cac:Item/cac:AdditionalItemProperty/cbc:Value") == line.bsn
        assert text("cac:Item/cbc:Description").endswith(f"t/m {line.last_day.isoformat()}, BSN {line.bsn}")
        netted = element.findtext("cac:AllowanceCharge/cbc:Amount", namespaces={"cac": ubl.CAC, "cbc": ubl.CBC})
        assert netted == (None if line.revenue_netted == 0 else f"{round_cents(sign * line.revenue_netted):.2f}")
