"""The ``mgr`` command: a thin layer that parses options, calls one library function, renders.

Every module ``cmd_*.py`` in this package defines ``register(app)``; they are found here, so a
new command is a new file and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from typer.core import TyperArgument, TyperOption

from mgr_tariffs import __version__


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


def main() -> None:
    """Entry point of the console script; usage errors exit 2, like click's own."""
    sys.exit(app(standalone_mode=True))
