"""``mgr report``: one self-contained HTML page with charts of where the money went."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from pathlib import Path

import typer

from mgr_tariffs.billing.engine import BillOptions
from mgr_tariffs.catalogue.loader import resolve_catalogue_path
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_problems,
    stdout,
)
from mgr_tariffs.io.atomic import OutputError, write_atomically
from mgr_tariffs.money import format_euro, from_cents


@guarded
def report_command(
    inputs: list[Path] = typer.Argument(..., metavar="LOG...", help="Hour logs (CSV or .xlsx), or one result of "
                                        "`mgr bill --json` (.json)."),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write."),
    subsidy: Path = typer.Option(None, "--subsidy", help="Subsidy file (YAML): burn-down against the ceiling and "
                                 "the forecast."),
    ledger: Path = typer.Option(None, "--ledger", help="The ledger (SQLite): issued and credited amounts per month."),
    compare_tariffs: Path = typer.Option(None, "--compare-tariffs", metavar="NEW.yaml",
                                         help="What-if: the difference per municipality under this catalogue."),
    today: str = typer.Option(None, "--today", help="Date of the report and reference date for 'lies in the "
                              "future' and the subsidy's status, YYYY-MM-DD (default: today)."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing report."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Write a self-contained HTML report: totals per municipality and month, provider and product, price
    changes, rejected rows and warnings, and optionally a what-if, a subsidy's burn-down and the ledger.

    The page makes no network request (everything is inline) and shows BSNs masked. Rejected rows do not
    stop the report: they are counted in it by reason.
    """
    from mgr_tariffs.report import ReportRequest, ReportUsageError, build_report  # noqa: PLC0415

    drawing = threading.Thread(target=_import_drawing, name="import-drawing", daemon=True)
    drawing.start()  # matplotlib and Jinja2 load while Polars bills (it releases the GIL): ~0,5 s less
    lookup = load_lookup(tariffs)
    day = date_option("--today", today)
    new = (compare_tariffs, load_lookup(compare_tariffs)) if compare_tariffs is not None else None
    request = ReportRequest(logs=inputs, lookup=lookup, catalogue=resolve_catalogue_path(tariffs),
                            run_date=day or dt.date.today(), options=BillOptions(today=day, sheet=sheet),
                            new_tariffs=new, subsidy=subsidy, ledger=ledger)
    try:
        outcome = build_report(request)
    except ReportUsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if outcome.report is None:
        print_problems(outcome.problems)
        raise fail("nothing written: correct the inputs above", EXIT_INVALID)
    report = outcome.report
    drawing.join()
    from mgr_tariffs.report.render import render_html  # noqa: PLC0415 - imported by the thread by now

    try:
        write_atomically(out, render_html(report).encode("utf-8"), force)
    except OutputError as exc:
        raise fail(str(exc)) from None
    total = format_euro(from_cents(report.total_cents))
    stdout().print(f"report written to {out}: {report.invoices} invoice(s), total {total} excl. btw; "
                   f"{report.rows_rejected} row(s) rejected", markup=False)
    raise typer.Exit(EXIT_OK)


def _import_drawing() -> None:
    """Import the drawing side of the report (run in a thread; the gathering side is imported before it starts,
    so the two threads share no module being imported)."""
    importlib.import_module("mgr_tariffs.report.render")
    importlib.import_module("matplotlib.backends.backend_svg")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
