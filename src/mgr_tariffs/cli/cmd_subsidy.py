"""``mgr subsidy status``: a subsidy's ceiling, advances, realised value, forecast, settlement and findings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.budgets.findings import Finding, euro, pct
from mgr_tariffs.budgets.loader import subsidies_schema
from mgr_tariffs.budgets.report import SubsidyReport, hours, status_csv_rows, status_json, subsidy_report
from mgr_tariffs.budgets.status import SubsidyStatus
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    Printed,
    date_option,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    stderr,
    stdout,
)
from mgr_tariffs.money import format_euro
from mgr_tariffs.problems import warning

subsidy_app = typer.Typer(help="Subsidies next to the hourly billing: ceiling, key, advances and settlement.",
                          no_args_is_help=True)


@subsidy_app.command("status")
@guarded
def status_command(
    file: Path = typer.Argument(..., help="A subsidy file (YAML), e.g. data/examples/subsidie-weert-2018.yaml."),
    hours_logs: list[Path] = typer.Option(None, "--hours", help="Hour log(s) of the realised work (CSV or .xlsx); "
                                          "may be given more than once."),
    on: str = typer.Option(None, "--on", help="Status on this day, YYYY-MM-DD (default: today)."),
    output: Printed = typer.Option(Printed.TEXT, "--format", "-f", help="text, json or csv (per month)."),
    subsidy_id: str = typer.Option(None, "--id", help="Only the subsidy with this id."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Count the valid rows of a log with rejected "
                                      "rows (they are listed as warnings) instead of stopping."),
    today: str = typer.Option(None, "--today", help="Reference date for 'lies in the future', YYYY-MM-DD."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when there are findings."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Where a subsidy stands on a day: ceiling, key split, advances due and paid, realised value per month and
    municipality, burn-down, straight-line forecast, expected settlement (Awb 4:46) and the next deadline.

    Consistency findings (grant vs key, key not 100 %, advances or realised work beyond the ceiling) are
    warnings with their numbers. Exit 0 when the inputs are valid, 1 when the subsidy file or a log has errors
    (or findings, with --strict), 2 when a file cannot be read.
    """
    lookup = load_lookup(tariffs)
    day = date_option("--on", on) or dt.date.today()
    report = subsidy_report(file, lookup, day, hours_logs or [], subsidy_id, date_option("--today", today))
    file_errors = [p for p in report.errors if p.file == report.file]
    if file_errors or not report.statuses or (report.errors and not skip_invalid):
        _refuse(report, output)
    warnings = [*(warning(p.file, p.line, p.message) for p in report.errors), *report.warnings]
    if output is Printed.JSON:
        print_json({"subsidies": [status_json(s, f) for s, f in report.statuses],
                    "warnings": [p.model_dump(mode="json") for p in warnings]})
    elif output is Printed.CSV:
        _print_csv(report)
    else:
        print_problems(warnings)
        console = stdout()
        for status, found in report.statuses:
            _render(console, status, found, report.file)
    has_findings = any(found for _, found in report.statuses)
    raise typer.Exit(EXIT_INVALID if strict and has_findings else EXIT_OK)


