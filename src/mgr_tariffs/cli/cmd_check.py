"""``mgr check``: verify a provider's invoice against the catalogue and, optionally, the hours logged."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.bsn import Mask, mask, mask_in
from mgr_tariffs.cli.allocation_options import ALLOCATIONS_OPTION, XSD_OPTION, load_register
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    MUNICIPALITY_FILTER,
    PERIOD_OPTION,
    PROVIDER_FILTER,
    TextOrJson,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    selection_option,
    stdout,
)
from mgr_tariffs.money import format_euro

if TYPE_CHECKING:  # the checking engine and the ledger are imported when the command runs: a faster start-up
    import polars as pl

    from mgr_tariffs.checking import engine as checking


@guarded
def check(
    invoices: list[Path] = typer.Argument(..., help="Invoice specifications: CSV or .xlsx, or what `mgr bill` "
                                          "writes (its invoice CSVs, samenvatting.csv, its --json output as .json)."),
    hours: list[Path] = typer.Option(None, "--hours", help="Hour log(s) to hold the billed quantities against "
                                     "(repeat the option for several logs)."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    show_bsn: bool = typer.Option(False, "--show-bsn", help="Show full BSNs on the terminal (masked by default)."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
    today: str = typer.Option(None, "--today", help="For --hours: reference date for 'lies in the future', "
                              "YYYY-MM-DD."),
    ledger: Path = typer.Option(None, "--ledger", help="Also flag lines already on an invoice issued in this ledger "
                                "(SQLite; e.g. mgr-ledger.sqlite)."),
    period: str | None = PERIOD_OPTION,
    provider: str | None = PROVIDER_FILTER,
    municipality: str | None = MUNICIPALITY_FILTER,
    allocations: list[Path] = ALLOCATIONS_OPTION,
    iwmo_dir: Path = XSD_OPTION,
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Recompute every invoice line from the catalogue and report each discrepancy with the money at stake.

    Checked: the unit price in force, quantity x price rounded once, LN034 revenue netting, the product for the
    municipality, membership, the BSN (elfproef), one calendar month per line, double billing across all files,
    invoice totals, with --hours the billed hours against the hours logged, and with --ledger lines that are
    already on an issued invoice.

    Exit 0 when every line is right, 1 when there are discrepancies or unreadable rows, 2 when a file cannot be read.
    """
    from mgr_tariffs.checking import engine as checking  # noqa: PLC0415

    lookup = load_lookup(tariffs)
    as_json = output is TextOrJson.JSON
    options = checking.CheckOptions(show_bsn=show_bsn or as_json, sheet=sheet, today=date_option("--today", today),
                                    selection=selection_option(lookup, period, provider, municipality))
    issued = _issued(ledger) if ledger is not None else None
    register = load_register(allocations, lookup, iwmo_dir, options.mask) if allocations else None  # issue 14
    result = checking.check(invoices, lookup, hours or None, options, issued, register)
    if as_json:
        print_json(result.as_json())
    else:
        print_problems(result.problems, shown=options.mask)
        render(result, stdout(), options.mask)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_INVALID)


def _issued(path: Path) -> pl.DataFrame:
    from mgr_tariffs.ledger.store import LedgerError, issued_line_keys  # noqa: PLC0415

    if not path.exists():
        raise fail(f"{path}: no such ledger", EXIT_USAGE)
    try:
        return issued_line_keys(path)
    except LedgerError as exc:
        raise fail(str(exc)) from None


def render(result: checking.CheckResult, console: Console, shown: Mask = mask) -> None:
    """The report for people: the discrepancies grouped per invoice, then the summary; BSN-shaped numbers in
    the findings are shown as ``shown`` shows a BSN (masked unless ``--show-bsn``)."""
    result = replace(result, discrepancies=[
        replace(item, message=mask_in(item.message, shown)) for item in result.discrepancies])
    by_invoice: dict[str, list[checking.Discrepancy]] = {}
    for item in result.discrepancies:
        by_invoice.setdefault(item.invoice, []).append(item)
    infos = {info.number: info for info in result.invoices}
    for number, found in by_invoice.items():
        console.print(_heading(number, infos.get(number)), style="bold", markup=False)
        if console.is_terminal:
            console.print(_table(found))
        else:
            for entry in found:
                console.print(_plain(entry), markup=False)
        console.print()
    for text in summary_lines(result.summary, errors=sum(1 for p in result.problems if p.is_error)):
        console.print(text, markup=False)


def _heading(number: str, info: checking.InvoiceInfo | None) -> str:
    if info is None:
        return f"factuur {number}"
    return (f"factuur {number} · {info.provider} · {info.municipality} · {info.period} · "
            f"{info.lines} regel(s), {format_euro(info.billed)}")


def _table(found: list[checking.Discrepancy]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in (("regel", "right"), ("soort", "left"), ("bevinding", "left"), ("gefactureerd", "right"),
                          ("verwacht", "right"), ("verschil", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for item in found:
        difference = item.difference
        style = "red" if difference is not None and difference > 0 else None
        table.add_row(_where(item), item.kind, item.message, _euro(item.billed), _euro(item.expected),
                      _euro(difference), style=style)
    return table


def _plain(item: checking.Discrepancy) -> str:
    money = ""
    if item.billed is not None and item.expected is not None:
        money = (f" [gefactureerd {_euro(item.billed)}, verwacht {_euro(item.expected)}, "
                 f"verschil {_euro(item.difference)}]")
    elif item.billed is not None:
        money = f" [gefactureerd {_euro(item.billed)}]"
    return f"  {item.file}:{_where(item)}: {item.kind}: {item.message}{money}"


def _where(item: checking.Discrepancy) -> str:
    return str(item.line) if item.line is not None else "-"


def _euro(amount: Decimal | None) -> str:
    return "" if amount is None else format_euro(amount)


def summary_lines(summary: checking.CheckSummary, errors: int = 0) -> list[str]:
    """The closing lines of the report; "the invoices are correct" only when lines were checked and no error
    (``errors``: the number of error problems, such as unreadable lines or missing columns) was found."""
    files = f"{summary.files} file(s)"
    lines = [f"{summary.lines_checked} line(s) checked in {summary.invoices} invoice(s), {files}; "
             f"billed {format_euro(summary.billed)}"]
    if summary.lines_unreadable:
        lines.append(f"{summary.lines_unreadable} line(s) could not be read (listed above)")
    if summary.hour_rows is not None:
        lines.append(f"hour log: {summary.hour_rows} row(s) read, {summary.hour_rows_rejected} rejected")
    if not summary.discrepancies:
        lines.append(_verdict(summary, errors))
        return lines
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.by_kind.items())
    noun = "discrepancy" if summary.discrepancies == 1 else "discrepancies"
    lines.append(f"{summary.discrepancies} {noun}: {kinds}")
    lines.append(f"over-billed {format_euro(summary.over_billed)}, under-billed {format_euro(summary.under_billed)}")
    return lines


def _verdict(summary: checking.CheckSummary, errors: int) -> str:
    listed = f"; {errors} {'problem' if errors == 1 else 'problems'} (listed above)" if errors else ""
    if summary.lines_checked == summary.lines_unreadable:
        return "no invoice line could be checked" + listed
    if errors:
        return "no discrepancies in the lines that could be read" + listed
    return "no discrepancies: the invoices are correct"


def register(app: typer.Typer) -> None:
    app.command("check")(check)
