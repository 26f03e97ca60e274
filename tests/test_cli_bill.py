"""``mgr bill`` end to end through the command line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app

EXAMPLE = ROOT / "data" / "examples" / "hours.csv"
GOOD = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n2021-03-01;111222333;W;Venlo;LN034;2;5,00\n"
BAD = GOOD + "2021-03-02;123456789;W;Venlo;LN035;1;\n2021-03-03;111222333;W;Weert;LN035;1;\n"


def mgr(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--tariffs", str(TARIFFS)] if args[0] == "bill" else list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_explains_the_command(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "bill", "--help")
    assert code == 0
    for option in ("--out", "--format", "--documents", "--skip-invalid", "--force", "--sheet", "--show-bsn", "-h"):
        assert option in out


def test_readme_main_command_bills_the_example(runner: CliRunner) -> None:
    code, out, err = mgr(runner, "bill", str(EXAMPLE))
    assert code == 0, err
    assert "rows read 291 · billed 291 · rejected 0" in out
    assert "€ 17.847,21" in out


def test_json_has_the_documented_shape(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "bill", str(EXAMPLE), "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"invoices", "errors", "warnings", "summary"}
    invoice = data["invoices"][0]
    assert {"provider", "municipality", "municipality_code", "period", "lines", "total"} <= set(invoice)
    assert {"bsn", "product", "unit_price", "quantity", "amount", "revenue_netted", "revenue_unnetted"} <= set(
        invoice["lines"][0])
    summary = data["summary"]
    assert summary["rows_read"] == summary["rows_billed"] + summary["rows_rejected"] == 291
    assert summary["total"] == "17847.21" and summary["invoices"] == len(data["invoices"]) == 39
    assert sum(int(i["total"].replace(".", "")) for i in data["invoices"]) == 1784721


def test_out_writes_one_csv_per_invoice_and_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "facturen"
    code, _, err = mgr(runner, "bill", str(EXAMPLE), "--out", str(out), "--documents", "csv")
    assert code == 0, err
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 40 and "samenvatting.csv" in files
    first = (out / files[0]).read_text(encoding="utf-8-sig").splitlines()
    assert first[0].startswith("factuurnummer;aanbieder;gemeente;gemeentecode;periode;bsn;productcode")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = mgr(runner, "bill", str(EXAMPLE), "--out", str(out), "--documents", "csv")
    assert code == 1 and "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert mgr(runner, "bill", str(EXAMPLE), "--out", str(out), "--force", "--documents", "csv")[0] == 0


def test_out_writes_the_accounting_import_and_the_summary_by_default(runner: CliRunner, tmp_path: Path) -> None:
    """``--out`` alone: ``regels.csv`` holds every invoice line (the bytes of the invoice CSVs, invoice by invoice,
    under one header) and ``samenvatting.csv`` names it as the file of every invoice."""
    code, _, err = mgr(runner, "bill", str(EXAMPLE), "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["regels.csv", "samenvatting.csv"]
    code, _, err = mgr(runner, "bill", str(EXAMPLE), "--out", str(tmp_path / "b"), "--documents", "lines,csv")
    assert code == 0, err
    summary = list(csv.DictReader(io.StringIO((tmp_path / "a" / "samenvatting.csv").read_text(encoding="utf-8-sig"),
                                              newline=""), delimiter=";"))
    assert len(summary) == 39 and {row["bestand"] for row in summary} == {"regels.csv"}
    both = list(csv.DictReader(io.StringIO((tmp_path / "b" / "samenvatting.csv").read_text(encoding="utf-8-sig"),
                                           newline=""), delimiter=";"))
    texts = [(tmp_path / "b" / row["bestand"]).read_text(encoding="utf-8-sig").splitlines() for row in both]
    lines = (tmp_path / "a" / "regels.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == texts[0][0]  # the invoice CSVs' header (aantal: the example is in hours)
    assert lines[1:] == [line for text in texts for line in text[1:]]
    assert (tmp_path / "a" / "regels.csv").read_bytes() == (tmp_path / "b" / "regels.csv").read_bytes()
    assert sum(int(row["regels"]) for row in summary) == len(lines) - 1


def test_documents_csv_needs_out(runner: CliRunner) -> None:
    code, _, err = mgr(runner, "bill", str(EXAMPLE), "--documents", "csv")
    assert code == 2 and "--documents needs --out DIR" in err


def test_strict_by_default_nothing_written_every_row_listed(runner: CliRunner, tmp_path: Path) -> None:
    hours = tmp_path / "uren.csv"
    hours.write_text(BAD, encoding="utf-8")
    code, out, err = mgr(runner, "bill", str(hours), "--out", str(tmp_path / "out"))
    assert code == 1
    assert f"{hours}:3: error: BSN *****6789 fails the elfproef" in err
    assert f"{hours}:4: error: Weert was not a member of the MGR on 2021-03-03" in err
    assert "123456789" not in err + out
    assert not (tmp_path / "out").exists()


def test_skip_invalid_bills_the_rest_and_writes_the_rejects(runner: CliRunner, tmp_path: Path) -> None:
    hours = tmp_path / "uren.csv"
    hours.write_text(BAD, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = mgr(runner, "bill", str(hours), "--out", str(out), "--skip-invalid")
    assert code == 0, err
    rejects = (out / "afgekeurd.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0].startswith("bestand;regel;reden;")
    assert [line.split(";")[1] for line in rejects[1:]] == ["3", "4"]
    summary = (out / "samenvatting.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(summary) == 2 and ";19,00;" in summary[1]  # 2 h x 12,00 = 24,00 minus 5,00 revenue


def test_unreadable_input_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = mgr(runner, "bill", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err and "Traceback" not in err


def test_invoice_csvs_quote_awkward_names_and_check_clean(runner: CliRunner, tmp_path: Path) -> None:
    """A provider name with ``;``, ``"`` and a line break is one quoted field; the files read back as billed."""
    awkward = 'Zorg "Noord"; Venlo\nB.V.'
    log = tmp_path / "awkward.csv"
    quoted = '"' + awkward.replace('"', '""') + '"'
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
                   f"2021-03-01;111222333;{quoted};Venlo;LN035;1,5;\n2021-03-02;111222333;{quoted};Venlo;LN035;2;\n"
                   "2021-03-02;123456782;W;Venlo;LN035;0,25;\n", encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = mgr(runner, "bill", str(log), "--out", str(out), "--documents", "csv")
    assert code == 0, err
    invoices = sorted(p for p in out.iterdir() if p.name != "samenvatting.csv")
    assert len(invoices) == 2
    rows = [list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
            for p in invoices]
    by_provider = {r[0]["aanbieder"]: r for r in rows}
    assert set(by_provider) == {awkward, "W"}
    (line,) = by_provider[awkward]
    assert (line["aantal"], line["tarief"], line["bedrag"], line["regels"]) == ("3,5", "50,40", "176,40", "2")
    code, _, err = mgr(runner, "check", *map(str, invoices), "--hours", str(log), "--tariffs", str(TARIFFS))
    assert code == 0, err


