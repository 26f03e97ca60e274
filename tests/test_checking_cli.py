"""``mgr check`` end to end: the shipped examples, the round trip bill -> check, the docs, the help."""

from __future__ import annotations

import datetime as dt
import doctest
import glob
import json
import re
import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.billing.output import invoice_files
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.checking.engine import check
from mgr_tariffs.cli import app
from mgr_tariffs.cli.cmd_check import render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "data/examples/invoice-with-errors.csv"
HOURS = "data/examples/hours.csv"
DOCS = ROOT / "docs" / "checking.md"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_help_names_the_checks_and_the_options(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "--help"], terminal_width=120)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in ("Recompute every invoice line from the catalogue", "double billing", "--hours", "--format",
                   "--show-bsn", "--tariffs", "Exit 0 when every line is right"):
        assert phrase in text, phrase


def test_the_planted_errors_are_all_found(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", EXAMPLE, "--hours", HOURS, "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["line"], d["kind"], d["difference"]) for d in data["discrepancies"]] == [
        (12, "hours", "243.74"), (18, "price", "-5.90"), (21, "hours", "48.60"), (25, "double", "243.74"),
        (35, "amount", "5.40"), (38, "bsn", None), (38, "hours", "166.95"), (None, "hours", "-166.95"),
        (47, "not_for", "97.20")]
    assert data["summary"]["over_billed"] == "561.89" and data["summary"]["under_billed"] == "172.85"
    assert "789480992" in data["discrepancies"][0]["message"]  # full BSNs in data output
    assert set(data["discrepancies"][0]) == {"file", "line", "invoice", "kind", "message", "billed", "expected",
                                             "difference"}


def test_the_example_is_realistic() -> None:
    lines = (ROOT / EXAMPLE).read_text(encoding="utf-8").splitlines()
    invoices = {line.split(";")[0] for line in lines[1:]}
    providers = {line.split(";")[2] for line in lines[1:]}
    assert 30 <= len(lines) - 1 <= 60 and len(invoices) == 3
    assert providers == {"Cliëntondersteuning Maasland B.V.", "Stichting Perspectief Noord-Limburg"}


