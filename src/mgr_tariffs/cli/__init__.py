"""The ``mgr`` command: a thin layer that parses options, calls one library function, renders.

Every module ``cmd_*.py`` in this package defines ``register(app)``. The commands are listed in
:data:`COMMANDS` (name, the modules that register it, its one-line help), so ``mgr --help`` and
``mgr`` alone list every command without importing one: a command's module (and Polars, pydantic
and the rest of what it needs) is imported only when that command runs or shows its own help.
A new command is a new file and a line in :data:`COMMANDS`; ``tests/test_cli_startup.py`` holds the
table to what the modules register.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any, NamedTuple

import typer
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from mgr_tariffs import __version__
from mgr_tariffs.cli.examples import with_examples


def _metavar(self: TyperOption | TyperArgument, ctx: typer.Context) -> str | None:
    """How an option's value is shown in help: its own metavar, nothing for a flag or an argument (whose name is
    shown), else its type in capitals (``PATH``, ``TEXT``) or its choices (``text|json|csv``) — not typer's
    ``<list[Path]>`` and ``<bool>``."""
    if self.metavar is not None:
        return str(self.metavar)
    if isinstance(self, TyperArgument) or getattr(self, "is_flag", False):
        return None
    shown = str(TyperOption.display_type(self, ctx)).strip("<>")
    return shown if "|" in shown else {"str": "TEXT", "int": "N"}.get(shown, shown.upper())


if hasattr(TyperOption, "display_type_rich"):  # the typer versions that show types as <list[Path]> have it
    TyperOption.display_type_rich = _metavar  # type: ignore[method-assign, assignment]
    TyperArgument.display_type_rich = _metavar  # type: ignore[method-assign, assignment]


class Listed(NamedTuple):
    """A command as ``mgr --help`` lists it: the modules whose ``register`` adds it (in that order) and the first
    paragraph of its help, exactly as the command's own help has it."""

    modules: tuple[str, ...]
    summary: str


COMMANDS: dict[str, Listed] = {
    "allocations": Listed(("cmd_allocations",), "Validate allocation registers; per allocation show allowed, used "
                          "and remaining, per month and in total."),
    "bill": Listed(("cmd_bill",), "Bill hour logs: one invoice per provider, municipality and calendar month of the "
                   "service date."),
    "validate": Listed(("cmd_catalogue",), "Check tariff catalogues, parties files and subsidies files (told apart "
                       "by their sections); report every\nproblem as [bold]file:line: severity: message[/]."),
    "schema": Listed(("cmd_catalogue",), "Print the JSON Schema of the tariff catalogue (for editors and "
                     "yaml-language-server)."),
    "price": Listed(("cmd_catalogue",), "Show the price of a product on a service date, with its period and "
                    "source."),
    "check": Listed(("cmd_check",), "Recompute every invoice line from the catalogue and report each discrepancy "
                    "with the money at stake."),
    "forecast": Listed(("cmd_forecast",), "Capacity forecast: requests x hours per request + extra hours, as low / "
                       "mid / high hours, fte and the cost\nat an MGR tariff. E.g. source 002: --requests 125 "
                       "--hours-per-request 6-8 --extra-hours 325 gives 1.200 hours\n(1 fte) at the middle."),
    "credit": Listed(("cmd_declare", "cmd_ledger"), "Credit an issued invoice: a credit note mirrors it with negative "
                     "amounts and releases its rows,\nso they can be billed again after correction. An invoice is "
                     "credited at most once."),
    "report": Listed(("cmd_report",), "Write a self-contained HTML report: totals per municipality and month, "
                     "provider and product, price\nchanges, rejected rows and warnings, and optionally a what-if, a "
                     "subsidy's burn-down and the ledger."),
    "signals": Listed(("cmd_signals",), "Report every client whose hours for a product exceed the product's "
                      "duration norm (e.g. LN017/LN018:\ntwo dagdelen, 8 hours, per request), per request when the "
                      "log has a request column, else per window."),
    "template": Listed(("cmd_template",), "Write an Excel template for hour logs: text BSN column, pick lists for "
                       "product codes and municipalities, an instruction sheet that mgr bill skips."),
    "tariffs": Listed(("cmd_catalogue",), "List the catalogue: every product with its price history (or the prices "
                      "on one date)."),
    "declare": Listed(("cmd_declare",), "iWmo declarations: validate, write a WMO323, match a WMO325 answer."),
    "ledger": Listed(("cmd_declare", "cmd_ledger"), "The ledger of issued invoices: list, show, export, verify."),
    "subsidy": Listed(("cmd_subsidy",), "Subsidies next to the hourly billing: ceiling, key, advances and "
                      "settlement."),
}
"""Every command of ``mgr``, in the order ``mgr --help`` lists them. The commands of ``cmd_ledger`` need
``cmd_declare`` registered first: it adds ``mgr ledger answer`` to the ledger's group."""

_REGISTERED: dict[str, typer.Typer] = {}
"""Each command module's commands, registered once per process on a Typer of their own."""


def _registered(module: str) -> typer.Typer:
    """The Typer holding what ``module``'s ``register`` adds, with the examples in each command's help."""
    if module not in _REGISTERED:
        holder = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False)
        importlib.import_module(f"{__name__}.{module}").register(holder)
        _add_examples(holder)
        _REGISTERED[module] = holder
    return _REGISTERED[module]


def _add_examples(typer_app: typer.Typer, path: tuple[str, ...] = ()) -> None:
    """Every command's help ends with its examples (:mod:`mgr_tariffs.cli.examples`): one table for all."""
    for command in typer_app.registered_commands:
        name = " ".join((*path, command.name or (command.callback.__name__ if command.callback else "")))
        command.help = with_examples(name, command.help or inspect.getdoc(command.callback))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        name = group.name or sub.info.name or ""
        callback = sub.registered_callback
        if callback is not None and callback.invoke_without_command:
            callback.help = with_examples(" ".join((*path, name)), callback.help or inspect.getdoc(callback.callback))
        _add_examples(sub, (*path, name))


def load_command(name: str) -> _click.Command:
    """The command ``name`` of :data:`COMMANDS` as typer builds it, its modules imported (once) to build it."""
    *before, module = COMMANDS[name].modules
    for other in before:
        _registered(other)
    return typer.main.get_group(_registered(module)).commands[name]


class _Commands(MutableMapping[str, _click.Command]):
    """The commands of ``mgr`` by name: the names known from :data:`COMMANDS`, each command built when asked for."""

    def __init__(self) -> None:
        self._built: dict[str, _click.Command] = {}
        self._names = list(COMMANDS)

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = load_command(name)
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


class LazyGroup(TyperGroup):
    """The root group of ``mgr``: resolving a command builds it; listing the commands (``mgr --help``, a misspelt
    command's suggestions) reads :data:`COMMANDS` and imports none."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if self._listing and cmd_name in COMMANDS:
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name].summary)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="mgr",
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Price, bill and check the care products of the MGR Sociaal Domein Limburg-Noord.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mgr-tariffs {__version__}")
        raise typer.Exit()


def started() -> None:
    """The command is imported and about to run: when the console script turned the garbage collector off for
    the imports (:mod:`mgr_tariffs.entry`), it is turned on again, and what was imported is frozen (never scanned
    by a collection again: it lives as long as the process). Under ``CliRunner`` the collector is on: nothing."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Price, bill and check the care products of the MGR Sociaal Domein Limburg-Noord."""
    started()


def main() -> None:
    """Entry point of the console script; usage errors exit 2, like click's own."""
    sys.exit(app(standalone_mode=True))
