"""Issuing through the command line: `mgr bill --issue`, `mgr credit`, `mgr check --ledger`, documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SHARED, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app

EXAMPLE = ROOT / "data" / "examples" / "hours.csv"
PARTIES = ROOT / "data" / "examples" / "parties.yaml"
MAASLAND = "Cliëntondersteuning Maasland B.V."


def mgr(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def bill(ledger: Path, *args: object) -> tuple[int, str, str]:
    documents = () if "--out" in args else ("--documents", "none")  # --issue without --out says so explicitly
    return mgr("bill", EXAMPLE, "--issue", "--ledger", ledger, "--tariffs", TARIFFS, "--invoice-date", "2024-09-02",
               *documents, *args)


def test_issue_numbers_invoices_and_never_bills_a_row_twice(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    code, out, err = bill(ledger, "--json")
    first = json.loads(out)
    assert code == 0, err
    numbers = {(i["provider"], i["number"]) for i in first["invoices"]}
    assert len(numbers) == 39 and (MAASLAND, "2024-000001") in numbers
    assert first["summary"]["rows_issued"] == 291 and first["summary"]["rows_already_billed"] == 0
    code, out, _ = bill(ledger, "--json")
    again = json.loads(out)
    assert code == 0 and again["invoices"] == [] and again["summary"]["rows_already_billed"] == 291
    code, out, err = bill(ledger)
    assert "already billed on invoice 2024-" in err and "291 row(s) were billed before" in out


def test_issued_files_carry_the_numbers_and_check_clean_against_the_ledger(tmp_path: Path) -> None:
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "facturen"
    assert bill(ledger, "--out", out, "--documents", "csv")[0] == 0
    files = sorted(out.glob("factuur-*.csv"))
    assert len(files) == 39
    assert files[0].read_text(encoding="utf-8-sig").splitlines()[1].startswith("2024-000001;")
    code, text, err = mgr("check", *files, out / "samenvatting.csv", "--ledger", ledger, "--tariffs", TARIFFS)
    assert code == 0, text + err
    assert "no discrepancies" in text


def test_check_ledger_flags_lines_already_issued(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    assert bill(ledger)[0] == 0
    concept = tmp_path / "concept"
    assert mgr("bill", EXAMPLE, "--out", concept, "--documents", "csv", "--tariffs", TARIFFS)[0] == 0
    code, out, _ = mgr("check", *sorted(concept.glob("concept-*.csv")), "--ledger", ledger, "--tariffs", TARIFFS,
                       "--format", "json")
    found = json.loads(out)["discrepancies"]
    assert code == 1 and len(found) == 114 and {d["kind"] for d in found} == {"issued"}
    assert "already on issued invoice 2024-" in found[0]["message"]


def test_credit_releases_the_rows_and_writes_a_credit_note(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    assert bill(ledger)[0] == 0
    code, out, err = mgr("credit", "2024-000001", "--provider", MAASLAND, "--reason", "uren gecorrigeerd",
                         "--invoice-date", "2024-09-02", "--ledger", ledger, "--out", tmp_path / "credit",
                         "--documents", "ubl,pdf", "--parties", PARTIES, "--tariffs", TARIFFS)
    assert code == 0, err
    assert "credits 2024-000001: € -63,99" in out
    assert {p.suffix for p in (tmp_path / "credit").iterdir()} == {".xml", ".pdf"}
    assert mgr("credit", "2024-000001", "--provider", MAASLAND, "--ledger", ledger)[0] == 1  # never twice
    code, out, _ = bill(ledger, "--json")
    rebilled = json.loads(out)
    assert rebilled["summary"]["rows_issued"] == 3 and len(rebilled["invoices"]) == 1


@pytest.mark.skipif(not (SHARED / "einvoice").is_dir(), reason="../shared/einvoice is not beside the repository")
def test_issued_invoices_and_a_credit_note_of_the_example_pass_si_ubl(tmp_path: Path) -> None:
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "facturen"
    assert bill(ledger, "--out", out, "--documents", "ubl", "--parties", PARTIES)[0] == 0
    assert mgr("credit", "2024-000002", "--provider", MAASLAND, "--ledger", ledger, "--out", out / "credit",
               "--documents", "ubl", "--parties", PARTIES, "--tariffs", TARIFFS)[0] == 0
    sys.path.insert(0, str(SHARED / "einvoice"))
    from validate_ubl import Validator  # noqa: PLC0415 - lives in ../shared, not installed

    validator = Validator()
    documents = sorted(out.glob("factuur-*.xml")) + sorted((out / "credit").glob("creditnota-*.xml"))
    assert len(documents) == 40
    failing = [f.line() for d in documents for f in validator.validate(str(d)).findings if f.failing]
    assert failing == []
    assert b"<CreditNote" in documents[-1].read_bytes()


def test_a_foreign_file_as_ledger_is_refused_untouched(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"not a ledger at all\n" * 10)
    before = ledger.read_bytes()
    code, _, err = bill(ledger)
    assert code == 1 and "Traceback" not in err
    assert ledger.read_bytes() == before
