"""``mgr bill``: hour logs to monthly invoices per provider and municipality."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..atomic import OutputError, write_atomically, write_directory
from ..billing import BillingResult, BillOptions, bill
from ..billing_output import invoice_files, rejects_csv, result_json, summary_csv
from ..money import format_euro
from .common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    stderr,
    stdout,
)

LARGE_INPUT = 10 * 1024 * 1024
SHOWN_WARNINGS = 20
SUMMARY_FILE = "samenvatting.csv"
REJECTS_FILE = "afgekeurd.csv"


@guarded
def bill_command(
    hours: list[Path] = typer.Argument(..., help="Hour logs: CSV (; , or tab, decimal comma or point) or .xlsx."),
    out: Path = typer.Option(None, "--out", "-o", help="Write one CSV per invoice and samenvatting.csv into DIR."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON on stdout (full BSNs)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Bill the valid rows; write the rejected rows with reasons to a file."),
    rejects: Path = typer.Option(None, "--rejects", help="Where --skip-invalid writes the rejected rows "
                                 "[default: DIR/afgekeurd.csv, or afgekeurd.csv here]."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read [default: the first]."),
    today: str = typer.Option(None, "--today", help="Reference date for 'lies in the future', YYYY-MM-DD."),
    show_bsn: bool = typer.Option(False, "--show-bsn", help="Show full BSNs on the terminal (masked by default)."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Bill hour logs: one invoice per provider, municipality and calendar month of the service date.

    Every row is checked; if any is rejected nothing is written, every rejected row is listed as
    [bold]file:line: message[/] and the exit code is 1 (unless --skip-invalid).
    """
    lookup = load_lookup(tariffs)
    options = BillOptions(today=_parse_today(today), show_bsn=show_bsn, sheet=sheet)
    with _progress(hours) as say:
        result = bill(hours, lookup, options, progress=say)
    strict_failure = bool(result.errors) and not skip_invalid
    if as_json:
        print_json(result_json(result) if not strict_failure else _failed_json(result))
    else:
        _render(result, options, strict_failure)
    if strict_failure:
        if not as_json:
            stderr().print(f"nothing written: {result.summary.rows_rejected} row(s) rejected; correct them, or bill "
                           "the valid rows with --skip-invalid", style="red", markup=False)
        raise typer.Exit(EXIT_INVALID)
    _write(result, out, rejects if skip_invalid and result.errors else None, force, quiet=as_json)
    raise typer.Exit(EXIT_OK)


def _parse_today(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise fail(f"--today {text!r} is not a date; write YYYY-MM-DD", 2) from None


def _failed_json(result: BillingResult) -> dict[str, object]:
    data = result_json(result)
    data["invoices"] = []
    return data


@contextmanager
def _progress(paths: list[Path]) -> Iterator[Callable[[str], None]]:
    size = sum(p.stat().st_size for p in paths if p.is_file())
    if not sys.stderr.isatty() or size < LARGE_INPUT:
        yield lambda _: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("reading", total=None)

        def say(phase: str) -> None:
            progress.update(task, description=phase)

        yield say


def _write(result: BillingResult, out: Path | None, rejects: Path | None, force: bool, quiet: bool) -> None:
    files: dict[str, bytes] = {}
    if out is not None:
        files = invoice_files(result)
        files[SUMMARY_FILE] = summary_csv(result)
    if rejects is None and result.errors:
        rejects = (out / REJECTS_FILE) if out is not None else Path(REJECTS_FILE)
    try:
        if rejects is not None and out is not None and rejects.parent == out:
            files[rejects.name] = rejects_csv(result)
        elif rejects is not None:
            write_atomically(rejects, rejects_csv(result), force)
        if out is not None:
            write_directory(out, files, force)
    except OutputError as exc:
        raise fail(str(exc)) from None
    if not quiet and (out is not None or rejects is not None):
        where = [f"{len(files) - 1} invoice file(s) and {SUMMARY_FILE} in {out}"] if out is not None else []
        where += [f"rejected rows in {rejects}"] if rejects is not None else []
        stdout().print("written: " + "; ".join(where), markup=False)


def _render(result: BillingResult, options: BillOptions, strict_failure: bool) -> None:
    print_problems(result.errors)
    warnings = result.warnings
    print_problems(warnings[:SHOWN_WARNINGS])
    if len(warnings) > SHOWN_WARNINGS:
        stderr().print(f"... and {len(warnings) - SHOWN_WARNINGS} more warning(s) (see --json)", style="yellow")
    s = result.summary
    console = stdout()
    console.print(f"rows read {s.rows_read:,} · billed {s.rows_billed:,} · rejected {s.rows_rejected:,}".replace(
        ",", "."), markup=False)
    if strict_failure:
        return
    console.print(f"{s.invoices} invoice(s), {s.lines} line(s); total {format_euro(s.total)} excl. btw, "
                  f"btw {format_euro(s.vat)}", markup=False)
    if s.revenue_unnetted:
        console.print(f"revenue not netted (more than the line amount): {format_euro(s.revenue_unnetted)}",
                      style="yellow", markup=False)
    if s.invoices:
        console.print(_totals_table("gemeente", s.by_municipality))
        console.print(_totals_table("aanbieder", s.by_provider))


def _totals_table(title: str, totals: Mapping[str, Decimal]) -> Table:
    table = Table(title=f"totaal per {title}", title_justify="left")
    table.add_column(title)
    table.add_column("bedrag", justify="right")
    for name, amount in totals.items():
        table.add_row(name, format_euro(amount))
    return table


def register(app: typer.Typer) -> None:
    app.command("bill")(bill_command)
