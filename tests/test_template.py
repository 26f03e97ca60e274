"""``mgr template``: the hour-log workbook a clerk fills in, and that `mgr bill` then bills."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app


def test_the_template_has_typed_columns_pick_lists_and_instructions(tmp_path: Path, runner: CliRunner,
                                                                    lookup: Lookup) -> None:
    target = tmp_path / "uren.xlsx"
    run = runner.invoke(app, ["template", str(target)])
    assert run.exit_code == 0, run.output
    book = openpyxl.load_workbook(target)
    assert book.sheetnames[0] == "Uren" and "Instructie" in book.sheetnames
    sheet = book["Uren"]
    assert [c.value for c in sheet[1]] == ["datum", "bsn", "aanbieder", "gemeente", "productcode", "uren",
                                           "opbrengst", "omschrijving"]
    assert sheet["B2"].number_format == "@" and sheet["A2"].number_format == "DD-MM-YYYY"
    rules = {str(rule.sqref): rule.formula1 for rule in sheet.data_validations.dataValidation}
    assert rules == {"D2:D2001": "=Lijsten!$C$1:$C$14", "E2:E2001": "=Lijsten!$A$1:$A$9"}
    lists = book["Lijsten"]
    assert [lists.cell(r, 1).value for r in range(1, 10)] == [p.code for p in lookup.catalogue.products]


def test_a_filled_in_template_bills_and_its_instructions_are_not_billed(tmp_path: Path, runner: CliRunner,
                                                                        lookup: Lookup) -> None:
    target = tmp_path / "uren.xlsx"
    assert runner.invoke(app, ["template", str(target)]).exit_code == 0
    book = openpyxl.load_workbook(target)
    sheet = book["Uren"]
    for column, value in enumerate([dt.date(2019, 7, 1), "012345672", "Zorg B.V.", "Gennep", "LN017", 2], 1):
        sheet.cell(2, column, value)
    book.save(target)
    result = bill([target], lookup, BillOptions(today=dt.date(2026, 1, 1)))
    assert result.ok, result.errors
    # 2 h x 48,60 = 97,20; the BSN kept its leading zero because the column is text
    assert [(line.bsn, str(line.amount)) for inv in result.invoices for line in inv.lines] == [("012345672", "97.20")]
    assert result.rows_read == 1


def test_the_template_refuses_to_overwrite_and_wants_xlsx(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "uren.xlsx"
    assert runner.invoke(app, ["template", str(target)]).exit_code == 0
    again = runner.invoke(app, ["template", str(target)])
    assert again.exit_code == 1 and "--force" in again.output
    assert runner.invoke(app, ["template", str(target), "--force"]).exit_code == 0
    wrong = runner.invoke(app, ["template", str(tmp_path / "uren.csv")])
    assert wrong.exit_code == 2 and "ending in .xlsx" in wrong.output
