"""Indexation arithmetic and planning, with hand-computed figures (issue 16)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mgr_tariffs.catalogue.indexation import (
    Index,
    IndexationError,
    IndexRequest,
    format_percent,
    indexed_amount,
    parse_weights,
    plan_indexation,
    weighted_percent,
)
from mgr_tariffs.catalogue.loader import parse_catalogue
from mgr_tariffs.catalogue.models import Catalogue, Rounding

TARIFFS = Path(__file__).resolve().parent.parent / "data" / "tariffs.yaml"
TODAY = dt.date(2026, 12, 2)
D = Decimal


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    loaded = parse_catalogue(TARIFFS.read_text(encoding="utf-8"), "tariffs.yaml")
    assert loaded.catalogue is not None
    return loaded.catalogue


# --- the indexed price ------------------------------------------------------------------------------

# 47,04 x 1,0342 = 48,648768 exactly: half-up and up 48,65, down 48,64.
# 69,64 x 1,0342 = 72,021688 exactly: half-up and down 72,02, up 72,03.
@pytest.mark.parametrize(("base", "rounding", "expected"), [
    ("47.04", Rounding.HALF_UP, "48.65"), ("47.04", Rounding.UP, "48.65"), ("47.04", Rounding.DOWN, "48.64"),
    ("69.64", Rounding.HALF_UP, "72.02"), ("69.64", Rounding.UP, "72.03"), ("69.64", Rounding.DOWN, "72.02"),
])
def test_3_42_percent_in_each_rounding_mode(base: str, rounding: Rounding, expected: str) -> None:
    assert indexed_amount(D(base), D("3.42"), rounding) == D(expected)


def test_ova_and_ppc_at_90_10_is_3_944_percent() -> None:
    # 0,9 x 4,18 + 0,1 x 1,82 = 3,762 + 0,182 = 3,944
    assert weighted_percent(D("4.18"), D("1.82"), (90, 10)) == D("3.944")
    index = Index.of_parts(D("4.18"), D("1.82"))
    assert index.percent == D("3.944")
    assert index.describe() == "3,944 % (90 % OVA 4,18 % + 10 % PPC 1,82 %)"
    # 47,04 x 1,03944 = 48,8952576; 48,60 x 1,03944 = 50,516784
    assert [indexed_amount(D("47.04"), index.percent, r) for r in Rounding] == [D("48.90"), D("48.90"), D("48.89")]
    assert [indexed_amount(D("48.60"), index.percent, r) for r in Rounding] == [D("50.52"), D("50.52"), D("50.51")]


def test_other_weights() -> None:
    # 0,8 x 4,18 + 0,2 x 1,82 = 3,344 + 0,364 = 3,708
    assert weighted_percent(D("4.18"), D("1.82"), (80, 20)) == D("3.708")
    assert parse_weights("80/20") == (80, 20)


@pytest.mark.parametrize(("text", "message"), [("90/20", "add up to 110"), ("90-10", "write them as OVA/PPC"),
                                               ("", "write them as OVA/PPC")])
def test_bad_weights(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_weights(text)


def test_three_decimal_precision_then_rounding() -> None:
    # 47,04 x 1,034118 = 48,64491072: straight to cents half-up 48,64; on three decimals first 48,645 -> 48,65.
    assert indexed_amount(D("47.04"), D("3.4118"), Rounding.HALF_UP, precision=2) == D("48.64")
    assert indexed_amount(D("47.04"), D("3.4118"), Rounding.HALF_UP, precision=3) == D("48.65")
    # 47,04 x 1,034016 = 48,64011264: straight up 48,65; on three decimals first 48,640 -> up 48,64.
    assert indexed_amount(D("47.04"), D("3.4016"), Rounding.UP, precision=2) == D("48.65")
    assert indexed_amount(D("47.04"), D("3.4016"), Rounding.UP, precision=3) == D("48.64")
    # 48,648768 -> 48,649 -> down 48,64 (the same as straight down)
    assert indexed_amount(D("47.04"), D("3.42"), Rounding.DOWN, precision=3) == D("48.64")
    with pytest.raises(ValueError, match="choose 2 or 3"):
        indexed_amount(D("47.04"), D("3.42"), Rounding.DOWN, precision=4)


def test_percent_formatting() -> None:
    assert [format_percent(D(t)) for t in ("3.944", "3.420", "-0.5", "4")] == ["3,944 %", "3,42 %", "-0,5 %", "4 %"]


cents = st.integers(min_value=1, max_value=99_999_999).map(lambda c: D(c) / 100)
percents = st.integers(min_value=-50_000, max_value=50_000).map(lambda p: D(p) / 1000)


@given(cents, percents)
def test_rounding_modes_bracket_the_exact_price(base: Decimal, percent: Decimal) -> None:
    exact = base * (100 + percent) / 100
    down, half, up = (indexed_amount(base, percent, r) for r in (Rounding.DOWN, Rounding.HALF_UP, Rounding.UP))
    assert down <= exact <= up and up - down <= D("0.01")
    assert half in (down, up) and abs(half - exact) <= D("0.005")
    assert all(a.as_tuple().exponent == -2 for a in (down, half, up))


@given(cents)
def test_a_zero_index_keeps_the_price(base: Decimal) -> None:
    assert all(indexed_amount(base, D(0), r, p) == base for r in Rounding for p in (2, 3))


# --- planning -------------------------------------------------------------------------------------

def request(**kwargs: object) -> IndexRequest:
    values: dict[str, object] = {"start": dt.date(2027, 1, 1), "index": Index(D("3.42")), "today": TODAY}
    values.update(kwargs)
    return IndexRequest(**values)  # type: ignore[arg-type]


def test_an_indexation_of_one_category_only(shipped: Catalogue) -> None:
    changes = plan_indexation(shipped, request(category="LN2"))
    assert [(c.code, c.base, c.amount) for c in changes] == [("LN017", D("48.60"), D("50.26")),
                                                            ("LN018", D("72.00"), D("74.46"))]
    # 48,60 x 1,0342 = 50,26212 -> 50,26; 72,00 x 1,0342 = 74,4624 -> 74,46
    assert all(c.closes is not None and c.closes.start == dt.date(2019, 7, 1) for c in changes)
    assert changes[0].describe() == ("LN017 from 2027-01-01: € 48,60 -> € 50,26 (3,42 %, rounded half-up); the "
                                     "period from 2019-07-01 now ends on 2026-12-31")


def test_every_product_by_default_and_a_list_of_products(shipped: Catalogue) -> None:
    assert len(plan_indexation(shipped, request())) == 9
    assert [c.code for c in plan_indexation(shipped, request(products=("ln034", "LN031")))] == ["LN031", "LN034"]


def test_the_provenance_is_recorded(shipped: Catalogue) -> None:
    (change,) = plan_indexation(shipped, request(products=("LN017",), index=Index.of_parts(D("4.18"), D("1.82")),
                                                 rounding=Rounding.UP, precision=3, note="VNG 2027"))
    index = change.indexation
    assert (index.base, index.percent, index.ova, index.ppc, index.weights, index.rounding, index.precision,
            index.note) == (D("48.60"), D("3.944"), D("4.18"), D("1.82"), "90/10", Rounding.UP, 3, "VNG 2027")
    assert change.amount == D("50.52")  # 50,516784 -> 50,517 -> up 50,52


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"products": ("LN099",)}, "unknown product code 'LN099'"),
    ({"category": "LN9"}, "no product in category 'LN9'"),
    ({"products": ("LN017",), "category": "LN2"}, "choose --products or --category, not both"),
    ({"start": TODAY, "category": "LN2"}, "is not after today"),
    ({"start": dt.date(2019, 7, 1), "today": dt.date(2019, 1, 1), "category": "LN2"},
     "LN017 already has a price from 2019-07-01 (€ 48,60): it was indexed from that date before"),
    ({"start": dt.date(2019, 3, 1), "today": dt.date(2019, 1, 1), "category": "LN2"},
     "LN017 has a price from 2019-07-01, after --from 2019-03-01"),
    ({"replace": True, "category": "LN2"}, "LN017 has no indexed price from 2027-01-01 to replace"),
    ({"index": Index(D("-99.99")), "products": ("LN034",)}, "gives 0.00, not a price"),
])
def test_refusals(shipped: Catalogue, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(IndexationError) as caught:
        plan_indexation(shipped, request(**kwargs))
    assert any(message in reason for reason in caught.value.reasons), caught.value.reasons
