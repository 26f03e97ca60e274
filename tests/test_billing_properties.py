"""The engine against the simple reference biller, and the money properties, on random hour logs."""

from __future__ import annotations

import datetime as dt
import random
import re
import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
from conftest import TARIFFS
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_billing import Tariffs, reference_bill, supplier

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.billing.output import _numbers, invoice_file_name, provisional_number
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.documents.naming import MAX_STEM, provider_parts, stem_of

LOOKUP = Lookup(load_catalogue(TARIFFS).catalogue)  # type: ignore[arg-type]
REFERENCE = Tariffs.read(TARIFFS)
TODAY = dt.date(2026, 11, 23)
BSNS = ["111222333", "123456782", "012345672", "100000009"]
PROVIDERS = ["Zorg B.V.", "ZORG  B.V.", "Stichting Werk", "=cmd|' /C calc'!A0", "Zorg Caf\u00e9", "Zorg Cafe\u0301"]
# (product, first day, last day, municipalities) that are valid together
PLANS = [
    ("LN017", dt.date(2019, 6, 20), dt.date(2019, 7, 10), ["Beesel", "bergen", "GM0907"]),
    ("LN018", dt.date(2019, 6, 20), dt.date(2019, 7, 10), ["Peel en Maas", "1507"]),
    ("LN034", dt.date(2021, 1, 1), dt.date(2021, 2, 28), ["Venlo", "Venray"]),
    ("LN035", dt.date(2024, 6, 25), dt.date(2024, 7, 5), ["Gennep"]),
    ("LN036", dt.date(2024, 7, 1), dt.date(2024, 7, 31), ["Weert", "Roermond"]),
]

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("2"), places=3)
revenues = st.one_of(st.just(Decimal(0)), st.decimals(min_value=0, max_value=Decimal("40"), places=2))


@st.composite
def log_rows(draw: st.DrawFn, minutes: bool = False) -> list[dict[str, str]]:
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        product, first, last, towns = draw(st.sampled_from(PLANS))
        day = first + dt.timedelta(days=draw(st.integers(0, (last - first).days)))
        quantity = str(draw(st.integers(1, 120))) if minutes else f"{draw(quantities):f}".replace(".", ",")
        revenue = draw(revenues) if product == "LN034" else Decimal(0)
        revenue_text = f"{revenue:f}".replace(".", ",") if revenue else ""
        rows.append({
            "datum": day.isoformat(), "bsn": draw(st.sampled_from(BSNS)), "aanbieder": draw(st.sampled_from(PROVIDERS)),
            "gemeente": draw(st.sampled_from(towns)), "productcode": product,
            "minuten" if minutes else "uren": quantity, "opbrengst": revenue_text,
        })
    return rows


