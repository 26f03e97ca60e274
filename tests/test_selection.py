"""--period, --provider and --municipality: one meaning on bill, check and ledger list."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.dates import parse_period
from mgr_tariffs.selection import Selection

EXAMPLE = ROOT / "data" / "examples" / "hours.csv"


def test_bill_bills_only_the_selection_and_the_counts_reconcile(runner: CliRunner) -> None:
    whole = json.loads(runner.invoke(app, ["bill", str(EXAMPLE), "--format", "json"]).stdout)
    run = runner.invoke(app, ["bill", str(EXAMPLE), "--format", "json", "--period", "2019-07",
                              "--municipality", "GM0907"])
    part = json.loads(run.stdout)
    assert {(i["period"], i["municipality"]) for i in part["invoices"]} == {("2019-07", "Gennep")}
    expected = [i for i in whole["invoices"] if i["period"] == "2019-07" and i["municipality"] == "Gennep"]
    assert part["invoices"] == expected
    assert part["summary"]["rows_read"] == 291 and part["summary"]["rows_rejected"] == 0


def test_the_provider_matches_in_any_spelling(runner: CliRunner) -> None:
    run = runner.invoke(app, ["bill", str(EXAMPLE), "--format", "json", "--provider", "werkbedrijf  de PEEL b.v."])
    providers = {i["provider"] for i in json.loads(run.stdout)["invoices"]}
    assert providers == {"Werkbedrijf De Peel B.V."}


def test_a_wrong_selection_is_a_usage_error(runner: CliRunner) -> None:
    for args, said in ((["--period", "2019-13"], "is not a month"), (["--municipality", "Atlantis"], "Atlantis")):
        for command in (["bill", str(EXAMPLE)], ["check", str(ROOT / "data" / "examples" / "invoice-with-errors.csv")]):
            run = runner.invoke(app, [*command, *args])
            assert run.exit_code == 2 and said in run.output, run.output


def test_check_looks_only_at_the_selection(runner: CliRunner) -> None:
    invoice = str(ROOT / "data" / "examples" / "invoice-with-errors.csv")
    run = runner.invoke(app, ["check", invoice, "--period", "2019-07", "--format", "json"])
    found = json.loads(run.stdout)["discrepancies"]
    assert found and all(d["kind"] == "price" for d in found)  # the July line priced at the June tariff


def test_ledger_list_takes_ranges(runner: CliRunner, tmp_path: Path) -> None:
    book = tmp_path / "l.sqlite"
    assert runner.invoke(app, ["bill", str(EXAMPLE), "--issue", "--documents", "none", "--ledger", str(book),
                               "--invoice-date", "2024-09-02"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["ledger", "list", "--ledger", str(book), "--period", "2019-06..2019-07",
                                            "--format", "json"]).stdout)
    assert listed and {i["period"] for i in listed} == {"2019-06", "2019-07"}
    wrong = runner.invoke(app, ["ledger", "list", "--ledger", str(book), "--period", "juli"])
    assert wrong.exit_code == 2


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["Zorg B.V.", "ZORG  b.v.", "Werk"]), st.sampled_from([889, 907, 983]),
                               st.dates(dt.date(2019, 1, 1), dt.date(2020, 12, 31))), min_size=1, max_size=30),
       period=st.sampled_from(["2019-07", "2019-Q3", "2020", "2019-11..2020-02"]),
       provider=st.sampled_from([None, "zorg b.v."]), municipality=st.sampled_from([None, "Gennep", "0983"]))
def test_the_selection_and_its_twin_agree(rows: list[tuple[str, int, dt.date]], period: str, provider: str | None,
                                          municipality: str | None, lookup: Lookup) -> None:
    chosen = Selection.of(lookup, parse_period(period)[0], provider, municipality)
    frame = pl.DataFrame(rows, schema=["provider", "municipality_id", "date"], orient="row")
    assert frame.select(chosen.expr()).to_series().to_list() == [
        chosen.matches(p, str(m).zfill(4), d) for p, m, d in rows]
