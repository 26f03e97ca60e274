"""``mgr forecast``: capacity from requests x hours per request + extra hours, in hours, fte and cost."""

from __future__ import annotations

import csv
import io
import sys
from decimal import Decimal
from pathlib import Path

import typer
from rich.table import Table

from mgr_tariffs.billing import BillOptions, bill_tables
from mgr_tariffs.budgets.forecast import (
    DEFAULT_FTE_HOURS,
    Forecast,
    ForecastError,
    forecast,
    parse_range,
    requests_from_rows,
)
from mgr_tariffs.budgets.norms import request_frame
from mgr_tariffs.catalogue.pricing import PriceError
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
from mgr_tariffs.money import format_euro, format_number, format_quantity, parse_decimal


def _number(option: str, text: str | None, default: Decimal) -> Decimal:
    if text is None:
        return default
    value = parse_decimal(text)
    if value is None or value < 0:
        raise fail(f"{option} {text!r} is not a number of hours", EXIT_USAGE)
    return value


@guarded
def forecast_command(
    requests: int = typer.Option(None, "--requests", "-n", min=0, help="Expected number of requests (trajecten)."),
    hours_per_request: str = typer.Option(None, "--hours-per-request", help="Hours per request: a range such as "
                                          "6-8 (middle: halfway) or one number."),
    extra_hours: str = typer.Option(None, "--extra-hours", help="Hours on top, e.g. information and advice "
                                    "(default 0)."),
    fte_hours: str = typer.Option(None, "--fte-hours", help=f"Productive hours of one fte (default "
                                  f"{DEFAULT_FTE_HOURS}, as source 002 arrives at 1 fte)."),
    product: str = typer.Option(None, "--product", "-p", help="Cost at this MGR product's tariff, e.g. LN018."),
    on: str = typer.Option(None, "--on", help="The tariff in force on this day, YYYY-MM-DD (default: today)."),
    from_log: list[Path] = typer.Option(None, "--from-log", help="Derive the requests and the hours per request "
                                        "from hour log(s) instead (of --product only, when given)."),
    output: Printed = typer.Option(Printed.TEXT, "--format", "-f", help="text, json or csv."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Capacity forecast: requests x hours per request + extra hours, as low / mid / high hours, fte and the cost
    at an MGR tariff. E.g. source 002: --requests 125 --hours-per-request 6-8 --extra-hours 325 gives 1.200 hours
    (1 fte) at the middle.
    """
    extra = _number("--extra-hours", extra_hours, Decimal(0))
    per_fte = _number("--fte-hours", fte_hours, DEFAULT_FTE_HOURS)
    day = date_option("--on", on)
    lookup = load_lookup(tariffs) if product or from_log else None
    try:
        if from_log:
            if requests is not None or hours_per_request is not None:
                raise fail("--from-log derives --requests and --hours-per-request: give one or the other", EXIT_USAGE)
            lookup = lookup or load_lookup(tariffs)
            tables = [read_table(path) for path in from_log]
            billed = bill_tables(tables, lookup, BillOptions(), lambda _: None)
            if billed.errors:
                print_problems(billed.errors)
                raise fail(f"{len(billed.errors)} problem(s) in the hour log(s); correct them first")
            found = requests_from_rows(billed.rows, request_frame(tables), product.upper() if product else None)
            result = forecast(found.requests, found.low, found.high, extra, per_fte, lookup, product, day,
                              mid=found.mid, basis=found.basis)
        else:
            if requests is None or hours_per_request is None:
                raise fail("give --requests and --hours-per-request, or --from-log LOG", EXIT_USAGE)
            low, high = parse_range(hours_per_request)
            result = forecast(requests, low, high, extra, per_fte, lookup, product, day)
    except ForecastError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except PriceError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    _show(result, output)
    raise typer.Exit(EXIT_OK)


def _show(result: Forecast, output: Printed) -> None:
    if output is Printed.JSON:
        print_json(result.as_json())
        return
    if output is Printed.CSV:
        rows = [s.as_json() for s in result.scenarios]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return
    console = stdout()
    quote = result.quote
    tariff = (f" at {quote.product.code} {format_euro(quote.amount)} per uur (in force on {quote.quote.day})"
              if quote else "")
    console.print(f"{result.requests} request(s) · {format_quantity(result.extra_hours)} extra hours · 1 fte = "
                  f"{format_quantity(result.fte_hours)} hours{tariff} · basis: {result.basis}", markup=False)
    table = Table(title="capaciteit", title_justify="left")
    for column in ("scenario", "uren per verzoek", "uren verzoeken", "uren totaal", "fte", *(["kosten"] if quote
                                                                                           else [])):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for s in result.scenarios:
        table.add_row(s.name, format_quantity(s.shown_per_request), format_quantity(s.request_hours),
                      format_quantity(s.hours), format_number(s.fte, 2),
                      *([format_euro(s.cost)] if s.cost is not None else []))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_command)
