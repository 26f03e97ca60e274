"""Checking invoices, written in the input format: an invoice snippet in, discrepancies out.

Every expected amount is computed by hand in the comment next to it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.checking.engine import (
    CheckOptions,
    CheckResult,
    check,
    line_object_lines,
    parse_invoice_quantity,
    parse_money,
)
from mgr_tariffs.problems import InputError

HEADER = "factuurnummer;aanbieder;gemeente;bsn;productcode;periode;aantal;tarief;bedrag\n"
HOURS = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
A, B = "111222333", "123456782"  # synthetic BSNs that pass the elfproef
P = "Zorg B.V."


def run(tmp_path: Path, lookup: Lookup, text: str, name: str = "factuur.csv", hours: str | None = None,
        **options: object) -> CheckResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    logs = None
    if hours is not None:
        logs = [tmp_path / "uren.csv"]
        logs[0].write_text(hours, encoding="utf-8")
    return check([path], lookup, logs, CheckOptions(today=dt.date(2026, 1, 1), **options))  # type: ignore[arg-type]


def found(result: CheckResult) -> list[tuple[int | None, str, str | None, str | None, str | None]]:
    """(line, kind, billed, expected, difference) per discrepancy, money as data strings."""
    return [(d.line, d.kind, *(d.as_json()[k] for k in ("billed", "expected", "difference")))
            for d in result.discrepancies]


def test_a_correct_invoice_has_no_discrepancies(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN017;2019-07;2;48,60;97,20\n"
                                            f"F1;{P};Gennep;{B};LN018;2019-06;1,5;69.64;104.46\n")
    assert result.ok and found(result) == [] and result.problems == []
    assert result.summary.lines_checked == 2 and result.summary.billed == Decimal("201.66")


def test_the_wrong_price_names_the_right_one(tmp_path: Path, lookup: Lookup) -> None:
    # 1 h LN018 in July 2019 at the old 69,64: billed 69,64, due 72,00 -> 2,36 under-billed
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN018;2019-07;1;69,64;69,64\n")
    assert found(result) == [(2, "price", "69.64", "72.00", "-2.36")]
    assert result.discrepancies[0].message == "tarief 69,64 but 72,00 applies from 2019-07-01"
    assert result.summary.under_billed == Decimal("2.36") and result.summary.over_billed == 0


def test_the_new_price_before_it_applies(tmp_path: Path, lookup: Lookup) -> None:
    # 2 h LN017 in June 2019 at 48,60 (= 97,20) instead of 47,04 (= 94,08): 3,12 over-billed
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN017;2019-06;2;48,60;97,20\n")
    assert found(result) == [(2, "price", "97.20", "94.08", "3.12")]
    assert result.discrepancies[0].message == "tarief 48,60 but 47,04 applies from 2018-01-01 until 2019-06-30"


def test_a_period_across_a_price_change_and_two_months(tmp_path: Path, lookup: Lookup) -> None:
    header = "factuurnummer;aanbieder;gemeente;bsn;productcode;datum_van;datum_tot;aantal;tarief;bedrag\n"
    result = run(tmp_path, lookup, header + f"F1;{P};Gennep;{A};LN017;2019-06-20;2019-07-10;1;48,60;48,60\n"
                                            f"F1;{P};Gennep;{B};LN017;2019-07-01;2019-07-31;1;48,60;48,60\n")
    assert found(result) == [(2, "period", None, None, None), (2, "price_change", None, None, None)]
    assert "47,04 until 2019-06-30, 48,60 from 2019-07-01" in result.discrepancies[1].message


def test_quantity_times_price_is_rounded_half_up_once(tmp_path: Path, lookup: Lookup) -> None:
    # 0,375 x 69,64 = 26,115 -> 26,12 (half up); 1,25 x 48,60 = 60,75; 45 min x 48,60 / 60 = 36,45
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN018;2019-05;0,375;69,64;26,11\n"
                                            f"F1;{P};Gennep;{B};LN017;2019-08;1,25;48,60;60,75\n")
    assert found(result) == [(2, "amount", "26.11", "26.12", "-0.01")]
    assert result.discrepancies[0].message == "bedrag 26,11 but 0,375 × 69,64 = 26,12"
    minutes = "factuurnummer;aanbieder;gemeente;bsn;productcode;periode;minuten;tarief;bedrag\n"
    result = run(tmp_path, lookup, minutes + f"F2;{P};Gennep;{A};LN017;2019-08;45;48,60;36,45\n"
                                             f"F2;{P};Gennep;{B};LN017;2019-08;45;48,60;2187,00\n")
    assert found(result) == [(3, "amount", "2187.00", "36.45", "2150.55")]


def test_revenue_is_netted_and_never_below_zero(tmp_path: Path, lookup: Lookup) -> None:
    header = HEADER.replace("bedrag\n", "opbrengst;bedrag\n")
    # 10 h x 12,00 = 120,00 - 30,00 = 90,00; 5 h x 12,00 = 60,00 - 75,00 -> 0,00, not -15,00
    result = run(tmp_path, lookup, header + f"F1;{P};Venlo;{A};LN034;2021-03;10;12,00;30,00;90,00\n"
                                            f"F1;{P};Venlo;{B};LN034;2021-03;5;12,00;75,00;-15,00\n"
                                            f"F1;{P};Venlo;{A};LN034;2021-04;10;12,00;30,00;120,00\n")
    assert found(result) == [(3, "netting", "-15.00", "0.00", "-15.00"), (4, "netting", "120.00", "90.00", "30.00")]
    assert result.discrepancies[1].message == "bedrag 120,00 but 10 × 12,00 = 120,00 − opbrengst 30,00 = 90,00"


def test_bill_gross_amount_column_tells_amount_from_netting(tmp_path: Path, lookup: Lookup) -> None:
    header = HEADER.replace("bedrag\n", "bedrag_bruto;opbrengst;bedrag\n")
    # gross 3 x 12,00 = 36,00 written as 38,00 and netted 10,00 -> 28,00, due 26,00
    result = run(tmp_path, lookup, header + f"F1;{P};Venlo;{A};LN034;2021-03;3;12,00;38,00;10,00;28,00\n")
    assert found(result) == [(2, "amount", "28.00", "26.00", "2.00")]
    assert result.discrepancies[0].message.startswith("bedrag_bruto 38,00 but 3 × 12,00 = 36,00 − opbrengst 10,00")


def test_products_municipalities_and_membership(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Venlo;{A};LN017;2019-07;1;48,60;48,60\n"
                                            f"F1;{P};Leudal;{A};LN031;2024-06;1;50,40;50,40\n"
                                            f"F1;{P};Leudal;{B};LN031;2024-07;1;50,40;50,40\n"
                                            f"F1;{P};Atlantis;{A};LN031;2024-07;1;50,40;50,40\n"
                                            f"F1;{P};Gennep;{A};LN099;2024-07;1;50,40;50,40\n"
                                            f"F1;{P};Gennep;{A};LN031;2020-05;1;50,40;50,40\n")
    assert found(result) == [(2, "not_for", "48.60", "0.00", "48.60"), (3, "not_member", "50.40", "0.00", "50.40"),
                             (5, "municipality", "50.40", "0.00", "50.40"), (6, "product", "50.40", "0.00", "50.40"),
                             (7, "no_price", "50.40", "0.00", "50.40")]
    messages = [d.message for d in result.discrepancies]
    assert messages[:2] == ["LN017 is not bought for Venlo",
                            "Leudal was not a member of the MGR on 2024-06-01 (member from 2024-07-01)"]
    assert "LN031 has no price on 2020-05-01" in messages[4]
    assert result.summary.over_billed == Decimal("250.20")  # 48,60 + 4 x 50,40


def test_a_bsn_that_fails_the_elfproef_is_masked(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;123456789;LN017;2019-07;1;48,60;48,60\n")
    assert found(result) == [(2, "bsn", "48.60", None, None)]
    assert result.discrepancies[0].message.startswith("BSN *****6789 fails the elfproef")
    shown = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;123456789;LN017;2019-07;1;48,60;48,60\n", show_bsn=True)
    assert "123456789" in shown.discrepancies[0].message


def test_double_billing_in_one_file_and_across_files(tmp_path: Path, lookup: Lookup) -> None:
    line = f"{P};Gennep;{A};LN017;2019-07;1;48,60;48,60\n"
    result = run(tmp_path, lookup, HEADER + f"F1;{line}F1;{P};Gennep;{B};LN017;2019-07;1;48,60;48,60\nF1;{line}")
    assert found(result) == [(4, "double", "48.60", "0.00", "48.60")]
    assert result.discrepancies[0].message == "possible double billing: client *****2333, LN017, 2019-07 is billed " \
                                              "on line 2 too"
    (tmp_path / "f2.csv").write_text(HEADER + f"F2;{line}", encoding="utf-8")
    (tmp_path / "f1.csv").write_text(HEADER + f"F1;{line}", encoding="utf-8")
    across = check([tmp_path / "f1.csv", tmp_path / "f2.csv"], lookup)
    assert [(d.file, d.line, d.invoice, d.kind) for d in across.discrepancies] == [
        (str(tmp_path / "f2.csv"), 2, "F2", "double")]
    assert f"{tmp_path / 'f1.csv'}:2 (invoice F1)" in across.discrepancies[0].message


def test_billed_hours_against_the_hour_log(tmp_path: Path, lookup: Lookup) -> None:
    log = HOURS + (f"2019-07-01;{A};{P};Gennep;LN017;1,5;\n2019-07-08;{A};{P};Gennep;LN017;1;\n"
                   f"2019-07-09;{B};{P};Gennep;LN018;2;\n2019-08-01;{B};{P};Beesel;LN018;1;\n")
    # A: billed 3 h, logged 2,5 h -> 0,5 x 48,60 = 24,30 over; B: 2 h logged, not billed -> 144,00 under;
    # the Beesel hours are on no invoice checked, so they are not compared
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN017;2019-07;3;48,60;145,80\n", hours=log)
    assert found(result) == [(2, "hours", "145.80", "121.50", "24.30"), (None, "hours", "0.00", "144.00", "-144.00")]
    assert result.discrepancies[0].message == ("client *****2333, LN017, 2019-07: billed 3 uur, logged 2,5 uur: "
                                               "0,5 uur over-billed")
    assert result.summary.over_billed == Decimal("24.30") and result.summary.under_billed == Decimal("144.00")
    assert result.summary.hour_rows == 4


def test_a_double_counts_once_when_the_hours_are_known(tmp_path: Path, lookup: Lookup) -> None:
    line = f"F1;{P};Gennep;{A};LN017;2019-07;1;48,60;48,60\n"
    result = run(tmp_path, lookup, HEADER + line + line, hours=HOURS + f"2019-07-01;{A};{P};Gennep;LN017;1;\n")
    assert found(result) == [(2, "hours", "97.20", "48.60", "48.60"), (3, "double", "48.60", "0.00", "48.60")]
    assert result.summary.over_billed == Decimal("48.60")


def test_rejected_hour_log_rows_are_problems(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN017;2019-07;1;48,60;48,60\n",
                 hours=HOURS + f"2019-07-01;{A};{P};Gennep;LN017;twee;\n2019-07-02;{A};{P};Gennep;LN017;1;\n")
    assert [(p.line, p.message) for p in result.problems] == [(2, "hour log: uren 'twee' is not a number")]
    assert not result.ok and found(result) == []


def test_the_invoice_total_column(tmp_path: Path, lookup: Lookup) -> None:
    header = HEADER.replace("bedrag\n", "bedrag;factuurtotaal\n")
    # 97,20 + 48,60 = 145,80, stated 154,80
    result = run(tmp_path, lookup, header + f"F1;{P};Gennep;{A};LN017;2019-07;2;48,60;97,20;154,80\n"
                                            f"F1;{P};Gennep;{B};LN017;2019-07;1;48,60;48,60;154,80\n")
    assert found(result) == [(2, "total", "154.80", "145.80", "9.00")]


def test_unreadable_lines_are_problems_with_their_line(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER + f"F1;{P};Gennep;{A};LN017;juli;1;48,60;48,60\n"
                                            f"F1;{P};Gennep;{A};LN017;2019-07;een;48,60;48,60\n"
                                            f"F1;{P};Gennep;{A};LN017;2019-07;1;48,605;48,60\n"
                                            f";{P};Gennep;{A};LN017;2019-07;1;48,60;48,60\n"
                                            f"F1;{P};Gennep;{B};LN017;2019-07;1;€ 48,60;1.048,60\n")
    assert [(p.line, p.message) for p in result.problems] == [
        (2, "periode 'juli' is not a month (write YYYY-MM)"), (3, "aantal 'een' is not a number"),
        (4, "tarief '48,605' has more than two decimals"), (5, "factuurnummer is missing")]
    assert found(result) == [(6, "amount", "1048.60", "48.60", "1000.00")]
    assert result.summary.lines_checked == 5 and result.summary.lines_unreadable == 4


def test_missing_columns_are_one_problem_on_the_header(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, "factuurnummer;aanbieder;gemeente;bsn;productcode;aantal;tarief\nF1;x;y;z;a;1;2\n")
    messages = [p.message for p in result.problems]
    assert any("required column 'bedrag'" in m for m in messages)
    assert any("the period is missing" in m for m in messages)
    assert not result.ok and result.summary.lines_checked == 0


def test_english_headers_and_any_case(tmp_path: Path, lookup: Lookup) -> None:
    header = "Invoice_Number,Provider,Municipality,Client,Product,Period,Quantity,Unit_Price,Amount\n"
    result = run(tmp_path, lookup, header + f"F1,{P},0907,{A},ln017,2019-07,2,48.60,97.20\n")
    assert result.ok, (result.problems, found(result))


def test_an_unreadable_file_raises(tmp_path: Path, lookup: Lookup) -> None:
    with pytest.raises(InputError):
        check([tmp_path / "missing.csv"], lookup)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError):
        check([tmp_path / "broken.json"], lookup)


def test_money_and_json_line_helpers() -> None:
    assert parse_money("€ 1.234,56", "bedrag") == (123456, None)
    assert parse_money("12,5", "bedrag") == (1250, None)
    assert parse_money("1,234", "bedrag")[1] == "bedrag '1,234' has more than two decimals"
    text = '{\n "invoices": [\n  {"lines": [\n   {"bsn": "1"},\n   {"bsn": "\\"lines\\""}\n  ]}\n ]\n}\n'
    assert line_object_lines(text) == [4, 5]


def test_a_wrong_gross_with_the_right_amount_is_shown_with_nothing_at_stake(tmp_path: Path, lookup: Lookup) -> None:
    header = HEADER.replace("bedrag\n", "bedrag_bruto;bedrag\n")
    # 0,75 x 69,64 = 52,23: the gross column says 52,32, the amount is right
    result = run(tmp_path, lookup, header + f"F1;{P};Gennep;{A};LN018;2019-05;0,75;69,64;52,32;52,23\n")
    assert found(result) == [(2, "amount", "52.23", "52.23", "0.00")]
    assert result.discrepancies[0].message == "bedrag_bruto 52,32 but 0,75 × 69,64 = 52,23"


def test_an_xlsx_invoice(tmp_path: Path, lookup: Lookup) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(";"))
    sheet.append(["F1", P, "Gennep", int(A), "LN017", "2019-07", 2, 48.6, 97.2])  # numbers as Excel keeps them
    sheet.append(["F1", P, "Gennep", int(B), "LN018", "2019-07", 1.5, 72, 180])  # 1,5 x 72,00 = 108,00
    book.save(tmp_path / "factuur.xlsx")
    result = check([tmp_path / "factuur.xlsx"], lookup)
    assert found(result) == [(3, "amount", "180.00", "108.00", "72.00")]


def test_dates_that_do_not_exist_are_unreadable(tmp_path: Path, lookup: Lookup) -> None:
    header = "factuurnummer;aanbieder;gemeente;bsn;productcode;datum_van;datum_tot;aantal;tarief;bedrag\n"
    result = run(tmp_path, lookup, header + f"F1;{P};Gennep;{A};LN017;2019-02-01;2019-02-31;1;47,04;47,04\n"
                                            f"F1;{P};Gennep;{B};LN017;01-02-2019;28-02-2019;1;47,04;47,04\n")
    assert [(p.line, p.message) for p in result.problems] == [(2, "datum_tot '2019-02-31' does not exist")]
    assert found(result) == []


@pytest.mark.parametrize(("column", "largest"), [("aantal", "999999,999"), ("tarief", "9999999,99"),
                                                 ("bedrag", "9999999999,99")])
def test_numbers_too_large_are_line_problems_never_an_overflow(tmp_path: Path, lookup: Lookup, column: str,
                                                               largest: str) -> None:
    values = {"aantal": "1", "tarief": "48,60", "bedrag": "48,60"}
    lines = [values | {column: text} for text in (largest, largest.replace(",", "").replace("9", "1") + "0",
                                                  "9" * 20, "1" * 40, "-" + "9" * 20)]
    text = HEADER + "".join(f"F1;{P};Gennep;{A};LN017;2019-07;{v['aantal']};{v['tarief']};{v['bedrag']}\n"
                            for v in lines)
    result = run(tmp_path, lookup, text)
    assert [p.line for p in result.problems] == [3, 4, 5, 6]
    assert all(f"{column} '" in p.message and "is too large" in p.message for p in result.problems)
    assert result.summary.lines_checked == 5 and result.summary.lines_unreadable == 4


def test_too_large_messages_and_the_slow_path_bounds() -> None:
    assert parse_money("10000000", "tarief") == (None, "tarief '10000000' is too large (at most € 9.999.999,99)")
    assert parse_money("€ 9.999.999,99", "tarief") == (999999999, None)
    assert parse_money("1" * 40 + ",001", "bedrag")[1] == f"bedrag '{'1' * 40},001' is too large " \
                                                           "(at most € 9.999.999.999,99)"
    assert parse_invoice_quantity("1000000", "minuut") == (None, "minuten '1000000' is too large (1.000.000 or more)")
    assert parse_invoice_quantity("999999", "minuut") == (999999 * 50, None)


def test_a_file_without_lines_is_an_error(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, HEADER)
    assert [(p.file, p.line, p.message) for p in result.problems] == [
        (str(tmp_path / "factuur.csv"), None, "no invoice lines (the file has a header but no rows)")]
    assert not result.ok and result.summary.lines_checked == 0


def test_invoice_totals_without_lines_are_an_error(tmp_path: Path, lookup: Lookup) -> None:
    result = run(tmp_path, lookup, "factuurnummer;totaal;aanbieder\nF1;48,60;x\n", name="samenvatting.csv")
    assert [p.message for p in result.problems] == [
        "holds invoice totals but no invoice lines: give the invoice files too, to check the totals against their "
        "lines"]
    assert not result.ok
    empty = run(tmp_path, lookup, "factuurnummer;totaal\n", name="leeg.csv")
    assert [p.message for p in empty.problems] == ["no invoices (the file has a header but no rows)"]
