"""``mgr bill LOG --compare-tariffs NEW.yaml``: the what-if report of two catalogues (text, JSON or CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from decimal import Decimal
from pathlib import Path

import typer
from rich.table import Table

from mgr_tariffs.billing.engine import BillOptions
from mgr_tariffs.billing.whatif import FIELDS, Totals, WhatIf, compare_tariffs
from mgr_tariffs.catalogue.indexation import change_percent, format_percent
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, fail, load_lookup, print_json, print_problems
from mgr_tariffs.cli.common import stdout as stdout_console
from mgr_tariffs.money import format_euro, from_cents

REPORT_FORMATS = ("text", "json", "csv")
SHOWN_PROBLEMS = 20


def run_what_if(hours: list[Path], lookup: Lookup, new_tariffs: Path, options: BillOptions, report: str,
                skip_invalid: bool, as_of: dt.date | None) -> None:
    """Bill ``hours`` under both catalogues, print the comparison, exit (1 when rows are rejected, unless skipped)."""
    if report not in REPORT_FORMATS:
        raise fail(f"--format {report!r}: with --compare-tariffs choose text, json or csv", EXIT_USAGE)
    result = compare_tariffs(hours, lookup, load_lookup(new_tariffs), options, as_of)
    failing = bool(result.errors) and not skip_invalid
    if report == "json":
        print_json(result.as_json())
    elif report == "csv":
        _print_csv(result)
    else:
        _print_text(result, new_tariffs, as_of)
    if report != "json":
        print_problems(result.errors[:SHOWN_PROBLEMS])
    if failing:
        raise fail(f"{len(result.errors)} row(s) rejected; the comparison covers only the valid rows "
                   "(--skip-invalid accepts that)", EXIT_INVALID)
    raise typer.Exit(EXIT_OK)


def _print_csv(result: WhatIf) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.as_json().items()} for row in result.rows)
    sys.stdout.write(buffer.getvalue())


def _print_text(result: WhatIf, new_tariffs: Path, as_of: dt.date | None) -> None:
    console = stdout_console()
    print_problems(result.warnings[:SHOWN_PROBLEMS])
    priced = f"every row priced as on {as_of}" if as_of else "rows priced on their service date"
    old, new = result.old.summary, result.new.summary
    console.print(f"what-if with {new_tariffs}: {priced}; rows billed {old.rows_billed} (current tariffs), "
                  f"{new.rows_billed} (new)", markup=False)
    total = result.total
    console.print(f"total {format_euro(from_cents(total.old_cents))} -> {format_euro(from_cents(total.new_cents))}: "
                  f"difference {format_euro(from_cents(total.difference_cents))}{_percent(total)}", markup=False)
    for key, title in (("municipality", "gemeente"), ("provider", "aanbieder"), ("product", "product"),
                       ("period", "maand")):
        console.print(_table(title, result.totals_by(key), total))


def _percent(totals: Totals) -> str:
    if not totals.old_cents or not totals.difference_cents:
        return ""
    percent = change_percent(Decimal(totals.old_cents), Decimal(totals.new_cents))
    return f" ({'+' if percent > 0 else ''}{format_percent(percent)})"


def _table(title: str, rows: dict[str, Totals], total: Totals) -> Table:
    table = Table(title=f"per {title}", title_justify="left")
    table.add_column(title)
    for column in ("huidig", "nieuw", "verschil", "%"):
        table.add_column(column, justify="right")
    for name, amounts in [*rows.items(), ("totaal", total)]:
        table.add_row(name, format_euro(from_cents(amounts.old_cents)), format_euro(from_cents(amounts.new_cents)),
                      format_euro(from_cents(amounts.difference_cents)), _percent(amounts).strip(" ()"))
    return table
