"""The ``mgr`` command: a thin layer that parses options, calls one library function, renders.

Every module ``cmd_*.py`` in this package defines ``register(app)``; they are found here, so a
new command is a new file and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import typer
from typer.core import TyperArgument, TyperOption

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


TyperOption.display_type_rich = _metavar  # type: ignore[method-assign, assignment]
TyperArgument.display_type_rich = _metavar  # type: ignore[method-assign, assignment]

app = typer.Typer(
    name="mgr",
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


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Price, bill and check the care products of the MGR Sociaal Domein Limburg-Noord."""


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("cmd_"):
        importlib.import_module(f"{__name__}.{_info.name}").register(app)


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


_add_examples(app)


def main() -> None:
    """Entry point of the console script; usage errors exit 2, like click's own."""
    sys.exit(app(standalone_mode=True))
