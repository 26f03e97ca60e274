"""The ledger: numbering, no double billing, credit notes, reading and exporting (hour-log snippets in)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.ledger import schema as ledger_schema
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.ledger.store import LedgerError

HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren\n"
TODAY = dt.date(2024, 3, 1)
ROWS = [
    "2019-07-01;111222333;Zorg BV;Gennep;LN017;1,5",
    "2019-07-02;111222333;Zorg BV;Gennep;LN017;1,5",
    "2019-07-02;111222333;Zorg BV;Gennep;LN017;1,5",
    "2019-08-01;123456782;Zorg BV;Beesel;LN018;2",
    "2019-07-03;123456782;Hulp & Co;Gennep;LN017;0,25",
]


def write_log(folder: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = folder / name
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def billed(lookup: Lookup, *paths: Path) -> BillingResult:
    result = bill(list(paths), lookup, BillOptions(today=TODAY))
    assert result.ok, result.errors
    return result


def test_issue_numbers_per_provider_gapless_in_year_of_issue(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    result = ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    assert [(i.provider, i.number, i.period) for i in result.invoices] == [
        ("Hulp & Co", "2024-000001", "2019-07"), ("Zorg BV", "2024-000001", "2019-08"),
        ("Zorg BV", "2024-000002", "2019-07")]
    assert result.rows_issued == 5
    assert result.rows_already_billed == 0
    more = ledger.issue(billed(lookup, write_log(tmp_path, "b.csv", ["2019-07-09;111222333;Zorg BV;Gennep;LN017;1"])),
                        book, issue_date=TODAY, lookup=lookup)
    assert more.numbers == ["2024-000003"]
    january = write_log(tmp_path, "c.csv", ["2019-07-10;111222333;Zorg BV;Gennep;LN017;1"])
    next_year = ledger.issue(billed(lookup, january), book, issue_date=dt.date(2025, 1, 2), lookup=lookup)
    assert next_year.numbers == ["2025-000001"]
    assert ledger.verify(book) == []


def test_same_log_again_issues_nothing_and_names_the_invoices(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    log = write_log(tmp_path, "a.csv", ROWS)
    ledger.issue(billed(lookup, log), book, issue_date=TODAY, lookup=lookup)
    again = ledger.issue(billed(lookup, log), book, issue_date=TODAY, lookup=lookup)
    assert list(again.invoices) == []
    assert again.rows_issued == 0
    assert again.rows_already_billed == 5
    assert {(r.line, r.provider, r.number) for r in again.already_billed_rows()} == {
        (2, "Zorg BV", "2024-000002"), (3, "Zorg BV", "2024-000002"), (4, "Zorg BV", "2024-000002"),
        (5, "Zorg BV", "2024-000001"), (6, "Hulp & Co", "2024-000001")}
    assert len(ledger.list_invoices(book)) == 3


def test_overlapping_log_bills_only_the_new_rows(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "june.csv", ROWS[:2])), book, issue_date=TODAY, lookup=lookup)
    later = write_log(tmp_path, "export.csv", [*ROWS, "2019-07-04;111222333;Zorg BV;Gennep;LN017;3"])
    result = ledger.issue(billed(lookup, later), book, issue_date=TODAY, lookup=lookup)
    assert result.rows_already_billed == 2
    assert result.rows_issued == 4
    july = next(i for i in result.invoices if i.provider == "Zorg BV" and i.period == "2019-07")
    assert july.lines[0].quantity == Decimal("4.5")  # the second identical row (1,5) + 3 hours
    assert july.total == Decimal("218.70")  # 4,5 x € 48,60
    assert ledger.verify(book) == []


def test_identical_rows_are_counted_not_merged(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    twice = [ROWS[1], ROWS[1]]
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", twice)), book, issue_date=TODAY, lookup=lookup)
    thrice = ledger.issue(billed(lookup, write_log(tmp_path, "b.csv", [*twice, ROWS[1]])), book, issue_date=TODAY,
                          lookup=lookup)
    assert (thrice.rows_already_billed, thrice.rows_issued) == (2, 1)
    assert [r.line for r in thrice.already_billed_rows()] == [2, 3]
    assert [r.line for r in thrice.already_billed_rows(limit=1)] == [2]


def test_minutes_and_hours_of_the_same_service_are_the_same_row(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "h.csv", [ROWS[0]])), book, issue_date=TODAY, lookup=lookup)
    minutes = write_log(tmp_path, "m.csv", ["2019-07-01;111222333;Zorg BV;Gennep;LN017;90"],
                        header=HEADER.replace("uren", "minuten"))
    assert ledger.issue(billed(lookup, minutes), book, issue_date=TODAY, lookup=lookup).rows_already_billed == 1


def test_fingerprint_is_the_exact_key_of_the_row(tmp_path: Path, lookup: Lookup) -> None:
    rows = billed(lookup, write_log(tmp_path, "a.csv", ROWS[:3])).rows
    keys = ledger.fingerprints(rows)
    # a change here means ledgers written before no longer recognise their rows: add a migration instead
    assert keys.schema == {"_file": pl.String, "_line": pl.Int64, **ledger.ROW_KEY}
    assert keys.select(ledger.KEY).rows() == [
        (dt.date(2019, 7, 1), 111222333, "Zorg BV", 907, "LN017", 4500, 0, 0),
        (dt.date(2019, 7, 2), 111222333, "Zorg BV", 907, "LN017", 4500, 0, 0),
        (dt.date(2019, 7, 2), 111222333, "Zorg BV", 907, "LN017", 4500, 0, 1),  # the second identical row
    ]


def test_occurrence_counts_only_fully_identical_rows(tmp_path: Path, lookup: Lookup) -> None:
    """Rows that share client, day and quantity but differ elsewhere are candidates, not twins."""
    same_day = [ROWS[0], ROWS[0].replace("Zorg BV", "Hulp & Co"), ROWS[0].replace("LN017", "LN018"), ROWS[0],
                ROWS[0].replace("Gennep", "Beesel"), ROWS[0].replace("Zorg BV", "Hulp & Co"), ROWS[0]]
    keys = ledger.fingerprints(billed(lookup, write_log(tmp_path, "a.csv", same_day)).rows)
    assert keys.get_column("occurrence").to_list() == [0, 0, 0, 1, 0, 1, 2]
    revenue = HEADER.replace("uren", "uren;opbrengst")
    paid = write_log(tmp_path, "b.csv", ["2021-07-01;111222333;Zorg BV;Gennep;LN034;1;1,00",
                                         "2021-07-01;111222333;Zorg BV;Gennep;LN034;1;2,00",
                                         "2021-07-01;111222333;Zorg BV;Gennep;LN034;1;1,00"], header=revenue)
    result = bill([paid], lookup, BillOptions(today=TODAY))
    assert ledger.fingerprints(result.rows).get_column("occurrence").to_list() == [0, 0, 1]


def test_credit_mirrors_releases_and_refuses_twice(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    log = write_log(tmp_path, "a.csv", ROWS)
    ledger.issue(billed(lookup, log), book, issue_date=TODAY, lookup=lookup)
    note = ledger.credit(book, "2024-000002", provider="Zorg BV", reason="wrong hours", issue_date=TODAY)
    original = ledger.show(book, "2024-000002", "Zorg BV").invoice
    assert original is not None
    assert (note.number, note.credits, note.provider) == ("2024-000003", "2024-000002", "Zorg BV")
    assert note.total == -original.total
    assert note.vat_total == -original.vat_total
    assert [(line.quantity, line.amount) for line in note.lines] == [(-line.quantity, -line.amount)
                                                                      for line in original.lines]
    with pytest.raises(LedgerError, match="already credited by 2024-000003"):
        ledger.credit(book, "2024-000002", provider="Zorg BV", reason=None, issue_date=TODAY)
    with pytest.raises(LedgerError, match="itself a credit note"):
        ledger.credit(book, "2024-000003", provider="Zorg BV", reason=None, issue_date=TODAY)
    rebilled = ledger.issue(billed(lookup, log), book, issue_date=TODAY, lookup=lookup)
    assert (rebilled.rows_issued, rebilled.rows_already_billed, rebilled.numbers) == (3, 2, ["2024-000004"])
    assert ledger.verify(book) == []


def test_credit_needs_a_known_unambiguous_number(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    with pytest.raises(LedgerError, match="exists for 2 providers"):
        ledger.credit(book, "2024-000001", reason=None, issue_date=TODAY)
    with pytest.raises(LedgerError, match="no invoice 2024-000009"):
        ledger.credit(book, "2024-000009", reason=None, issue_date=TODAY)
    assert ledger.credit(book, "2024-000001", provider="hulp & co", reason=None, issue_date=TODAY).total < 0


def test_issued_rows_cannot_be_changed_or_deleted(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    connection = sqlite3.connect(book)
    for statement in ("UPDATE invoice SET total_cents = 0", "DELETE FROM invoice", "DELETE FROM billed_rows",
                      "UPDATE billed_rows SET row_count = 0", "DELETE FROM run"):
        with pytest.raises(sqlite3.IntegrityError, match="never changed or deleted"):
            connection.execute(statement)
    connection.close()


def test_list_filters_and_show_with_lines(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    assert [i.number for i in ledger.list_invoices(book, provider="zorg bv")] == ["2024-000001", "2024-000002"]
    assert [i.provider for i in ledger.list_invoices(book, municipality="907")] == ["Hulp & Co", "Zorg BV"]
    assert [i.period for i in ledger.list_invoices(book, period="2019-08")] == ["2019-08"]
    assert len(ledger.list_invoices(book, period="2019")) == 3
    shown = ledger.show(book, "2024-000002", "Zorg BV")
    assert shown.invoice is not None and shown.invoice.number == "2024-000002"
    assert shown.as_json()["invoice"]["lines"][0]["bsn"] == "111222333"
    assert shown.as_json()["total_incl_vat"] == "218.70"


def test_export_is_dutch_csv_with_formulas_neutralised(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    rows = [ROWS[0].replace("Zorg BV", "=HYPERLINK(1)")]
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", rows)), book, issue_date=TODAY, lookup=lookup)
    ledger.credit(book, "2024-000001", reason="+31 wrong", issue_date=TODAY)
    out = io.StringIO()
    ledger.export_csv(book, out)
    text = out.getvalue()
    assert text.startswith("\ufeffaanbieder;factuurnummer;factuurdatum;crediteert;")
    lines = text.splitlines()
    assert lines[1] == "'=HYPERLINK(1);2024-000001;2024-03-01;;Gennep;0907;2019-07;72,90;0,00;72,90;1;1;2024-000002;"
    assert lines[2].endswith(";-72,90;0,00;-72,90;1;0;;'+31 wrong")


def test_keys_for_check(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    log = write_log(tmp_path, "a.csv", ROWS)
    ledger.issue(billed(lookup, write_log(tmp_path, "first.csv", ROWS[:1])), book, issue_date=TODAY, lookup=lookup)
    found = ledger.find_billed(book, billed(lookup, log).rows)
    assert found.rows() == [(str(log), 2, "Zorg BV", "2024-000001", str(tmp_path / "first.csv"), 2)]
    keys = ledger.issued_line_keys(book)
    assert keys.select("provider", "number", "gemeentecode", "period", "bsn", "product").rows() == [
        ("Zorg BV", "2024-000001", "0907", "2019-07", "111222333", "LN017")]
    ledger.credit(book, "2024-000001", reason=None, issue_date=TODAY)
    assert ledger.issued_line_keys(book).is_empty()
    assert ledger.find_billed(book, billed(lookup, log).rows).is_empty()


def test_ledger_path_option_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MGR_LEDGER", raising=False)
    assert ledger.ledger_path(None) == Path("mgr-ledger.sqlite")
    monkeypatch.setenv("MGR_LEDGER", "/data/ledger.sqlite")
    assert ledger.ledger_path(None) == Path("/data/ledger.sqlite")
    assert ledger.ledger_path(Path("x.sqlite")) == Path("x.sqlite")


def test_missing_ledger_is_an_error_for_reading(book: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger here"):
        ledger.list_invoices(book)
    assert not book.exists()


def test_migrations_bring_an_old_ledger_up_and_refuse_a_newer_one(tmp_path: Path, lookup: Lookup) -> None:
    old = tmp_path / "old.sqlite"
    connection = sqlite3.connect(old)
    connection.execute(f"PRAGMA application_id = {ledger_schema.APPLICATION_ID}")
    connection.execute("CREATE TABLE keep (x)")  # version 0: an application-id'd, still empty ledger
    connection.commit()
    connection.close()
    assert ledger.list_invoices(old) == []  # reading never migrates (it opens the ledger read-only)
    with sqlite3.connect(old) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 0
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS[:1])), old, issue_date=TODAY, lookup=lookup)
    with sqlite3.connect(old) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == ledger_schema.LATEST_VERSION
    assert ledger.verify(old) == []
    newer = tmp_path / "newer.sqlite"
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS[:1])), newer, issue_date=TODAY, lookup=lookup)
    with sqlite3.connect(newer) as bump:
        bump.execute(f"PRAGMA user_version = {ledger_schema.LATEST_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer mgr-tariffs"):
        ledger.list_invoices(newer)


POOL = [f"2019-07-{day:02d};{bsn};{provider};Gennep;LN017;{hours}" for day in (1, 2) for bsn in ("111222333",)
        for provider in ("Zorg BV", "Hulp & Co") for hours in ("1", "1,5")]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.sampled_from(POOL), min_size=1, max_size=6),
       more=st.lists(st.sampled_from(POOL), max_size=6))
def test_billing_a_longer_log_bills_exactly_the_added_rows(tmp_path_factory: pytest.TempPathFactory, lookup: Lookup,
                                                          first: list[str], more: list[str]) -> None:
    folder = tmp_path_factory.mktemp("prop")
    book = folder / "ledger.sqlite"
    ledger.issue(billed(lookup, write_log(folder, "a.csv", first)), book, issue_date=TODAY, lookup=lookup)
    result = ledger.issue(billed(lookup, write_log(folder, "b.csv", first + more)), book, issue_date=TODAY,
                          lookup=lookup)
    assert (result.rows_already_billed, result.rows_issued) == (len(first), len(more))
    issued = sum(i.rows for i in ledger.list_invoices(book))
    assert issued == len(first) + len(more)
    assert ledger.verify(book) == []


def test_issue_json_fields_for_bill(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    result = ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    data = [invoice.as_json() for invoice in result.invoices]
    assert [d["number"] for d in data] == ["2024-000001", "2024-000001", "2024-000002"]
    assert json.loads(json.dumps(data))[2]["total"] == "218.70"
