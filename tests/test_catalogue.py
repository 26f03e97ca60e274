"""The shipped catalogue against its sources, the lookups, price boundaries and the JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mgr_tariffs.catalogue.loader import Lookup, catalogue_schema, load_catalogue, parse_catalogue
from mgr_tariffs.io.yamlsafe import load_yaml

ROOT = Path(__file__).resolve().parent.parent
TARIFFS = ROOT / "data" / "tariffs.yaml"
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "data" / "catalogue"
SOURCES = SHARED / "sources"
SCHEMA_FILE = ROOT / "docs" / "tariffs.schema.json"


def test_the_shipped_catalogue_is_clean() -> None:
    result = load_catalogue(TARIFFS)
    assert result.problems == []
    assert result.ok and result.catalogue is not None


def test_prices_are_read_from_their_text_exactly(lookup: Lookup) -> None:
    for product in lookup.catalogue.products:
        for price in product.prices:
            assert isinstance(price.amount, Decimal)
            assert price.amount.as_tuple().exponent == -2, (product.code, price.amount)  # "48.60", "12.00"


# --- the data against the two MGR product descriptions in ../shared/sources --------------------------

def _source(name: str) -> str:
    path = SOURCES / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_text(encoding="utf-8")


def _euro(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _ocs_rows() -> dict[str, tuple[str, str, Decimal, Decimal]]:
    """MGR2018.1: | name | category | code | unit | price until 1 July 2019 | price from 1 July 2019 |."""
    pattern = re.compile(r"^\| (.+?) +\| (LN\d+) +\| (LN\d{3}) +\| Uur +\| € ([\d,]+) +\| € ([\d,]+) +\|$", re.M)
    return {m[3]: (m[1], m[2], _euro(m[4]), _euro(m[5])) for m in pattern.finditer(_source("000_fb02916828e5a7ed.txt"))}


def _participation_rows() -> dict[str, tuple[str, str, Decimal]]:
    """MGR2018.4: tab-separated name, category, code, unit, price (the footnote star dropped)."""
    pattern = re.compile(r"^(.+?)\*?\t(LN\d+)\t(LN\d{3})\tUur\t€ ([\d,]+)$", re.M)
    return {m[3]: (m[1], m[2], _euro(m[4])) for m in pattern.finditer(_source("003_fec41c5d8fd2132f.txt"))}


def test_client_support_matches_mgr2018_1(lookup: Lookup) -> None:
    rows = _ocs_rows()
    assert sorted(rows) == ["LN017", "LN018"]
    for code, (name, category, before, after) in rows.items():
        product = lookup.products[code]
        assert (product.name, product.category, product.unit.value, product.source) == (name, category, "uur",
                                                                                     "MGR2018.1")
        assert [(p.amount, p.until) for p in product.prices] == [(before, dt.date(2019, 6, 30)), (after, None)]
        assert product.prices[1].start == dt.date(2019, 7, 1)  # "vanaf 1 juli 2019"
        assert set(product.not_for) == {"Venlo", "Venray"}  # "Niet van toepassing voor de gemeenten Venlo en Venray"


def test_participation_matches_mgr2018_4(lookup: Lookup) -> None:
    rows = _participation_rows()
    assert sorted(rows) == ["LN031", "LN032", "LN033", "LN034", "LN035", "LN036", "LN037"]
    for code, (name, category, amount) in rows.items():
        product = lookup.products[code]
        assert (product.name, product.category, product.unit.value, product.source) == (name, category, "uur",
                                                                                     "MGR2018.4")
        assert [(p.amount, p.start, p.until) for p in product.prices] == [(amount, dt.date(2021, 1, 1), None)]
        assert product.not_for == ()
    assert [p.code for p in lookup.catalogue.products if p.nets_revenue] == ["LN034"]  # "verrekend met het tarief"


def test_the_catalogue_has_exactly_the_products_of_the_sources(lookup: Lookup) -> None:
    assert sorted(lookup.products) == sorted([*_ocs_rows(), *_participation_rows()])


# --- prices on a day -------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "day", "amount"), [
    ("LN017", "2018-01-01", "47.04"), ("LN017", "2019-06-30", "47.04"), ("LN017", "2019-07-01", "48.60"),
    ("LN018", "2019-06-30", "69.64"), ("LN018", "2019-07-01", "72.00"), ("ln018", "2030-12-31", "72.00"),
    ("LN034", "2021-03-01", "12.00"), ("LN031", "2021-01-01", "50.40"), ("LN033", "2024-07-01", "95.40"),
    ("LN035", "2021-01-01", "50.40"), ("LN036", "2022-02-28", "75.60"), ("LN037", "2021-01-01", "95.40"),
])
def test_price_on_a_day(lookup: Lookup, code: str, day: str, amount: str) -> None:
    quote = lookup.price(code, dt.date.fromisoformat(day))
    assert quote is not None and quote.amount == Decimal(amount)


@pytest.mark.parametrize(("code", "day"), [
    ("LN017", "2017-12-31"), ("LN031", "2020-12-31"), ("LN034", "2020-12-31"), ("LN999", "2021-01-01"),
])
def test_no_price_before_the_first_period_or_for_an_unknown_code(lookup: Lookup, code: str, day: str) -> None:
    assert lookup.price(code, dt.date.fromisoformat(day)) is None


def test_no_price_in_a_gap_or_after_an_until() -> None:
    result = load_catalogue(FIXTURES / "rule_gap.yaml")  # 2018-01-01..2019-05-31, then from 2019-07-01
    assert result.catalogue is not None
    lookup = Lookup(result.catalogue)
    days = ["2019-05-31", "2019-06-01", "2019-06-30", "2019-07-01"]
    assert [q.amount if (q := lookup.price("LN017", dt.date.fromisoformat(d))) else None for d in days] == [
        Decimal("47.04"), None, None, Decimal("48.60")]
    text = (FIXTURES / "valid.yaml").read_text().replace("      - from: 2019-07-01\n",
                                                         "      - from: 2019-07-01\n        until: 2020-12-31\n")
    ended = parse_catalogue(text, "ended.yaml")
    assert ended.catalogue is not None, ended.problems
    lookup = Lookup(ended.catalogue)
    assert lookup.price("LN017", dt.date(2020, 12, 31)) is not None
    assert lookup.price("LN017", dt.date(2021, 1, 1)) is None


def test_a_quote_says_where_its_price_comes_from(lookup: Lookup) -> None:
    quote = lookup.price("LN017", dt.date(2019, 6, 30))
    assert quote is not None
    assert (quote.start, quote.until, quote.source) == (dt.date(2018, 1, 1), dt.date(2019, 6, 30), "MGR2018.1")


# --- municipalities --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [
    ("Venlo", "Venlo"), ("venlo", "Venlo"), ("  VENLO ", "Venlo"), ("Bergen (L.)", "Bergen (L.)"),
    ("bergen", "Bergen (L.)"), ("BERGEN (L)", "Bergen (L.)"), ("Bergen (Limburg)", "Bergen (L.)"),
    ("peel  en maas", "Peel en Maas"), ("0893", "Bergen (L.)"), ("893", "Bergen (L.)"), ("GM0893", "Bergen (L.)"),
    ("gm893", "Bergen (L.)"), ("889", "Beesel"), ("0889", "Beesel"), ("GM0889", "Beesel"), ("GM 0889", "Beesel"),
    ("0983", "Venlo"), ("1894", "Peel en Maas"),
])
def test_municipality_by_name_or_code(lookup: Lookup, text: str, name: str) -> None:
    found = lookup.municipality(text)
    assert found is not None and found.name == name


@pytest.mark.parametrize("text", ["Maastricht", "", "GM", "0000", "8890", "GM08899", "Bergen op Zoom", "0363"])
def test_unknown_municipalities(lookup: Lookup, text: str) -> None:
    assert lookup.municipality(text) is None


def test_exclusions_follow_not_for(lookup: Lookup) -> None:
    venlo, beesel = lookup.municipality("Venlo"), lookup.municipality("Beesel")
    assert venlo is not None and beesel is not None
    assert lookup.excluded(lookup.products["LN017"], venlo)
    assert not lookup.excluded(lookup.products["LN017"], beesel)
    assert not lookup.excluded(lookup.products["LN031"], venlo)


def test_memberships(lookup: Lookup) -> None:
    weert, venray = lookup.municipality("Weert"), lookup.municipality("Venray")
    assert weert is not None and venray is not None
    assert not weert.is_member_on(dt.date(2024, 6, 30)) and weert.is_member_on(dt.date(2024, 7, 1))
    assert venray.is_member_on(dt.date(2018, 1, 1))


# --- the broken copy: all problems in one run, each with its line ----------------------------------

def test_a_broken_copy_reports_every_problem_with_its_line() -> None:
    result = load_catalogue(FIXTURES / "broken.yaml")
    assert result.catalogue is None
    assert [(p.line, p.message) for p in result.problems] == [
        (106, "LN017: period from 2019-07-01 overlaps the one before, which runs until 2019-07-15"),
        (126, "LN018: price 72.005 has more than two decimals"),
        (195, "LN034: price -12.00 must be more than zero"),
        (227, "product LN037 is defined twice (first on line 217)"),
    ]


# --- JSON Schema -----------------------------------------------------------------------------------

def test_the_schema_file_is_up_to_date() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == catalogue_schema(), "run `mgr schema > docs/tariffs.schema.json`"


def test_the_shipped_file_points_to_the_schema() -> None:
    first = TARIFFS.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../docs/tariffs.schema.json"
    assert (TARIFFS.parent / "../docs/tariffs.schema.json").resolve() == SCHEMA_FILE.resolve()


def _as_json_data(value: Any) -> Any:
    """What an editor's YAML language server sees: dates as strings, numbers as numbers."""
    if isinstance(value, dict):
        return {key: _as_json_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json_data(item) for item in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def _shipped_document() -> Any:
    return _as_json_data(load_yaml(TARIFFS.read_text(), str(TARIFFS)).value)


def test_the_schema_accepts_the_shipped_file() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(catalogue_schema(), format_checker=jsonschema.FormatChecker())
    assert [error.message for error in validator.iter_errors(_shipped_document())] == []
    broken = _shipped_document()
    broken["products"][0]["colour"] = "blue"
    broken["products"][1]["prices"][0]["amount"] = Decimal("-1")
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_schema_knows_every_key_of_the_shipped_file() -> None:
    """The same check by hand (no jsonschema needed): every key the file uses is a property of its object."""
    schema = catalogue_schema()
    defs = schema["$defs"]

    def keys(definition: dict[str, Any]) -> set[str]:
        assert definition.get("additionalProperties") is False
        return set(definition["properties"])

    document = _shipped_document()
    assert set(document) <= keys(schema) and set(schema["required"]) <= set(document)
    for source in document["sources"].values():
        assert set(source) <= keys(defs["Source"])
    for municipality in document["municipalities"]:
        assert set(municipality) <= keys(defs["Municipality"])
        for membership in municipality["memberships"]:
            assert set(membership) <= keys(defs["Membership"])
    for product in document["products"]:
        assert set(defs["Product"]["required"]) <= set(product) <= keys(defs["Product"])
        assert set(product["vat"]) <= keys(defs["Vat"])
        for price in product["prices"]:
            assert set(defs["Price"]["required"]) <= set(price) <= keys(defs["Price"])
