"""Budgets: the Weert 2018 subsidy of source 002 number by number, settlements below and above the ceiling
(hand-computed), the findings, every bad input of ``subsidies.yaml`` with its line, duration norms and the
capacity forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from mgr_tariffs.billing import BillOptions, bill_tables
from mgr_tariffs.bsn import mask
from mgr_tariffs.budgets.findings import findings
from mgr_tariffs.budgets.forecast import DEFAULT_FTE_HOURS, ForecastError, forecast, parse_range, requests_from_rows
from mgr_tariffs.budgets.loader import load_subsidies, parse_subsidies
from mgr_tariffs.budgets.norms import norm_signals, norm_warnings, request_frame
from mgr_tariffs.budgets.realised import realised_work
from mgr_tariffs.budgets.report import subsidy_report
from mgr_tariffs.budgets.status import advance_schedule, share_cents, subsidy_status
from mgr_tariffs.catalogue.loader import Lookup, parse_catalogue
from mgr_tariffs.catalogue.models import NormWindow
from mgr_tariffs.io.tables import read_table
from mgr_tariffs.money import from_cents, round_cents, to_cents

WEERT = ROOT / "data" / "examples" / "subsidie-weert-2018.yaml"
WEERT_LOG = ROOT / "data" / "examples" / "hours-weert-2018.csv"
SIGNALS_LOG = ROOT / "data" / "examples" / "hours-signals.csv"
HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren\n"


def weert(lookup: Lookup):  # type: ignore[no-untyped-def]
    loaded = load_subsidies(WEERT, lookup)
    assert loaded.ok, loaded.problems
    assert loaded.subsidies is not None
    return loaded, loaded.subsidies.subsidies[0]


# --- source 002, number by number ------------------------------------------------------------------------------


def test_the_grant_is_49_percent_of_87000(lookup: Lookup) -> None:
    _, subsidy = weert(lookup)
    assert subsidy.application is not None and subsidy.application.share == 49
    assert share_cents(to_cents(subsidy.application.total), subsidy.application.share) == 4_263_000
    assert subsidy.ceiling.amount == Decimal("42630.00") == subsidy.application.amount


def test_the_key_splits_87000_into_31320_13920_41760(lookup: Lookup) -> None:
    _, subsidy = weert(lookup)
    status = subsidy_status(subsidy, lookup, dt.date(2018, 1, 1))
    assert status.key_split == [("Leudal", Decimal(36), 3_132_000), ("Nederweert", Decimal(16), 1_392_000),
                                ("Weert", Decimal(48), 4_176_000)]
    assert sum(c for _, _, c in status.key_split) == 8_700_000


def test_the_870_euro_finding(lookup: Lookup) -> None:
    loaded, subsidy = weert(lookup)
    found = findings(subsidy_status(subsidy, lookup, dt.date(2018, 1, 1)), loaded.where)
    assert [f.kind for f in found] == ["grant_vs_key"]
    assert found[0].amounts == {"granted": 4_263_000, "by_key": 4_176_000, "difference": 87_000}
    assert "49 % of € 87.000,00 = € 42.630,00" in found[0].message
    assert "Weert 48 % of € 87.000,00 = € 41.760,00: € 870,00 unexplained" in found[0].message
    line = found[0].line
    assert line is not None and "amount: 42630.00" in WEERT.read_text().splitlines()[line - 1]


def test_four_quarterly_advances_of_10657_50(lookup: Lookup) -> None:
    _, subsidy = weert(lookup)
    advances = advance_schedule(subsidy)
    assert [(a.date.isoformat(), a.amount) for a in advances] == [
        ("2018-01-01", Decimal("10657.50")), ("2018-04-01", Decimal("10657.50")),
        ("2018-07-01", Decimal("10657.50")), ("2018-10-01", Decimal("10657.50"))]
    status = subsidy_status(subsidy, lookup, dt.date(2018, 7, 1))
    assert status.advances_due_cents == 3 * 1_065_750 and status.paid_cents is None


def test_125_requests_of_7_hours_plus_325_is_1200_hours_one_fte(lookup: Lookup) -> None:
    low, high = parse_range("6-8")
    result = forecast(125, low, high, Decimal(325), lookup=lookup, product="LN018", on=dt.date(2018, 6, 1))
    assert DEFAULT_FTE_HOURS == 1200
    by_name = {s.name: s for s in result.scenarios}
    assert by_name["mid"].hours_per_request == 7 and by_name["mid"].request_hours == 875
    assert by_name["mid"].hours == 1200 and by_name["mid"].fte == Decimal("1.00")
    assert (by_name["low"].hours, by_name["high"].hours) == (Decimal(1075), Decimal(1325))
    assert by_name["mid"].cost == Decimal("83568.00")  # 1.200 h x € 69,64 (LN018 in 2018)


def test_realised_log_below_the_ceiling_settles_with_a_reclaim(lookup: Lookup) -> None:
    """hours-weert-2018.csv: 21 h of AMW-ML for the three municipalities, all at LN018 € 69,64 (2018) = € 1.462,44
    (3,5 + 3 + 2,5 + 7 + 2 + 1 + 2 h); Weert's part by the key 48 % = € 701,9712 -> € 701,97; settled at that,
    advances € 42.630,00: € 41.928,03 to reclaim. The Beesel row of another provider does not count."""
    _, subsidy = weert(lookup)
    realised = realised_work(subsidy, [read_table(WEERT_LOG)], lookup)
    assert not realised.errors and realised.rows_counted == 9 and realised.rows_outside == 1
    assert realised.total_ticks == 21 * 3000 and realised.total_cents == 146_244
    status = subsidy_status(subsidy, lookup, dt.date(2019, 5, 1), realised)
    assert status.part_cents == 70_197
    assert dict(status.by_use) == {"Leudal": 34_820, "Nederweert": 31_338, "Weert": 80_086}
    assert dict(status.by_key) == {"Leudal": 52_648, "Nederweert": 23_399, "Weert": 70_197}
    assert [m.month for m in status.months] == ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06"]
    assert status.months[0].total_cents == 24_374 and status.months[-1].cumulative_cents == 70_197
    s = status.settlement
    assert (s.basis, s.settled_cents, s.advances_cents, s.balance_cents, s.outcome) == (
        "realised", 70_197, 4_263_000, -4_192_803, "terugvordering")
    assert status.next_deadline is None  # 2019-04-30 has passed


def test_status_mid_period_forecasts_in_a_straight_line(lookup: Lookup) -> None:
    """On 2018-07-01, 182 of 365 days: € 701,97 x 365 / 182 = € 1.407,80 (half-up)."""
    _, subsidy = weert(lookup)
    realised = realised_work(subsidy, [read_table(WEERT_LOG)], lookup)
    status = subsidy_status(subsidy, lookup, dt.date(2018, 7, 1), realised)
    assert status.elapsed_days == 182 and status.forecast_cents == 140_780
    assert status.settlement.basis == "forecast" and status.settlement.settled_cents == 140_780
    assert status.next_deadline is not None and status.next_deadline.date == dt.date(2018, 9, 30)


SMALL = """\
version: 1
sources:
  S: {{title: test decision, file: 002_6b880559bdf5fbf3.txt, date: "2019"}}
