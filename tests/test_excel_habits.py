"""Excel habits: a date-time cell counts as its date, a duration cell ([u]:mm) as hours, sheet names in any case,
and a near-miss column name gets a suggestion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.problems import InputError

HEADER = ["datum", "bsn", "aanbieder", "gemeente", "productcode", "uren"]


def workbook(tmp_path: Path, rows: list[list[object]], header: list[str] = HEADER, sheet: str = "Uren",
             formats: dict[int, str] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    for column, number_format in (formats or {}).items():
        for cells in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            cells[0].number_format = number_format
    path = tmp_path / "uren.xlsx"
    book.save(path)
    return path


def billed(path: Path, lookup: Lookup, sheet: str | None = None) -> BillingResult:
    return bill([path], lookup, BillOptions(today=dt.date(2026, 1, 1), sheet=sheet))


def test_a_date_time_cell_counts_as_its_date(tmp_path: Path, lookup: Lookup) -> None:
    path = workbook(tmp_path, [[dt.datetime(2019, 6, 30, 17, 45), "111222333", "Zorg B.V.", "Gennep", "LN017", 1],
                               [dt.datetime(2019, 7, 1, 8, 30), "111222333", "Zorg B.V.", "Gennep", "LN017", 1]])
    result = billed(path, lookup)
    assert result.ok, result.errors
    # the date picks the price: 47,04 on 30 June, 48,60 on 1 July
    assert [(inv.period, str(inv.total)) for inv in result.invoices] == [("2019-06", "47.04"), ("2019-07", "48.60")]


def test_a_duration_cell_is_hours(tmp_path: Path, lookup: Lookup) -> None:
    # 1:30 = 1,5 h x 48,60 = 72,90; 0:20 = 1/3 h x 48,60 = 16,20; together 1:50 -> 110 min = 89,10
    row = [dt.date(2019, 7, 1), "111222333", "Zorg B.V.", "Gennep", "LN017"]
    path = workbook(tmp_path, [[*row, dt.timedelta(hours=1, minutes=30)], [*row, dt.timedelta(minutes=20)]],
                    formats={6: "[h]:mm"})
    result = billed(path, lookup)
    assert result.ok, result.errors
    assert [(line.unit.value, str(line.quantity), str(line.amount)) for inv in result.invoices
            for line in inv.lines] == [("uur", "1.833", "89.10")]


@pytest.mark.parametrize(("duration", "reason"), [
    ("0:00", "must be more than zero"), ("25:00", "is more than 24 hours"),
    ("1:30:15", "is not a whole number of minutes")])
def test_durations_that_are_not_hours_of_care(tmp_path: Path, lookup: Lookup, duration: str, reason: str) -> None:
    log = tmp_path / "uren.csv"
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n"
                   f"2019-07-01;111222333;Zorg B.V.;Gennep;LN017;{duration}\n", encoding="utf-8")
    result = billed(log, lookup)
    assert [p.message for p in result.errors] == [f"uren {duration!r} {reason}"]


def test_sheet_names_in_any_case_and_a_suggestion(tmp_path: Path, lookup: Lookup) -> None:
    path = workbook(tmp_path, [[dt.date(2019, 7, 1), "111222333", "Zorg B.V.", "Gennep", "LN017", 2]])
    assert billed(path, lookup, sheet="uren").ok
    with pytest.raises(InputError, match=r"has no sheet 'Uuren'; did you mean 'Uren'\?"):
        billed(path, lookup, sheet="Uuren")


def test_a_misspelt_column_gets_a_suggestion(tmp_path: Path, lookup: Lookup) -> None:
    header = ["datum", "bsn", "aanbieder", "gemeentte", "productcode", "uren"]
    path = workbook(tmp_path, [[dt.date(2019, 7, 1), "111222333", "Zorg B.V.", "Gennep", "LN017", 2]], header=header)
    messages = [p.message for p in billed(path, lookup).errors]
    assert any(m.startswith("required column 'gemeente' (or 'municipality') is missing (did you mean 'gemeentte'?)")
               for m in messages), messages
