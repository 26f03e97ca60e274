"""One YAML file per rule in tests/data/catalogue/: each ends with the problems it must produce.

A fixture lists its expectations as trailing comments, ``# expect: LINE: SEVERITY: MESSAGE`` (or
``# expect: no problems``), so the input and the verdict are read side by side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mgr_tariffs.catalogue.loader import load_catalogue
from mgr_tariffs.problems import Severity

FIXTURES = Path(__file__).parent / "data" / "catalogue"
RULE_FILES = sorted(path for path in FIXTURES.glob("*.yaml") if path.name != "broken.yaml")


def expected(path: Path) -> list[str]:
    lines = [line.removeprefix("# expect: ") for line in path.read_text().splitlines() if line.startswith("# expect: ")]
    return [] if lines == ["no problems"] else lines


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_rule_fixture(path: Path) -> None:
    assert expected(path) or path.stem in {"valid", "rule_gap"}, "a rule fixture must expect its problem"
    result = load_catalogue(path)
    assert [f"{p.line}: {p.severity.value}: {p.message}" for p in result.problems] == expected(path)
    assert all(p.file == str(path) for p in result.problems)
    assert (result.catalogue is not None) == result.ok == (not any(p.is_error for p in result.problems))


def test_every_rule_has_a_fixture() -> None:
    names = {path.stem for path in RULE_FILES}
    for rule in ("duplicate_key", "duplicate_product", "duplicate_category", "duplicate_municipality",
                 "unknown_unit", "unknown_category", "unknown_source", "restriction_non_member",
                 "price_not_positive", "price_decimals", "periods_out_of_order", "periods_overlap",
                 "periods_open_overlap", "duplicate_start", "end_before_start", "gap", "month_start", "indexation",
                 "iwmo_mapping"):
        assert f"rule_{rule}" in names


def test_a_gap_is_only_a_warning() -> None:
    result = load_catalogue(FIXTURES / "rule_gap.yaml")
    assert result.ok and result.catalogue is not None
    assert [p.severity for p in result.problems] == [Severity.WARNING]
