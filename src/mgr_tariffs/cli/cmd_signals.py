"""``mgr signals``: clients whose hours for a product go beyond the product's duration norm."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import typer

from mgr_tariffs.billing import BillOptions, bill_tables
from mgr_tariffs.bsn import masker
from mgr_tariffs.budgets.norms import CALENDAR_WINDOWS, norm_signals, request_frame
from mgr_tariffs.catalogue.models import NormWindow
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    Printed,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    stdout,
)
from mgr_tariffs.io.tables import read_table


@guarded
def signals_command(
    hours: list[Path] = typer.Argument(..., help="Hour logs: CSV or .xlsx; a `traject` (request) column is used "
                                       "when there is one."),
    window: str = typer.Option("quarter", "--window", "-w", help="Window when a row has no request: month, "
                               "quarter or year."),
    output: Printed = typer.Option(Printed.TEXT, "--format", "-f", help="text, json or csv."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
    today: str = typer.Option(None, "--today", help="Reference date for 'lies in the future', YYYY-MM-DD."),
    show_bsn: bool = typer.Option(False, "--show-bsn", help="Show full BSNs on the terminal (masked by default)."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Report every client whose hours for a product exceed the product's duration norm (e.g. LN017/LN018:
    two dagdelen, 8 hours, per request), per request when the log has a request column, else per window.

    Signals are warnings, never rejections: exit 0 with or without signals; 1 when rows of the log are
    rejected by the billing rules (they are listed; the valid rows are still looked at); 2 for an unreadable file.
    """
    chosen = next((w for w in CALENDAR_WINDOWS if w.value == window.strip().lower()), None)
    if chosen is None:
        raise fail(f"--window {window!r}: choose from {', '.join(w.value for w in CALENDAR_WINDOWS)}", EXIT_USAGE)
    lookup = load_lookup(tariffs)
    tables = [read_table(path, sheet=sheet) for path in hours]
    result = bill_tables(tables, lookup, BillOptions(today=date_option("--today", today)), lambda _: None)
    signals = norm_signals(result.rows, lookup, request_frame(tables), NormWindow(chosen))
    show = masker(show_bsn)
    if output is Printed.JSON:
        print_json({"signals": [s.as_json() for s in signals],
                    "errors": [p.model_dump(mode="json") for p in result.errors],
                    "summary": {"rows_read": result.rows_read, "rows_checked": len(result.rows),
                                "signals": len(signals)}})
    elif output is Printed.CSV:
        rows = [s.as_json() for s in signals]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["file", "line"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
    else:
        print_problems(result.errors, shown=show)
        print_problems((s.problem(show) for s in signals), stdout(), shown=show)
        stdout().print(f"rows read {result.rows_read} · looked at {len(result.rows)} · {len(signals)} signal(s) "
                       "beyond a duration norm", markup=False)
    raise typer.Exit(EXIT_INVALID if result.errors else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("signals")(signals_command)