def write(rows: list[dict[str, str]], folder: Path, name: str = "log.csv") -> Path:
    path = folder / name
    columns = list(rows[0])
    path.write_text(";".join(columns) + "\n" + "".join(";".join(r[c] for c in columns) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def engine_lines(result: BillingResult) -> dict[tuple[object, ...], dict[str, object]]:
    """The engine's invoice lines in the reference's terms (exact fractions, the reference's supplier key)."""
    lines: dict[tuple[object, ...], dict[str, object]] = {}
    for inv in result.invoices:
        for line in inv.lines:
            key = (supplier(inv.provider), inv.municipality_code, inv.period, line.bsn, line.product,
                   Fraction(line.unit_price))
            assert key not in lines, f"two lines for one client, product and price: {key}"
            lines[key] = {"unit": line.unit.value, "quantity": Fraction(line.quantity),
                          "gross": Fraction(line.gross_amount), "netted": Fraction(line.revenue_netted),
                          "unnetted": Fraction(line.revenue_unnetted), "amount": Fraction(line.amount)}
    return lines


def billed(*paths: Path) -> BillingResult:
    result = bill(list(paths), LOOKUP, BillOptions(today=TODAY))
    assert result.ok, result.errors
    return result


def in_minutes(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The same rows with whole minutes instead of hours."""
    return [{("minuten" if k == "uren" else k): (str(max(1, int(Decimal(v.replace(",", ".")) * 60)))
                                                  if k == "uren" else v) for k, v in row.items()} for row in rows]


@settings(max_examples=300, deadline=None)
@given(log_rows(), st.booleans())
def test_engine_agrees_with_the_reference_to_the_cent(rows: list[dict[str, str]], minutes: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(in_minutes(rows) if minutes else rows, Path(folder))
        assert engine_lines(billed(path)) == reference_bill([path], REFERENCE)


@settings(max_examples=200, deadline=None)
@given(log_rows(), log_rows())
def test_an_hours_log_and_a_minutes_log_billed_together_agree_with_the_reference(
        hours: list[dict[str, str]], minutes: list[dict[str, str]]) -> None:
    """Rows in hours and in minutes of one client, product and price are one line, rounded once."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [write(hours, Path(folder), "uren.csv"), write(in_minutes(minutes), Path(folder), "minuten.csv")]
        assert engine_lines(billed(*paths)) == reference_bill(paths, REFERENCE)


@settings(max_examples=150, deadline=None)
@given(log_rows(), st.randoms(use_true_random=False))
def test_total_is_the_sum_of_lines_and_order_does_not_matter(rows: list[dict[str, str]], rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = billed(write(rows, Path(folder)))
        for invoice in result.invoices:
            assert invoice.total == sum(line.amount for line in invoice.lines)
            assert all(line.amount >= 0 and line.gross_amount >= 0 for line in invoice.lines)
        assert result.summary.total == sum(i.total for i in result.invoices)
        shuffled = rows[:]
        rng.shuffle(shuffled)
        assert engine_lines(billed(write(shuffled, Path(folder), "shuffled.csv"))) == engine_lines(result)


@settings(max_examples=150, deadline=None)
@given(log_rows(), st.integers(min_value=0, max_value=10))
def test_a_log_split_in_two_files_bills_the_same(rows: list[dict[str, str]], cut: int) -> None:
    cut = min(cut, len(rows) - 1)
    with tempfile.TemporaryDirectory() as folder:
        whole = billed(write(rows, Path(folder)))
        if cut == 0:
            return
        parts = billed(write(rows[:cut], Path(folder), "a.csv"), write(rows[cut:], Path(folder), "b.csv"))
        assert engine_lines(parts) == engine_lines(whole)
        assert parts.summary.rows_billed == whole.summary.rows_billed == len(rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=150), min_size=1, max_size=5, unique=True))
def test_provisional_numbers_and_file_names_made_at_once_equal_one_by_one(providers: list[str]) -> None:
    """``_numbers`` builds provisional numbers and file names for all invoices at once; they are exactly what
    ``provisional_number`` and ``stem_of`` make for each, every name is unique, safe and at most
    ``MAX_STEM`` characters, and it keeps the municipality and month."""
    invoices = pl.DataFrame({"provider": providers, "gemeentecode": ["0889"] * len(providers),
                             "period": ["2021-03"] * len(providers)})
    named = _numbers(invoices, None)
    parts = provider_parts(providers)
    assert named.get_column("factuurnummer").to_list() == [provisional_number(p, "0889", "2021-03") for p in providers]
    names = named.get_column("bestand").to_list()
    assert names == [f"{stem_of(p, '0889', '2021-03', part=parts[p])}.csv" for p in providers]
    assert len({n.casefold() for n in names}) == len(providers)
    assert all(re.fullmatch(r"concept-[a-z0-9-]+-0889-2021-03\.csv", n) and len(n) <= MAX_STEM + 4 for n in names)
    if len(providers) == 1:
        assert names == [invoice_file_name(providers[0], "0889", "2021-03")]
