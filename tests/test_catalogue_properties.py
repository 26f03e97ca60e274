"""Properties: ``parse_catalogue`` never raises; whatever it is given, it answers with problems."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgr_tariffs.catalogue.loader import CatalogueResult, parse_catalogue

TARIFFS = Path(__file__).resolve().parent.parent / "data" / "tariffs.yaml"
SHIPPED = TARIFFS.read_text().splitlines(keepends=True)
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a new line
FRAGMENTS = [
    "version: 1\n", "products:\n", "  - code: LN017\n", "    prices:\n", "      - from: 2019-07-01\n",
    "        amount: ", "48.60", "-1", "1e400", ".inf", "0777", "2019-02-30", "\n", "  ", "- ", ": ", "&a ", "*a",
    "[", "]", "{", "}", ", ", "!!python/object:os.system ", "!!binary ", "<<: ", "? ", "---\n", "'", '"', "#",
    "municipalities:\n", "  - code: \"0889\"\n", "    name: Bergen (L.)\n", "not_for: [Venlo]\n", "~", "yes",
]


def check(result: CatalogueResult, text: str) -> None:
    assert isinstance(result, CatalogueResult)
    assert all(p.file == "fuzz.yaml" for p in result.problems)
    lines = len(LINE_BREAK.findall(text)) + 1
    assert all(p.line is None or 1 <= p.line <= lines for p in result.problems)
    if result.catalogue is None:
        assert any(p.is_error for p in result.problems)
    else:
        assert result.ok


@settings(deadline=None, max_examples=200)
@given(st.text())
def test_arbitrary_text_gives_problems_not_exceptions(text: str) -> None:
    check(parse_catalogue(text, "fuzz.yaml"), text)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_yaml_like_fragments_give_problems_not_exceptions(parts: list[str]) -> None:
    text = "".join(parts)
    check(parse_catalogue(text, "fuzz.yaml"), text)


@st.composite
def mutated_catalogue(draw: st.DrawFn) -> str:
    """The shipped file with a few lines deleted, duplicated, moved or replaced by random text."""
    lines = list(SHIPPED)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "move", "edit"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "replace":
            lines[index] = draw(st.text(max_size=30)) + "\n"
        elif action == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(index))
        else:
            cut = draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:cut] + draw(st.sampled_from(FRAGMENTS)) + lines[index][cut:]
    return "".join(lines)


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_catalogue())
def test_a_damaged_catalogue_gives_problems_not_exceptions(text: str) -> None:
    check(parse_catalogue(text, "fuzz.yaml"), text)
