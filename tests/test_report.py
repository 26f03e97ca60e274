"""``mgr report``: the self-contained HTML report (issue 19). The example reconciles with ``mgr bill --json`` to
the cent; a real headless browser renders it without a network request."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, TARIFFS
from typer.testing import CliRunner

from mgr_tariffs.billing.whatif import priced_as_of
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.report import ReportRequest, build_report
from mgr_tariffs.report.charts import euro_axis
from mgr_tariffs.report.gather import allocation_section, mask_text, problem_kind
from mgr_tariffs.report.model import AllocationUse, Amount, Report
from mgr_tariffs.report.render import euro, largest, render_html

EXAMPLE = ROOT / "data" / "examples" / "hours.csv"
DAY = dt.date(2026, 12, 2)
EXTERNAL = re.compile(r"https?:|//[a-z]|\bsrc\s*=|@import|url\((?!#)", re.I)


def mgr_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from mgr_tariffs.entry import main; main()", *map(str, args)],
                          capture_output=True, text=True, check=False, cwd=ROOT)


def example_report(lookup: Lookup, **extra: object) -> Report:
    outcome = build_report(ReportRequest(logs=[EXAMPLE], lookup=lookup, catalogue=TARIFFS, run_date=DAY,
                                         **extra))  # type: ignore[arg-type]
    assert outcome.report is not None, outcome.problems
    return outcome.report


@pytest.fixture(scope="module")
def bill_json() -> dict[str, object]:
    done = mgr_cli("bill", EXAMPLE, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


# --- reconciliation ------------------------------------------------------------------------------


def test_the_example_report_reconciles_with_mgr_bill_json_to_the_cent(lookup: Lookup,
                                                                        bill_json: dict[str, object]) -> None:
    report = example_report(lookup)
    summary = bill_json["summary"]
    assert isinstance(summary, dict)
    assert summary["total"] == "17847.21" and report.total_cents == 1784721
    assert {a.label: Decimal(a.cents) / 100 for a in report.by_municipality} == {
        name: Decimal(amount) for name, amount in summary["by_municipality"].items()}
    assert {a.label: Decimal(a.cents) / 100 for a in report.by_provider} == {
        name: Decimal(amount) for name, amount in summary["by_provider"].items()}
    assert sum(c.cents for c in report.by_month) == sum(a.cents for a in report.by_product) == 1784721
    assert (report.rows_read, report.rows_billed, report.rows_rejected, report.invoices) == (291, 291, 0, 39)
    html = render_html(report)
    assert "€ 17.847,21" in html
    for name, amount in summary["by_municipality"].items():
        assert euro(int(Decimal(amount) * 100)) in html, name


def test_a_report_from_the_json_result_equals_the_report_from_the_log(lookup: Lookup, bill_json: dict[str, object],
                                                                       tmp_path: Path) -> None:
    result = tmp_path / "bill.json"
    result.write_text(json.dumps(bill_json), encoding="utf-8")
    from_json = build_report(ReportRequest(logs=[result], lookup=lookup, catalogue=TARIFFS, run_date=DAY)).report
    from_log = example_report(lookup)
    assert from_json is not None
    assert from_json.model_dump(exclude={"inputs"}) == from_log.model_dump(exclude={"inputs"})
    assert from_json.inputs[0].role.startswith("factuurresultaat")


def test_price_changes_count_rows_and_amounts_either_side_of_the_new_period(lookup: Lookup, tmp_path: Path) -> None:
    log = tmp_path / "uren.csv"
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n"
                   "15-06-2019;123456782;Zorg BV;Bergen (L.);LN017;1\n"
                   "02-07-2019;123456782;Zorg BV;Bergen (L.);LN017;2\n"
                   "03-07-2019;123456782;Zorg BV;Bergen (L.);LN017;0,5\n", encoding="utf-8")
    report = build_report(ReportRequest(logs=[log], lookup=lookup, catalogue=TARIFFS, run_date=DAY)).report
    assert report is not None
    [change] = report.price_changes
    # LN017 costs € 47,04 per hour until 30 June 2019 and € 48,60 from 1 July 2019 (data/tariffs.yaml)
    assert (change.product, change.start, change.old_price_cents, change.new_price_cents) == (
        "LN017", dt.date(2019, 7, 1), 4704, 4860)
    assert (change.rows_before, change.cents_before, change.rows_after, change.cents_after) == (1, 4704, 2, 12150)
    html = render_html(report)
    assert "€ 121,50" in html and "€ 47,04" in html and "123456782" not in html


# --- problems, masking ---------------------------------------------------------------------------


def test_rejected_rows_are_counted_by_reason_with_bsns_masked(lookup: Lookup, tmp_path: Path) -> None:
    log = tmp_path / "uren.csv"
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n"
                   "15-06-2019;123456782;Zorg BV;Bergen (L.);LN017;1\n"
                   "16-06-2019;123456782;Zorg BV;Bergen (L.);XX999;1\n"
                   "17-06-2019;123456782;Zorg BV;Bergen (L.);YY999;1\n"
                   "31-02-2019;123456782;Zorg BV;Bergen (L.);LN017;1\n", encoding="utf-8")
    report = build_report(ReportRequest(logs=[log], lookup=lookup, catalogue=TARIFFS, run_date=DAY)).report
    assert report is not None
    assert report.rows_rejected == 3 and report.total_cents == 4704
    kinds = {k.kind: k.count for k in report.rejected}
    assert kinds == {"unknown product code …": 2, "datum … does not exist": 1}
    assert "123456782" not in render_html(report)


def test_a_full_bsn_in_a_json_result_never_reaches_the_page(lookup: Lookup, bill_json: dict[str, object],
                                                            tmp_path: Path) -> None:
    data = dict(bill_json)
    data["warnings"] = [{"file": "x.csv", "line": 3, "message": "client 111222333 is logged twice"}]
    result = tmp_path / "bill.json"
    result.write_text(json.dumps(data), encoding="utf-8")
    report = build_report(ReportRequest(logs=[result], lookup=lookup, catalogue=TARIFFS, run_date=DAY)).report
    assert report is not None
    html = render_html(report)
    assert "111222333" not in html and "*****2333" in html
    lines = [line for inv in bill_json["invoices"] for line in inv["lines"]]  # type: ignore[attr-defined]
    assert not [line["bsn"] for line in lines if line["bsn"] in html]


def test_problem_kinds_leave_out_the_particulars() -> None:
    assert problem_kind("unknown product code 'LN999'") == "unknown product code …"
    assert problem_kind("norm: client *****9301 has 9 hours") == "norm"
    assert problem_kind("possible duplicate of line 12 (same client, date, product and quantity)") == \
        "possible duplicate of line #"
    assert problem_kind("Nederweert was not a member of the MGR on 2018-06-18", ["Nederweert", "Weert"]) == \
        problem_kind("Weert was not a member of the MGR on 2018-07-01", ["Weert", "Nederweert"]) == \
        "… was not a member of the MGR on …"
    assert problem_kind("LN017 is not bought for Bergen", ["LN017", "Bergen"]) == "… is not bought for …"
    assert euro_axis(-0.2) == "€ 0" and euro_axis(1234.0) == "€ 1.234"
    assert mask_text("bsn 123456782 and 1234567890") == "bsn *****6782 and 1234567890"


# --- optional sections ---------------------------------------------------------------------------


def test_what_if_section_reproduces_the_comparison(lookup: Lookup) -> None:
    new, _ = priced_as_of(lookup, dt.date(2024, 1, 1))
    report = example_report(lookup, new_tariffs=(Path("nieuw.yaml"), new))
    assert report.what_if is not None and report.total_cents == 1784721
    assert report.what_if.old_total_cents == 1784721
    assert sum(r.difference_cents for r in report.what_if.rows) == report.what_if.difference_cents > 0
    assert {r.municipality: r.old_cents for r in report.what_if.rows} == {a.label: a.cents
                                                                         for a in report.by_municipality}
    assert "Wat als: nieuwe tarieven" in render_html(report)


def test_subsidy_burn_down_against_the_ceiling(lookup: Lookup) -> None:
    examples = ROOT / "data" / "examples"
    outcome = build_report(ReportRequest(logs=[examples / "hours-weert-2018.csv"], lookup=lookup, catalogue=TARIFFS,
                                         run_date=dt.date(2018, 12, 31), subsidy=examples / "subsidie-weert-2018.yaml"))
    report = outcome.report
    assert report is not None and report.subsidies
    burn = report.subsidies[0]
    assert burn.months and burn.months[-1].cumulative_cents == burn.part_cents
    assert all(m.remaining_cents == burn.ceiling_cents - m.cumulative_cents for m in burn.months)
    html = render_html(report)
    assert "Subsidie: uitputting en prognose" in html and euro(burn.ceiling_cents) in html


def test_ledger_section_shows_what_was_issued(tmp_path: Path, lookup: Lookup) -> None:
    book = tmp_path / "ledger.sqlite"
    done = mgr_cli("bill", EXAMPLE, "--issue", "--documents", "none", "--ledger", book, "--invoice-date", "2024-09-01")
    assert done.returncode == 0, done.stderr
    report = example_report(lookup, ledger=book)
    assert report.ledger is not None
    assert sum(m.issued_cents for m in report.ledger) == 1784721
    assert sum(m.invoices for m in report.ledger) == 39 and not any(m.credit_notes for m in report.ledger)


def test_a_chart_shows_the_largest_totals_and_the_rest_as_one_bar() -> None:
    amounts = [Amount(label=f"Aanbieder {i:02d}", cents=1000 - i) for i in range(25)]
    labels, cents = largest(amounts, "aanbieders")
    assert len(labels) == 20 and labels[-1] == "overige 6 aanbieders" and labels[0] == "Aanbieder 00"
    assert sum(cents) == sum(a.cents for a in amounts) and cents[-1] == sum(1000 - i for i in range(19, 25))
    assert largest(amounts[:20], "aanbieders")[0] == [a.label for a in amounts[:20]]


def test_allocations_fullest_first(lookup: Lookup, tmp_path: Path) -> None:
    def use(number: str, allowed: str | None, used: str, unit: str = "uur") -> AllocationUse:
        return AllocationUse(allocation=number, client="*****2333", provider="Zorg BV", product="LN017", unit=unit,
                             allowed=None if allowed is None else Decimal(allowed), used=Decimal(used))

    uses = [use("A", "10", "2"), use("B", "10", "12"), use("C", "10", "7.99"), use("D", None, "3"),
            use("E", "1200.00", "1000.00", "euro")]
    ordered = allocation_section(uses)
    assert [a.allocation for a in ordered] == ["B", "E", "C", "A", "D"]
    assert [a.remaining for a in ordered] == [Decimal(-2), Decimal("200.00"), Decimal("2.01"), Decimal(8), None]
    assert [a.percent_used for a in ordered] == [Decimal(120), Decimal(83), Decimal(79), Decimal(20), None]
    assert [a.status for a in ordered] == ["overschreden", "bijna op", "ruim", "ruim", "ruim"]
    outcome = build_report(ReportRequest(logs=[EXAMPLE], lookup=lookup, catalogue=TARIFFS, run_date=DAY,
                                         allocations=uses, allocation_register=Path("toewijzingen.csv")))
    assert outcome.report is not None and outcome.report.allocations == ordered
    html = render_html(outcome.report)
    assert "Toewijzingen: toegestaan, gebruikt, resterend" in html and "toewijzingen.csv" in html
    assert "-2 uur" in html and "€ 200,00" in html and "geen limiet" in html
    assert html.index(">B</th>") < html.index(">E</th>") < html.index(">C</th>") < html.index(">A</th>")


# --- the command ---------------------------------------------------------------------------------


def test_the_command_writes_one_page_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "rapport.html"
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(EXAMPLE), "--out", str(out), "--today", "2026-12-02"])
    assert done.exit_code == 0, done.output
    assert "total € 17.847,21" in done.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<title>" in html and "default-src 'none'" in html
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script" not in html.lower()
    again = runner.invoke(app, ["report", str(EXAMPLE), "--out", str(out)])
    assert again.exit_code == 1 and "already exist" in again.output


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ('{"invoices": []}', "not a result of `mgr bill --json`"),
])
def test_a_json_that_is_not_a_bill_result_is_refused(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bill.json"
    bad.write_text(content, encoding="utf-8")
    done = CliRunner().invoke(app, ["report", str(bad), "--out", str(tmp_path / "r.html")])
    assert done.exit_code == 2 and message in done.output and not (tmp_path / "r.html").exists()


def test_bad_combinations_and_inputs(tmp_path: Path) -> None:
    runner = CliRunner()
    result = tmp_path / "bill.json"
    result.write_text("{}", encoding="utf-8")
    done = runner.invoke(app, ["report", str(result), "--compare-tariffs", str(TARIFFS), "--out",
                               str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "reported alone" in done.output
    bad_subsidy = tmp_path / "subsidie.yaml"
    bad_subsidy.write_text("subsidies: 3\n", encoding="utf-8")
    done = runner.invoke(app, ["report", str(EXAMPLE), "--subsidy", str(bad_subsidy), "--out",
                               str(tmp_path / "r.html")])
    assert done.exit_code == 1 and "subsidie.yaml" in done.output and not (tmp_path / "r.html").exists()
    done = runner.invoke(app, ["report", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "missing.csv" in done.output
    done = runner.invoke(app, ["report", str(EXAMPLE), "--ledger", str(tmp_path / "none.sqlite"), "--out",
                               str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "no ledger here" in done.output


def test_labels_are_escaped(lookup: Lookup, tmp_path: Path) -> None:
    log = tmp_path / "uren.csv"
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n"
                   "15-06-2019;123456782;<script>x</script> BV;Bergen (L.);LN017;1\n", encoding="utf-8")
    report = build_report(ReportRequest(logs=[log], lookup=lookup, catalogue=TARIFFS, run_date=DAY)).report
    assert report is not None
    assert "<script>" not in render_html(report)


# --- a real browser ------------------------------------------------------------------------------


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in headless chromium with a fresh profile, logging its network activity to ``net.json``."""
    return subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run",
                           f"--log-net-log={tmp_path / 'net.json'}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


