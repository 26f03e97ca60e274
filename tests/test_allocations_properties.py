"""The bulk allocation rules (``allocations.frame``) equal the plain-Python ones (``allocations.rules``) on random
registers and logs: the allowed volumes per month and in total, each row's allocation, the use per month."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from conftest import TARIFFS
from hypothesis import given, settings
from hypothesis import strategies as st

from mgr_tariffs.allocations import frame, rules
from mgr_tariffs.allocations.model import Allocation, Fields, Frequency, Register, Unit
from mgr_tariffs.allocations.register import (
    duplicate_numbers,
    duplicates_of,
    entries_frame,
    overlaps,
    overlaps_of,
    parse_allocation,
    parse_frame,
)
from mgr_tariffs.allocations.table import allocations_of
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.identity import provider_key

FIRST = dt.date(2024, 11, 1)
DAYS = 200
BSNS = (111222333, 123456782)
SPELLINGS = ("Zorg B.V.", "zorg  b.v.", "Ander")
MUNICIPALITIES = (983, 984)
PRODUCTS = ("LN034", "LN035")
KINDS = [(Unit.HOUR, Frequency.WEEK), (Unit.HOUR, Frequency.MONTH), (Unit.MINUTE, Frequency.DAY),
         (Unit.DAGDEEL, Frequency.TOTAL), (Unit.EURO, Frequency.WEEK), (Unit.EURO, Frequency.MONTH), (None, None)]


@st.composite
def registers(draw: st.DrawFn) -> list[Allocation]:
    allocations: list[Allocation] = []
    for bsn in BSNS:
        for spelling in ("Zorg B.V.", "Ander"):
            for municipality in MUNICIPALITIES:
                for product in PRODUCTS:
                    day = FIRST + dt.timedelta(days=draw(st.integers(-40, 60)))
                    for _ in range(draw(st.integers(0, 3))):
                        length = draw(st.one_of(st.integers(0, 120), st.integers(300, 800)))
                        end = day + dt.timedelta(days=length)
                        is_open = draw(st.booleans()) and draw(st.booleans())
                        unit, frequency = draw(st.sampled_from(KINDS))
                        allocations.append(Allocation(
                            number=f"T{len(allocations)}", bsn_id=bsn, provider=spelling,
                            provider_key=provider_key(spelling), municipality_id=municipality, product=product,
                            start=day, end=None if is_open else end, amount=draw(st.integers(1, 40_000)), unit=unit,
                            frequency=frequency))
                        if is_open:
                            break
                        day = end + dt.timedelta(days=draw(st.integers(1, 30)))
    return allocations


row_dicts = st.fixed_dictionaries({
    "_file": st.just("log.csv"), "_line": st.integers(2, 10_000),
    "date": st.integers(-60, DAYS).map(lambda n: FIRST + dt.timedelta(days=n)),
    "bsn_id": st.sampled_from(BSNS), "provider": st.sampled_from(SPELLINGS),
    "municipality_id": st.sampled_from(MUNICIPALITIES), "product": st.sampled_from(PRODUCTS),
    "ticks": st.integers(1, 72_000), "unit": st.sampled_from(["uur", "minuut"]),
    "revenue_cents": st.one_of(st.none(), st.integers(0, 50_000)), "price_cents": st.sampled_from([1200, 5040, 4704]),
})
SCHEMA = {"_file": pl.String, "_line": pl.Int64, "date": pl.Date, "bsn_id": pl.Int64, "provider": pl.String,
          "municipality_id": pl.Int32, "product": pl.String, "ticks": pl.Int64, "unit": pl.String,
          "revenue_cents": pl.Int64, "price_cents": pl.Int64}


def as_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


@settings(max_examples=150, deadline=None)
@given(registers(), st.lists(row_dicts, max_size=60), st.lists(row_dicts, max_size=20))
def test_month_use_frame_equals_month_use(allocations: list[Allocation], rows: list[dict[str, Any]],
                                          earlier: list[dict[str, Any]]) -> None:
    assignments, uses = rules.month_use(allocations, rows, earlier)
    assigned, use = frame.month_use_frame(frame.register_frame(allocations), as_frame(rows), as_frame(earlier))
    assert list(zip(assigned.get_column("number"), assigned.get_column("ended"), strict=True)) == [
        (a.number, a.ended) for a in assignments]
    expected = [(u.number, u.period_id, u.earlier, u.current, u.price_cents) for u in uses]
    assert use.drop("index").rows() == expected


@settings(max_examples=150, deadline=None)
@given(registers(), st.lists(st.integers(-3, 9), min_size=1, max_size=6))
def test_allowed_expressions_equal_the_rules(allocations: list[Allocation], offsets: list[int]) -> None:
    periods = sorted({(2025 * 12 + offset) for offset in offsets})
    ids = [month // 12 * 100 + month % 12 + 1 for month in periods]
    table = frame.register_frame(allocations).join(pl.DataFrame({"period_id": ids}, schema={"period_id": pl.Int64}),
                                                   how="cross")
    found = table.select("number", "period_id", month=frame.allowed_in_month_expr(),
                         total=frame.allowed_total_expr()).rows()
    by_number = {a.number: a for a in allocations}
    assert frame.allowed_in_month(table).to_list() == [month for _, _, month, _ in found]
    assert found == [(number, period, rules.allowed_in_month(by_number[number], period),
                      rules.allowed_total(by_number[number])) for number, period, _, _ in found]


month_uses = st.tuples(st.one_of(st.none(), st.integers(0, 50)), st.integers(0, 30), st.integers(0, 60))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(month_uses, min_size=1, max_size=6), st.one_of(st.none(), st.integers(0, 150))),
                min_size=1, max_size=5))
def test_billable_expression_equals_the_walk(allocations: list[tuple[list[tuple[int | None, int, int]], int | None]]
                                             ) -> None:
    table = pl.DataFrame(
        [(f"T{i}", m, allowed, earlier, current, total) for i, (months, total) in enumerate(allocations)
         for m, (allowed, earlier, current) in enumerate(months)],
        schema={"number": pl.String, "period_id": pl.Int64, "allowed": pl.Int64, "earlier": pl.Int64,
                "current": pl.Int64, "total": pl.Int64}, orient="row")
    found = table.select(frame.billable_expr()).to_series().to_list()
    assert frame.billable(table).to_list() == found
    assert found == [b for months, total in allocations for b in rules.billable(months, total)]


CELLS = {
    "toewijzingnummer": [None, "A1", "A2", "B 7"],
    "bsn": [None, "111222333", "123456782", "123456789", "12345", "11122233"],
    "aanbieder": [None, "Zorg B.V.", "zorg  b.v."],
    "gemeente": [None, "Venlo", "0983", "Atlantis", "Gennep"],
    "productcode": [None, "LN017", "ln035", "LN099"],
    "ingangsdatum": [None, "2025-01-01", "01-03-2025", "2025-02-30", "morgen"],
    "einddatum": [None, "2025-12-31", "2024-12-31"],
    "volume": [None, "3", "1,5", "0", "x", "0,0001"],
    "eenheid": [None, "uur", "04", "minuut", "dagdeel", "euro", "jaar"],
    "frequentie": [None, "week", "2", "maand", "totaal", "dag", "eeuw"],
    "budget": [None, "100", "12,345", "-1"],
    "wet": [None, "Wmo", "participatiewet", "AWBZ"],
    "reden_wijziging": [None, "01"],
    "commentaar": [None, "let op"],
}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CELLS.items()}),
                min_size=1, max_size=12))
def test_parse_frame_equals_parse_allocation(cells: list[dict[str, str | None]]) -> None:
    lookup = _lookup()
    entries = [Fields("reg.csv", line, values) for line, values in enumerate(cells, start=2)]
    expected_allocations, expected_problems = [], []
    for entry in entries:
        allocation, problems = parse_allocation(entry, lookup)
        expected_problems += problems
        if allocation is not None:
            expected_allocations.append(allocation)
    table, problems = parse_frame(entries_frame(entries), lookup)
    assert allocations_of(table) == expected_allocations
    assert problems == expected_problems


def _lookup() -> Lookup:
    loaded = load_catalogue(TARIFFS)
    assert loaded.catalogue is not None
    return Lookup(loaded.catalogue)


@st.composite
def clashing(draw: st.DrawFn) -> list[Allocation]:
    """Allocations of few keys, periods and numbers in two files: overlaps (open ends too) and numbers used twice."""
    allocations = []
    for i in range(draw(st.integers(0, 25))):
        start = FIRST + dt.timedelta(days=draw(st.integers(0, 90)))
        end = None if draw(st.integers(0, 5)) == 0 else start + dt.timedelta(days=draw(st.integers(0, 60)))
        allocations.append(Allocation(
            number=f"T{draw(st.integers(0, 12))}", bsn_id=draw(st.sampled_from(BSNS)),
            provider=(spelling := draw(st.sampled_from(SPELLINGS))), provider_key=provider_key(spelling),
            municipality_id=draw(st.sampled_from(MUNICIPALITIES)), product=draw(st.sampled_from(PRODUCTS)),
            start=start, end=end, amount=1, unit=Unit.HOUR, frequency=Frequency.WEEK,
            file=draw(st.sampled_from(["a.csv", "b.csv"])), line=draw(st.integers(2, 5)) + i))
    return allocations


@settings(max_examples=200, deadline=None)
@given(clashing())
def test_overlaps_and_duplicates_of_the_table_equal_the_walks(allocations: list[Allocation]) -> None:
    table = Register.of(allocations).table
    assert overlaps_of(table) == list(overlaps(allocations))
    assert duplicates_of(table) == list(duplicate_numbers(allocations))


@settings(max_examples=100, deadline=None)
@given(registers())
def test_register_table_round_trips(allocations: list[Allocation]) -> None:
    register = Register.of(allocations)
    assert list(register.allocations) == allocations
    wanted = [i for i in (2, 0, 2) if i < len(allocations)]
    assert register.at(wanted) == [a for i, a in enumerate(allocations) if i in wanted]
    assert register.numbered(["T1", "nope"]) == [a for a in allocations if a.number == "T1"]



@given(st.dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)), st.integers(-3, 800))
def test_iso_weeks_counts_the_week_numbers_the_days_touch(first: dt.date, length: int) -> None:
    last = first + dt.timedelta(days=length)
    touched = {(first + dt.timedelta(days=i)).isocalendar()[:2] for i in range(length + 1)}
    assert rules.iso_weeks(first, last) == len(touched)
