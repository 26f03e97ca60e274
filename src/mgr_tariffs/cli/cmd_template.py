"""``mgr template``: an Excel template for hour logs."""

from __future__ import annotations

from pathlib import Path

import typer

from mgr_tariffs.billing.template import template_workbook
from mgr_tariffs.cli.common import CATALOGUE_OPTION, EXIT_USAGE, fail, guarded, load_lookup, stdout
from mgr_tariffs.io.atomic import OutputError, write_atomically

EXAMPLES = """
Examples:

  mgr template uren.xlsx

  mgr template uren-2025.xlsx --force --tariffs data/tariffs.yaml
"""


def register(app: typer.Typer) -> None:
    app.command("template", help="Write an Excel template for hour logs: text BSN column, pick lists for product "
                                 "codes and municipalities, an instruction sheet that mgr bill skips." + EXAMPLES,
                no_args_is_help=True)(guarded(template_command))


def template_command(
    out: Path = typer.Argument(..., help="The workbook to write (.xlsx)."),
    tariffs: Path = CATALOGUE_OPTION,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write the template."""
    if out.suffix.lower() != ".xlsx":
        raise fail(f"{out}: the template is a workbook; give a name ending in .xlsx", EXIT_USAGE)
    lookup = load_lookup(tariffs)
    try:
        write_atomically(out, template_workbook(lookup), force=force)
    except OutputError as exc:
        raise fail(str(exc)) from None
    stdout().print(f"written: {out} (sheet 'Uren'; fill in and run: mgr bill {out})", markup=False)
