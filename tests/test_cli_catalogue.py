"""The catalogue commands: help, the examples of docs/catalogue.md, exit codes and the issue's checks."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mgr_tariffs.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "catalogue.md"
BROKEN = "tests/data/catalogue/broken.yaml"
COMMANDS = ("validate", "schema", "price", "tariffs")


@pytest.fixture(autouse=True)
def _in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("MGR_TARIFFS", raising=False)


def mgr(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str) -> None:
    result = mgr(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: mgr {command}" in result.output


def test_the_commands_are_listed() -> None:
    result = mgr("--help")
    assert result.exit_code == 0
    assert all(command in result.output for command in COMMANDS)


# --- every console example of docs/catalogue.md, run as written ------------------------------------

def doc_examples() -> list[tuple[str, int, str]]:
    """``$ mgr ...`` lines in ```console blocks: command, exit code (``# exit N``, else 0), output."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.strip():
                command, _, output = chunk.partition("\n")
                code = re.search(r"#\s*exit (\d)", command)
                examples.append((command, int(code[1]) if code else 0, output))
    return examples


def test_the_doc_has_examples_of_every_command() -> None:
    commands = {shlex.split(command, comments=True)[2] for command, _, _ in doc_examples()}
    assert commands == {"validate", "price", "tariffs"}  # schema's output is the schema file, tested below


@pytest.mark.parametrize(("command", "code", "output"), doc_examples(), ids=lambda v: str(v)[:60])
def test_doc_example(command: str, code: int, output: str) -> None:
    words = shlex.split(command, comments=True)
    assert words[:2] == ["$", "mgr"]
    result = mgr(*words[2:])
    assert result.exit_code == code, result.output
    assert [line.rstrip() for line in result.output.splitlines()] == [line.rstrip() for line in output.splitlines()]


# --- the issue's done-when checks ----------------------------------------------------------------

@pytest.mark.parametrize(("code", "day", "shown"), [
    ("LN017", "2019-06-30", "€ 47,04"), ("LN017", "2019-07-01", "€ 48,60"),
    ("LN018", "2019-06-30", "€ 69,64"), ("LN018", "2019-07-01", "€ 72,00"), ("LN034", "2021-03-01", "€ 12,00"),
])
def test_price_on_the_issue_dates(code: str, day: str, shown: str) -> None:
    result = mgr("price", code, "--on", day)
    assert result.exit_code == 0
    assert f": {shown} per uur on {day} " in result.stdout


def test_no_price_before_the_first_period_exits_1_with_a_clear_message() -> None:
    result = mgr("price", "LN017", "--on", "2017-12-31")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "LN017 has no price on 2017-12-31: its first tariff (€ 47,04) applies from 2018-01-01" in result.stderr


def test_validate_the_shipped_file() -> None:
    assert mgr("validate", "data/tariffs.yaml").exit_code == 0
    assert mgr("validate").exit_code == 0


def test_validate_a_broken_copy_reports_all_four_problems_in_one_run() -> None:
    result = mgr("validate", BROKEN)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:-1] == [
        f"{BROKEN}:106: error: LN017: period from 2019-07-01 overlaps the one before, which runs until 2019-07-15",
        f"{BROKEN}:126: error: LN018: price 72.005 has more than two decimals",
        f"{BROKEN}:195: error: LN034: price -12.00 must be more than zero",
        f"{BROKEN}:227: error: product LN037 is defined twice (first on line 217)",
    ]


def test_validate_several_files_reports_each_and_fails_on_any() -> None:
    result = mgr("validate", "data/tariffs.yaml", BROKEN)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 files checked: 4 errors, 0 warnings: invalid"


def test_validate_json(tmp_path: Path) -> None:
    result = mgr("validate", "--format", "json", BROKEN)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["files"], report["errors"], report["warnings"], report["ok"]) == (1, 4, 0, False)
    assert [(p["line"], p["severity"]) for p in report["problems"]] == [(106, "error"), (126, "error"),
                                                                        (195, "error"), (227, "error")]


@pytest.mark.parametrize("make", ["missing", "directory", "binary", "latin1"])
def test_validate_unreadable_files_exit_2(tmp_path: Path, make: str) -> None:
    path = tmp_path / "tariffs.yaml"
    if make == "directory":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(b"\x00\x01\x02")
    elif make == "latin1":
        path.write_bytes("name: Cliëntondersteuning\n".encode("latin-1"))
    result = mgr("validate", "data/tariffs.yaml", str(path))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{path}: error: ")


def test_validate_hostile_content_exits_1_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.yaml"
    path.write_text("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(6)))
    result = mgr("validate", str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback
    assert "alias bomb" in result.stdout


def test_strict_makes_warnings_fail() -> None:
    gap = "tests/data/catalogue/rule_gap.yaml"
    assert mgr("validate", gap).exit_code == 0
    assert mgr("validate", "--strict", gap).exit_code == 1


def test_price_and_tariffs_refuse_an_invalid_catalogue() -> None:
    for args in (["price", "LN017", "--on", "2019-07-01"], ["tariffs"]):
        result = mgr(*args, "--tariffs", BROKEN)
        assert result.exit_code == 1
        assert f"{BROKEN}:126: error: LN018: price 72.005 has more than two decimals" in result.stderr
        assert f"run `mgr validate {BROKEN}`" in result.stderr


def test_price_with_a_missing_catalogue_exits_2() -> None:
    result = mgr("price", "LN017", "--tariffs", "data/missing.yaml")
    assert result.exit_code == 2
    assert "data/missing.yaml: no such file" in result.stderr


def test_price_without_a_date_uses_today() -> None:
    result = mgr("price", "LN031", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["price"] == "50.40"


def test_schema_is_the_documented_file() -> None:
    result = mgr("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((ROOT / "docs" / "tariffs.schema.json").read_text())


def test_tariffs_lists_every_dated_price_in_each_format() -> None:
    rows = json.loads(mgr("tariffs", "--format", "json").stdout)
    assert [(r["code"], r["price"], r["from"], r["until"]) for r in rows[:4]] == [
        ("LN017", "47.04", "2018-01-01", "2019-06-30"), ("LN017", "48.60", "2019-07-01", None),
        ("LN018", "69.64", "2018-01-01", "2019-06-30"), ("LN018", "72.00", "2019-07-01", None)]
    assert len(rows) == 11
    csv_lines = mgr("tariffs", "--format", "csv").stdout.splitlines()
    assert len(csv_lines) == 12 and csv_lines[0].startswith("code,name,category,unit,price,from,until")
    table = mgr("tariffs").stdout
    assert table.count("LN017") == 2 and "€ 47,04" in table and "2019-06-30" in table


def test_tariffs_on_a_date_before_any_price_is_empty() -> None:
    result = mgr("tariffs", "--on", "2017-01-01", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


# --- pre-commit --------------------------------------------------------------------------------

def test_pre_commit_hook_definition() -> None:
    yaml = pytest.importorskip("yaml")
    hook, history = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"], hook["files"]) == (
        "mgr-validate", "mgr validate", "python", r"tariffs.*\.ya?ml$")
    assert (history["id"], history["entry"], history["language"], history["files"]) == (
        "mgr-validate-history", "mgr validate --against git:HEAD", "python", r"tariffs.*\.ya?ml$")
    pattern = re.compile(hook["files"])
    assert pattern.search("data/tariffs.yaml") and pattern.search("config/tariffs-2026.yml")
    assert not pattern.search("docs/tariffs.schema.json") and not pattern.search("data/parties.yaml")


def test_pre_commit_config_for_contributors() -> None:
    yaml = pytest.importorskip("yaml")
    (repo,) = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
    assert repo["repo"] == "local"
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "mypy", "mgr-validate", "mgr-validate-history"}
    assert hooks["mgr-validate-history"]["entry"] == "mgr validate --against git:HEAD"
    assert all(hook["language"] == "system" for hook in hooks.values())
    assert hooks["mgr-validate"]["entry"] == "mgr validate"
    assert re.search(hooks["mgr-validate"]["files"], "data/tariffs.yaml")


# --- the README's examples of these commands ---------------------------------------------------------

def readme_examples() -> list[tuple[list[str], list[str] | None]]:
    """Every ``mgr validate|schema|price|tariffs`` line in the README's code blocks, with the output it shows.

    A line with a ``$`` prompt is followed by its output up to the next prompt; a line without one shows none.
    """
    readme = ROOT / "README.md"
    if not readme.exists():
        return []
    examples: list[tuple[list[str], list[str] | None]] = []
    for block in re.findall(r"```(?:sh|console|bash)\n(.*?)```", readme.read_text(), re.S):
        lines = block.replace("\\\n", " ").splitlines()
        for index, line in enumerate(lines):
            words = shlex.split(line.removeprefix("$ "), comments=True)
            if words[:1] != ["mgr"] or len(words) < 2 or words[1] not in COMMANDS:
                continue
            output = None
            if line.startswith("$ "):
                following = lines[index + 1:]
                ends = [i for i, text in enumerate(following) if text.startswith("$ ")]
                output = following[:ends[0] if ends else len(following)]
            examples.append((words[1:], output))
    return examples


def test_the_readme_shows_these_commands() -> None:
    if not (ROOT / "README.md").exists():
        pytest.skip("no README.md yet")
    assert {args[0] for args, _ in readme_examples()} >= {"validate", "price"}


@pytest.mark.parametrize(("args", "output"), readme_examples(), ids=lambda v: " ".join(v) if v else "")
def test_readme_example(args: list[str], output: list[str] | None) -> None:
    result = mgr(*args)
    missing = [arg for arg in args[1:] if arg.endswith((".yaml", ".yml")) and not (ROOT / arg).exists()]
    if missing:  # an example naming a file of the reader's own: refused as unreadable, like any missing file
        assert result.exit_code == 2
        assert f"{missing[0]}: error: no such file" in result.stdout
        return
    if output:
        assert [line.rstrip() for line in result.output.splitlines()] == [line.rstrip() for line in output]
    assert result.exit_code == (1 if output and output[0].startswith("mgr: ") else 0), result.output
