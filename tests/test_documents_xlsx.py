"""The run's workbook: amounts as euro numbers equal to the invoices, dates as dates, no formulas."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from support.sample import example_invoice, large_invoice, make_invoice, make_line, negated

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents.naming import unique_stems
from mgr_tariffs.documents.prepare import prepare
from mgr_tariffs.documents.xlsx import EURO_FORMAT, build_workbook, neutralise
from mgr_tariffs.parties import Parties, load_parties

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "parties.yaml"
ISSUED = dt.date(2019, 4, 5)


@pytest.fixture(scope="module")
def parties(lookup: Lookup) -> Parties:
    result = load_parties(EXAMPLE, lookup)
    assert result.parties is not None
    return result.parties


def workbook(invoices: list[Invoice], parties: Parties, lookup: Lookup) -> Any:
    documents = prepare(invoices, parties, lookup, ISSUED)
    return load_workbook(io.BytesIO(build_workbook(documents, unique_stems(invoices))))


def cents(value: Any) -> Decimal:
    """A cell read back (openpyxl gives floats) as exact cents, via its shortest repr."""
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def records(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_every_amount_matches_the_invoices_to_the_cent(parties: Parties, lookup: Lookup) -> None:
    small = example_invoice()
    invoices = [small, negated(small, "2019-000200"), large_invoice(520), example_invoice(None)]
    book = workbook(invoices, parties, lookup)
    assert book.sheetnames == ["Facturen", "Regels"]
    heads = records(book["Facturen"])
    assert [h["Factuurnummer"] for h in heads] == ["2019-000123", "2019-000200", "2019-000124",
                                                   "CONCEPT-werkbedrijf-de-peel-b-v-0983-2019-03"]
    assert [h["Status"] for h in heads] == ["factuur", "creditnota", "factuur", "concept"]
    for head, invoice in zip(heads, invoices, strict=True):
        assert cents(head["Totaal excl. btw"]) == invoice.total
        assert cents(head["Btw"]) == invoice.vat_total
        assert cents(head["Totaal incl. btw"]) == invoice.total_incl_vat
        assert cents(head["Niet verrekende opbrengst"]) == invoice.revenue_unnetted
        assert head["Factuurdatum"] == dt.datetime(2019, 4, 5) and head["Vervaldatum"] == dt.datetime(2019, 5, 5)
    lines = records(book["Regels"])
    expected = [line for invoice in invoices for line in invoice.lines]
    assert len(lines) == len(expected) == 6 + 6 + 520 + 6
    for row, line in zip(lines, expected, strict=True):
        assert row["BSN"] == line.bsn
        assert Decimal(repr(row["Aantal"])) == line.quantity
        for column, value in [("Tarief per uur", line.unit_price), ("Bruto", line.gross_amount),
                              ("Verrekende opbrengst", line.revenue_netted), ("Bedrag excl. btw", line.amount)]:
            assert cents(row[column]) == value, column


def test_formats_frozen_header_and_column_widths(parties: Parties, lookup: Lookup) -> None:
    book = workbook([example_invoice()], parties, lookup)
    heads, lines = book["Facturen"], book["Regels"]
    assert heads.freeze_panes == "A2" and lines.freeze_panes == "A2"
    assert heads["P2"].number_format == EURO_FORMAT and heads["P1"].value == "Totaal excl. btw"
    assert heads["K2"].is_date and heads["K2"].number_format == "DD-MM-YYYY"
    assert lines["F2"].data_type == "s" and lines["F2"].value == "123456708"
    assert lines.column_dimensions["H"].width >= len("LN034 Arbeidsmatige dagbesteding") - 6


def test_text_that_looks_like_a_formula_stays_text(parties: Parties, lookup: Lookup) -> None:
    values: list[str | Decimal] = ["=SUM(A1)", "+31", "-1", "@x", "\tx", "\rx", "gewoon", Decimal(-1)]
    assert [neutralise(v) for v in values] == [
        "'=SUM(A1)", "'+31", "'-1", "'@x", "'\tx", "'\rx", "gewoon", Decimal(-1)]
    line = make_line("123456782", "LN031", "1").model_copy(update={"product_name": "=HYPERLINK(\"http://x\")"})
    book = workbook([make_invoice([line])], parties, lookup)
    cell = book["Regels"]["H2"]
    assert cell.value == "'=HYPERLINK(\"http://x\")" and cell.data_type == "s"
