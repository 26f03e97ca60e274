"""``mgr bill --allocations`` and ``mgr check --allocations`` end to end (input files in, output and exit code out)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app

REGISTER = ("toewijzingnummer;bsn;aanbieder;gemeente;productcode;ingangsdatum;einddatum;volume;eenheid;frequentie\n"
            "A1;111222333;W;Venlo;LN035;2025-03-01;2025-04-30;2;uur;week\n")  # March: W09-W14 = 6 weeks = 12 h
LOG = ("datum;bsn;aanbieder;gemeente;productcode;uren\n"
       "2025-03-03;111222333;W;Venlo;LN035;5\n2025-03-10;111222333;W;Venlo;LN035;5\n"
       "2025-03-17;111222333;W;Venlo;LN035;4\n")  # 14 h: the last row does not fit


def files(tmp_path: Path, log: str = LOG) -> tuple[Path, Path]:
    reg, hours = tmp_path / "reg.csv", tmp_path / "hours.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    hours.write_text(log, encoding="utf-8")
    return reg, hours


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--tariffs", str(TARIFFS), "--today", "2025-12-31"])
    return result.exit_code, result.stdout, result.stderr


def test_bill_refuses_over_allocation(tmp_path: Path) -> None:
    reg, hours = files(tmp_path)
    code, _, err = run("bill", str(hours), "--allocations", str(reg), "--out", str(tmp_path / "out"))
    assert code == 1
    assert ("reg.csv:2: error: allocation A1 (2 uur per week), 2025-03: billed 14 uur, over 12 uur allowed in "
            "2025-03: 2 uur over, € 100,80 at stake") in err
    assert "nothing written: over-allocation is never billed (1 allocation month(s) over, € 100,80 at stake)" in err
    assert not (tmp_path / "out").exists()
    # --skip-invalid does not bill over-allocation either
    code, _, _ = run("bill", str(hours), "--allocations", str(reg), "--skip-invalid", "--out", str(tmp_path / "o2"))
    assert code == 1 and not (tmp_path / "o2").exists()


def test_bill_caps_and_lines_carry_the_allocation(tmp_path: Path) -> None:
    reg, hours = files(tmp_path)
    code, out, err = run("bill", str(hours), "--allocations", str(reg), "--cap-to-allocation", "--json")
    assert code == 0, err
    data = json.loads(out)
    [invoice] = data["invoices"]
    [line] = invoice["lines"]
    assert (line["quantity"], line["amount"], line["allocation"]) == ("10", "504.00", "A1")
    assert any("1 row(s) not billed (4 uur, € 201,60)" in w["message"] for w in data["warnings"])


def test_bill_rejects_a_row_without_allocation(tmp_path: Path) -> None:
    reg, hours = files(tmp_path, LOG.replace("2025-03-17;111222333", "2025-05-17;111222333"))
    code, _, err = run("bill", str(hours), "--allocations", str(reg))
    assert code == 1
    assert "hours.csv:4: error: no allocation on 2025-05-17" in err and "allocation A1 ended on 2025-04-30" in err


def test_bill_with_a_valid_allocation_writes_the_number(tmp_path: Path) -> None:
    reg, hours = files(tmp_path, LOG.replace(";4\n", ";1\n"))
    out = tmp_path / "out"
    code, _, err = run("bill", str(hours), "--allocations", str(reg), "--out", str(out))
    assert code == 0, err
    [invoice] = [p for p in out.iterdir() if p.name != "samenvatting.csv"]
    text = invoice.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].endswith(";toewijzingnummer") and text.splitlines()[1].endswith(";A1")
    # what mgr bill writes with allocations checks clean, against the register too
    checked = CliRunner().invoke(app, ["check", str(invoice), "--allocations", str(reg), "--tariffs", str(TARIFFS)])
    assert checked.exit_code == 0, checked.stdout


def test_bill_with_an_invalid_register(tmp_path: Path) -> None:
    reg, hours = files(tmp_path)
    reg.write_text(REGISTER.replace(";2;uur;week", ";;uur;week"), encoding="utf-8")
    code, _, err = run("bill", str(hours), "--allocations", str(reg))
    assert code == 1 and "reg.csv:2: error: volume or budget is missing" in err


def test_check_flags_lines_over_and_outside(tmp_path: Path) -> None:
    reg, hours = files(tmp_path)
    out = tmp_path / "out"
    code, _, err = run("bill", str(hours), "--out", str(out))
    assert code == 0, err
    [invoice] = [p for p in out.iterdir() if p.name != "samenvatting.csv"]
    result = CliRunner().invoke(app, ["check", str(invoice), "--allocations", str(reg), "--format", "json",
                                      "--tariffs", str(TARIFFS)])
    assert result.exit_code == 1
    found = json.loads(result.stdout)["discrepancies"]
    [over] = [d for d in found if d["kind"] == "allocation"]
    assert "billed 14 uur, 12 uur allowed" in over["message"]
    assert (over["billed"], over["expected"]) == ("705.60", "604.80")
    clean = CliRunner().invoke(app, ["check", str(invoice), "--tariffs", str(TARIFFS)])
    assert clean.exit_code == 0, clean.stdout
