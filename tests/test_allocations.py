"""Allocations: the iWmo worked examples (IV076–IV078), each frequency and unit, budgets, the register's
problems, WMO301 messages and ``mgr allocations``. Expected values are computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import ROOT, SHARED, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.allocations.model import Allocation, Frequency, Unit
from mgr_tariffs.allocations.register import read_register
from mgr_tariffs.allocations.report import Evaluation, Settings
from mgr_tariffs.allocations.rules import allowed_in_month, allowed_total
from mgr_tariffs.allocations.usage import Inputs, run_allocations
from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.problems import InputError

HOUR = 3000
XSD = SHARED / "iwmo" / "xsd"
HEADER = "toewijzingnummer;bsn;aanbieder;gemeente;productcode;ingangsdatum;einddatum;volume;eenheid;frequentie;budget\n"
LOG_HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"


def allocation(start: str, end: str | None, amount: int, unit: Unit | None, frequency: Frequency | None
               ) -> Allocation:
    return Allocation(number="1", bsn_id=111222333, provider="W", provider_key="w", municipality_id=983,
                      product="LN035", start=dt.date.fromisoformat(start),
                      end=dt.date.fromisoformat(end) if end else None, amount=amount, unit=unit, frequency=frequency)


# --- the worked examples ---------------------------------------------------------------------------


def test_iv077_three_hours_a_week_october_to_december() -> None:
    # weeks 41-44 in October, 44-48 in November, 49-52 and 2026-W01 in December; 41..52 + 1 = 13 in all
    a = allocation("2025-10-07", "2025-12-30", 3 * HOUR, Unit.HOUR, Frequency.WEEK)
    assert [allowed_in_month(a, p) for p in (202510, 202511, 202512)] == [12 * HOUR, 15 * HOUR, 15 * HOUR]
    assert allowed_total(a) == 39 * HOUR
    assert allowed_in_month(a, 202601) == 0


def test_iv076_july_to_september() -> None:
    # 07-07-2025 t/m 07-09-2025, 3 h a week: July weeks 28-31 = 12 h, August 31-35 = 15 h, September week 36 = 3 h
    a = allocation("2025-07-07", "2025-09-07", 3 * HOUR, Unit.HOUR, Frequency.WEEK)
    assert [allowed_in_month(a, p) for p in (202507, 202508, 202509)] == [12 * HOUR, 15 * HOUR, 3 * HOUR]
    assert allowed_total(a) == 27 * HOUR  # 9 weeks


def test_iv078_partial_periods() -> None:
    # example 1: 12-11-2025 t/m 13-12-2025, 3 h a week: 12-30 November touches weeks 46, 47, 48 = 9 h
    week = allocation("2025-11-12", "2025-12-13", 3 * HOUR, Unit.HOUR, Frequency.WEEK)
    assert allowed_in_month(week, 202511) == 9 * HOUR
    # example 2: 15 h a month from 14-10-2025: the full 15 h in October although the month is partial
    month = allocation("2025-10-14", "2025-12-13", 15 * HOUR, Unit.HOUR, Frequency.MONTH)
    assert [allowed_in_month(month, p) for p in (202510, 202511, 202512)] == [15 * HOUR] * 3
    assert allowed_total(month) == 45 * HOUR  # three months touched


def test_week_crossing_the_year() -> None:
    # 2025-12-29 .. 2026-01-04 is ISO week 2026-W01: one week, counted in each month it touches, once in total
    a = allocation("2025-12-29", "2026-01-04", 2 * HOUR, Unit.HOUR, Frequency.WEEK)
    assert allowed_in_month(a, 202512) == 2 * HOUR
    assert allowed_in_month(a, 202601) == 2 * HOUR
    assert allowed_total(a) == 2 * HOUR


def test_day_frequency_counts_shared_days() -> None:
    # 1,5 h a day from 2025-02-20 to 2025-03-03: 9 days of February, 3 of March, 12 in all
    a = allocation("2025-02-20", "2025-03-03", 4500, Unit.HOUR, Frequency.DAY)
    assert allowed_in_month(a, 202502) == 9 * 4500
    assert allowed_in_month(a, 202503) == 3 * 4500
    assert allowed_total(a) == 12 * 4500


def test_total_and_budget_have_no_month_limit_and_open_ends_no_total() -> None:
    total = allocation("2025-01-01", None, 40 * HOUR, Unit.HOUR, Frequency.TOTAL)
    assert allowed_in_month(total, 202503) is None
    assert allowed_total(total) == 40 * HOUR
    budget = allocation("2025-01-01", "2025-12-31", 120_000, None, None)
    assert allowed_in_month(budget, 202503) is None
    assert allowed_total(budget) == 120_000
    assert allowed_total(allocation("2025-01-01", None, HOUR, Unit.HOUR, Frequency.MONTH)) is None


# --- registers and logs ----------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def evaluate_files(tmp_path: Path, lookup: Lookup, register: str, log: str, on: dt.date | None = None
                   ) -> Evaluation:
    inputs = Inputs([write(tmp_path, "reg.csv", HEADER + register)], [write(tmp_path, "log.csv", LOG_HEADER + log)])
    run = run_allocations(inputs, lookup, Settings(on=on))
    assert run.evaluation is not None, run.register.problems
    return run.evaluation


def test_units_convert_exactly(tmp_path: Path, lookup: Lookup) -> None:
    # 1 dagdeel a week = 4 h; 2025-03-03 .. 2025-03-09 is one week; 4 h + 0,25 h billed = 0,25 h over
    evaluation = evaluate_files(tmp_path, lookup, "A1;111222333;W;Venlo;LN035;2025-03-03;2025-03-09;1;dagdeel;week;\n",
                         "2025-03-03;111222333;W;Venlo;LN035;2,5;\n2025-03-05;111222333;W;Venlo;LN035;1,75;\n")
    [use] = evaluation.uses
    assert (use.allowed, use.used, use.over) == (4 * HOUR, 4 * HOUR + 750, 750)
    [problem] = evaluation.errors
    # 0,25 h at € 50,40 = € 12,60
    assert "reg.csv:2" in str(problem) and "0,25 uur over" in problem.message and "€ 12,60" in problem.message


def test_minutes_allocation_with_minutes_log(tmp_path: Path, lookup: Lookup) -> None:
    reg = write(tmp_path, "reg.csv", HEADER + "A1;111222333;W;Venlo;LN035;2025-03-01;;90;minuut;maand;\n")
    log = write(tmp_path, "log.csv", "datum;bsn;aanbieder;gemeente;productcode;minuten\n"
                "2025-03-03;111222333;W;Venlo;LN035;45\n2025-03-20;111222333;W;Venlo;LN035;45\n"
                "2025-04-01;111222333;W;Venlo;LN035;91\n")
    run = run_allocations(Inputs([reg], [log]), lookup, Settings(on=dt.date(2025, 4, 30)))
    assert run.evaluation is not None
    [use] = run.evaluation.uses
    assert [(m.period, m.allowed, m.used, m.over) for m in use.months] == [
        ("2025-03", 4500, 4500, 0), ("2025-04", 4500, 4550, 50)]
    assert use.allowed is None and use.display_unit == "minuut"


def test_week_volume_over_a_month_crossing_week(tmp_path: Path, lookup: Lookup) -> None:
    # 1 h a week from Wed 2025-10-29 to Sun 2025-11-02: one ISO week (W44) shared by October and November.
    # October allows 1 h, November 1 h, the allocation 1 h: 0,75 + 0,75 h = 0,5 h over the total, in November
    evaluation = evaluate_files(tmp_path, lookup, "A1;111222333;W;Venlo;LN035;2025-10-29;2025-11-02;1;uur;week;\n",
                         "2025-10-30;111222333;W;Venlo;LN035;0,75;\n2025-11-01;111222333;W;Venlo;LN035;0,75;\n")
    [use] = evaluation.uses
    assert [(m.allowed, m.billable, m.over) for m in use.months] == [(HOUR, 2250, 0), (HOUR, 750, 1500)]
    assert "over the total 1 uur of the allocation" in evaluation.errors[0].message


def test_budget_counts_amounts_after_netting(tmp_path: Path, lookup: Lookup) -> None:
    # LN034 at € 12,00: March 10 h = € 120,00 - € 30,00 revenue = € 90,00; April 5 h = € 60,00: € 150,00 of € 160
    evaluation = evaluate_files(tmp_path, lookup, "B1;111222333;W;Venlo;LN034;2025-03-01;2025-04-30;;;;160\n",
                         "2025-03-03;111222333;W;Venlo;LN034;10;30,00\n2025-04-03;111222333;W;Venlo;LN034;5;\n",
                         on=dt.date(2025, 4, 3))
    [use] = evaluation.uses
    assert (use.allowed, use.used, use.remaining, use.percent) == (16_000, 15_000, 1_000, 93)
    assert not evaluation.errors
    messages = [p.message for p in evaluation.warnings]
    assert any("93 % used" in m for m in messages)
    assert any("ends on 2025-04-30, 27 days after 2025-04-03" in m for m in messages)


def test_budget_exceeded_names_the_money(tmp_path: Path, lookup: Lookup) -> None:
    evaluation = evaluate_files(tmp_path, lookup, "B1;111222333;W;Venlo;LN034;2025-03-01;2025-04-30;;;;100\n",
                         "2025-03-03;111222333;W;Venlo;LN034;10;\n")
    [problem] = evaluation.errors
    assert "billed € 120,00" in problem.message and "€ 20,00 over" in problem.message


def test_rows_outside_every_allocation(tmp_path: Path, lookup: Lookup) -> None:
    evaluation = evaluate_files(tmp_path, lookup, "A1;111222333;W;Venlo;LN035;2025-03-01;2025-03-31;10;uur;totaal;\n",
                         "2025-02-28;111222333;W;Venlo;LN035;1;\n2025-04-02;111222333;W;Venlo;LN035;1;\n"
                         "2025-03-10;111222333;W;Venlo;LN036;1;\n")
    errors = [str(p) for p in evaluation.errors]
    assert errors == [
        "log.csv:2: error: no allocation on 2025-02-28 for client *****2333, product LN035".replace(
            "log.csv", str(tmp_path / "log.csv")),
        f"{tmp_path / 'log.csv'}:3: error: no allocation on 2025-04-02 for client *****2333, product LN035: "
        "allocation A1 ended on 2025-03-31",
        f"{tmp_path / 'log.csv'}:4: error: no allocation on 2025-03-10 for client *****2333, product LN036",
    ]
    assert any("hours logged after allocation A1 ended on 2025-03-31: 1 rows" in p.message
               for p in evaluation.warnings)


def test_register_problems_all_at_once(tmp_path: Path, lookup: Lookup) -> None:
    text = HEADER + (
        "A1;111222333;W;Venlo;LN035;2025-01-01;2025-06-30;10;uur;totaal;500\n"     # 2 both
        "A2;111222333;W;Venlo;LN036;2025-01-01;2025-06-30;;;;\n"                   # 3 neither
        "A3;111222333;W;Venlo;LN035;2025-07-01;2025-06-30;1;uur;maand;\n"          # 4 end before start
        "A4;111222333;W;Atlantis;LN099;2025-01-01;;1;uur;maand;\n"                 # 5 unknown both
        "A5;111222333;W;Venlo;LN017;2025-01-01;;1;uur;maand;\n"                    # 6 not bought by Venlo
        "A6;123456789;W;Venlo;LN035;2025-01-01;;1;uur;maand;\n"                    # 7 elfproef
        "A7;111222333;W;Venlo;LN037;2025-01-01;2025-03-31;1;uur;maand;\n"          # 8
        "A8;111222333;w ;Venray;LN037;2025-03-01;2025-04-30;1;uur;maand;\n"        # 9 overlaps A7
        "A7;111222333;W;Venlo;LN031;2025-01-01;;1;uur;maand;\n"                    # 10 number twice
        "A9;111222333;W;Venlo;LN031;2026-01-01;;1;uur;week;\n"                     # 11 week without end
        "A10;111222333;W;Venlo;LN032;2026-01-01;2026-02-01;1;jaar;eeuw;\n"         # 12 unknown unit, frequency
        "A11;111222333;W;Venlo;LN032;2025-01-01;2025-02-01;;uur;;12,345\n"         # 13 budget with unit, decimals
    )
    result = read_register([write(tmp_path, "reg.csv", text)], lookup)
    assert result.register is None
    found = [(p.line, p.message) for p in result.problems]
    lines = [line or 0 for line, _ in found]
    assert lines == sorted(lines) and set(lines) == set(range(2, 14)) - {8}
    messages = "\n".join(m for _, m in found)
    for expected in ("volume and budget both given", "volume or budget is missing",
                     "einddatum 2025-06-30 is before ingangsdatum 2025-07-01", "unknown municipality 'Atlantis'",
                     "unknown product code 'LN099'", "Venlo does not buy LN017", "BSN *****6789 fails the elfproef",
                     "overlaps allocation A7 (2025-01-01 – 2025-03-31, line 8)",
                     "toewijzingnummer 'A7' is used before, line 8",
                     "an allocation per week must have one", "eenheid 'jaar' is not known",
                     "frequentie 'eeuw' is not known", "eenheid belongs to a volume", "more than two decimals"):
        assert expected in messages, expected


def test_english_headers_and_xlsx_dialect(tmp_path: Path, lookup: Lookup) -> None:
    text = ("Allocation,Client,Provider,Municipality,Product,Start,End,Volume,Unit,Frequency\n"
            "X1,111222333,W,0983,ln035,01-03-2025,31-03-2025,2,04,4\n")
    result = read_register([write(tmp_path, "reg.csv", text)], lookup)
    assert result.register is not None, result.problems
    [a] = result.register.allocations
    assert (a.number, a.municipality_id, a.product, a.unit, a.frequency, a.amount) == (
        "X1", 983, "LN035", Unit.HOUR, Frequency.MONTH, 2 * HOUR)


def test_register_without_rows_or_columns(tmp_path: Path, lookup: Lookup) -> None:
    assert "no allocations" in read_register([write(tmp_path, "a.csv", HEADER)], lookup).problems[0].message
    missing = read_register([write(tmp_path, "b.csv", "toewijzingnummer;bsn\nA;111222333\n")], lookup)
    assert missing.register is None and any("aanbieder" in p.message for p in missing.problems)


# --- WMO301 ---------------------------------------------------------------------------------------

WMO301 = (SHARED / "iwmo" / "examples" / "WMO301.xml").read_text(encoding="utf-8") if SHARED.exists() else ""


def wmo301(text: str) -> str:
    return (WMO301.replace("<wmo301:Afzender>0384</wmo301:Afzender>", "<wmo301:Afzender>0983</wmo301:Afzender>")
            .replace("<wmo301:Bsn>999900006</wmo301:Bsn>", "<wmo301:Bsn>111222333</wmo301:Bsn>")
            .replace("<iwmo:Code>01A01</iwmo:Code>", text))


@pytest.mark.skipif(not XSD.exists(), reason="the iWmo XSDs are not here")
def test_wmo301_message_is_read_after_validation(tmp_path: Path, lookup: Lookup) -> None:
    path = write(tmp_path, "toewijzing.xml", wmo301("<iwmo:Code>LN035</iwmo:Code>"))
    result = read_register([path], lookup, xsd_dir=XSD, agb_names={"42420001": "W"})
    assert result.register is not None, result.problems
    [a] = result.register.allocations
    # Omvang 10, eenheid 01 (minuut), frequentie 1 (dag)
    assert (a.number, a.provider, a.municipality_id, a.amount, a.unit, a.frequency) == (
        "101", "W", 983, 500, Unit.MINUTE, Frequency.DAY)
    assert a.line is not None and a.line > 1


@pytest.mark.skipif(not XSD.exists(), reason="the iWmo XSDs are not here")
def test_wmo301_schema_errors_and_missing_xsd(tmp_path: Path, lookup: Lookup) -> None:
    path = write(tmp_path, "bad.xml", wmo301("<iwmo:Code>LN035</iwmo:Code>").replace(
        "<wmo301:Ingangsdatum>2023-01-01</wmo301:Ingangsdatum>", "<wmo301:Ingangsdatum>1-1-2023</wmo301:Ingangsdatum>"))
    result = read_register([path], lookup, xsd_dir=XSD)
    assert result.register is None
    assert any("WMO301.xsd" in p.message and p.line is not None for p in result.problems)
    with pytest.raises(InputError, match="--iwmo-dir"):
        read_register([path], lookup)


# --- the command -----------------------------------------------------------------------------------

EXAMPLE_REG = ROOT / "data" / "examples" / "toewijzingen.csv"
EXAMPLE_LOG = ROOT / "data" / "examples" / "hours.csv"


def test_command_on_the_example(runner: CliRunner) -> None:
    result = runner.invoke(app, ["allocations", str(EXAMPLE_REG), "--hours", str(EXAMPLE_LOG), "--tariffs",
                                 str(TARIFFS), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    statuses = {a["number"]: a["status"] for a in data["allocations"]}
    assert statuses["190002"] == "exceeded" and statuses["190001"] == "nearly used"
    assert statuses["210014"] == "nearly used"  # the budget: € 354,73 of € 420,00
    errors = [e["message"] for e in data["errors"]]
    assert any("no allocation on 2021-03-15" in m for m in errors)  # the client without an allocation
    assert any("allocation 190013 ended on 2019-06-30" in m for m in errors)  # the expired one
    exceeded = next(a for a in data["allocations"] if a["number"] == "190002")
    assert (exceeded["allowed"], exceeded["used"], exceeded["over"]) == ("9", "10", "3.75")


def test_command_register_only_and_csv(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["allocations", str(EXAMPLE_REG), "--tariffs", str(TARIFFS), "--format", "csv",
                                 "--on", "2019-08-15"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("toewijzingnummer,bsn,aanbieder")
    assert "190002,*****9301,Cliëntondersteuning Maasland B.V.,1507,LN017,totaal,uur,9,0,0,0,9,ok" in lines
    assert "ends on 2019-08-31, 16 days after 2019-08-15" in result.stderr


def test_command_bad_register_and_unreadable(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "reg.csv", HEADER + "A1;111222333;W;Venlo;LN035;2025-01-01;;;;;\n")
    result = runner.invoke(app, ["allocations", str(bad), "--tariffs", str(TARIFFS)])
    assert result.exit_code == 1 and f"{bad}:2: error: volume or budget is missing" in result.stderr
    result = runner.invoke(app, ["allocations", str(tmp_path / "missing.csv"), "--tariffs", str(TARIFFS)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr


# --- cumulative use with a ledger ------------------------------------------------------------------


def test_ledger_use_counts_once(tmp_path: Path, lookup: Lookup) -> None:
    # 10 h in total; March (6 h) issued before; April brings 5 h: 11 h of 10 h, 1 h over in April
    reg = write(tmp_path, "reg.csv", HEADER + "A1;111222333;W;Venlo;LN035;2025-03-01;2025-04-30;10;uur;totaal;\n")
    march = write(tmp_path, "march.csv", LOG_HEADER + "2025-03-03;111222333;W;Venlo;LN035;6;\n")
    april = write(tmp_path, "april.csv", LOG_HEADER + "2025-04-03;111222333;W;Venlo;LN035;5;\n")
    book = tmp_path / "ledger.sqlite"
    ledger.issue(bill([march], lookup, BillOptions(today=dt.date(2025, 5, 1))), book, issue_date=dt.date(2025, 5, 1),
                 lookup=lookup)
    run = run_allocations(Inputs([reg], [march, april], ledger=book), lookup, Settings(on=dt.date(2025, 5, 1)))
    assert run.evaluation is not None
    [use] = run.evaluation.uses
    # the March rows of the log are the ones the ledger billed: counted once, as earlier use
    assert [(m.period, m.earlier, m.current, m.over) for m in use.months] == [
        ("2025-03", 6 * HOUR, 0, 0), ("2025-04", 0, 5 * HOUR, HOUR)]
    [problem] = run.evaluation.errors
    assert "billed 5 uur" in problem.message and "1 uur over" in problem.message and "€ 50,40" in problem.message
    # the ledger alone: 6 of 10 h, no warning at 80 %
    alone = run_allocations(Inputs([reg], ledger=book), lookup, Settings(on=dt.date(2025, 5, 1)))
    assert alone.evaluation is not None and alone.evaluation.uses[0].used == 6 * HOUR
    assert not alone.errors


def test_xlsx_register_with_excel_dates_and_numbers(tmp_path: Path, lookup: Lookup) -> None:
    import openpyxl  # noqa: PLC0415 (only this test writes a workbook)

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Toewijzingnummer", "BSN", "Aanbieder", "Gemeente", "Productcode", "Ingangsdatum", "Einddatum",
                  "Volume", "Eenheid", "Frequentie"])
    sheet.append([101, 10000008, "W", "Venlo", "LN035", dt.datetime(2025, 3, 1), dt.date(2025, 3, 31), 1.5, "uur",
                  "week"])  # the BSN lost its leading zero in the spreadsheet
    sheet.append([102, 123456789, "W", "Venlo", "LN035", dt.datetime(2025, 4, 1), None, 3, "uur", "maand"])
    path = tmp_path / "toewijzingen.xlsx"
    book.save(path)
    result = read_register([path], lookup)
    assert [(p.line, p.message) for p in result.problems] == [(3, "BSN *****6789 fails the elfproef")]
    sheet.delete_rows(3)
    book.save(path)
    register = read_register([path], lookup).register
    assert register is not None
    [a] = register.allocations
    assert (a.number, a.bsn_id, a.start, a.end, a.amount, a.frequency) == (
        "101", 10000008, dt.date(2025, 3, 1), dt.date(2025, 3, 31), 4500, Frequency.WEEK)
    path.write_bytes(b"not a workbook PK")  # unreadable content is a problem of the file, never a traceback
    assert read_register([path], lookup).register is None


@pytest.mark.skipif(not XSD.exists(), reason="the iWmo XSDs are not here")
def test_command_reads_wmo301_with_the_iwmo_folder(runner: CliRunner, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "toewijzing.xml", wmo301("<iwmo:Code>LN035</iwmo:Code>"))
    monkeypatch.chdir(tmp_path)  # no ../shared/iwmo here: only the variable names the folder
    result = runner.invoke(app, ["allocations", str(path), "--tariffs", str(TARIFFS), "--format", "json",
                                 "--on", "2023-06-30"], env={"MGR_IWMO_DIR": str(XSD.parent)})
    assert result.exit_code == 0, result.stderr
    [allocation] = json.loads(result.stdout)["allocations"]
    # 10 minutes a day from 2023-01-01 to 2023-12-31: 365 days = 3.650 minutes
    assert (allocation["number"], allocation["provider"], allocation["unit"], allocation["allowed"]) == (
        "101", "42420001", "minuut", "3650")
    missing = runner.invoke(app, ["allocations", str(path), "--tariffs", str(TARIFFS)], env={"MGR_IWMO_DIR": ""})
    assert missing.exit_code == 2 and "--iwmo-dir" in missing.stderr
    direct = runner.invoke(app, ["allocations", str(path), "--tariffs", str(TARIFFS), "--iwmo-dir", str(XSD),
                                 "--on", "2023-06-30"])  # the xsd/ folder itself is accepted too
    assert direct.exit_code == 0, direct.stderr


def test_very_many_problems_are_bounded(tmp_path: Path, lookup: Lookup) -> None:
    rows = "".join(f"A{i};123456789;W;Venlo;LN035;2025-01-0{1 + i % 9};;1;uur;maand;\n" for i in range(1_200))
    result = read_register([write(tmp_path, "reg.csv", HEADER + rows)], lookup)
    assert len(result.problems) == 1_001
    assert result.problems[-1].message == ("200 more allocations with problems from this line on are not listed "
                                           "(only the first 1,000)")
    assert result.problems[-1].line == 1_002


def test_very_many_overlaps_are_bounded_in_register_order(tmp_path: Path, lookup: Lookup) -> None:
    # 1,005 open-ended allocations of one client, provider and product, a day apart: each overlaps the first
    rows = "".join(f"A{i};111222333;W;Venlo;LN035;{dt.date(2020, 1, 1) + dt.timedelta(days=i)};;1;uur;maand;\n"
                   for i in range(1_005))
    result = read_register([write(tmp_path, "reg.csv", HEADER + rows)], lookup)
    assert len(result.problems) == 1_001
    assert result.problems[0].line == 3 and result.problems[0].message.startswith(
        "allocation A1 (2020-01-02 – open end) overlaps allocation A0 (2020-01-01 – open end, line 2)")
    assert result.problems[-1].message == ("4 more problems of this kind from this line on are not listed "
                                           "(only the first 1,000)")
    assert result.problems[-1].line == 1_003