subsidies:
  - id: test
    title: test subsidy
    grantor: Beesel
    recipient: {{name: Zorg B.V.}}
    source: S
    period: {{from: 2019-01-01, until: 2019-12-31}}
    ceiling: {{amount: 1000.00}}
    key:
      shares:
        - {{municipality: Beesel, percent: 50}}
        - {{municipality: Gennep, percent: 50}}
    valuation: {{hourly_rate: 100.00, basis: {basis}}}
{extra}"""


def small(lookup: Lookup, basis: str = "use", extra: str = ""):  # type: ignore[no-untyped-def]
    loaded = parse_subsidies(SMALL.format(basis=basis, extra=extra), "s.yaml", lookup)
    assert loaded.subsidies is not None, loaded.problems
    return loaded, loaded.subsidies.subsidies[0]


def log(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_realised_above_the_ceiling_settles_at_the_ceiling(lookup: Lookup, tmp_path: Path) -> None:
    """12 h for Beesel at € 100,00 = € 1.200,00 by use, ceiling € 1.000,00: settled at € 1.000,00; three advances
    of € 250,00 paid: € 250,00 still to pay. The Gennep hours are not Beesel's part (basis: use)."""
    payments = ("    payments:\n" + "".join(f"      - {{date: 2019-{m:02d}-01, amount: 250.00}}\n" for m in (1, 4, 7)))
    loaded, subsidy = small(lookup, extra=payments)
    path = log(tmp_path, "2019-03-01;111222333;Zorg B.V.;Beesel;LN018;8", "2019-05-01;111222333;ZORG  b.v.;Beesel;"
               "LN018;4", "2019-05-02;123456782;Zorg B.V.;Gennep;LN017;3")
    realised = realised_work(subsidy, [read_table(path)], lookup)
    status = subsidy_status(subsidy, lookup, dt.date(2020, 1, 15), realised)
    assert status.part_cents == 120_000 and realised.total_cents == 150_000
    s = status.settlement
    assert (s.basis, s.settled_cents, s.advances_cents, s.advances_basis, s.balance_cents, s.outcome) == (
        "realised", 100_000, 75_000, "payments", 25_000, "nabetaling")
    found = {f.kind: f for f in findings(status, loaded.where)}
    assert found["realised_above_ceiling"].amounts == {"realised": 120_000, "ceiling": 100_000, "difference": 20_000}
    assert "report this in time" in found["realised_above_ceiling"].message


