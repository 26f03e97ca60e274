"""Allocations applied to a billing run: strict refuses, capping bills what fits, lines carry the number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from mgr_tariffs.allocations.billing import apply_allocations
from mgr_tariffs.allocations.checking import line_findings
from mgr_tariffs.allocations.register import read_register
from mgr_tariffs.allocations.report import Settings
from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.catalogue.loader import Lookup

HEADER = "toewijzingnummer;bsn;aanbieder;gemeente;productcode;ingangsdatum;einddatum;volume;eenheid;frequentie;budget\n"
REGISTER = HEADER + (
    "A1;111222333;W;Venlo;LN035;2025-03-01;2025-04-30;2;uur;week;\n"   # 2 h a week: March W09-W14 = 6 weeks = 12 h
    "B1;123456782;W;Venlo;LN034;2025-03-01;2025-03-31;;;;100\n"       # a budget of € 100,00
)
LOG = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n" + (
    "2025-03-03;111222333;W;Venlo;LN035;5;\n"      # line 2
    "2025-03-10;111222333;W;Venlo;LN035;5;\n"      # line 3: 10 h
    "2025-03-17;111222333;W;Venlo;LN035;4;\n"      # line 4: 14 h > 12 h
    "2025-03-04;123456782;W;Venlo;LN034;6;\n"      # line 5: € 72,00
    "2025-03-05;123456782;W;Venlo;LN034;4;10,00\n"  # line 6: one line of 10 h = € 120,00 - € 10,00 = € 110,00
    "2025-03-06;999999990;W;Venlo;LN035;1;\n"      # line 7: no allocation (BSN passes the elfproef)
)


def setup(tmp_path: Path, lookup: Lookup, cap: bool):  # type: ignore[no-untyped-def]
    reg, log = tmp_path / "reg.csv", tmp_path / "log.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    log.write_text(LOG, encoding="utf-8")
    register = read_register([reg], lookup).register
    assert register is not None
    result = bill([log], lookup, BillOptions(today=dt.date(2025, 4, 1)))
    assert result.ok, result.errors
    return apply_allocations(result, register, cap=cap, settings=Settings(on=dt.date(2025, 3, 31)))


def test_strict_refuses_naming_allocation_allowed_billed_and_money(tmp_path: Path, lookup: Lookup) -> None:
    applied = setup(tmp_path, lookup, cap=False)
    messages = [str(p) for p in applied.result.errors]
    assert messages[0].endswith("log.csv:7: error: no allocation on 2025-03-06 for client *****9990, product LN035")
    # 14 h billed, 12 h allowed in March: 2 h over at € 50,40 = € 100,80
    assert any("reg.csv:2: error: allocation A1 (2 uur per week), 2025-03: billed 14 uur, over 12 uur allowed in "
               "2025-03: 2 uur over, € 100,80 at stake" in m for m in messages)
    assert any("reg.csv:3: error: allocation B1 (budget € 100,00), 2025-03: billed € 110,00, over the total "
               "€ 100,00 of the allocation: € 10,00 over, € 10,00 at stake" in m for m in messages)
    assert not applied.result.ok
    assert applied.result.rejected.get_column("_line").to_list() == [7]


def test_cap_bills_the_rows_that_fit(tmp_path: Path, lookup: Lookup) -> None:
    applied = setup(tmp_path, lookup, cap=True)
    result = applied.result
    # only the uncovered row stays an error; A1 keeps lines 2 and 3 (10 h), B1 keeps line 5 (€ 72,00): its line
    # falls from € 110,00 to € 72,00, so € 38,00 is not billed
    assert [p.line for p in result.errors] == [7]
    assert sorted(result.rows.get_column("_line").to_list()) == [2, 3, 5]
    lines = result.lines.select("bsn_id", "ticks", "amount_cents", "allocation").sort("bsn_id").rows()
    assert lines == [(111222333, 30_000, 50_400, "A1"), (123456782, 18_000, 7_200, "B1")]
    notes = [p.message for p in result.warnings if "not billed" in p.message]
    assert notes == [
        "allocation A1 (2 uur per week), 2025-03: 1 row(s) not billed (4 uur, € 201,60): over the allocation "
        "(--cap-to-allocation)",
        "allocation B1 (budget € 100,00), 2025-03: 1 row(s) not billed (€ 38,00, € 38,00): over the allocation "
        "(--cap-to-allocation)",
    ]


def test_a_line_two_allocations_cover_carries_both_numbers(tmp_path: Path, lookup: Lookup) -> None:
    reg, log = tmp_path / "reg.csv", tmp_path / "log.csv"
    reg.write_text(HEADER + "A1;111222333;W;Venlo;LN035;2025-03-01;2025-03-15;10;uur;totaal;\n"
                            "A2;111222333;W;Venlo;LN035;2025-03-16;2025-06-30;10;uur;totaal;\n"
                            "A3;123456782;W;Venlo;LN035;2025-03-01;2025-06-30;10;uur;totaal;\n", encoding="utf-8")
    log.write_text("datum;bsn;aanbieder;gemeente;productcode;uren\n2025-03-03;111222333;W;Venlo;LN035;1\n"
                   "2025-03-20;111222333;W;Venlo;LN035;1\n2025-03-20;123456782;W;Venlo;LN035;1\n", encoding="utf-8")
    register = read_register([reg], lookup).register
    assert register is not None
    applied = apply_allocations(bill([log], lookup, BillOptions(today=dt.date(2025, 4, 1))), register)
    assert applied.result.ok
    assert applied.result.lines.select("bsn_id", "allocation").sort("bsn_id").rows() == [
        (111222333, "A1, A2"), (123456782, "A3")]


def checked_lines(rows: list[tuple[str, int, str, str, str, int, int, int]]) -> pl.DataFrame:
    """Invoice lines as the checking engine has them: (invoice, line, bsn, start, end, ticks, price, amount)."""
    return pl.DataFrame(
        [("inv.csv", line, invoice, "W", 983, bsn, "LN035", dt.date.fromisoformat(start), dt.date.fromisoformat(end),
          ticks, "uur", price, None, amount, False)
         for invoice, line, bsn, start, end, ticks, price, amount in rows],
        schema={"_file": pl.String, "_line": pl.Int64, "invoice": pl.String, "provider": pl.String,
                "municipality_id": pl.Int64, "bsn_key": pl.String, "product": pl.String, "start": pl.Date,
                "end": pl.Date, "ticks": pl.Int64, "unit": pl.String, "price_cents": pl.Int64,
                "revenue_cents": pl.Int64, "amount_cents": pl.Int64, "blocked": pl.Boolean}, orient="row")


def test_check_lines_outside_and_over(tmp_path: Path, lookup: Lookup) -> None:
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    register = read_register([reg], lookup).register
    assert register is not None
    lines = checked_lines([
        ("F1", 2, "111222333", "2025-03-01", "2025-03-31", 14 * 3000, 5040, 70_560),  # 14 h of 12 h: 2 h over
        ("F1", 3, "111222333", "2025-05-01", "2025-05-31", 3000, 5040, 5040),          # after A1 ended 2025-04-30
        ("F1", 4, "999999990", "2025-03-01", "2025-03-31", 3000, 5040, 5040),          # no allocation at all
        ("F2", 2, "111222333", "2025-04-01", "2025-05-31", 3000, 5040, 5040),          # runs past A1's end
    ])
    found = line_findings(lines, register)
    messages = {(f.invoice, f.line): (f.message, f.billed_cents, f.expected_cents) for f in found}
    assert messages[("F1", 3)][0].endswith("no allocation; allocation A1 ended on 2025-04-30 (TR308)")
    assert messages[("F1", 4)][0].endswith("no allocation covers the line (TR307)")
    assert messages[("F1", 4)][1:] == (5040, 0)
    assert "allocation A1 ends on 2025-04-30, before the line's last day" in messages[("F2", 2)][0]
    # 2 h over at € 50,40: € 100,80 of the line's € 705,60 is not payable
    assert messages[("F1", 2)] == (
        "allocation A1 (2 uur per week), 2025-03: billed 14 uur, 12 uur allowed (TR321/TR322): 2 uur over, "
        "€ 100,80 at stake (client *****2333, LN035)", 70_560, 60_480)
