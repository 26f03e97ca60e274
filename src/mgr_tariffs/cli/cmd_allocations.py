"""``mgr allocations``: validate an allocation register and show allowed / used / remaining per allocation."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.allocations import XSD_ENV
from mgr_tariffs.allocations.report import DEFAULT_ENDING_DAYS, DEFAULT_THRESHOLD, AllocationUse, Settings
from mgr_tariffs.bsn import masker
from mgr_tariffs.catalogue.loader import Lookup
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
)
from mgr_tariffs.problems import Problem

if TYPE_CHECKING:
    from mgr_tariffs.allocations.usage import AllocationsRun


@guarded
def allocations_command(
    registers: list[Path] = typer.Argument(..., metavar="REG", help="Allocation registers: CSV or .xlsx (one row "
                                           "per allocation) or iWmo WMO301 messages (XML)."),
    hours: list[Path] = typer.Option(None, "--hours", help="Hour log(s) whose billable rows count as used."),
    ledger: Path = typer.Option(None, "--ledger", envvar="MGR_LEDGER", help="Count the rows of the live invoices "
                                "in this ledger as used before (the log's rows issued there are not counted twice)."),
    on: str = typer.Option(None, "--on", help="Reference date, YYYY-MM-DD: expired / ending soon, and the last month "
                           "of an open allocation \\[default: the last service date, else today]."),
    output: Printed = typer.Option(Printed.TEXT, "--format", "-f", help="text, json or csv."),
    threshold: int = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=1, max=100,
                                  help="Warn when an allocation is used at least this many percent."),
    ending_days: int = typer.Option(DEFAULT_ENDING_DAYS, "--ending-days", min=0,
                                    help="Warn when an allocation ends within this many days of --on."),
    iwmo_dir: Path = typer.Option(None, "--iwmo-dir", envvar=XSD_ENV, help="The iWmo 3.2 folder (with xsd/) to "
                                  "validate WMO301 messages \\[default: ../shared/iwmo when it exists]."),
    parties: Path = typer.Option(None, "--parties", envvar="MGR_PARTIES", help="Parties file: names the provider "
                                 "of a WMO301 message by its AGB code."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
    show_bsn: bool = typer.Option(False, "--show-bsn", help="Show full BSNs (masked by default)."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Validate allocation registers; per allocation show allowed, used and remaining, per month and in total.

    Exit 0 when the register is valid and no billable hour is outside or over an allocation (warnings allowed),
    1 when it is not, 2 when a file cannot be read.
    """
    from mgr_tariffs.allocations.usage import Inputs, run_allocations  # noqa: PLC0415 (ledger, lxml: when used)
    from mgr_tariffs.allocations.wmo301 import xsd_folder  # noqa: PLC0415
    from mgr_tariffs.ledger.store import LedgerError  # noqa: PLC0415

    lookup = load_lookup(tariffs)
    settings = Settings(threshold, ending_days, date_option("--on", on), masker(show_bsn))
    inputs = Inputs(registers, hours or (), ledger, xsd_folder(iwmo_dir), _agb_names(parties, lookup), sheet)
    try:
        result = run_allocations(inputs, lookup, settings)
    except LedgerError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if output is Printed.JSON:
        print_json(_json(result, settings))
    elif output is Printed.CSV:
        print_problems([*result.errors, *result.warnings])
        _csv(result, settings)
    else:
        _text(result, settings)
    raise typer.Exit(EXIT_INVALID if result.errors else EXIT_OK)


def _agb_names(parties: Path | None, lookup: Lookup) -> dict[str, str]:
    if parties is None:
        return {}
    from mgr_tariffs.parties import load_parties  # noqa: PLC0415

    loaded = load_parties(parties, lookup)
    if loaded.parties is None:
        print_problems(loaded.problems)
        raise fail(f"{parties}: the parties file is invalid")
    return {p.agb: name for name, p in loaded.parties.providers.items()}


def _console() -> Console:
    tty = sys.stdout.isatty()
    return Console(highlight=False, emoji=False, soft_wrap=not tty, width=None if tty else 200)


HEADINGS = ("toewijzing", "cliënt", "aanbieder", "product", "periode", "omvang", "maand", "toegestaan", "gebruikt",
            "over", "resterend", "status")
RIGHT = {"toegestaan", "gebruikt", "over", "resterend"}
RICH_ROWS = 2_000
"""Up to this many rows a terminal gets a rich table; more, or a pipe, get plain aligned columns (fast)."""