def test_below_the_ceiling_with_payments_reclaims_the_overpaid_advances(lookup: Lookup, tmp_path: Path) -> None:
    """6 h x € 100,00 = € 600,00, four advances of € 250,00 paid: € 400,00 to reclaim (Awb 4:46, 4:57)."""
    paid = "".join(f"      - {{date: 2019-{m:02d}-01, amount: 250.00}}\n" for m in (1, 4, 7, 10))
    payments = "    payments:\n" + paid
    _, subsidy = small(lookup, extra=payments)
    realised = realised_work(subsidy, [read_table(log(tmp_path, "2019-06-03;111222333;Zorg B.V.;Beesel;LN018;6"))],
                             lookup)
    s = subsidy_status(subsidy, lookup, dt.date(2020, 1, 1), realised).settlement
    assert (s.settled_cents, s.advances_cents, s.balance_cents, s.outcome) == (60_000, 100_000, -40_000,
                                                                               "terugvordering")


def test_forecast_above_the_ceiling_is_flagged_before_the_end(lookup: Lookup, tmp_path: Path) -> None:
    """8 h for Beesel by 2019-03-31 (90 days): € 800,00 x 365 / 90 = € 3.244,44 forecast, above € 1.000,00."""
    loaded, subsidy = small(lookup)
    realised = realised_work(subsidy, [read_table(log(tmp_path, "2019-02-01;111222333;Zorg B.V.;Beesel;LN018;8"))],
                             lookup)
    status = subsidy_status(subsidy, lookup, dt.date(2019, 3, 31), realised)
    assert status.forecast_cents == 324_444
    assert [f.kind for f in findings(status, loaded.where)] == ["forecast_above_ceiling"]


def test_findings_key_total_advances_and_application_share(lookup: Lookup) -> None:
    extra = ("    application: {total: 2000.00, share: 49, amount: 1000.00}\n"
             "    advances:\n      items:\n        - {date: 2019-01-01, amount: 600.00}\n"
             "        - {date: 2019-07-01, amount: 600.00}\n")
    text = SMALL.format(basis="key", extra=extra).replace("percent: 50}\n        - {municipality: Gennep, percent: 50",
                                                          "percent: 50}\n        - {municipality: Gennep, percent: 49")
    loaded = parse_subsidies(text, "s.yaml", lookup)
    assert loaded.subsidies is not None, loaded.problems
    status = subsidy_status(loaded.subsidies.subsidies[0], lookup, dt.date(2019, 1, 1))
    found = {f.kind: f for f in findings(status, loaded.where)}
    assert found["application_share"].amounts == {"expected": 98_000, "applied": 100_000, "difference": 2_000}
    assert found["key_total"].message.startswith("the key's shares add up to 99 %, not 100 %")
    assert found["key_total"].amounts == {"base": 200_000, "split": 198_000, "difference": -2_000}
    assert found["advances_above_ceiling"].amounts == {"advances": 120_000, "ceiling": 100_000, "difference": 20_000}
    assert "grant_vs_key" not in found  # 50 % of € 2.000,00 is the ceiling


