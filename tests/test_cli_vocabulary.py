"""One vocabulary across every command (docs/cli.md), checked by walking the whole command tree."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import ROOT
from typer.testing import CliRunner

from mgr_tariffs.cli import app
from mgr_tariffs.cli.examples import EXAMPLES

PRINTED = {"text", "json", "csv", "table"}
DOCUMENTS = {"bill", "credit", "ledger show"}
ENV = {"--tariffs": "MGR_TARIFFS", "--parties": "MGR_PARTIES", "--ledger": "MGR_LEDGER"}
DATES = {"--today", "--on", "--invoice-date", "--as-of", "--from"}
FILE_OUT = {"report"}  # a report is one file: its --out names it


def commands(group: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
            if command.callback is not None and command.invoke_without_command:
                yield " ".join((*path, name)), command
        else:
            yield " ".join((*path, name)), command


ALL = sorted(commands(), key=lambda item: item[0])


def options(command: Any) -> dict[str, Any]:
    return {opt: param for param in command.params for opt in getattr(param, "opts", []) if opt.startswith("--")
            and not getattr(param, "hidden", False)}


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_command_follows_the_vocabulary(name: str, command: Any) -> None:
    found = options(command)
    if "--format" in found:
        choices = set(re.findall(r"[a-z]+", str(found["--format"].metavar or "")))
        descriptor = getattr(found["--format"], "type_descriptor", None)
        choices |= {str(getattr(c, "value", c)) for c in (getattr(descriptor, "choices", None) or ())}
        assert choices and choices <= PRINTED, f"{name}: --format is what is printed ({choices})"
    assert ("--documents" in found) == (name in DOCUMENTS), f"{name}: --documents is for commands writing documents"
    if "--out" in found and name not in FILE_OUT:
        assert found["--out"].metavar in ("DIR", None) or "DIR" in str(found["--out"].metavar), name
    for option, variable in ENV.items():
        if option in found:
            assert found[option].envvar == variable or (option == "--ledger" and name.startswith(("ledger", "credit",
                                                                                              "check", "report"))), (
                f"{name}: {option} honours ${variable}")
    assert "--json" not in found and "--date" not in found, f"{name}: --format json and --invoice-date, not aliases"


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_command_has_short_help_with_real_examples(name: str, command: Any) -> None:
    run = CliRunner().invoke(app, [*name.split(), "-h"], terminal_width=200)
    assert run.exit_code == 0, run.output
    examples = [line.strip() for line in run.output.splitlines() if line.strip().startswith(f"mgr {name}")]
    assert len(examples) >= 2, f"{name}: the help shows two or three examples\n{run.output}"


def test_the_examples_in_help_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example that only reads runs as written from the project root (exit 0, or 1 for the planted errors
    of the example invoice); the ones that write run in a fresh folder and write what they say."""
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    for name, lines in EXAMPLES.items():
        for example in lines:
            if any(w in example for w in (">", "facturen/", "HASH", "git:", "2026-000001", "--from 2027")):
                continue  # a redirect, a folder of an earlier run, a noted hash, a ledger or history that is not here
            words = shlex.split(example)[1:]
            if "--out" in words:
                where = words.index("--out") + 1
                words[where] = str(tmp_path / name.replace(" ", "-") / words[where])
            if name == "template":
                words[1] = str(tmp_path / words[1])
            run = runner.invoke(app, words)
            assert run.exit_code in (0, 1), f"{example}: exit {run.exit_code}\n{run.output}"
            assert "Traceback" not in run.output
