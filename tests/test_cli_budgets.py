"""``mgr subsidy status``, ``mgr signals``, ``mgr forecast`` and the norm warnings of ``mgr bill``: output in each
format, exit codes and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import ROOT, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.cli import app

EXAMPLES = ROOT / "data" / "examples"
WEERT = str(EXAMPLES / "subsidie-weert-2018.yaml")
WEERT_LOG = str(EXAMPLES / "hours-weert-2018.csv")
SIGNALS_LOG = str(EXAMPLES / "hours-signals.csv")


def mgr(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--tariffs", str(TARIFFS)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [("subsidy", "status"), ("signals",), ("forecast",)])
def test_help(runner: CliRunner, command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and f"Usage: mgr {' '.join(command)}" in result.output


def test_status_text_of_the_weert_example(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "subsidy", "status", WEERT, "--hours", WEERT_LOG, "--on", "2018-07-01")
    assert code == 0
    for text in ("ceiling € 42.630,00",
                 "Leudal 36 % € 31.320,00 · Nederweert 16 % € 13.920,00 · Weert 48 % € 41.760,00",
                 "2018-01-01 € 10.657,50 · 2018-04-01 € 10.657,50 · 2018-07-01 € 10.657,50 · 2018-10-01 € 10.657,50",
                 "advances due by 2018-07-01: € 31.972,50",
                 "21 hours in 9 row(s), € 1.462,44; Weert's part (key 48 %) € 701,97",
                 "forecast (straight line, 182 of 365 days): Weert's part € 1.407,80 by 2018-12-31",
                 "to reclaim: € 41.222,20",
                 "next deadline: 2018-09-30 kwartaalrapportage Q3",
                 "subsidie-weert-2018.yaml:49: warning: grant_vs_key:", "€ 870,00 unexplained"):
        assert text in out, text


def test_status_json(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "subsidy", "status", WEERT, "--hours", WEERT_LOG, "--on", "2019-05-01", "-f", "json")
    assert code == 0
    data = json.loads(out)["subsidies"][0]
    assert data["ceiling"] == "42630.00"
    assert [s["amount"] for s in data["key"]["shares"]] == ["31320.00", "13920.00", "41760.00"]
    assert [a["amount"] for a in data["advances"]] == ["10657.50"] * 4
    assert data["realised"]["total"] == "1462.44" and data["realised"]["grantor_part"] == "701.97"
    assert data["settlement"] == {"basis": "realised", "basis_amount": "701.97", "settled": "701.97",
                                  "advances": "42630.00", "advances_basis": "schedule", "balance": "-41928.03",
                                  "outcome": "terugvordering"}
    assert data["findings"][0]["amounts"] == {"granted": "42630.00", "by_key": "41760.00", "difference": "870.00"}
    assert data["next_deadline"] is None


def test_status_csv_is_the_burn_down_per_month(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "subsidy", "status", WEERT, "--hours", WEERT_LOG, "--on", "2018-07-01", "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["maand"] for r in rows] == ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06"]
    assert rows[1]["gebruik_Leudal"] == "208.92" and rows[1]["gebruik_Nederweert"] == "174.10"
    assert rows[-1]["cumulatief"] == "701.97" and rows[-1]["resterend_plafond"] == "41928.03"


def test_status_without_a_log_and_strict(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "subsidy", "status", WEERT, "--on", "2018-01-01")
    assert code == 0 and "realised (LN018 tariff on the service date): 0 hours in 0 row(s)" in out
    code, _, _ = mgr(runner, "subsidy", "status", WEERT, "--on", "2018-01-01", "--strict")
    assert code == 1


def test_status_of_a_broken_file_lists_every_problem(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = Path(WEERT).read_text(encoding="utf-8")
    text = text.replace("    grantor: Weert\n", "    grantor: Weert\n    colour: x\n")
    text = text.replace("percent: 36", "percent: '36%'")
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    colour = lines.index("    colour: x") + 1
    percent = next(i for i, line in enumerate(lines, 1) if "'36%'" in line)
    code, out, err = mgr(runner, "subsidy", "status", str(path))
    assert code == 1 and out == ""
    assert f"{path}:{colour}: error: weert-2018-clientondersteuning.colour: unknown field" in err
    assert f"{path}:{percent}: error: weert-2018-clientondersteuning.key.shares[0].percent" in err


def test_status_log_with_rejected_rows(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "uren.csv"
    log.write_text(Path(WEERT_LOG).read_text(encoding="utf-8") + "2018-07-02;123456789;AMW-ML;Weert;LN018;1;;x\n",
                   encoding="utf-8")
    code, _, err = mgr(runner, "subsidy", "status", WEERT, "--hours", str(log), "--on", "2018-07-01")
    assert code == 1 and f"{log}:12: error: BSN *****6789 fails the elfproef" in err and "--skip-invalid" in err
    code, out, err = mgr(runner, "subsidy", "status", WEERT, "--hours", str(log), "--on", "2018-07-01",
                         "--skip-invalid")
    assert code == 0 and f"{log}:12: warning: BSN *****6789 fails the elfproef" in err
    assert "21 hours in 9 row(s)" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--on", "2018/07/01"), "--on '2018/07/01' is not a date"),
    (("--hours", "/nonexistent/uren.csv"), "/nonexistent/uren.csv: no such file"),
])
def test_status_usage_errors(runner: CliRunner, args: tuple[str, ...], message: str) -> None:
    code, _, err = mgr(runner, "subsidy", "status", WEERT, *args)
    assert code == 2 and message in err


def test_status_unreadable_subsidy_file(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = mgr(runner, "subsidy", "status", str(tmp_path))
    assert code == 2 and "not a file" in err


def test_signals_text_json_and_csv(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "signals", SIGNALS_LOG)
    assert code == 0
    assert (f"{SIGNALS_LOG}:4: warning: norm: client *****5310 of Cliëntondersteuning Maasland B.V. has 8,5 hours "
            "of LN018 in traject T-101 (2019-07-02 – 2019-07-23), more than the norm of 8 hours per request (WF-CO); "
            "report the reason to the municipality") in out
    assert "rows read 9 · looked at 9 · 2 signal(s) beyond a duration norm" in out
    code, out, _ = mgr(runner, "signals", SIGNALS_LOG, "-f", "json")
    data = json.loads(out)
    assert code == 0 and [(s["line"], s["hours"], s["bsn"]) for s in data["signals"]] == [
        (4, "8.5", "333855310"), (9, "9", "249606203")]
    code, out, _ = mgr(runner, "signals", SIGNALS_LOG, "-f", "csv", "--window", "month")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 1


def test_signals_show_bsn_and_bad_window(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "signals", SIGNALS_LOG, "--show-bsn")
    assert code == 0 and "client 333855310" in out
    code, _, err = mgr(runner, "signals", SIGNALS_LOG, "--window", "week")
    assert code == 2 and "choose from month, quarter, year" in err


def test_signals_on_a_log_with_rejected_rows_exit_1_and_still_signal(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "uren.csv"
    log.write_text(Path(SIGNALS_LOG).read_text(encoding="utf-8") + "2019-07-02;1;X;Gennep;LN018;1;;\n",
                   encoding="utf-8")
    code, out, err = mgr(runner, "signals", str(log))
    assert code == 1 and f"{log}:11: error:" in err and "2 signal(s)" in out


def test_mgr_bill_reports_norm_signals_as_warnings(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "bill", SIGNALS_LOG, "--json")
    assert code == 0
    data = json.loads(out)
    norms = [w for w in data["warnings"] if "norm:" in w["message"]]
    assert [w["line"] for w in norms] == [4, 9]
    assert data["summary"]["rows_billed"] == 9


def test_mgr_bill_of_the_example_still_bills_everything(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "bill", str(EXAMPLES / "hours.csv"), "--json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["total"] == "17847.21" and data["summary"]["invoices"] == 39
    assert [w["line"] for w in data["warnings"] if "norm:" in w["message"]] == [17]


def test_forecast_of_source_002(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "forecast", "--requests", "125", "--hours-per-request", "6-8", "--extra-hours", "325",
                       "--product", "LN018", "--on", "2018-06-01")
    assert code == 0 and "1 fte = 1.200 hours at LN018 € 69,64 per uur" in out
    assert "│ mid      │                7 │            875 │       1.200 │ 1,00 │ € 83.568,00 │" in out
    code, out, _ = mgr(runner, "forecast", "-n", "125", "--hours-per-request", "6-8", "--extra-hours", "325",
                       "-f", "json")
    data = json.loads(out)
    assert code == 0 and data["fte_hours"] == "1200" and data["tariff"] is None
    assert [(s["hours"], s["fte"]) for s in data["scenarios"]] == [("1075", "0.90"), ("1200", "1.00"),
                                                                   ("1325", "1.10")]


def test_forecast_other_fte_hours_and_csv(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "forecast", "-n", "125", "--hours-per-request", "7", "--extra-hours", "325",
                       "--fte-hours", "1500", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["fte"] for r in rows] == ["0.80"] * 3


def test_forecast_from_a_log(runner: CliRunner) -> None:
    code, out, _ = mgr(runner, "forecast", "--from-log", SIGNALS_LOG, "--product", "LN018", "--on", "2019-07-01",
                       "-f", "json")
    data = json.loads(out)
    assert code == 0 and data["requests"] == 2 and data["basis"] == "log: requests by traject"
    assert [s["hours"] for s in data["scenarios"]] == ["4", "10.5", "17"]
    assert data["scenarios"][1]["cost"] == "756.00"  # 10,5 h x € 72,00


@pytest.mark.parametrize(("args", "code", "message"), [
    ((), 2, "give --requests and --hours-per-request, or --from-log LOG"),
    (("-n", "5", "--hours-per-request", "8-6"), 2, "hours must be more than zero, the low end first"),
    (("-n", "5", "--hours-per-request", "6", "--extra-hours", "veel"), 2, "--extra-hours 'veel' is not a number"),
    (("-n", "5", "--hours-per-request", "6", "--fte-hours", "0"), 2, "the hours per fte must be more than zero"),
    (("-n", "5", "--hours-per-request", "6", "-p", "LN999"), 1, "unknown product code 'LN999'"),
    (("-n", "5", "--hours-per-request", "6", "-p", "LN035", "--on", "2019-01-01"), 1, "LN035 has no price"),
    (("--from-log", SIGNALS_LOG, "-n", "5"), 2, "give one or the other"),
    (("--from-log", "/nonexistent.csv"), 2, "/nonexistent.csv: no such file"),
])
def test_forecast_bad_input(runner: CliRunner, args: tuple[str, ...], code: int, message: str) -> None:
    got, _, err = mgr(runner, "forecast", *args)
    assert got == code and message in err, err


README_COMMANDS = [
    "mgr subsidy status data/examples/subsidie-weert-2018.yaml --hours data/examples/hours-weert-2018.csv "
    "--on 2018-07-01",
    "mgr signals data/examples/hours-signals.csv",
    "mgr forecast --requests 125 --hours-per-request 6-8 --extra-hours 325 --product LN018 --on 2018-06-01",
]


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_shows_the_real_output(runner: CliRunner, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"$ {command}\n") + len(f"$ {command}\n")
    shown = readme[start:readme.index("```", start)]
    code, out, _ = mgr(runner, *command.split()[1:])
    assert code == 0 and out == shown


def test_two_subsidies_in_one_file_and_id(runner: CliRunner, tmp_path: Path) -> None:
    text = Path(WEERT).read_text(encoding="utf-8")
    body = text[text.index("  - id: weert-2018-clientondersteuning"):]
    path = tmp_path / "twee.yaml"
    path.write_text(text + body.replace("id: weert-2018-clientondersteuning", "id: weert-2018-kopie"),
                    encoding="utf-8")
    code, out, _ = mgr(runner, "subsidy", "status", str(path), "--on", "2018-01-01", "-f", "json")
    assert code == 0 and [s["id"] for s in json.loads(out)["subsidies"]] == ["weert-2018-clientondersteuning",
                                                                             "weert-2018-kopie"]
    code, out, _ = mgr(runner, "subsidy", "status", str(path), "--on", "2018-01-01", "-f", "json", "--id",
                       "weert-2018-kopie")
    assert code == 0 and [s["id"] for s in json.loads(out)["subsidies"]] == ["weert-2018-kopie"]
    code, _, err = mgr(runner, "subsidy", "status", str(path), "--id", "nope")
    assert code == 1 and "no subsidy 'nope'" in err


def test_the_subsidy_schema_file_is_up_to_date_and_accepts_the_example(runner: CliRunner) -> None:
    import datetime as dt  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    jsonschema = pytest.importorskip("jsonschema")
    result = runner.invoke(app, ["subsidy", "schema"])
    schema_file = ROOT / "docs" / "subsidies.schema.json"
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(schema_file.read_text(encoding="utf-8")), (
        "run `mgr subsidy schema > docs/subsidies.schema.json`")
    text = Path(WEERT).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../docs/subsidies.schema.json"

    def as_json(value: object) -> object:
        if isinstance(value, dict):
            return {k: as_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_json(v) for v in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    document = as_json(yaml.safe_load(text))
    validator = jsonschema.Draft202012Validator(json.loads(result.stdout))
    assert [e.message for e in validator.iter_errors(document)] == []
    assert isinstance(document, dict)
    document["subsidies"][0]["colour"] = "blue"
    assert len(list(validator.iter_errors(document))) == 1