def test_a_grant_not_advanced_in_full_divides_its_cents_over_the_first_parts(lookup: Lookup) -> None:
    text = SMALL.format(basis="use", extra="    advances: {schedule: quarterly, part: 100}\n").replace(
        "amount: 1000.00", "amount: 1000.01")
    loaded = parse_subsidies(text, "s.yaml", lookup)
    assert loaded.subsidies is not None
    assert [a.amount for a in advance_schedule(loaded.subsidies.subsidies[0])] == [
        Decimal("250.01"), Decimal("250.00"), Decimal("250.00"), Decimal("250.00")]


@given(st.integers(0, 10**11), st.decimals(0, 100, places=4, allow_nan=False, allow_infinity=False))
def test_share_cents_is_the_decimal_share_rounded_half_up_once(cents: int, percent: Decimal) -> None:
    assert share_cents(cents, percent) == to_cents(round_cents(from_cents(cents) * percent / 100))


# --- bad input: every problem with its line, all at once ------------------------------------------------------


BROKEN = """\
version: 1
sources:
  S: {title: t, file: f.txt, date: "2019"}
subsidies:
  - id: one
    title: t
    grantor: Venlo
    recipient: {name: R}
    source: NOPE
    period: {from: 2019-12-31, until: 2019-01-01}
    ceiling: {amount: 10.005}
    colour: blue
    key:
      shares:
        - {municipality: Atlantis, percent: 50}
        - {municipality: Gennep, percent: 50}
        - {municipality: gennep, percent: 0}
    valuation: {product: LN999}
  - id: one
    title: t
    grantor: Gennep
    recipient: {name: R}
    source: S
    period: {from: 2019-01-01, until: 2019-12-31}
    ceiling: {amount: 10}
    key: {shares: [{municipality: Gennep, percent: 100}]}
    valuation: {product: LN018, hourly_rate: 10}
"""


def test_every_problem_of_a_broken_file_with_its_line(lookup: Lookup) -> None:
    loaded = parse_subsidies(BROKEN, "b.yaml", lookup)
    assert loaded.subsidies is None
    got = [(p.line, p.message) for p in loaded.problems]
    expected_lines = {11: "ceiling.amount", 12: "colour: unknown field", 27: "give exactly one of product and "
                      "hourly_rate"}
    for line, text in expected_lines.items():
        assert any(ln == line and text in m for ln, m in got), (line, text, got)


def test_rule_problems_of_a_well_shaped_file(lookup: Lookup) -> None:
    text = BROKEN.replace("    ceiling: {amount: 10.005}\n    colour: blue\n", "    ceiling: {amount: 10}\n").replace(
        "    valuation: {product: LN018, hourly_rate: 10}\n", "    valuation: {hourly_rate: 10}\n")
    loaded = parse_subsidies(text, "b.yaml", lookup)
    got = {(p.line, p.message) for p in loaded.problems}
    assert got == {
        (7, "one: the grantor Venlo is not in the key"),
        (9, "one: unknown source 'NOPE' (known: S)"),
        (10, "one: period ends on 2019-01-01 before it starts on 2019-12-31"),
        (14, "one: unknown municipality 'Atlantis'"),
        (16, "one: Gennep is in the key twice (share 2 too)"),
        (17, "one: unknown product code 'LN999'; the catalogue has " + ", ".join(sorted(lookup.products))),
        (18, "subsidy one is defined twice (first on line 5)"),
    }, sorted(got)


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("- a\n- b\n", "the file must be a mapping with the sections sources and subsidies"),
    ("version: 1\nsources: {}\n", "missing section 'subsidies'"),
    ("version: 2\nsources: {}\nsubsidies: []\n", "version: only version 1 is known"),
    ("sources: {}\nsubsidies: 3\nextra: 1\n", "unknown section 'extra'"),
    ("a: [1\n", "not valid YAML"),
    ("sources: {}\nsubsidies: !!python/object:os.system []\n", "tag !!python/object:os.system is not allowed"),
])
def test_files_that_are_not_subsidy_files(lookup: Lookup, text: str, message: str) -> None:
    loaded = parse_subsidies(text, "x.yaml", lookup)
    assert loaded.subsidies is None and any(message in p.message for p in loaded.problems), loaded.problems


