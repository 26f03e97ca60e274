"""PDF invoices: pages, page numbers, every BSN and the totals, read from the uncompressed PDF."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from support.sample import example_invoice, large_invoice, make_invoice, make_line, negated

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents.pdf import build_pdf, pdf_text
from mgr_tariffs.documents.prepare import prepare
from mgr_tariffs.money import format_number
from mgr_tariffs.parties import Parties, load_parties

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "parties.yaml"


@pytest.fixture(scope="module")
def parties(lookup: Lookup) -> Parties:
    result = load_parties(EXAMPLE, lookup)
    assert result.parties is not None
    return result.parties


def render(invoice: Invoice, parties: Parties, lookup: Lookup) -> str:
    (doc,) = prepare([invoice], parties, lookup, dt.date(2019, 5, 3))
    data = build_pdf(doc, compress=False)
    assert data.startswith(b"%PDF-")
    return data.decode("cp1252").replace(") Tj (", "")  # one text per cell; joins pieces should a writer split one


def pages(text: str) -> int:
    return len(re.findall(r"/Type /Page\b", text))


def test_500_lines_make_numbered_pages_with_every_line(parties: Parties, lookup: Lookup) -> None:
    invoice = large_invoice(500)
    text = render(invoice, parties, lookup)
    count = pages(text)
    assert 8 <= count <= 12  # about 50 lines a page
    for page in range(1, count + 1):
        assert f"pagina {page} van {count}" in text
    assert text.count("(BSN)") in (count, count - 1)  # the table header on every page (the totals may have their own)
    for line in invoice.lines:
        assert f"({line.bsn})" in text
    assert f"4.{format_number(invoice.total_incl_vat)[2:]}" in text  # the total in the millions, in full


def test_a_one_page_invoice_shows_parties_dates_totals_and_payment(parties: Parties, lookup: Lookup) -> None:
    text = render(example_invoice(), parties, lookup)
    assert pages(text) == 1 and "pagina 1 van 1" in text
    for expected in ["(FACTUUR)", "(2019-000123)", "(3 mei 2019)", "(2 juni 2019)", "Gemeente Venlo",
                     "KvK 90434567", "NL809876541B01", "(MGR-SD-0983)", "(\u20ac 2.634,75)", "(\u20ac 47,63)",
                     "(\u20ac 2.682,38)", "Btw 21% over \u20ac 226,80", "Btw vrijgesteld over \u20ac 2.407,95",
                     "(Verrekende opbrengst)", "(\u20ac -690,00)", "NL16TEST0734567890",
                     "Specificatie per cli\u00ebnt en product"]:
        assert expected in text, expected


def test_concept_and_credit_note_are_marked(parties: Parties, lookup: Lookup) -> None:
    concept = render(example_invoice(None), parties, lookup)
    assert "(CONCEPTFACTUUR)" in concept and "(CONCEPT)" in concept and "niet betalen" in concept
    credit = render(negated(example_invoice(), "2019-000200"), parties, lookup)
    assert "(CREDITNOTA)" in credit and "(Crediteert factuur)" in credit and "(Totaal te crediteren)" in credit


def test_long_names_are_shortened_and_foreign_letters_folded(parties: Parties, lookup: Lookup) -> None:
    line = make_line("123456782", "LN031", "1").model_copy(update={"product_name": "Łódź " + "zeer lange naam " * 8})
    text = render(make_invoice([line]), parties, lookup)
    assert "(LN031 Lódz zeer lange naam" in text and "\u2026 naam)" in text  # shortened before its last word
    assert pdf_text("Cliënt € Łukasz ✓") == "Cliënt € Lukasz ?"


def test_a_product_name_too_wide_keeps_the_level_that_sets_its_price() -> None:
    from mgr_tariffs.documents.pdf import COLUMNS, PRODUCT_COLUMN, fit_keeping_end, text_width  # noqa: PLC0415

    width = COLUMNS[PRODUCT_COLUMN][1]
    shown = fit_keeping_end("LN017 Inzet onafhankelijke cliëntondersteuning mbo-niveau", width, 8)
    assert shown.endswith("… mbo-niveau") and shown.startswith("LN017 Inzet")
    assert text_width(shown, 8) <= width
