"""Every rule that has a scalar function and a Polars twin: the two agree, on random inputs.

The scalar side is the definition (what a reader checks against the README); the twin is what the bulk
path runs. Each property below holds one pair equal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mgr_tariffs import bsn, identity, money, quantity, vat
from mgr_tariffs.catalogue import membership, pricing
from mgr_tariffs.catalogue.models import Catalogue, Membership, Municipality, Price, Product
from mgr_tariffs.quantity import QuantityUnit

START = dt.date(2018, 1, 1)
days = st.integers(min_value=-40, max_value=800).map(lambda n: START + dt.timedelta(days=n))


@st.composite
def periods(draw: st.DrawFn) -> list[tuple[dt.date, dt.date | None]]:
    """Non-overlapping, ordered periods with gaps, the last one open or closed."""
    result: list[tuple[dt.date, dt.date | None]] = []
    day = START + dt.timedelta(days=draw(st.integers(0, 60)))
    for _ in range(draw(st.integers(1, 6))):
        length = draw(st.integers(0, 200))
        until = day + dt.timedelta(days=length)
        result.append((day, until))
        day = until + dt.timedelta(days=draw(st.integers(1, 40)))
    if draw(st.booleans()):
        result[-1] = (result[-1][0], None)
    return result


def product(code: str, spans: list[tuple[dt.date, dt.date | None]], not_for: tuple[str, ...] = ()) -> Product:
    prices = tuple(Price(start=s, until=u, amount=Decimal(40 + i) + Decimal("0.15")) for i, (s, u) in enumerate(spans))
    return Product.model_validate({"code": code, "name": code, "category": "LN2", "domain": "Wmo", "perceel": "1",
                                   "unit": "uur", "vat": {"treatment": "vrijgesteld"}, "not_for": not_for,
                                   "source": "S", "prices": prices})


def catalogue(products: list[Product], municipalities: list[Municipality] | None = None) -> Catalogue:
    towns = municipalities or [Municipality(code="0889", name="Beesel", memberships=(Membership(start=START),))]
    return Catalogue(sources={}, categories=(), municipalities=tuple(towns), products=tuple(products))


@settings(max_examples=150, deadline=None)
@given(st.lists(periods(), min_size=1, max_size=4), st.lists(st.tuples(st.integers(0, 3), days), min_size=1,
                                                              max_size=40))
def test_price_in_force_and_its_twin_agree(spans: list[list[tuple[dt.date, dt.date | None]]],
                                           asked: list[tuple[int, dt.date]]) -> None:
    products = [product(f"LN{i:03d}", s) for i, s in enumerate(spans)]
    cat = catalogue(products)
    codes = [f"LN{i % len(products):03d}" for i, _ in asked]
    frame = pl.DataFrame({"product": codes, "date": [d for _, d in asked]})
    twin = pricing.price_cents_of(frame, cat).to_list()
    by_code = {p.code: p for p in products}
    scalar = [None if (p := pricing.price_in_force(by_code[c], d)) is None else int(p.amount * 100)
              for c, d in zip(codes, frame.get_column("date").to_list(), strict=True)]
    assert twin == scalar


@settings(max_examples=150, deadline=None)
@given(periods(), st.lists(st.tuples(days, st.integers(0, 60)), min_size=1, max_size=40))
def test_a_price_change_inside_a_span_and_its_twin_agree(spans: list[tuple[dt.date, dt.date | None]],
                                                         asked: list[tuple[dt.date, int]]) -> None:
    item = product("LN017", spans)
    frame = pl.DataFrame({"product": ["LN017"] * len(asked), "start": [d for d, _ in asked],
                          "end": [d + dt.timedelta(days=n) for d, n in asked]})
    twin = pricing.boundary_inside_of(frame, catalogue([item])).to_list()
    assert twin == [pricing.boundary_inside(item, a, b) for a, b in frame.select("start", "end").iter_rows()]


@settings(max_examples=100, deadline=None)
@given(periods(), st.lists(days, min_size=1, max_size=30), st.booleans())
def test_membership_and_not_for_and_their_twins_agree(spans: list[tuple[dt.date, dt.date | None]],
                                                      asked: list[dt.date], excluded: bool) -> None:
    town = Municipality(code="0983", name="Venlo", memberships=tuple(Membership(start=s, until=u) for s, u in spans))
    other = Municipality(code="0889", name="Beesel", memberships=(Membership(start=START),))
    item = product("LN017", [(START, None)], ("venlo (L.)",) if excluded else ())
    cat = catalogue([item], [town, other])
    frame = pl.DataFrame({"municipality_id": [983, 889] * len(asked), "date": [d for d in asked for _ in (0, 1)],
                          "product": ["LN017"] * (2 * len(asked))})
    towns = {983: town, 889: other}
    assert membership.member_of(frame, cat).to_list() == [
        membership.is_member(towns[m], d) for m, d in frame.select("municipality_id", "date").iter_rows()]
    assert membership.excluded_of(frame, cat).to_list() == [
        membership.excluded(item, towns[m]) for m in frame.get_column("municipality_id").to_list()]


bsn_texts = st.one_of(st.text(alphabet="0123456789", min_size=6, max_size=10),
                      st.text(alphabet="0123456789 .", max_size=12), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.lists(bsn_texts, min_size=1, max_size=20))
def test_bsn_rules_and_their_twins_agree(texts: list[str]) -> None:
    column = pl.Series(texts, dtype=pl.String)
    padded = pl.DataFrame({"t": column}).select(bsn.normalise_expr(pl.col("t"))).to_series().to_list()
    assert padded == [bsn.normalise(t) for t in texts]
    valid = pl.DataFrame({"p": padded}, schema={"p": pl.String}).select(bsn.valid_expr(pl.col("p"))).to_series()
    assert valid.to_list() == [p is not None and bsn.is_valid(p) for p in padded]
    values, reasons = bsn.parse_many(column)
    assert list(zip(values.to_list(), reasons.to_list(), strict=True)) == [bsn.parse(t) for t in texts]


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_the_elfproef_is_python_stdnum_s(number: str) -> None:
    from stdnum.nl import bsn as stdnum_bsn  # noqa: PLC0415 - the reference, only needed here

    assert bsn.is_valid(number) == (stdnum_bsn.is_valid(number) and number != "000000000")


names = st.lists(st.sampled_from(["a", "A", "é", "e\u0301", " ", "\t", "ß", "SS", "Zorg", "B.V.", "\u00a0", "\x1c",
                                  "İ"]), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(names, min_size=1, max_size=10))
def test_provider_identity_and_its_twin_agree(spellings: list[str]) -> None:
    column = pl.DataFrame({"p": spellings}).select(identity.provider_key_expr(pl.col("p"))).to_series()
    assert column.to_list() == [identity.provider_key(s) for s in spellings]


def test_spellings_of_one_supplier_are_one() -> None:
    assert identity.provider_key("Zorg  B.V.") == identity.provider_key("ZORG B.V.")
    assert identity.provider_key("Caf\u00e9") == identity.provider_key("Cafe\u0301")
    chosen = identity.canonical_spellings(["ZORG B.V.", "Zorg B.V.", "Werk"], known=["Zorg B.V."])
    assert chosen == {"ZORG B.V.": "Zorg B.V.", "Zorg B.V.": "Zorg B.V.", "Werk": "Werk"}


ticks = st.integers(min_value=-10**9, max_value=10**9)
cents = st.integers(min_value=-10**8, max_value=10**8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ticks, cents, st.integers(0, 10**6), st.booleans()), min_size=1, max_size=30))
def test_line_rounding_and_netting_and_their_twins_agree(rows: list[tuple[int, int, int, bool]]) -> None:
    frame = pl.DataFrame(rows, schema=["t", "c", "r", "n"], orient="row")
    gross = frame.select(money.gross_cents_expr(pl.col("t"), pl.col("c"))).to_series().to_list()
    assert gross == [money.gross_cents(t, c) for t, c, _, _ in rows]
    netted = frame.with_columns(g=pl.Series(gross)).select(
        money.net_cents_expr(pl.col("g"), pl.col("r"), pl.col("n"))).to_series().to_list()
    assert netted == [money.net_cents(g, r, n)[0] for g, (_, _, r, n) in zip(gross, rows, strict=True)]


@given(st.integers(-10**8, 10**8), st.integers(-10**8, 10**8), st.booleans())
def test_netting_never_goes_beyond_the_amount_and_a_credit_mirrors_its_debit(gross: int, revenue: int,
                                                                             nets: bool) -> None:
    netted, unnetted = money.net_cents(gross, revenue, nets)
    assert abs(netted) <= abs(gross) and (gross - netted) * gross >= 0
    if revenue * (gross or 1) >= 0:
        assert netted + unnetted == revenue  # revenue of the line's direction is netted or shown, never dropped
    assert money.net_cents(-gross, -revenue, nets) == (-netted, -unnetted) or gross == 0


@given(ticks, cents)
def test_line_rounding_is_half_up_once_on_the_exact_amount(t: int, c: int) -> None:
    exact = Decimal(t) * Decimal(c) / Decimal(100) / Decimal(3000)
    assert Decimal(money.gross_cents(t, c)) / 100 == money.round_cents(exact)


@given(st.lists(st.tuples(cents, st.sampled_from([0, 9, 21])), min_size=1, max_size=30))
def test_vat_and_its_twin_agree(rows: list[tuple[int, int]]) -> None:
    frame = pl.DataFrame(rows, schema=["b", "r"], orient="row")
    assert frame.select(vat.vat_cents_expr(pl.col("b"), pl.col("r"))).to_series().to_list() == [
        vat.vat_cents(b, r) for b, r in rows]
    assert all(vat.vat_cents(b, r) == money.to_cents(money.round_cents(Decimal(b) * r / 10000))
               for b, r in rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**7), st.sampled_from(list(QuantityUnit))), min_size=1, max_size=30))
def test_quantity_text_and_its_twin_agree(rows: list[tuple[int, QuantityUnit]]) -> None:
    # hours lines are sums of hour rows (whole thousandths: ticks divisible by 3); minutes lines any whole ticks
    rows = [(t - t % 3 if u is QuantityUnit.HOUR else t, u) for t, u in rows]
    frame = pl.DataFrame({"t": [t for t, _ in rows], "u": [u.value for _, u in rows]})
    assert frame.select(quantity.text_expr(pl.col("t"), pl.col("u"))).to_series().to_list() == [
        quantity.plain(quantity.from_ticks(t, u)) for t, u in rows]
    assert all(quantity.to_ticks(quantity.from_ticks(t, u), u) == t for t, u in rows)


def test_a_line_is_in_hours_only_when_every_row_is() -> None:
    assert quantity.line_unit([QuantityUnit.HOUR, QuantityUnit.HOUR]) is QuantityUnit.HOUR
    assert quantity.line_unit([QuantityUnit.HOUR, QuantityUnit.MINUTE]) is QuantityUnit.MINUTE
    frame = pl.DataFrame({"k": [1, 1, 2], "u": ["uur", "minuut", "uur"]})
    assert frame.group_by("k", maintain_order=True).agg(quantity.line_unit_expr(pl.col("u")).alias("u")).get_column(
        "u").to_list() == ["minuut", "uur"]