def page_requests(tmp_path: Path) -> list[str]:
    """The URLs the page asked for, from chromium's net log. The browser's own background requests (updates,
    time, accounts) have no initiating origin ("not an origin") and are left out; a page's requests have one."""
    text = (tmp_path / "net.json").read_text(encoding="utf-8").rstrip()
    log = json.loads(text if text.endswith("}") else text.rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {}) and e["params"].get("initiator") != "not an origin"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_network_check_sees_a_page_that_asks_for_something(tmp_path: Path) -> None:
    page = tmp_path / "lek.html"
    page.write_text('<!DOCTYPE html><title>lek</title><img src="http://127.0.0.1:9/lek.png" alt="">',
                    encoding="utf-8")
    browse(page, tmp_path, "--dump-dom")
    assert page_requests(tmp_path) == ["http://127.0.0.1:9/lek.png"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_a_headless_browser_renders_the_report_without_a_network_request(tmp_path: Path, lookup: Lookup) -> None:
    page = tmp_path / "rapport.html"
    page.write_text(render_html(example_report(lookup)), encoding="utf-8")
    dom = browse(page, tmp_path, "--dump-dom").stdout
    assert "Rapportage zorgkosten" in dom and "€ 17.847,21" in dom and "€ 4.266,95" in dom  # Horst aan de Maas
    assert dom.count("<svg") == 3
    assert page_requests(tmp_path) == []
    for width in (1200, 400):
        shot = tmp_path / f"rapport-{width}.png"
        browse(page, tmp_path, f"--window-size={width},2400", f"--screenshot={shot}")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        assert page_requests(tmp_path) == []