def test_exit_codes(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["check", str(tmp_path / "none.csv")]).exit_code == 2
    assert runner.invoke(app, ["check", EXAMPLE, "--today", "gisteren", "--hours", HOURS]).exit_code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("factuurnummer;bedrag\nF1;1\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 1 and "required column 'aanbieder'" in result.output
    assert runner.invoke(app, ["check"]).exit_code == 2


def test_show_bsn(runner: CliRunner) -> None:
    masked = runner.invoke(app, ["check", EXAMPLE]).output
    shown = runner.invoke(app, ["check", EXAMPLE, "--show-bsn"]).output
    assert "*****0992" in masked and "789480992" not in masked
    assert "789480992" in shown


def test_round_trip_bill_then_check(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "facturen"
    assert runner.invoke(app, ["bill", HOURS, "--out", str(out)]).exit_code == 0
    files = sorted(str(p) for p in out.glob("*.csv"))
    assert any(f.endswith("samenvatting.csv") for f in files)
    checked = runner.invoke(app, ["check", *files, "--hours", HOURS])
    assert checked.exit_code == 0, checked.output
    assert "no discrepancies" in checked.output
    billed = runner.invoke(app, ["bill", HOURS, "--json"])
    (tmp_path / "result.json").write_text(billed.stdout, encoding="utf-8")
    as_json = runner.invoke(app, ["check", str(tmp_path / "result.json"), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.stdout)["summary"]
    assert summary["lines_checked"] == 114 and summary["billed"] == json.loads(billed.stdout)["summary"]["total"]


def test_a_changed_bill_is_caught(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "facturen"
    runner.invoke(app, ["bill", HOURS, "--out", str(out)])
    summary = out / "samenvatting.csv"
    rows = summary.read_text(encoding="utf-8-sig").splitlines()
    first = rows[1].split(";")
    first[7] = "1,00"  # totaal
    summary.write_text("\n".join([rows[0], ";".join(first), *rows[2:]]) + "\n", encoding="utf-8")
    invoice = out / first[-1]
    text = invoice.read_text(encoding="utf-8-sig").replace(";52,23;vrijgesteld;", ";52,32;vrijgesteld;", 1)
    invoice.write_text(text, encoding="utf-8")
    data = json.loads(runner.invoke(app, ["check", str(summary), str(invoice), "-f", "json"]).stdout)
    kinds = [(d["kind"], d["difference"]) for d in data["discrepancies"]]
    assert ("total", "-63.08") in kinds  # stated 1,00; its lines add up to 52,32 + 11,76 = 64,08
    assert ("amount", "0.09") in kinds and len(kinds) == 2


ROW = st.tuples(
    st.dates(dt.date(2019, 1, 1), dt.date(2021, 12, 31)), st.sampled_from(["111222333", "123456782", "12345672"]),
    st.sampled_from(["Zorg B.V.", "Hulp & Co"]), st.sampled_from(["Gennep", "Venlo", "0889"]),
    st.sampled_from(["LN017", "LN018", "LN031", "LN034"]), st.integers(1, 24_000), st.integers(0, 5_000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW, min_size=1, max_size=30), st.booleans())
def test_anything_bill_writes_checks_clean(lookup: Lookup, tmp_path_factory: pytest.TempPathFactory,
                                           rows: list[tuple[dt.date, str, str, str, str, int, int]],
                                           minutes: bool) -> None:
    folder = tmp_path_factory.mktemp("bill")
    unit = "minuten" if minutes else "uren"
    lines = [f"datum;bsn;aanbieder;gemeente;productcode;{unit};opbrengst"]
    home: dict[str, str] = {}  # one municipality per client: the same client, product and month billed to two
    for day, bsn, provider, drawn, product, thousandths, revenue in rows:  # municipalities is a possible double
        municipality = home.setdefault(bsn, drawn)
        quantity = str(thousandths // 50) if minutes else f"{thousandths // 1000},{thousandths % 1000:03d}"
        cents = f"{revenue // 100},{revenue % 100:02d}" if product == "LN034" and revenue else ""
        lines.append(f"{day};{bsn};{provider};{municipality};{product};{quantity};{cents}")
    log = folder / "uren.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    billed = bill([log], lookup)
    valid = billed.rows.select("_line").to_series().to_list()
    if not valid:
        return
    for name, content in invoice_files(billed).items():
        (folder / name).write_bytes(content)
    invoices = sorted(p for p in folder.glob("*.csv") if p.name != "uren.csv")
    result = check(invoices, lookup, hours=[log] if billed.ok else None)
    assert result.ok, ([d.message for d in result.discrepancies], result.problems)


# --- every example in docs/checking.md ------------------------------------------------------------


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for every ``$ mgr ...`` line in the console blocks of the docs."""
    blocks = re.findall(r"```console\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    examples = []
    for block in blocks:
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = part.partition("\n")
            examples.append((command, output))
    return examples


def _matches(expected: str, actual: str) -> bool:
    """Line by line; a line ``...`` stands for any number of lines."""
    pattern = "\n".join(".*?" if line == "..." else re.escape(line) for line in expected.rstrip("\n").split("\n"))
    return re.fullmatch(pattern, actual.rstrip("\n"), flags=re.S) is not None


@pytest.mark.parametrize(("command", "expected"), console_examples(), ids=lambda value: str(value)[:60])
def test_console_example_in_the_docs(runner: CliRunner, tmp_path: Path, command: str, expected: str) -> None:
    folder = Path("/tmp/facturen")
    words = [w.replace(str(folder), str(tmp_path / "facturen")) for w in shlex.split(command)]
    if "/tmp/facturen" in command and words[1] == "check":
        runner.invoke(app, ["bill", HOURS, "--out", str(tmp_path / "facturen"), "--force"])
    args = [a for w in words[1:] for a in (sorted(glob.glob(w)) if "*" in w else [w])]
    result = runner.invoke(app, args)
    shown = result.output.replace(str(tmp_path / "facturen"), str(folder))
    assert _matches(expected, shown), shown


def test_the_python_example_in_the_docs() -> None:
    failures, tried = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE,
                                       globs={"Decimal": __import__("decimal").Decimal})
    assert tried >= 6 and failures == 0


def test_the_docs_show_the_benchmark() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "PERFORMANCE_TABLE" not in text and "mgr check --hours" in text


def test_a_terminal_gets_a_table_per_invoice(lookup: Lookup) -> None:
    console = Console(force_terminal=True, width=200, color_system=None, record=True)
    render(check([Path(EXAMPLE)], lookup), console)
    text = console.export_text()
    row = next(line for line in text.splitlines() if "tarief 69,64" in line)
    assert text.count("bevinding") == 3 and [cell.strip() for cell in row.split("│")][-3:] == [
        "€ 174,10", "€ 180,00", "€ -5,90"]


@pytest.mark.parametrize(("text", "verdict"), [
    ("factuurnummer;aanbieder;gemeente;periode;bsn;productcode;aantal;tarief;bedrag\n",
     "no invoice line could be checked; 1 problem (listed above)"),
    ("datum;bsn;aanbieder;gemeente;productcode;uren\n2021-03-01;111222333;W;Venlo;LN035;1\n",
     "no invoice line could be checked; 4 problems (listed above)"),
    ("factuurnummer;aanbieder;gemeente;periode;bsn;productcode;aantal;tarief;bedrag\n"
     "F1;W;Gennep;2019-07;111222333;LN017;2;48,60;97,20\nF1;W;Gennep;2019-07;123456782;LN017;één;48,60;48,60\n",
     "no discrepancies in the lines that could be read; 1 problem (listed above)"),
    ("factuurnummer;aanbieder;gemeente;periode;bsn;productcode;aantal;tarief;bedrag\n"
     "F1;W;Gennep;2019-07;111222333;LN017;2;48,60;97,20\n", "no discrepancies: the invoices are correct"),
], ids=["header only", "an hour log", "an unreadable line", "correct"])
def test_only_checked_lines_without_problems_are_called_correct(runner: CliRunner, tmp_path: Path, text: str,
                                                                verdict: str) -> None:
    path = tmp_path / "factuur.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.stdout.splitlines()[-1] == verdict
    assert result.exit_code == (0 if verdict.endswith("correct") else 1)