def test_rows_rejected_by_the_billing_rules_are_errors_with_their_line(lookup: Lookup, tmp_path: Path) -> None:
    _, subsidy = small(lookup)
    path = log(tmp_path, "2019-03-01;111222333;Zorg B.V.;Beesel;LN018;8", "2019-03-02;123456789;Zorg B.V.;Beesel;"
               "LN018;1", "2019-03-03;111222333;Zorg B.V.;Beesel;LN018;-1")
    realised = realised_work(subsidy, [read_table(path)], lookup)
    assert [(p.line, p.message) for p in realised.errors] == [
        (3, "BSN *****6789 fails the elfproef"), (4, "uren '-1' is negative")]
    assert realised.total_cents == 80_000


def test_a_valuation_product_without_a_price_on_the_day_is_an_error(lookup: Lookup, tmp_path: Path) -> None:
    text = SMALL.format(basis="use", extra="").replace("hourly_rate: 100.00", "product: LN035")
    loaded = parse_subsidies(text, "s.yaml", lookup)
    assert loaded.subsidies is not None
    realised = realised_work(loaded.subsidies.subsidies[0], [read_table(log(
        tmp_path, "2019-03-01;111222333;Zorg B.V.;Beesel;LN018;8"))], lookup)
    assert [(p.line, p.message) for p in realised.errors] == [
        (2, "valuation: LN035 has no price on 2019-03-01: its first tariff (€ 50,40) applies from 2021-01-01")]


def test_report_picks_one_subsidy_and_names_the_known_ones(lookup: Lookup) -> None:
    report = subsidy_report(WEERT, lookup, dt.date(2018, 5, 1), subsidy_id="other")
    assert [p.message for p in report.problems] == ["no subsidy 'other' (the file has weert-2018-clientondersteuning)"]


# --- duration norms -------------------------------------------------------------------------------------------


def _signals(lookup: Lookup, path: Path, window: NormWindow = NormWindow.QUARTER) -> list[tuple[int, str, str]]:
    tables = [read_table(path)]
    result = bill_tables(tables, lookup, BillOptions(), lambda _: None)
    assert not result.errors, result.errors
    return [(s.line, s.window, f"{s.hours}") for s in norm_signals(result.rows, lookup, request_frame(tables), window)]


def test_norm_signals_per_request_and_per_quarter_without_one(lookup: Lookup) -> None:
    """T-101: 3 + 3 + 2,5 = 8,5 h > 8 from line 4; T-102 (2 h) and T-103 (4 + 4 = 8 h, not more) are not;
    the rows without a traject: 5 + 4 = 9 h in 2019-Q3, beyond from line 9; LN035 has no norm."""
    assert _signals(lookup, SIGNALS_LOG) == [(4, "traject T-101", "8.5"), (9, "2019-Q3", "9")]


def test_norm_window_month_splits_the_quarter(lookup: Lookup) -> None:
    assert _signals(lookup, SIGNALS_LOG, NormWindow.MONTH) == [(4, "traject T-101", "8.5")]


def test_without_a_request_column_the_quarter_counts(lookup: Lookup, tmp_path: Path) -> None:
    """The same T-101 and T-102 hours without their column: 10,5 h of LN018 in 2019-Q3, beyond from line 4."""
    path = log(tmp_path, *(line.rsplit(";", 2)[0] for line in SIGNALS_LOG.read_text().splitlines()[1:5]))
    assert _signals(lookup, path) == [(4, "2019-Q3", "10.5")]