@subsidy_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of subsidies.yaml (also in docs/subsidies.schema.json)."""
    print_json(subsidies_schema())


def _refuse(report: SubsidyReport, output: Printed) -> None:
    if output is Printed.JSON:
        print_json({"subsidies": [], "errors": [p.model_dump(mode="json") for p in report.problems]})
    else:
        print_problems(report.problems)
        if report.errors and report.statuses:
            stderr().print(f"{len(report.errors)} problem(s) in the hour log(s); correct them, or count the valid "
                           "rows with --skip-invalid", style="red", markup=False)
    raise typer.Exit(EXIT_INVALID)


def _print_csv(report: SubsidyReport) -> None:
    rows = [row for status, _ in report.statuses for row in status_csv_rows(status)]
    fields = list(dict.fromkeys(key for row in rows for key in row)) or ["subsidie", "maand"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", restval="0.00")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())


def _render(console: Console, status: SubsidyStatus, found: list[Finding], file: str) -> None:
    s, settlement = status.subsidy, status.settlement

    def say(text: str) -> None:
        console.print(text, markup=False)

    say(f"{s.id} · {s.title}")
    say(f"grantor {status.grantor} · recipient {s.recipient.name} · period {s.period.start} – {s.period.until} · "
        f"status on {status.on}")
    say(f"ceiling {euro(status.ceiling_cents)}")
    basis = f" ({s.key.basis})" if s.key.basis else ""
    say(f"key{basis} of {euro(status.key_base_cents)}: " + " · ".join(
        f"{n} {pct(p)} {euro(c)}" for n, p, c in status.key_split))
    say(f"advances ({s.advances.schedule.value if not s.advances.items else 'listed'}): " + " · ".join(
        f"{a.date} {format_euro(a.amount)}" for a in status.advances))
    paid = euro(status.paid_cents) if status.paid_cents is not None else "no payments recorded"
    say(f"advances due by {status.on}: {euro(status.advances_due_cents)} · paid: {paid}")
    rate = (f"{s.valuation.product} tariff on the service date" if s.valuation.product
            else f"{format_euro(s.valuation.hourly_rate)} per hour" if s.valuation.hourly_rate is not None else "")
    realised = status.realised
    share = f"key {pct(status.grantor_percent)}" if s.valuation.basis == "key" else "rows logged for it"
    say(f"realised ({rate}): {hours(realised.total_ticks)} hours in {realised.rows_counted} row(s), "
        f"{euro(status.realised_total_cents)}; {status.grantor}'s part ({share}) {euro(status.part_cents)}; "
        f"left under the ceiling {euro(status.remaining_cents)}"
        + (f" ({realised.rows_outside} row(s) of the log are not for this subsidy)" if realised.rows_outside else ""))
    if status.months:
        console.print(_month_table(status))
        console.print(_municipality_table(status))
    if status.forecast_cents is not None and status.on < s.period.until:
        say(f"forecast (straight line, {status.elapsed_days} of {s.period.days} days): {status.grantor}'s part "
            f"{euro(status.forecast_cents)} by {s.period.until}")
    outcome = {"nabetaling": "still to pay to the recipient", "terugvordering": "to reclaim",
               "sluitend": "nothing to pay or reclaim"}[settlement.outcome]
    say(f"expected settlement (Awb 4:46): settled at {euro(settlement.settled_cents)} ({settlement.basis} "
        f"{euro(settlement.basis_cents)}, up to the ceiling); advances {euro(settlement.advances_cents)} "
        f"({settlement.advances_basis}); {outcome}: {euro(abs(settlement.balance_cents))}")
    deadline = status.next_deadline
    say(f"next deadline: {deadline.date} {deadline.what}" if deadline else "next deadline: none")
    for finding in found:
        say(str(finding.problem(file)))


def _month_table(status: SubsidyStatus) -> Table:
    names = [n for n, _ in status.by_use]
    table = Table(title="per maand", title_justify="left")
    for column in ("maand", "uren", "gerealiseerd", *names, f"deel {status.grantor}", "cumulatief", "resterend"):
        table.add_column(column, justify="left" if column == "maand" else "right")
    for m in status.months:
        table.add_row(m.month, hours(m.ticks).replace(".", ","), euro(m.total_cents),
                      *(euro(m.by_municipality.get(n, 0)) for n in names), euro(m.part_cents),
                      euro(m.cumulative_cents), euro(m.remaining_cents))
    return table


def _municipality_table(status: SubsidyStatus) -> Table:
    table = Table(title="per gemeente", title_justify="left")
    for column in ("gemeente", "sleutel", "volgens sleutel", "volgens gebruik"):
        table.add_column(column, justify="left" if column == "gemeente" else "right")
    use = dict(status.by_use)
    for (name, percent, _), (_, by_key) in zip(status.key_split, status.by_key, strict=True):
        table.add_row(name, pct(percent), euro(by_key), euro(use.get(name, 0)))
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(subsidy_app, name="subsidy")
