"""`mgr check` reads what a municipality receives from `mgr bill` — its e-invoices and its workbook — and they
check clean; a changed amount in an e-invoice is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from mgr_tariffs.cli import app

EXAMPLE = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sent") / "facturen"
    run = CliRunner().invoke(app, ["bill", str(EXAMPLE / "hours.csv"), "--out", str(out), "--documents", "ubl,xlsx",
                                   "--parties", str(EXAMPLE / "parties.yaml"), "--invoice-date", "2024-09-02"])
    assert run.exit_code == 0, run.output
    return out


def checked(*args: str) -> tuple[int, dict[str, object]]:
    run = CliRunner().invoke(app, ["check", *args, "--format", "json"])
    return run.exit_code, json.loads(run.stdout)


def test_the_e_invoices_check_clean(sent: Path) -> None:
    code, result = checked(*map(str, sorted(sent.glob("*.xml"))), "--hours", str(EXAMPLE / "hours.csv"))
    assert code == 0 and result["discrepancies"] == []
    summary = result["summary"]
    assert isinstance(summary, dict) and summary["invoices"] == 39 and summary["billed"] == "17847.21"


def test_the_workbook_checks_clean(sent: Path) -> None:
    code, result = checked(str(sent / "facturen.xlsx"), "--hours", str(EXAMPLE / "hours.csv"))
    assert code == 0 and result["discrepancies"] == []
    assert isinstance(result["summary"], dict) and result["summary"]["lines_checked"] == 114


def test_a_changed_amount_in_an_e_invoice_is_found(sent: Path, tmp_path: Path) -> None:
    original = sorted(sent.glob("*.xml"))[0]
    text = original.read_text(encoding="utf-8")
    first = text.index("<cac:InvoiceLine>")
    start = text.index("<cbc:LineExtensionAmount", first)
    end = text.index("</cbc:LineExtensionAmount>", start)
    amount = text[text.index(">", start) + 1:end]
    changed = tmp_path / original.name
    changed.write_text(text[:start] + text[start:end].replace(amount, "999.99") + text[end:], encoding="utf-8")
    code, result = checked(str(changed))
    assert code == 1
    found = result["discrepancies"]
    assert isinstance(found, list) and [(d["kind"], d["billed"], d["expected"]) for d in found][:1] == [
        ("amount", "999.99", amount)]
    assert found[0]["line"] == text[:first].count("\n") + 1


def test_xml_that_is_not_an_e_invoice_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<root/>", encoding="utf-8")
    run = CliRunner().invoke(app, ["check", str(other)])
    assert run.exit_code == 2 and "not a UBL Invoice or CreditNote" in run.output
    broken = tmp_path / "broken.xml"
    broken.write_text("<Invoice", encoding="utf-8")
    run = CliRunner().invoke(app, ["check", str(broken)])
    assert run.exit_code == 2 and "not well-formed XML" in run.output and "Traceback" not in run.output
