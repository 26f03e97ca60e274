"""``mgr validate``, ``mgr schema``, ``mgr price`` and ``mgr tariffs``: the catalogue commands."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.catalogue.loader import DEFAULT_PATH, catalogue_schema, load_catalogue
from mgr_tariffs.catalogue.pricing import PriceError, PriceRow, catalogue_rows, price_on
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    console,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
)
from mgr_tariffs.money import format_euro
from mgr_tariffs.problems import InputError, Problem, errors_only, sort_problems


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class TableFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def validate(
    paths: list[Path] = typer.Argument(None, metavar="PATH", show_default=False,
                                       help="Tariff files to check \\[default: data/tariffs.yaml]."),
    output: ReportFormat = typer.Option(ReportFormat.TEXT, "--format", "-f", help="text or json."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail the check too."),
) -> None:
    """Check tariff files; report every problem as [bold]file:line: severity: message[/].

    Exit 0 when clean, 1 when a file has errors (or warnings, with --strict), 2 when a file cannot be read.
    """
    files = paths or [DEFAULT_PATH]
    problems: list[Problem] = []
    unreadable = 0
    for path in files:
        try:
            problems += load_catalogue(path).problems
        except InputError as exc:
            problems.append(Problem(file=exc.file, message=exc.message))
            unreadable += 1
    problems = sort_problems(problems)
    failing = bool(problems if strict else errors_only(problems))
    _report(problems, len(files), failing, output)
    raise typer.Exit(EXIT_USAGE if unreadable else EXIT_INVALID if failing else EXIT_OK)


def _report(problems: list[Problem], files: int, failing: bool, output: ReportFormat) -> None:
    errors = len(errors_only(problems))
    warnings = len(problems) - errors
    if output is ReportFormat.JSON:
        print_json({"files": files, "errors": errors, "warnings": warnings, "ok": not failing,
                    "problems": [p.model_dump(mode="json") for p in problems]})
        return
    console = _plain_console()
    print_problems(problems, console)
    console.print(f"{_count(files, 'file')} checked: {_count(errors, 'error')}, {_count(warnings, 'warning')}: "
                  f"{'invalid' if failing else 'ok'}", markup=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _plain_console(width: int | None = None) -> Console:
    """Rich for stdout that shows text as it is: no emoji codes, no markup, no highlighting."""
    return console(width=width)


def schema() -> None:
    """Print the JSON Schema of the tariff catalogue (for editors and yaml-language-server)."""
    print_json(catalogue_schema())


@guarded
def price(
    code: str = typer.Argument(..., help="MGR product code, e.g. LN017."),
    on: str | None = typer.Option(None, "--on", help="Service date, YYYY-MM-DD \\[default: today]."),
    output: ReportFormat = typer.Option(ReportFormat.TEXT, "--format", "-f", help="text or json."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Show the price of a product on a service date, with its period and source."""
    day = date_option("--on", on) or dt.date.today()
    try:
        quote = price_on(load_lookup(tariffs), code, day)
    except PriceError as exc:
        raise fail(str(exc)) from None
    if output is ReportFormat.JSON:
        print_json(quote.as_json())
        return
    until = quote.until.isoformat() if quote.until else "until further notice"
    _plain_console().print(
        f"{quote.product.code} {quote.product.name}: {format_euro(quote.amount)} per {quote.product.unit} on "
        f"{day.isoformat()} (in force {quote.start.isoformat()} – {until}; source {quote.source})", markup=False)


@guarded
def tariffs_command(
    on: str | None = typer.Option(None, "--on", help="Show only the prices in force on this date, YYYY-MM-DD."),
    output: TableFormat = typer.Option(TableFormat.TABLE, "--format", "-f", help="table, json or csv."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """List the catalogue: every product with its price history (or the prices on one date)."""
    rows = catalogue_rows(load_lookup(tariffs), date_option("--on", on))
    if output is TableFormat.JSON:
        print_json([row.as_json() for row in rows])
    elif output is TableFormat.CSV:
        _print_csv(rows)
    else:
        _print_table(rows)


def _print_csv(rows: list[PriceRow]) -> None:
    buffer = io.StringIO()
    fields = ["code", "name", "category", "unit", "price", "from", "until", "vat", "not_for", "source"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.as_csv() for row in rows)
    sys.stdout.write(buffer.getvalue())


def _print_table(rows: list[PriceRow]) -> None:
    table = Table(title="MGR Sociaal Domein Limburg-Noord — tarieven")
    for column in ("code", "naam", "categorie", "eenheid", "tarief", "van", "tot en met", "niet voor"):
        table.add_column(column, justify="right" if column == "tarief" else "left")
    for row in rows:
        table.add_row(row.product.code, row.product.name, row.product.category, row.product.unit.value,
                      format_euro(row.amount), row.start.isoformat(), row.until.isoformat() if row.until else "—",
                      ", ".join(row.product.not_for) or "—")
    _plain_console(width=200).print(table)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("price")(price)
    app.command("tariffs")(tariffs_command)