def test_console_script_exit_codes_and_output_survive_the_fast_exit(tmp_path: Path) -> None:
    """The console script ends the process at once after flushing: the output and the exit code are intact."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from mgr_tariffs.entry import main; main()", *args],
                              capture_output=True, text=True, check=False, cwd=ROOT)

    ok = run("bill", str(EXAMPLE), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["summary"]["total"] == "17847.21"
    bad = run("bill", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and "no such file" in bad.stderr
    usage = run("bill", "--no-such-option")
    assert usage.returncode == 2
    log = tmp_path / "bad.csv"
    log.write_text(BAD, encoding="utf-8")
    rejected = run("bill", str(log))
    assert rejected.returncode == 1 and f"{log}:3:" in rejected.stderr


def test_force_into_the_folder_of_an_earlier_run_leaves_one_run(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "facturen"
    assert mgr(runner, "bill", str(EXAMPLE), "--out", str(out))[0] == 0
    (out / "concept-oud-0889-2018-01.csv").write_text("from an earlier run", encoding="utf-8")
    (out / "notities.txt").write_text("the clerk's own file", encoding="utf-8")
    assert mgr(runner, "bill", str(EXAMPLE), "--out", str(out), "--force", "--period", "2019-07")[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert "notities.txt" in names and "concept-oud-0889-2018-01.csv" not in names
    assert all("2019-07" in n for n in names if n.startswith("concept-")), "only this run's invoices"


def test_a_missing_parties_file_says_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    code, out, err = mgr(runner, "bill", str(EXAMPLE), "--out", str(tmp_path / "f"), "--documents", "pdf",
                         "--parties", str(tmp_path / "nowhere.yaml"))
    assert code == 2 and "--parties PATH or set $MGR_PARTIES" in out + err and "data/examples/parties.yaml" in out + err