@pytest.mark.parametrize("window", [NormWindow.QUARTER, NormWindow.MONTH, NormWindow.YEAR])
@pytest.mark.parametrize("requests", [True, False])
def test_norm_warnings_are_the_signals_problems(lookup: Lookup, window: NormWindow, requests: bool) -> None:
    """What ``mgr bill`` warns (worded per distinct value) is word for word what ``mgr signals`` finds."""
    tables = [read_table(SIGNALS_LOG)]
    result = bill_tables(tables, lookup, BillOptions(), lambda _: None)
    frame = request_frame(tables) if requests else None
    for show in (mask, str):
        expected = [s.problem(show) for s in norm_signals(result.rows, lookup, frame, window)]
        assert expected and norm_warnings(result.rows, lookup, frame, window, show) == expected


def test_a_norm_with_an_unknown_source_is_a_catalogue_error() -> None:
    text = (ROOT / "data" / "tariffs.yaml").read_text(encoding="utf-8").replace("source: WF-CO", "source: WF-XX")
    result = parse_catalogue(text, "t.yaml")
    assert [p.message for p in result.problems] == ["LN017: unknown source 'WF-XX'", "LN018: unknown source 'WF-XX'"]


def test_a_norm_must_be_positive_hours() -> None:
    text = (ROOT / "data" / "tariffs.yaml").read_text(encoding="utf-8").replace("      - hours: 8\n",
                                                                                "      - hours: 0\n")
    messages = [p.message for p in parse_catalogue(text, "t.yaml").problems]
    assert messages and all("norms[0].hours" in m and "greater than 0" in m for m in messages)


# --- forecast from a log ----------------------------------------------------------------------------------------


def test_requests_from_a_log_by_traject(lookup: Lookup) -> None:
    """LN018 of hours-signals.csv: T-101 8,5 h and T-102 2 h: two requests, P25 2 h, mean 5,25 h, P75 8,5 h."""
    tables = [read_table(SIGNALS_LOG)]
    rows = bill_tables(tables, lookup, BillOptions(), lambda _: None).rows
    found = requests_from_rows(rows, request_frame(tables), "LN018")
    assert (found.requests, found.low, found.mid, found.high) == (2, Decimal(2), Decimal("5.25"), Decimal("8.5"))
    assert found.basis == "log: requests by traject"
    result = forecast(found.requests, found.low, found.high, mid=found.mid)
    assert [s.hours for s in result.scenarios] == [4, Decimal("10.5"), 17]


@pytest.mark.parametrize("text", ["", "x", "8-6", "0", "6-7-8", "-3"])
def test_hours_per_request_that_are_not_a_range(text: str) -> None:
    with pytest.raises(ForecastError):
        parse_range(text)


def test_range_with_decimal_commas() -> None:
    assert parse_range("6,5-8") == (Decimal("6.5"), Decimal(8)) and parse_range("7") == (Decimal(7), Decimal(7))


@given(st.integers(0, 10**9), st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False),
       st.sampled_from(["quarterly", "monthly", "once"]), st.integers(1, 24))
def test_advances_add_up_to_their_part_of_the_ceiling(cents: int, part: Decimal, schedule: str, months: int) -> None:
    from mgr_tariffs.budgets.models import Subsidy  # noqa: PLC0415

    until = dt.date(2019 + (months - 1) // 12, (months - 1) % 12 + 1, 28)
    subsidy = Subsidy.model_validate({
        "id": "p", "title": "p", "grantor": "Beesel", "recipient": {"name": "R"}, "source": "S",
        "period": {"from": "2019-01-01", "until": until}, "ceiling": {"amount": from_cents(cents)},
        "key": {"shares": [{"municipality": "Beesel", "percent": 100}]}, "valuation": {"hourly_rate": 1},
        "advances": {"schedule": schedule, "part": part}})
    advances = advance_schedule(subsidy)
    amounts = [to_cents(a.amount) for a in advances]
    assert sum(amounts) == share_cents(cents, part)
    assert max(amounts) - min(amounts) <= 1
    assert advances[0].date == subsidy.period.start and all(subsidy.period.covers(a.date) for a in advances)
    expected = {"once": 1, "monthly": months, "quarterly": (months + 2) // 3}[schedule]
    assert len(advances) == expected
