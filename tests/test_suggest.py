"""Near misses get a suggestion: a misspelt product code or municipality names the nearest known one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.suggest import did_you_mean, nearest


def test_the_nearest_known_name() -> None:
    assert nearest("LN0177", ["LN017", "LN018", "LN031"]) == "LN017"
    assert nearest("venraij", ["Venlo", "Venray", "Beesel"]) == "Venray"
    assert nearest("Atlantis", ["Venlo", "Venray"]) is None
    assert did_you_mean("Atlantis", ["Venlo"]) == ""


def test_bill_suggests_a_product_code_and_a_municipality(tmp_path: Path, lookup: Lookup) -> None:
    log = tmp_path / "uren.csv"
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n"
                   "2019-07-01;111222333;Zorg B.V.;Venraij;LN017;1\n"
                   "2019-07-01;111222333;Zorg B.V.;Gennep;LN0177;1\n", encoding="utf-8")
    result = bill([log], lookup, BillOptions(today=dt.date(2026, 1, 1)))
    assert [p.message for p in result.errors] == [
        "unknown municipality 'Venraij'; did you mean 'Venray'?",
        "unknown product code 'LN0177'; did you mean 'LN017'?"]
