"""Safe YAML: hostile and odd documents come back as problems with a line, never as an exception."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import TARIFFS
from hypothesis import given, settings
from hypothesis import strategies as st

from mgr_tariffs.catalogue.loader import parse_catalogue
from mgr_tariffs.io import yamlsafe
from mgr_tariffs.io.yamlsafe import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_yaml, read_text
from mgr_tariffs.problems import InputError

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def problems_of(text: str) -> list[str]:
    return [f"{p.line}: {p.message}" for p in load_yaml(text, "t.yaml").problems]


def test_values_keep_their_lines_and_numbers_stay_exact() -> None:
    located = load_yaml("a:\n  b: 48.60\n  c: [0.1, 7]\nd: 2019-07-01\ne: yes\nf: ~\n", "t.yaml")
    assert located.problems == []
    assert located.value == {"a": {"b": Decimal("48.60"), "c": [Decimal("0.1"), 7]}, "d": dt.date(2019, 7, 1),
                             "e": True, "f": None}
    assert str(located.value["a"]["b"]) == "48.60"  # read from the text: the trailing zero survives
    assert located.line_of(("a", "c", 1)) == 3
    assert located.line_of(("a", "b", "missing", 4)) == 2


def test_duplicate_keys_are_found_at_every_depth() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\n  d: [{e: 1, e: 2}]\na: 3\n"
    assert problems_of(text) == [
        "4: duplicate key 'c' (first on line 3)",
        "5: duplicate key 'e' (first on line 5)",
        "6: duplicate key 'a' (first on line 1)",
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("a: !!python/object:os.system echo\n", "1: tag !!python/object:os.system is not allowed"),
    ("a:\n  - !!python/object/apply:os.system [echo hi]\n", "2: tag !!python/object/apply:os.system is not allowed"),
    ("a: !!python/name:builtins.eval ''\n", "1: tag !!python/name:builtins.eval is not allowed"),
    ("a: !!binary aGVsbG8=\n", "1: tag !!binary is not allowed"),
    ("a: !!set {x, y}\n", "1: tag !!set is not allowed"),
    ("a: !custom 12\n", "1: tag !custom is not allowed"),
    ("!!python/object:os.system key: v\n", "1: tag !!python/object:os.system is not allowed"),
])
def test_only_standard_tags_are_accepted(text: str, message: str) -> None:
    assert problems_of(text) == [message]


def test_merge_and_complex_keys_are_refused() -> None:
    text = "base: &b {x: 1}\nitem:\n  <<: *b\n  ? [1, 2]\n  : v\n"
    assert problems_of(text) == ["3: keys must be plain text (no merge keys or complex keys)",
                                 "4: keys must be plain text (no merge keys or complex keys)"]


def test_billion_laughs_is_stopped_by_the_node_budget() -> None:
    located = load_yaml(BILLION_LAUGHS, "bomb.yaml")
    assert located.value is None
    assert [p.message for p in located.problems] == [
        f"the document expands to more than {MAX_NODES:,} values (alias bomb?)"]


def test_an_alias_used_a_few_times_is_fine() -> None:
    located = load_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", "t.yaml")
    assert located.problems == [] and located.value == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}


@pytest.mark.parametrize("text", [
    "[" * 1000 + "]" * 1000,  # 1000 levels: past Python's recursion limit if the composer were not bounded
    "".join(f"{'  ' * depth}k{depth}:\n" for depth in range(200)) + "  " * 200 + "x\n",
], ids=["flow", "block"])
def test_deep_nesting_is_refused_before_the_stack_runs_out(text: str) -> None:
    problems = load_yaml(text, "deep.yaml").problems
    assert [p.message for p in problems] == [f"the document is nested more than {MAX_DEPTH} levels deep"]
    assert problems[0].line is not None


def test_a_recursive_alias_cannot_loop() -> None:
    problems = load_yaml("a: &a [*a]\n", "loop.yaml").problems
    assert len(problems) == 1 and "nested more than" in problems[0].message


@pytest.mark.parametrize(("text", "message"), [
    ("", "1: the file is empty"),
    ("# only a comment\n\n", "1: the file is empty"),
    ("a: 1\n---\nb: 2\n", "1: the file is 2 documents; exactly one is expected"),
    ("a: [1, 2\nb: 3\n", "2: not valid YAML: expected ',' or ']', but got ':'"),
    ("a:\n\tb: 1\n", "2: not valid YAML: found character '\\t' that cannot start any token"),
    ("a: 1\nb: \x07\n", "2: not valid YAML: character #x0007 is not allowed (special characters are not allowed)"),
    ("a: *nowhere\n", "1: not valid YAML: found undefined alias 'nowhere'"),
])
def test_broken_documents_become_one_problem(text: str, message: str) -> None:
    assert problems_of(text) == [message]


@pytest.mark.parametrize(("text", "message"), [
    ("a: 0777\n", "1: '0777' is not a valid int: write a plain decimal number, or quote the value if it is text"),
    ("a: 0x1F\n", "1: '0x1F' is not a valid int: write a plain decimal number, or quote the value if it is text"),
    ("a: 1:30\n", "1: '1:30' is not a valid int: write a plain decimal number, or quote the value if it is text"),
    ("a: .inf\n", "1: '.inf' is not a valid float: write a finite number"),
    ("a: .nan\n", "1: '.nan' is not a valid float: write a finite number"),
])
def test_numbers_yaml_would_misread_are_refused(text: str, message: str) -> None:
    assert problems_of(text) == [message]


def test_text_that_only_looks_like_a_date_stays_text() -> None:
    assert load_yaml("a: 2019-02-30\n", "t.yaml").value == {"a": "2019-02-30"}


def test_oversized_text_is_refused() -> None:
    text = "a: " + "x" * MAX_BYTES
    assert problems_of(text) == [f"1: the text is {len(text):,} bytes; at most {MAX_BYTES:,} are accepted"]


# --- files that cannot be read as text: InputError (exit 2 in the CLI) -----------------------------

def test_a_3_mb_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.yaml"
    path.write_bytes(b"# " + b"x" * (3 * 1024 * 1024) + b"\n")
    with pytest.raises(InputError, match=r"file is 3,145,731 bytes; at most 2,097,152 are accepted"):
        read_text(path)


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file, not text (NUL byte at offset 8)"),
    ("naam: Cliëntondersteuning\n".encode("cp1252"), "not UTF-8 text (invalid byte at offset 9)"),
])
def test_binary_and_non_utf8_files_are_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "tariffs.yaml"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_text(path)
    assert caught.value.message == message


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.yaml"
    path.write_bytes("\ufeffnaam: Beesel\n".encode())
    assert read_text(path) == "naam: Beesel\n"


def test_missing_files_and_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_text(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="not a file"):
        read_text(tmp_path)


# --- the same hostile documents as a catalogue: problems, no catalogue ------------------------------

@pytest.mark.parametrize(("text", "message"), [
    (BILLION_LAUGHS, f"the document expands to more than {MAX_NODES:,} values (alias bomb?)"),
    ("", "the file is empty"),
    ("- a\n- b\n", "the file must be a mapping with the sections sources, categories, municipalities, products, "
                   "not a list"),
    ("---\n", "the file must be a mapping with the sections sources, categories, municipalities, products, "
              "not an empty document"),
    ("48.60\n", "the file must be a mapping with the sections sources, categories, municipalities, products, "
                "not the single value '48.60'"),
    ("version: 1\n---\nversion: 1\n", "the file is 2 documents; exactly one is expected"),
    ("!!python/object/apply:os.system ['true']\n", "tag !!python/object/apply:os.system is not allowed"),
], ids=["alias-bomb", "empty", "list", "null", "scalar", "two-documents", "python-tag"])
def test_hostile_catalogues_fail_cleanly(text: str, message: str) -> None:
    result = parse_catalogue(text, "t.yaml")
    assert result.catalogue is None and not result.ok
    assert message in [p.message for p in result.problems]


SAMPLES = [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "a: &x {p: 1, q: [1, 2]}\nb: *x\nc: *x\n",
    "a: 1\na: 2\nb: {x: 1, x: 2}\n",
    "? [1, 2]\n: v\n<<: {a: 1}\nk: v\n",
    "a: !!python/object:os.system x\nb: !custom 3\nc: !!str 12\nd: '1'\n",
    "d: 2019-07-01\nf: 48.60\ni: 0777\nn: ~\nb: yes\ninf: .inf\nbad: 2019-02-30\n",
    "list:\n  - &item {code: LN017}\n  - *item\n  - [*item, *item]\n",
    "s: |\n  two\n  lines\nt: >-\n  folded\n  text\n",
    "bad: !!python/name:os.system [1]\nok: 1\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_libyaml_and_the_pure_python_parser_build_the_same(text: str) -> None:
    """The two readers of :func:`load_yaml` are twins: the same values, lines and problems."""
    fast = yamlsafe._load_fast(text, "f.yaml")
    slow = yamlsafe._load_slow(text, "f.yaml")
    assert fast is not None
    assert (fast.value, fast.lines, fast.problems) == (slow.value, slow.lines, slow.problems)


def test_the_shipped_catalogue_reads_the_same_with_both_parsers() -> None:
    text = TARIFFS.read_text(encoding="utf-8")
    fast = yamlsafe._load_fast(text, "t.yaml")
    slow = yamlsafe._load_slow(text, "t.yaml")
    assert fast is not None and (fast.value, fast.lines, fast.problems) == (slow.value, slow.lines, slow.problems)


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.one_of(st.integers(-10**6, 10**6), st.text(max_size=8), st.booleans(), st.none(),
                              st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1))),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=4), max_leaves=20))
def test_both_parsers_agree_on_random_documents(value: object) -> None:
    text = yaml.safe_dump({"root": value}, allow_unicode=True)
    fast = yamlsafe._load_fast(text, "r.yaml")
    slow = yamlsafe._load_slow(text, "r.yaml")
    assert fast is not None and (fast.value, fast.lines, fast.problems) == (slow.value, slow.lines, slow.problems)
