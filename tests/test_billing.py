"""Billing, written in the input format: an hour-log snippet in, invoice lines or errors out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill, invoice_totals
from mgr_tariffs.catalogue.loader import Lookup, parse_catalogue

TODAY = dt.date(2026, 11, 23)
HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
# synthetic BSNs that pass the elfproef
A, B = "111222333", "123456782"


def run(tmp_path: Path, lookup: Lookup, text: str, name: str = "uren.csv", encoding: str = "utf-8",
        **options: object) -> BillingResult:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return bill([path], lookup, BillOptions(today=TODAY, **options))  # type: ignore[arg-type]


def amounts(result: BillingResult) -> list[tuple[str, str, str, str, str]]:
    """(period, product, unit price, quantity, amount) per line, as text."""
    return [(line.bsn and inv.period, line.product, str(line.unit_price), str(line.quantity), str(line.amount))
            for inv in result.invoices for line in inv.lines]


def test_the_service_date_picks_the_price(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"2019-06-30;{A};Zorg B.V.;Gennep;LN017;2;\n"
                                            f"01-07-2019;{A};Zorg B.V.;Gennep;LN017;2;\n")
    assert result.ok, result.errors
    assert amounts(result) == [("2019-06", "LN017", "47.04", "2", "94.08"), ("2019-07", "LN017", "48.60", "2", "97.20")]
    assert [inv.period for inv in result.invoices] == ["2019-06", "2019-07"]


def test_three_eighths_of_an_hour_round_once_per_line(tmp_path: Path, lookup: Lookup) -> None:
    rows = "".join(f"2019-05-{d:02d};{A};Zorg B.V.;Beesel;LN018;0,125;\n" for d in (2, 3, 4))
    result = run(tmp_path, lookup, HEADER + rows)
    (line,) = result.invoices[0].lines
    assert (line.quantity, line.gross_amount, line.amount) == (Decimal("0.375"), Decimal("26.12"), Decimal("26.12"))


def test_half_a_cent_rounds_up(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"2019-05-02;{A};Zorg B.V.;Beesel;LN018;0,125;\n")
    assert result.invoices[0].lines[0].amount == Decimal("8.71")  # 0,125 x 69,64 = 8,705


def test_minutes(tmp_path: Path, lookup: Lookup) -> None:
    text = "datum;bsn;aanbieder;gemeente;productcode;minuten\n" + f"2019-07-02;{A};Zorg;Beesel;LN017;90\n" \
           f"2019-07-03;{A};Zorg;Beesel;LN017;20\n"
    (line,) = run(tmp_path, lookup, text).invoices[0].lines
    # 110 minutes x 48,60 / 60 = 89,10
    assert (line.unit.value, line.quantity, line.amount) == ("minuut", Decimal("110"), Decimal("89.10"))


def test_ln034_revenue_is_netted_per_line_never_below_zero(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + (f"2021-03-01;{A};Werk B.V.;Venlo;LN034;3;10,00\n"
                     f"2021-03-02;{A};Werk B.V.;Venlo;LN034;2;70,00\n"
                     f"2021-03-02;{B};Werk B.V.;Venlo;LN034;4;12,50\n")
    result = run(tmp_path, lookup, text)
    first, second = result.invoices[0].lines
    assert (first.gross_amount, first.revenue_netted, first.revenue_unnetted, first.amount) == (
        Decimal("60.00"), Decimal("60.00"), Decimal("20.00"), Decimal("0.00"))
    assert (second.gross_amount, second.revenue_netted, second.amount) == (
        Decimal("48.00"), Decimal("12.50"), Decimal("35.50"))
    assert result.summary.revenue_unnetted == Decimal("20.00")
    assert result.invoices[0].total == Decimal("35.50")


def test_one_invoice_per_provider_municipality_and_month(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + (f"2021-03-01;{A};Werk B.V.;Venlo;LN035;1;\n"
                     f"2021-03-31;{B};Werk B.V.;Venlo;LN035;1;\n"
                     f"2021-04-01;{A};Werk B.V.;Venlo;LN035;1;\n"
                     f"2021-03-01;{A};Ander;Venlo;LN035;1;\n"
                     f"2021-03-01;{A};Werk B.V.;GM0984;LN035;1;\n")
    result = run(tmp_path, lookup, text)
    keys = [(i.provider, i.municipality, i.period, len(i.lines), str(i.total)) for i in result.invoices]
    assert keys == [("Ander", "Venlo", "2021-03", 1, "50.40"), ("Werk B.V.", "Venlo", "2021-03", 2, "100.80"),
                    ("Werk B.V.", "Venlo", "2021-04", 1, "50.40"), ("Werk B.V.", "Venray", "2021-03", 1, "50.40")]


def test_a_price_change_inside_a_month_makes_two_lines(tmp_path: Path) -> None:
    catalogue = (Path(__file__).parent.parent / "data" / "tariffs.yaml").read_text(encoding="utf-8")
    catalogue = catalogue.replace("until: 2019-06-30", "until: 2019-06-14").replace(
        "      - from: 2019-07-01\n        amount: 48.60", "      - from: 2019-06-15\n        amount: 48.60")
    parsed = parse_catalogue(catalogue, "tariffs.yaml")
    assert parsed.catalogue is not None, parsed.problems
    text = HEADER + f"2019-06-14;{A};Zorg;Beesel;LN017;1;\n2019-06-15;{A};Zorg;Beesel;LN017;1;\n"
    (invoice,) = run(tmp_path, Lookup(parsed.catalogue), text).invoices
    assert [(str(line.unit_price), str(line.amount)) for line in invoice.lines] == [("47.04", "47.04"),
                                                                                  ("48.60", "48.60")]


REJECTIONS = [
    ("31-02-2021;{A};W;Venlo;LN035;1;", "datum '31-02-2021' does not exist"),
    ("2021/03/01;{A};W;Venlo;LN035;1;", "is not a date"),
    ("2027-01-04;{A};W;Venlo;LN035;1;", "lies in the future"),
    ("2017-12-31;{A};W;Beesel;LN017;1;", "LN017 has no price on 2017-12-31"),
    ("2021-03-01;{A};W;Venlo;LN999;1;", "unknown product code 'LN999'"),
    ("2021-03-01;{A};W;Atlantis;LN035;1;", "unknown municipality 'Atlantis'"),
    ("2021-03-01;{A};W;Weert;LN035;1;", "Weert was not a member of the MGR on 2021-03-01"),
    ("2019-07-01;{A};W;Venlo;LN017;1;", "LN017 is not bought for Venlo"),
    ("2019-07-01;{A};W;venray;LN018;1;", "LN018 is not bought for Venray"),
    ("2021-03-01;{A};W;Venlo;LN035;;", "uren is missing"),
    ("2021-03-01;{A};W;Venlo;LN035;0;", "must be more than zero"),
    ("2021-03-01;{A};W;Venlo;LN035;-1,5;", "is negative"),
    ("2021-03-01;{A};W;Venlo;LN035;NaN;", "is not a finite number"),
    ("2021-03-01;{A};W;Venlo;LN035;twee;", "is not a number"),
    ("2021-03-01;{A};W;Venlo;LN035;1,0001;", "has more than 3 decimals"),
    ("2021-03-01;{A};W;Venlo;LN035;25;", "is more than 24 hours"),
    ("2021-03-01;123456789;W;Venlo;LN035;1;", "fails the elfproef"),
    ("2021-03-01;{A};W;Venlo;LN034;1;-2,00", "opbrengst '-2,00' is negative"),
    ("2021-03-01;{A};W;Venlo;LN035;1;5,00", "only a product with netting"),
    ("2021-03-01;{A};;Venlo;LN035;1;", "aanbieder is missing"),
]


@pytest.mark.parametrize(("row", "message"), REJECTIONS)
def test_each_rejection_rule_names_its_line(tmp_path: Path, lookup: Lookup, row: str, message: str) -> None:
    good = f"2021-03-01;{B};W;Venlo;LN035;1;\n"
    result = run(tmp_path, lookup, HEADER + good + row.format(A=A) + "\n" + good.replace("03-01", "03-02"))
    assert [(p.file, p.line) for p in result.errors] == [(str(tmp_path / "uren.csv"), 3)]
    assert message in result.errors[0].message
    assert (result.summary.rows_read, result.summary.rows_billed, result.summary.rows_rejected) == (3, 2, 1)


def test_more_than_24_hours_of_one_client_on_one_day(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + f"2021-03-01;{A};W;Venlo;LN035;20;\n2021-03-01;{A};X;Venlo;LN036;4,5;\n"
    result = run(tmp_path, lookup, text)
    assert [p.line for p in result.errors] == [2, 3]
    assert "client *****2333 has 24,5 hours on 2021-03-01" in result.errors[0].message


def test_a_row_with_several_problems_reports_each(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + "2021-13-01;12;W;Atlantis;LN999;x;\n")
    assert len(result.errors) == 5 and {p.line for p in result.errors} == {2}
    assert result.summary.rows_rejected == 1


def test_bsns_are_masked_in_messages_unless_asked(tmp_path: Path, lookup: Lookup) -> None:
    row = HEADER + "2021-03-01;123456789;W;Venlo;LN035;1;\n"
    assert "*****6789" in run(tmp_path, lookup, row).errors[0].message
    assert "123456789" in run(tmp_path, lookup, row, show_bsn=True).errors[0].message


def test_suspected_duplicates_are_warnings(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + f"2021-03-01;{A};W;Venlo;LN035;1;\n2021-03-01;{A};W;Venlo;LN035;1;\n"
    result = run(tmp_path, lookup, text)
    assert result.ok and result.summary.rows_billed == 2
    assert [(w.line, w.message) for w in result.warnings] == [
        (3, "possible duplicate of line 2 (same client, date, product and quantity)")]


def test_missing_columns_are_reported_and_nothing_billed(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, "datum;bsn;gemeente;uren\n2021-03-01;111222333;Venlo;1\n")
    assert not result.ok and result.invoices == []
    assert any("aanbieder" in p.message and p.line == 1 for p in result.errors)


def test_english_column_names_and_a_comma_separator(tmp_path: Path, lookup: Lookup) -> None:
    text = f"Date,Client,Provider,Municipality,Product,Hours,Description\n2021-03-01,{A},W,0983,LN035,\"1,5\",x\n"
    result = run(tmp_path, lookup, text)
    assert result.ok, result.errors
    assert result.invoices[0].lines[0].amount == Decimal("75.60")


def test_windows_1252_input(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + f"2021-03-01;{A};Cliëntzorg € B.V.;Venlo;LN035;1;\n"
    result = run(tmp_path, lookup, text, encoding="cp1252")
    assert result.ok, result.errors
    assert result.invoices[0].provider == "Cliëntzorg € B.V."


def test_excel_input_with_dates_numbers_and_a_bsn_without_its_leading_zero(tmp_path: Path, lookup: Lookup) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Datum", "BSN", "Aanbieder", "Gemeente", "Productcode", "Uren", "Opbrengst"])
    sheet.append([dt.date(2021, 3, 1), 12345672, "Werk B.V.", "Venlo", "LN034", 0.1, 0.1])
    sheet.append([dt.datetime(2021, 3, 2), 12345672, "Werk B.V.", "Venlo", "LN034", 2.5, None])
    book.save(tmp_path / "uren.xlsx")
    result = bill([tmp_path / "uren.xlsx"], lookup, BillOptions(today=TODAY))
    assert result.ok, result.errors
    (line,) = result.invoices[0].lines
    assert (line.bsn, line.quantity, line.gross_amount, line.revenue, line.amount) == (
        "012345672", Decimal("2.6"), Decimal("31.20"), Decimal("0.10"), Decimal("31.10"))


def test_counts_always_reconcile(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + f"2021-03-01;{A};W;Venlo;LN035;1;\n2021-03-01;{A};W;Venlo;LN999;1;\n" \
                    f"2021-03-01;{A};W;Venlo\n2021-03-02;{A};W;Venlo;LN035;1;\n"
    s = run(tmp_path, lookup, text).summary
    assert s.rows_read == s.rows_billed + s.rows_rejected == 4


def test_two_files_are_billed_together(tmp_path: Path, lookup: Lookup) -> None:
    (tmp_path / "a.csv").write_text(HEADER + f"2021-03-01;{A};W;Venlo;LN035;1;\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text(HEADER + f"2021-03-02;{A};W;Venlo;LN035;0,5;\n", encoding="utf-8")
    result = bill([tmp_path / "a.csv", tmp_path / "b.csv"], lookup, BillOptions(today=TODAY))
    (line,) = result.invoices[0].lines
    assert (line.quantity, line.amount, line.rows) == (Decimal("1.5"), Decimal("75.60"), 2)


def test_lines_sort_by_provider_municipality_month_client_product_and_price(tmp_path: Path, lookup: Lookup) -> None:
    """The packed line key orders like the invoice: extremes of every part stay in their place."""
    rows = [f"2021-07-01;{B};b;Venlo;LN035;1;", f"9998-12-31;{A};a;Beesel;LN017;24;",
            f"2021-07-01;{A};b;Venlo;LN035;1;", f"2021-06-30;{A};b;Venlo;LN035;1;", f"0001-01-01;{A};a;Beesel;LN017;1;",
            f"2019-06-30;{A};a;Beesel;LN018;1;", f"2019-06-30;{A};a;Beesel;LN017;1;"]
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = bill([path], lookup, BillOptions(today=dt.date(9999, 1, 1)))
    billed = [(i.provider, i.municipality, i.period, line.bsn, line.product) for i in result.invoices
              for line in i.lines]
    assert billed == [("a", "Beesel", "2019-06", A, "LN017"), ("a", "Beesel", "2019-06", A, "LN018"),
                      ("a", "Beesel", "9998-12", A, "LN017"), ("b", "Venlo", "2021-06", A, "LN035"),
                      ("b", "Venlo", "2021-07", A, "LN035"), ("b", "Venlo", "2021-07", B, "LN035")]
    assert {e.line for e in result.errors} == {6}  # year 1: no price in force and no member yet
    assert any("has no price on 0001-01-01" in e.message for e in result.errors)


EXAMPLE_LOG = Path(__file__).resolve().parents[1] / "data" / "examples" / "hours.csv"


def test_a_result_without_its_rows_keeps_its_summary_lines_and_invoices(lookup: Lookup) -> None:
    result = bill([EXAMPLE_LOG], lookup, BillOptions(today=dt.date(2026, 1, 1)))
    released = result.without_rows()
    assert released.rows.is_empty() and released.rows.columns == result.rows.columns
    assert released.summary == result.summary and released.summary.rows_billed == len(result.rows) > 0
    assert released.lines.equals(result.lines) and released.invoices == result.invoices
    assert released.invoice_frame.equals(result.invoice_frame)


def test_invoice_totals_are_the_same_for_an_invoice_in_two_runs_of_lines(lookup: Lookup) -> None:
    """Invoices are found as runs of adjacent lines; an invoice whose lines come in two runs is still one."""
    lines = bill([EXAMPLE_LOG], lookup, BillOptions(today=dt.date(2026, 1, 1))).lines
    first = lines.slice(0, 1)
    twice = pl.concat([first, lines.slice(1), first])
    totals = invoice_totals(twice)
    assert totals.height == invoice_totals(lines).height
    again = totals.row(0, named=True)
    once = invoice_totals(lines).row(0, named=True)
    assert again["lines"] == once["lines"] + 1
    assert again["total_cents"] == once["total_cents"] + first.item(0, "amount_cents")
