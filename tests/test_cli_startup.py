"""Start-up: ``mgr --help`` lists every command from the table in ``mgr_tariffs.cli`` without importing one,
a command's module is imported when that command runs, and ``mgr --version`` needs no typer."""

from __future__ import annotations

import inspect
import json
import os
import pkgutil
import subprocess
import sys
from typing import TypedDict

import pytest
import typer
from conftest import ROOT
from typer.core import TyperGroup
from typer.testing import CliRunner

import mgr_tariffs.cli
from mgr_tariffs.cli import COMMANDS, LazyGroup, app, load_command

HEAVY = ("polars.", "pydantic", "duckdb", "mgr_tariffs.cli.cmd_")
"""What a short command should not import (``polars.``: a module of Polars, so Polars was loaded)."""


class Run(TypedDict):
    code: int
    heavy: list[str]
    typer: bool
    collecting: bool
    stdout: str


def imported_after(args: list[str]) -> Run:
    """Run ``mgr ARGS`` in a fresh interpreter as the console script does: its exit code, what it printed and
    which heavy modules it had imported when it ended."""
    probe = (
        "import gc, sys\n"
        "from mgr_tariffs import entry\n"
        "def end(code):\n"
        "    import json\n"
        f"    heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))\n"
        "    sys.stdout.flush()\n"
        "    sys.__stderr__.write(json.dumps({'code': code, 'heavy': heavy, 'typer': 'typer' in sys.modules,\n"
        "                                     'collecting': gc.isenabled()}))\n"
        "entry.end = end\n"
        f"sys.argv = ['mgr', *{args!r}]\n"
        "entry.main()\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False,
                         env={**os.environ, "COLUMNS": "80"})
    found = json.loads(run.stderr.splitlines()[-1])
    return Run(code=found["code"], heavy=found["heavy"], typer=found["typer"], collecting=found["collecting"],
               stdout=run.stdout)


def registered_order() -> list[str]:
    """The commands as typer listed them when every ``cmd_*`` module registered on one app, in module order:
    the plain commands first, then the groups."""
    names = [name for info in sorted(pkgutil.iter_modules(mgr_tariffs.cli.__path__), key=lambda m: m.name)
             for name, entry in COMMANDS.items() if entry.modules[-1] == info.name]
    plain = [name for name in names if not isinstance(load_command(name), TyperGroup)]
    return plain + [name for name in names if name not in plain]


def test_the_table_lists_every_registered_command_in_the_order_help_had() -> None:
    for info in pkgutil.iter_modules(mgr_tariffs.cli.__path__):
        if info.name.startswith("cmd_"):
            assert any(entry.modules[-1] == info.name for entry in COMMANDS.values()), info.name
    assert list(COMMANDS) == registered_order()
    for name, entry in COMMANDS.items():
        holder = mgr_tariffs.cli._registered(entry.modules[-1])
        shown = {c.name for c in holder.registered_commands} | {g.name for g in holder.registered_groups}
        assert name in shown, f"{entry.modules[-1]} registers {name}"


def test_each_listed_summary_is_the_first_paragraph_of_the_commands_help() -> None:
    for name, entry in COMMANDS.items():
        command = load_command(name)
        first = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0].strip()
        assert entry.summary == first, f"{name}: COMMANDS says {entry.summary!r}, its help {first!r}"


def test_help_lists_the_same_as_with_every_command_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(typer.main.get_command(app), LazyGroup)
    lazy = CliRunner().invoke(app, ["--help"], terminal_width=100)
    monkeypatch.setattr(LazyGroup, "format_help", TyperGroup.format_help)  # lists the real commands
    real = CliRunner().invoke(app, ["--help"], terminal_width=100)
    assert lazy.exit_code == real.exit_code == 0
    assert lazy.output == real.output
    for name in COMMANDS:
        assert f" {name} " in lazy.output


def test_help_and_no_arguments_import_no_command() -> None:
    for args in (["--help"], []):
        run = imported_after(args)
        assert run["heavy"] == [], args
        assert "Usage:" in run["stdout"] and "subsidy" in run["stdout"]


def test_a_command_imports_its_own_module_only_and_runs_with_the_garbage_collector_on() -> None:
    run = imported_after(["price", "LN017", "--on", "2019-06-30"])
    assert run["code"] == 0
    assert run["collecting"], "entry.py turns the collector off for the imports only"
    modules = [m for m in run["heavy"] if m.startswith("mgr_tariffs.cli.cmd_")]
    assert modules == ["mgr_tariffs.cli.cmd_catalogue"]


def test_validating_a_catalogue_loads_no_polars() -> None:
    run = imported_after(["validate", "data/tariffs.yaml"])
    assert run["code"] == 0
    assert [m for m in run["heavy"] if m.startswith("polars")] == []


def test_version_is_answered_without_typer() -> None:
    run = imported_after(["--version"])
    assert (run["code"], run["stdout"], run["typer"]) == (0, "mgr-tariffs 0.1.0\n", False)
    assert CliRunner().invoke(app, ["--version"]).output == "mgr-tariffs 0.1.0\n"