def _text(result: AllocationsRun, settings: Settings) -> None:
    print_problems([*result.errors, *result.warnings])
    evaluation = result.evaluation
    if evaluation is None:
        print(f"{len(result.register.problems)} problem(s) in the register: no allocations read", file=sys.stderr)
        return
    groups = [_rows(use, settings, evaluation.reference) for use in evaluation.uses]
    title = f"Toewijzingen op {evaluation.reference.isoformat()}"
    if sys.stdout.isatty() and sum(len(g) for g in groups) <= RICH_ROWS:
        table = Table(title=title)
        for column in HEADINGS:
            table.add_column(column, justify="right" if column in RIGHT else "left")
        for group in groups:
            for i, row in enumerate(group):
                table.add_row(*row, end_section=i == len(group) - 1)
        _console().print(table)
    else:
        _plain(title, [row for group in groups for row in group])
    _console().print(f"{len(evaluation.uses)} allocations: {len(result.errors)} errors, {len(result.warnings)} "
                     f"warnings", markup=False)


def _rows(use: AllocationUse, settings: Settings, reference: Any) -> list[list[str]]:
    """One allocation's rows: a row per month (the allocation's columns on the first only) and the total."""
    a = use.allocation
    head = [a.number, settings.shown(f"{a.bsn_id:09d}"), a.provider, a.product, _span(use), a.size_text]
    rows = []
    for month in use.months:
        remaining = None if month.allowed is None else month.allowed - month.used
        rows.append([*head, month.period, use.text(month.allowed), use.text(month.used),
                     use.text(month.over) if month.over else "", use.text(remaining), ""])
        head = [""] * 6
    rows.append([*head, "totaal", use.text(use.allowed), use.text(use.used), use.text(use.over) if use.over else "",
                 use.text(use.remaining), use.status(settings, reference)])
    return rows


def _plain(title: str, rows: list[list[str]]) -> None:
    """The table as plain text: aligned columns, two spaces apart (a large register prints in seconds)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADINGS)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if h in RIGHT else c.ljust(w)
                         for c, w, h in zip(cells, widths, HEADINGS, strict=True)).rstrip()

    out = [title, line(HEADINGS), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    sys.stdout.write("\n".join(out) + "\n")


def _span(use: AllocationUse) -> str:
    a = use.allocation
    return f"{a.start.isoformat()} – {a.end.isoformat() if a.end else 'open'}"


def _json(result: AllocationsRun, settings: Settings) -> dict[str, Any]:
    evaluation = result.evaluation
    uses = [] if evaluation is None else [_use_json(u, settings, evaluation.reference) for u in evaluation.uses]
    return {"ok": not result.errors, "reference": evaluation.reference.isoformat() if evaluation else None,
            "allocations": uses, "errors": [_problem(p) for p in result.errors],
            "warnings": [_problem(p) for p in result.warnings]}


def _problem(problem: Problem) -> dict[str, Any]:
    return problem.model_dump(mode="json")


def _use_json(use: AllocationUse, settings: Settings, reference: Any) -> dict[str, Any]:
    a = use.allocation
    return {
        "number": a.number, "bsn": settings.shown(f"{a.bsn_id:09d}"), "provider": a.provider,
        "municipality_code": f"{a.municipality_id:04d}", "product": a.product, "start": a.start.isoformat(),
        "end": a.end.isoformat() if a.end else None, "size": a.size_text, "unit": use.display_unit,
        "allowed": use.data(use.allowed), "earlier": use.data(use.earlier), "used": use.data(use.used),
        "over": use.data(use.over), "remaining": use.data(use.remaining), "percent": use.percent,
        "status": use.status(settings, reference),
        "months": [{"period": m.period, "allowed": use.data(m.allowed), "earlier": use.data(m.earlier),
                    "used": use.data(m.used), "billable": use.data(m.billable), "over": use.data(m.over),
                    "remaining": use.data(None if m.allowed is None else m.allowed - m.used)} for m in use.months],
    }


CSV_FIELDS = ["toewijzingnummer", "bsn", "aanbieder", "gemeentecode", "productcode", "periode", "eenheid",
              "toegestaan", "eerder", "gebruikt", "over", "resterend", "status"]


def _csv(result: AllocationsRun, settings: Settings) -> None:
    evaluation = result.evaluation
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for use in evaluation.uses if evaluation else ():
        a = use.allocation
        head = [a.number, settings.shown(f"{a.bsn_id:09d}"), a.provider, f"{a.municipality_id:04d}", a.product]
        for m in use.months:
            remaining = None if m.allowed is None else m.allowed - m.used
            writer.writerow([*head, m.period, use.display_unit, *(use.data(v) or "" for v in (
                m.allowed, m.earlier, m.used, m.over, remaining)), ""])
        if evaluation is not None:
            writer.writerow([*head, "totaal", use.display_unit, *(use.data(v) or "" for v in (
                use.allowed, use.earlier, use.used, use.over, use.remaining)),
                use.status(settings, evaluation.reference)])
    sys.stdout.write(buffer.getvalue())


def register(app: typer.Typer) -> None:
    app.command("allocations")(allocations_command)
