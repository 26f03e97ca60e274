"""``mgr credit`` and ``mgr ledger list|show|export|verify`` on a ledger issued from a log snippet."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.ledger import store as ledger

LOG = """datum;bsn;aanbieder;gemeente;productcode;uren
2019-07-01;111222333;Zorg BV;Gennep;LN017;1,5
2019-08-01;123456782;Zorg BV;Beesel;LN018;2
"""


@pytest.fixture()
def book(tmp_path: Path, lookup: Lookup) -> Path:
    log = tmp_path / "hours.csv"
    log.write_text(LOG, encoding="utf-8")
    path = tmp_path / "ledger.sqlite"
    ledger.issue(bill([log], lookup, BillOptions(today=dt.date(2024, 3, 1))), path, issue_date=dt.date(2024, 3, 1),
                 lookup=lookup)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_list_and_show_mask_bsn_json_does_not(book: Path) -> None:
    code, out = run("ledger", "list", "--ledger", str(book))
    assert code == 0
    assert "2024-000001" in out and "2024-000002" in out and "€ 72,90" in out
    code, out = run("ledger", "show", "2024-000002", "--ledger", str(book))
    assert code == 0
    assert "*****2333" in out and "111222333" not in out
    code, out = run("ledger", "show", "2024-000002", "--ledger", str(book), "--format", "json")
    assert json.loads(out)["invoice"]["lines"][0]["bsn"] == "111222333"


def test_env_names_the_ledger(book: Path) -> None:
    code, out = run("ledger", "list", "--format", "json", "--period", "2019-08", env={"MGR_LEDGER": str(book)})
    assert code == 0
    assert [item["number"] for item in json.loads(out)] == ["2024-000001"]


def test_credit_then_credit_again_fails(book: Path) -> None:
    code, out = run("credit", "2024-000001", "--reason", "wrong client", "--date", "2024-03-05", "--ledger",
                    str(book), "--format", "json")
    assert code == 0, out
    note = json.loads(out)
    assert (note["number"], note["credits"], note["total"]) == ("2024-000003", "2024-000001", "-144.00")
    code, out = run("credit", "2024-000001", "--ledger", str(book))
    assert code == 1
    assert "already credited by 2024-000003" in out
    code, out = run("ledger", "list", "--ledger", str(book))
    assert "crediteert 2024-000001: wrong client" in out
    code, out = run("credit", "2024-000001", "--date", "2024/03/05", "--ledger", str(book))
    assert code == 2


def test_export_to_file_and_verify(book: Path, tmp_path: Path) -> None:
    target = tmp_path / "journal.csv"
    assert run("ledger", "export", "--ledger", str(book), "--out", str(target))[0] == 0
    data = target.read_bytes()
    assert data.startswith("\ufeffaanbieder;factuurnummer".encode())
    assert data.count(b"\r\n") == 3
    code, out = run("ledger", "export", "--ledger", str(book), "--out", str(target))
    assert code == 1 and "--force" in out
    assert run("ledger", "verify", "--ledger", str(book)) == (0, f"{book}: ok (chain head {ledger.chain_head(book)})\n")


def test_unknown_number_and_missing_ledger(book: Path, tmp_path: Path) -> None:
    code, out = run("ledger", "show", "2024-000077", "--ledger", str(book))
    assert code == 1 and "no invoice 2024-000077" in out
    code, out = run("ledger", "list", "--ledger", str(tmp_path / "none.sqlite"))
    assert code == 1 and "no ledger here" in out
