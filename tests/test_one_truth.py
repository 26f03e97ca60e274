"""One truth per rule: where `mgr bill` and `mgr check` used to disagree, each case in the input format.

Every expected amount is computed by hand in the comment next to it.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup, parse_catalogue
from mgr_tariffs.checking.engine import CheckOptions, CheckResult, check
from mgr_tariffs.cli import app

TODAY = dt.date(2026, 11, 23)
HOURS = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
MINUTES = "datum;bsn;aanbieder;gemeente;productcode;minuten;opbrengst\n"
INVOICE = "factuurnummer;aanbieder;gemeente;bsn;productcode;periode;aantal;tarief;bedrag\n"
A, B = "111222333", "123456782"  # synthetic BSNs that pass the elfproef
SEVEN = "1000007"  # 001000007 with its two leading zeros lost in a spreadsheet


def logs(tmp_path: Path, **files: str) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def billed(paths: list[Path], lookup: Lookup) -> BillingResult:
    return bill(paths, lookup, BillOptions(today=TODAY))


def lines(result: BillingResult) -> list[tuple[str, str, str, str, str]]:
    """(provider, product, unit, quantity, amount) per line."""
    return [(inv.provider, line.product, line.unit.value, str(line.quantity), str(line.amount))
            for inv in result.invoices for line in inv.lines]


def test_hours_and_minutes_of_one_client_product_and_price_are_one_line_rounded_once(
        tmp_path: Path, lookup: Lookup) -> None:
    # 0,1 h + 1 min = 7 min of LN017 in June 2019: 7 / 60 x 47,04 = 5,488 -> 5,49 (two lines gave 4,70 + 0,78)
    result = billed(logs(tmp_path, uren=HOURS + f"2019-06-03;{A};Zorg B.V.;Gennep;LN017;0,1;\n",
                         minuten=MINUTES + f"2019-06-04;{A};Zorg B.V.;Gennep;LN017;1;\n"), lookup)
    assert result.ok, result.errors
    assert lines(result) == [("Zorg B.V.", "LN017", "minuut", "7", "5.49")]


def test_a_mixed_line_keeps_its_quantity_exact_in_minutes(tmp_path: Path, lookup: Lookup) -> None:
    # 0,125 h + 1 min = 7,5 + 1 = 8,5 min at 69,64 an hour: 8,5 / 60 x 69,64 = 9,8656... -> 9,87
    result = billed(logs(tmp_path, uren=HOURS + f"2019-06-03;{A};Zorg B.V.;Gennep;LN018;0,125;\n",
                         minuten=MINUTES + f"2019-06-04;{A};Zorg B.V.;Gennep;LN018;1;\n"), lookup)
    assert lines(result) == [("Zorg B.V.", "LN018", "minuut", "8.5", "9.87")]


def test_ln034_revenue_is_netted_across_hours_and_minutes(tmp_path: Path, lookup: Lookup) -> None:
    # 2 h + 60 min = 3 h x 12,00 = 36,00 - revenue 30,00 = 6,00 (split, 24,00 - 30,00 -> 0 and 12,00: 12,00)
    result = billed(logs(tmp_path, uren=HOURS + f"2021-03-01;{A};Werk B.V.;Venlo;LN034;2;30,00\n",
                         minuten=MINUTES + f"2021-03-02;{A};Werk B.V.;Venlo;LN034;60;\n"), lookup)
    assert lines(result) == [("Werk B.V.", "LN034", "minuut", "180", "6.00")]
    assert result.summary.total == Decimal("6.00")


def test_the_same_quantity_in_hours_and_in_minutes_is_a_possible_duplicate(tmp_path: Path, lookup: Lookup) -> None:
    paths = logs(tmp_path, uren=HOURS + f"2019-06-03;{A};Zorg B.V.;Gennep;LN017;1,5;\n",
                 minuten=MINUTES + f"2019-06-03;{A};Zorg B.V.;Gennep;LN017;90;\n")
    result = billed(paths, lookup)
    assert [str(w) for w in result.warnings] == [
        f"{paths[1]}:2: warning: possible duplicate of {paths[0]}:2 (same client, date, product and quantity)"]


def test_a_bsn_that_lost_two_leading_zeros_is_the_same_client_in_bill_and_check(tmp_path: Path,
                                                                                lookup: Lookup) -> None:
    # 2 h x 48,60 = 97,20
    result = billed(logs(tmp_path, uren=HOURS + f"2019-07-01;{SEVEN};Zorg B.V.;Gennep;LN017;2;\n"), lookup)
    assert result.ok, result.errors
    assert [line.bsn for inv in result.invoices for line in inv.lines] == ["001000007"]
    invoice = tmp_path / "factuur.csv"
    invoice.write_text(INVOICE + f"F1;Zorg B.V.;Gennep;{SEVEN};LN017;2019-07;2;48,60;97,20\n", encoding="utf-8")
    checked = check([invoice], lookup, logs(tmp_path, log=HOURS + f"2019-07-01;{SEVEN};Zorg B.V.;Gennep;LN017;2;\n"),
                    CheckOptions(today=TODAY))
    assert checked.discrepancies == [] and checked.problems == []


def test_a_broken_header_stops_bill_and_check_alike(tmp_path: Path, lookup: Lookup) -> None:
    broken = "datum;bsn;aanbieder;productcode;uren\n" + f"2019-07-01;{A};Zorg B.V.;LN017;2\n" * 3
    paths = logs(tmp_path, uren=broken)
    result = billed(paths, lookup)
    invoice = tmp_path / "factuur.csv"
    invoice.write_text(INVOICE + f"F1;Zorg B.V.;Gennep;{A};LN017;2019-07;2;48,60;97,20\n", encoding="utf-8")
    checked = check([invoice], lookup, paths, CheckOptions(today=TODAY))
    bill_says = [str(p) for p in result.errors]
    assert bill_says == [f"{paths[0]}:1: error: required column 'gemeente' (or 'municipality') is missing; the file "
                         "has: 'datum', 'bsn', 'aanbieder', 'productcode', 'uren'"]
    assert [str(p) for p in checked.problems] == [s.replace("error: ", "error: hour log: ") for s in bill_says]


def test_spellings_of_one_provider_are_one_invoice_with_a_warning(tmp_path: Path, lookup: Lookup) -> None:
    paths = logs(tmp_path, uren=HOURS + f"2019-07-01;{A};Zorg B.V.;Gennep;LN017;1;\n"
                                        f"2019-07-02;{A};ZORG  B.V.;Gennep;LN017;1;\n"
                                        f"2019-07-03;{A};Zorg Caf\u00e9;Gennep;LN017;1;\n"
                                        f"2019-07-04;{A};Zorg Cafe\u0301;Gennep;LN017;1;\n")
    result = billed(paths, lookup)
    assert [(inv.provider, len(inv.lines), str(inv.total)) for inv in result.invoices] == [
        ("Zorg B.V.", 1, "97.20"), ("Zorg Café", 1, "97.20")]  # 2 h x 48,60 each
    assert [str(w) for w in result.warnings] == [
        f"{paths[0]}:3: warning: aanbieder 'ZORG  B.V.' is billed as 'Zorg B.V.': the same supplier (names are "
        "compared without case and extra spaces)",
        f"{paths[0]}:5: warning: aanbieder 'Zorg Cafe\u0301' is billed as 'Zorg Caf\u00e9': the same supplier (names "
        "are compared without case and extra spaces)"]


def test_a_client_under_two_municipalities_on_one_day_is_a_warning_and_bill_s_output_checks_clean(
        tmp_path: Path, lookup: Lookup, runner: CliRunner) -> None:
    paths = logs(tmp_path, uren=HOURS + f"2019-07-01;{A};Zorg B.V.;Gennep;LN017;1;\n"
                                        f"2019-07-01;{A};Zorg B.V.;Beesel;LN017;2;\n")
    result = billed(paths, lookup)
    assert [str(w) for w in result.warnings] == [
        f"{paths[0]}:3: warning: client *****2333 is logged under Beesel and Gennep on 2019-07-01 by the same provider"]
    out = tmp_path / "facturen"
    assert runner.invoke(app, ["bill", str(paths[0]), "--out", str(out), "--today", TODAY.isoformat()]).exit_code == 0
    checked = runner.invoke(app, ["check", *map(str, sorted(out.glob("*.csv"))), "--hours", str(paths[0]),
                                  "--format", "json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["discrepancies"] == []


def test_check_finds_ln034_revenue_left_off_the_invoice(tmp_path: Path, lookup: Lookup) -> None:
    # logged: 10 h x 12,00 = 120,00 - 30,00 revenue = 90,00; the invoice bills 120,00 without the revenue
    invoice = tmp_path / "factuur.csv"
    invoice.write_text(INVOICE + f"F1;Werk B.V.;Venlo;{A};LN034;2021-03;10;12,00;120,00\n", encoding="utf-8")
    result: CheckResult = check([invoice], lookup, logs(tmp_path, log=HOURS + f"2021-03-01;{A};Werk B.V.;Venlo;"
                                                                            "LN034;10;30,00\n"),
                                CheckOptions(today=TODAY))
    assert [(d.kind, d.billed, d.expected, d.difference) for d in result.discrepancies] == [
        ("revenue", Decimal("120.00"), Decimal("90.00"), Decimal("30.00"))]


def test_a_credit_needs_its_reference_and_is_not_double_billing(tmp_path: Path, lookup: Lookup) -> None:
    header = INVOICE.replace("bedrag\n", "bedrag;credit_van\n")
    invoice = tmp_path / "factuur.csv"
    # 2 h x 48,60 = 97,20 billed on F1 and credited by C1; F2 bills it again; C9 is a credit without reference
    invoice.write_text(header + f"F1;Zorg B.V.;Gennep;{A};LN017;2019-07;2;48,60;97,20;\n"
                                f"C1;Zorg B.V.;Gennep;{A};LN017;2019-07;-2;48,60;-97,20;F1\n"
                                f"F2;Zorg B.V.;Gennep;{A};LN017;2019-07;2;48,60;97,20;\n"
                                f"C9;Zorg B.V.;Gennep;{B};LN017;2019-07;-1;48,60;-48,60;\n", encoding="utf-8")
    result = check([invoice], lookup, None, CheckOptions(today=TODAY))
    assert [(d.line, d.kind) for d in result.discrepancies] == [(5, "credit")]


def test_a_catalogue_of_a_thousand_products_with_ten_prices_each_bills(tmp_path: Path) -> None:
    """Pricing is a join against the table of periods: its cost does not grow with their number per row."""
    products = []
    for code in range(1000):
        prices = "".join(f"      - {{from: {2015 + year}-01-01, until: {2015 + year}-12-31, amount: {10 + year}.00}}\n"
                         for year in range(10))
        products.append(f"  - code: LN{code:03d}\n    name: P{code}\n    category: LN2\n    domain: Wmo\n"
                        f"    perceel: '1'\n    unit: uur\n    vat: {{treatment: vrijgesteld}}\n    source: S\n"
                        f"    prices:\n{prices}")
    text = ("version: 1\nsources:\n  S: {title: T, file: f, date: '2018'}\ncategories:\n  - {code: LN2, name: C}\n"
            "municipalities:\n  - code: '0889'\n    name: Beesel\n    memberships: [{from: 2015-01-01}]\n"
            "products:\n" + "".join(products))
    loaded = parse_catalogue(text, "big.yaml")
    assert loaded.catalogue is not None, loaded.problems[:3]
    paths = logs(tmp_path, uren=HOURS + f"2019-07-01;{A};Zorg B.V.;Beesel;LN999;2;\n"
                                        f"2024-12-31;{A};Zorg B.V.;Beesel;LN500;1;\n")
    result = billed(paths, Lookup(loaded.catalogue))
    assert lines(result) == [("Zorg B.V.", "LN999", "uur", "2", "28.00"), ("Zorg B.V.", "LN500", "uur", "1", "19.00")]
