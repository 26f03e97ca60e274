"""Privacy and spreadsheet safety.

- BSNs are masked (``*****2333``) in everything shown to a person (terminal output and error messages of
  ``mgr bill``, ``mgr check`` and ``mgr ledger show``) unless ``--show-bsn``; data outputs (JSON, CSV,
  ledger) carry them in full by design.
- Formula injection: text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR are neutralised in
  every CSV and XLSX the tool writes; money amounts (also negative ones) stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest
from corpus.hostile import BSN_RE, ROOT, mgr

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.ledger.store import issue

pytestmark = pytest.mark.timeout(120)

HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
GOOD_BSNS = ["111222333", "951808679", "333855310", "249606203"]  # pass the elfproef
BAD_BSN = "123456789"  # fails the elfproef
HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+31 77 123", "-2+3", "\tTab B.V.", "\rCR B.V."]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
INVALID_ROWS = [  # every row has a BSN and is rejected for a different reason
    f"2021-03-01;{GOOD_BSNS[0]};W;Weert;LN035;1;",  # unknown municipality
    f"2021-03-01;{GOOD_BSNS[1]};W;Venlo;LN999;1;",  # unknown product
    f"2021-03-01;{GOOD_BSNS[2]};W;Venlo;LN035;25;",  # more than 24 hours
    f"2019-03-01;{GOOD_BSNS[3]};W;Venlo;LN017;1;",  # not for Venlo
    f"2021-03-01;{BAD_BSN};W;Venlo;LN035;1;",  # elfproef
    f"2021-03-01;0{GOOD_BSNS[0][1:]};W;Venlo;LN035;twee;",  # not a number
    f"31-02-2021;{GOOD_BSNS[1]};W;Venlo;LN035;1;",  # no such date
    f"2021-03-01;{GOOD_BSNS[2]};W;Venlo;LN035;1;5,00",  # revenue on a product without netting
]


def input_bsns(text: str) -> set[str]:
    return set(BSN_RE.findall(text)) - {"2021", "2019"}


@pytest.fixture()
def invalid_log(tmp_path: Path) -> Path:
    path = tmp_path / "hours.csv"
    valid = [f"2021-03-0{i + 2};{b};W;Venlo;LN035;1;" for i, b in enumerate(GOOD_BSNS)]
    path.write_text(HEADER + "\n".join(valid + valid[:1] + INVALID_ROWS) + "\n")  # valid[:1] twice: a warning
    return path


def test_bill_masks_every_bsn_on_the_terminal(invalid_log: Path, tmp_path: Path) -> None:
    bsns = input_bsns(invalid_log.read_text())
    assert len(bsns) >= 5
    arguments: tuple[list[str | Path], ...] = (
        [], ["--skip-invalid", "--rejects", tmp_path / "r.csv"], ["--skip-invalid", "--out", tmp_path / "o"])
    for args in arguments:
        run = mgr("bill", invalid_log, "--today", "2024-01-01", *args)
        assert run.code in (0, 1) and "*****" in run.output, run.output
        leaked = {b for b in bsns if b in run.output}
        assert not leaked, f"BSNs on the terminal: {leaked}\n{run.output}"


def test_bill_shows_bsns_only_when_asked(invalid_log: Path) -> None:
    run = mgr("bill", invalid_log, "--today", "2024-01-01", "--show-bsn")
    assert BAD_BSN in run.stderr and f"0{GOOD_BSNS[0][1:]}" in run.stderr


def test_bill_data_outputs_carry_full_bsns(invalid_log: Path, tmp_path: Path) -> None:
    run = mgr("bill", invalid_log, "--today", "2024-01-01", "--json", "--skip-invalid", "--rejects",
              tmp_path / "r.csv")
    assert all(b in run.stdout for b in GOOD_BSNS)
    out = tmp_path / "out"
    assert mgr("bill", invalid_log, "--today", "2024-01-01", "--skip-invalid", "--out", out).code == 0
    written = "".join(p.read_text(encoding="utf-8-sig") for p in out.iterdir())
    assert all(b in written for b in GOOD_BSNS) and BAD_BSN in (out / "afgekeurd.csv").read_text(encoding="utf-8-sig")


def test_check_masks_bsns_unless_asked() -> None:
    invoice = ROOT / "data" / "examples" / "invoice-with-errors.csv"
    bsns = input_bsns(invoice.read_text(encoding="utf-8"))
    run = mgr("check", invoice)
    assert run.code == 1 and "*****" in run.output
    assert not {b for b in bsns if b in run.output}
    shown = mgr("check", invoice, "--show-bsn")
    assert {b for b in bsns if b in shown.output}
    data = mgr("check", invoice, "--format", "json")
    assert {b for b in bsns if b in data.stdout}


def test_check_masks_bsns_of_the_hour_log_too(invalid_log: Path) -> None:
    invoice = ROOT / "data" / "examples" / "invoice-with-errors.csv"
    run = mgr("check", invoice, "--hours", invalid_log, "--today", "2024-01-01")
    bsns = input_bsns(invoice.read_text(encoding="utf-8")) | input_bsns(invalid_log.read_text())
    assert run.code == 1 and not {b for b in bsns if b in run.output}, run.output


# ------------------------------------------------------------------------------------------ formula injection


def hostile_log(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.csv"
    rows = [f'2021-03-0{i + 1};{GOOD_BSNS[i % 4]};"{name.replace(chr(34), chr(34) * 2)}";Venlo;LN035;1;'
            for i, name in enumerate(HOSTILE_NAMES)]
    rows.append(f"2021-03-09;{BAD_BSN};=cmd|' /C calc'!A0;Venlo;LN035;1;")  # rejected: lands in afgekeurd.csv
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def csv_cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))


def assert_no_formula_cells(rows: list[list[str]], where: str) -> None:
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_START):
                assert re.fullmatch(r"-\d+(,\d+)?", cell), f"{where}: formula-like cell {cell!r}"


def test_bill_csv_outputs_neutralise_formulas(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = mgr("bill", hostile_log(tmp_path), "--today", "2024-01-01", "--skip-invalid", "--out", out,
              "--documents", "csv")
    assert run.code == 0, run.output
    names = {p.name for p in out.iterdir()}
    assert {"samenvatting.csv", "afgekeurd.csv"} <= names and len(names) == len(HOSTILE_NAMES) + 2
    providers = set()
    for path in out.iterdir():
        rows = csv_cells(path)
        assert_no_formula_cells(rows, path.name)
        header = rows[0]
        column = "aanbieder" if "aanbieder" in header else None
        if column:
            providers |= {row[header.index(column)] for row in rows[1:]}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in providers and "'@SUM(A1)" in providers
    assert "'=cmd|' /C calc'!A0" in providers


@pytest.fixture()
def hostile_parties(tmp_path: Path) -> Path:
    text = (ROOT / "data" / "examples" / "parties.yaml").read_text(encoding="utf-8")
    template = text.split('  "Stichting Perspectief Noord-Limburg":')[0].split("providers:\n", 1)[1]
    entry = template.split("\n", 1)[1]
    # tab and CR at the start of a name are stripped when the log is read: the parties file names the rest
    extra = "".join(f"  {name.strip()!r}:\n{entry}" for name in HOSTILE_NAMES)
    path = tmp_path / "parties.yaml"
    path.write_text(text.replace("providers:\n", "providers:\n" + extra, 1), encoding="utf-8")
    return path


def test_the_xlsx_workbook_neutralises_formulas(tmp_path: Path, hostile_parties: Path) -> None:
    out = tmp_path / "docs"
    run = mgr("bill", hostile_log(tmp_path), "--today", "2024-01-01", "--skip-invalid", "--rejects",
              tmp_path / "r.csv", "--out", out, "--documents", "csv,xlsx", "--parties", hostile_parties,
              "--invoice-date", "2021-04-05")
    assert run.code == 0, run.output
    book = openpyxl.load_workbook(next(out.glob("*.xlsx")))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_START), cell.value
    assert "'=HYPERLINK(\"http://x\",\"y\")" in texts and "'@SUM(A1)" in texts


def test_ledger_export_neutralises_formulas_and_keeps_negative_amounts_numeric(tmp_path: Path,
                                                                             lookup: Lookup) -> None:
    ledger = tmp_path / "ledger.sqlite"
    log = tmp_path / "ok.csv"
    log.write_text(HEADER + "".join(f'2021-03-0{i + 1};{GOOD_BSNS[0]};"{n.replace(chr(34), chr(34) * 2)}";'
                                    f"Venlo;LN035;1;\n" for i, n in enumerate(HOSTILE_NAMES[:2])))
    result = bill([log], lookup, BillOptions(today=dt.date(2024, 1, 1)))
    assert result.ok
    issued = issue(result, ledger, issue_date=dt.date(2021, 4, 5), lookup=lookup)
    number = issued.invoices[0].number if hasattr(issued, "invoices") else None
    listing = mgr("ledger", "list", "--ledger", ledger, "--format", "json").stdout
    number = number or re.search(r'"number": ?"([^"]+)"', listing).group(1)  # type: ignore[union-attr]
    provider = re.search(r'"provider": ?"((?:[^"\\]|\\.)*)"', listing).group(1)  # type: ignore[union-attr]
    provider = provider.encode().decode("unicode_escape")
    assert mgr("credit", number, "--provider", provider, "--ledger", ledger, "--date", "2021-04-06").code == 0
    export = tmp_path / "export.csv"
    assert mgr("ledger", "export", "--ledger", ledger, "--out", export).code == 0
    rows = csv_cells(export)
    assert_no_formula_cells(rows, "ledger export")
    flat = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in flat and "'@SUM(A1)" in flat
    assert any(re.fullmatch(r"-\d+,\d\d", cell) for cell in flat), "a credit note's amounts are negative numbers"


def test_ledger_show_masks_bsns(tmp_path: Path, lookup: Lookup) -> None:
    ledger = tmp_path / "ledger.sqlite"
    log = tmp_path / "ok.csv"
    log.write_text(HEADER + f"2021-03-01;{GOOD_BSNS[1]};W;Venlo;LN035;1;\n")
    issue(bill([log], lookup, BillOptions(today=dt.date(2024, 1, 1))), ledger, issue_date=dt.date(2021, 4, 5),
          lookup=lookup)
    number = re.search(r'"number": ?"([^"]+)"',
                       mgr("ledger", "list", "--ledger", ledger, "--format", "json").stdout).group(1)  # type: ignore[union-attr]
    shown = mgr("ledger", "show", number, "--ledger", ledger)
    assert shown.code == 0 and GOOD_BSNS[1] not in shown.output and "*****" in shown.output
    assert GOOD_BSNS[1] in mgr("ledger", "show", number, "--ledger", ledger, "--format", "json").stdout
