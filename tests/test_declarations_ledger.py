"""The iWmo round trip through the ledger: issue -> WMO323 (references kept) -> WMO325 rejecting lines ->
``mgr ledger answer`` -> the rejected lines' rows bill again; an answer applied twice or matching nothing is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_declarations import AGB, IWMO, LOG, NUMBERS, PARTIES, PROVIDER, answer_for, passes_validate_iwmo
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.declarations.allocations import Allocations
from mgr_tariffs.declarations.material import find_material
from mgr_tariffs.declarations.wmo323 import declare, write_checked
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.ledger.declarations import record_declaration

pytestmark = pytest.mark.skipif(not (IWMO / "validate_iwmo.py").is_file(), reason="needs ../shared/iwmo")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_round_trip_through_the_ledger(tmp_path: Path, lookup: Lookup) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(LOG, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    allocations = tmp_path / "allocations.yaml"
    allocations.write_text("version: 1\nallocations:\n" + "".join(
        f"  - {{number: {n}, bsn: '{b}', product: {p}, from: 2021-01-01}}\n" for (b, p, _), n in NUMBERS.items()),
        encoding="utf-8")
    code, out = run("bill", str(hours), "--issue", "--documents", "none", "--ledger", str(book), "--invoice-date",
                    "2021-04-06")
    assert code == 0, out
    code, out = run("declare", "write", "2021-000001", "--ledger", str(book), "-a", str(allocations), "--parties",
                    str(PARTIES), "--invoice-date", "2021-04-06", "-o", str(tmp_path / "iwmo"), "--iwmo-dir", str(IWMO))
    assert code == 0, out
    assert run("ledger", "list", "--ledger", str(book))[1].count("gedeclareerd") == 1

    invoice = ledger.show(book, "2021-000001").invoice
    assert invoice is not None
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                          message_date=dt.date(2021, 4, 6))
    answer = tmp_path / "WMO325.xml"
    answer.write_bytes(answer_for(declaration, {"20210000010001": "9321", "20210000010003": "0611"}))
    code, out = run("ledger", "answer", str(answer), "--ledger", str(book), "--iwmo-dir", str(IWMO))
    assert code == 0, out
    assert "invoice 2021-000001 (Cliëntondersteuning Maasland B.V.): 1 approved, 2 rejected" in out
    assert "9321 Het ingediende volume overschrijdt het toegewezen volume." in out
    assert "antwoord: 1 toegekend, 2 afgewezen" in run("ledger", "list", "--ledger", str(book))[1]

    code, out = run("ledger", "answer", str(answer), "--ledger", str(book), "--iwmo-dir", str(IWMO))
    assert code == 1 and "was answered before" in out  # never applied twice

    # the rejected lines' rows (LN017 of *2333: 2 rows; LN018 of *6782: 1 row) bill again, the approved one does not
    again = ledger.issue(bill([hours], lookup, BillOptions(today=dt.date(2021, 4, 20))), book,
                         issue_date=dt.date(2021, 4, 20), lookup=lookup)
    assert again.rows_issued == 3 and again.rows_already_billed == 1
    (corrected,) = again.invoices
    assert sorted((line.bsn, line.product) for line in corrected.lines) == [("111222333", "LN017"),
                                                                            ("123456782", "LN018")]
    assert ledger.verify(book) == []


def test_an_answer_to_no_kept_declaration_is_refused(tmp_path: Path, lookup: Lookup) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(LOG, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    (invoice,) = ledger.issue(bill([hours], lookup), book, issue_date=dt.date(2021, 4, 6), lookup=lookup).invoices
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                          message_date=dt.date(2021, 4, 6))
    answer = tmp_path / "WMO325.xml"
    answer.write_bytes(answer_for(declaration, {"20210000010002": "9321"}))
    code, out = run("ledger", "answer", str(answer), "--ledger", str(book), "--iwmo-dir", str(IWMO))
    assert code == 1 and "matches no declaration kept in the ledger" in out
    data = write_checked(declaration, find_material(IWMO))
    assert record_declaration(book, invoice.provider, declaration, data) is True
    assert record_declaration(book, invoice.provider, declaration, data) is False  # kept once
    code, out = run("ledger", "answer", str(answer), "--ledger", str(book), "--iwmo-dir", str(IWMO))
    assert code == 0, out


def test_declare_write_a_credit_note_mirrors_its_debit(tmp_path: Path) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(LOG, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    allocations = tmp_path / "allocations.yaml"
    allocations.write_text("version: 1\nallocations:\n" + "".join(
        f"  - {{number: {n}, bsn: '{b}', product: {p}, from: 2021-01-01}}\n" for (b, p, _), n in NUMBERS.items()),
        encoding="utf-8")
    assert run("bill", str(hours), "--issue", "--documents", "none", "--ledger", str(book), "--invoice-date",
                    "2021-04-06")[0] == 0
    code, text = run("credit", "2021-000001", "--ledger", str(book), "--reason", "test", "--invoice-date", "2021-04-08")
    assert code == 0, text
    out = tmp_path / "iwmo"
    code, text = run("declare", "write", "2021-000001", "2021-000002", "--ledger", str(book), "-a", str(allocations),
                     "--parties", str(PARTIES), "--invoice-date", "2021-04-08", "-o", str(out), "--iwmo-dir", str(IWMO))
    assert code == 0, text
    assert "2021-000002: DeclaratieNummer 2021000002, 3 prestatie(s), € -194,40" in text
    credit = (out / "WMO323-2021000002.xml").read_text(encoding="utf-8")
    assert credit.count("<iwmo:VorigReferentieNummer>") == 3
    assert "<iwmo:VorigReferentieNummer>20210000010003</iwmo:VorigReferentieNummer>" in credit
    assert passes_validate_iwmo(out / "WMO323-2021000002.xml")[0] == 0


def test_documents_iwmo_on_ledger_show_and_credit(tmp_path: Path) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(LOG, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    allocations = tmp_path / "allocations.yaml"
    allocations.write_text("version: 1\nallocations:\n" + "".join(
        f"  - {{number: {n}, bsn: '{b}', product: {p}, from: 2021-01-01}}\n" for (b, p, _), n in NUMBERS.items()),
        encoding="utf-8")
    assert run("bill", str(hours), "--issue", "--documents", "none", "--ledger", str(book), "--invoice-date",
                    "2021-04-06")[0] == 0
    common = ("--ledger", str(book), "--parties", str(PARTIES), "--iwmo-dir", str(IWMO))
    code, out = run("ledger", "show", "2021-000001", "--out", str(tmp_path / "a"), "--documents", "iwmo", *common)
    assert code == 2 and "--documents iwmo needs --allocations FILE" in out
    code, out = run("ledger", "show", "2021-000001", "--out", str(tmp_path / "a"), "--documents", "ubl,iwmo",
                    "-a", str(allocations), *common)
    assert code == 0, out
    assert sorted(p.suffix for p in (tmp_path / "a").iterdir()) == [".xml", ".xml"]
    assert passes_validate_iwmo(tmp_path / "a" / "WMO323-2021000001.xml")[0] == 0
    assert "gedeclareerd" in run("ledger", "list", "--ledger", str(book))[1]
    code, out = run("credit", "2021-000001", "--reason", "fout", "--invoice-date", "2021-04-08", "--out",
                    str(tmp_path / "c"), "--documents", "iwmo", "-a", str(allocations), *common)
    assert code == 0, out
    credit = tmp_path / "c" / "WMO323-2021000002.xml"
    assert passes_validate_iwmo(credit)[0] == 0
    assert "<iwmo:VorigReferentieNummer>20210000010001</iwmo:VorigReferentieNummer>" in credit.read_text("utf-8")
    assert run("ledger", "list", "--ledger", str(book))[1].count("gedeclareerd") == 2


def test_bill_issue_documents_iwmo_writes_the_declarations_or_issues_nothing(tmp_path: Path) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(LOG, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    register = tmp_path / "toewijzingen.csv"  # the allocation register of `mgr allocations` (issue 14)
    header = ("toewijzingnummer;bsn;aanbieder;gemeente;productcode;ingangsdatum;einddatum;volume;eenheid;frequentie;"
              "budget;reden_wijziging;commentaar\n")
    rows = "".join(f"{n};{b};{PROVIDER};Gennep;{p};2021-01-01;2021-12-31;100;uur;totaal;;;\n"
                   for (b, p, _), n in NUMBERS.items())
    register.write_text(header + rows + "300009;111222333;Werkbedrijf De Peel B.V.;Venlo;LN035;2021-01-01;"
                        "2021-12-31;100;uur;totaal;;;\n", encoding="utf-8")
    common = ("--ledger", str(book), "--parties", str(PARTIES), "--iwmo-dir", str(IWMO), "--invoice-date",
              "2021-04-06", "--allocations", str(register))
    code, out = run("bill", str(hours), "--out", str(tmp_path / "x"), "--documents", "iwmo", *common)
    assert code == 2 and "--documents iwmo needs --issue" in out
    participation = tmp_path / "participation.csv"
    participation.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n2021-03-02;111222333;Werkbedrijf De Peel "
                             "B.V.;Venlo;LN035;2\n", encoding="utf-8")
    code, out = run("bill", str(participation), "--issue", "--out", str(tmp_path / "p"), "--documents", "csv,iwmo",
                    *common)
    assert code == 0, out
    assert "no WMO323 for 1 invoice(s) (2021-000001): no line falls under the Wmo" in " ".join(out.split())
    assert not list((tmp_path / "p").glob("WMO323-*"))
    code, out = run("bill", str(hours), "--issue", "--out", str(tmp_path / "d"), "--documents", "csv,iwmo", *common)
    assert code == 0, out
    assert passes_validate_iwmo(tmp_path / "d" / "WMO323-2021000001.xml")[0] == 0
    assert "gedeclareerd" in run("ledger", "list", "--ledger", str(book))[1]


def test_the_allocation_register_of_issue_14_gives_the_numbers(tmp_path: Path, lookup: Lookup) -> None:
    from mgr_tariffs.allocations.register import read_register  # noqa: PLC0415

    register = tmp_path / "toewijzingen.csv"
    register.write_text("toewijzingnummer;bsn;aanbieder;gemeente;productcode;ingangsdatum;einddatum;volume;eenheid;"
                        f"frequentie;budget;reden_wijziging;commentaar\n300001;111222333;{PROVIDER};Gennep;LN017;"
                        "2021-03-01;2021-12-31;10;uur;totaal;;;\n", encoding="utf-8")
    loaded = read_register([register], lookup)
    assert loaded.register is not None, loaded.problems
    allocations = Allocations.from_register(loaded.register)
    found = allocations.find("111222333", "LN017", dt.date(2021, 3, 1), dt.date(2021, 3, 31))
    assert (found.number, found.start, found.until) == (300001, dt.date(2021, 3, 1), dt.date(2021, 12, 31))
