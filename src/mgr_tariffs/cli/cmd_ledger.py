"""``mgr credit`` and ``mgr ledger list|show|export|verify``: the issued invoices in the ledger."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.bsn import mask as mask_bsn
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli.cmd_declare import (
    ALLOCATIONS_OPTION,
    IWMO_DIR_OPTION,
    IwmoRequest,
    iwmo_documents,
    iwmo_request,
    keep_declarations,
)
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_USAGE,
    PERIOD_OPTION,
    TextOrJson,
    date_option,
    fail,
    fit,
    guarded,
    load_lookup,
    parties_file,
    period_option,
    print_json,
    print_problems,
    table,
)
from mgr_tariffs.documents import FORMATS, DocumentError, write_documents
from mgr_tariffs.io.atomic import Collected, OutputError, Staged, output_set, stage
from mgr_tariffs.money import format_euro, format_quantity

LEDGER_OPTION = typer.Option(
    None, "--ledger", help="The ledger of issued invoices (SQLite) (default: $MGR_LEDGER, else mgr-ledger.sqlite).")
PROVIDER_OPTION = typer.Option(None, "--provider", "-p", help="The provider (when a number exists for several).")


if TYPE_CHECKING:  # the ledger and the parties file are imported by the command that runs: a faster start-up
    from mgr_tariffs.declarations.messages import Messages
    from mgr_tariffs.ledger.store import IssuedInvoice
    from mgr_tariffs.parties import Parties


ledger_app = typer.Typer(help="The ledger of issued invoices: list, show, export, verify.", no_args_is_help=True)


def _console() -> Console:
    tty = sys.stdout.isatty()
    return Console(highlight=False, emoji=False, soft_wrap=not tty, width=None if tty else 200)


OUT_OPTION = typer.Option(None, "--out", "-o", help="Write the documents into DIR (see --documents).")
DOCUMENTS_OPTION = typer.Option("ubl,pdf", "--documents", help="With --out: any of ubl,pdf,xlsx,iwmo "
                                "(iwmo: the WMO323 declaration, with --allocations; see docs/iwmo.md).")
PARTIES_OPTION = typer.Option(None, "--parties", envvar="MGR_PARTIES",
                              help="Parties file for documents (default: data/parties.yaml).")


@dataclass(frozen=True)
class _DocumentsRequest:
    out: Path
    formats: list[str]
    parties: Parties
    lookup: Lookup
    iwmo: IwmoRequest | None = None  # --documents iwmo (issue 15)


def _documents_request(out: Path | None, documents: str, parties: Path | None,
                       tariffs: Path, allocations: Path | None = None,
                       iwmo_dir: Path | None = None) -> _DocumentsRequest | None:
    """Everything documents need, checked before the ledger is touched."""
    from mgr_tariffs.parties import DEFAULT_PATH as PARTIES_DEFAULT  # noqa: PLC0415
    from mgr_tariffs.parties import load_parties  # noqa: PLC0415

    if out is None:
        return None
    formats = [f.strip() for f in documents.split(",") if f.strip()]
    unknown = sorted(set(formats) - {*FORMATS, "iwmo"})
    if unknown or not formats:
        raise fail(f"--documents {documents!r}: choose from {', '.join((*FORMATS, 'iwmo'))}", EXIT_USAGE)
    iwmo = iwmo_request(formats, allocations, iwmo_dir)
    lookup = load_lookup(tariffs)
    loaded = load_parties(parties_file(parties or PARTIES_DEFAULT), lookup)
    if loaded.parties is None:
        print_problems(loaded.problems)
        raise fail(f"{parties or PARTIES_DEFAULT}: the parties file is invalid")
    return _DocumentsRequest(out, [f for f in formats if f != "iwmo"], loaded.parties, lookup, iwmo)


def _staged_documents(invoices: list[Invoice], request: _DocumentsRequest, issue_date: dt.date,
                      still_pending: Callable[[str], bool] | None = None,
                      ledger: Path | None = None) -> tuple[Staged, int, Messages | None]:
    """Make every document and write them to staging (nothing visible yet); refuses existing files.
    Returns what was staged, how many files, and the iWmo declarations to keep in the ledger."""
    collected = Collected()
    if request.formats:
        write_documents(invoices, request.parties, request.lookup, request.out, request.formats,
                        issue_date=issue_date, outputs=collected)
    named = {path.name: data for path, data in collected.files.items()}
    declared = None
    if request.iwmo is not None and ledger is not None:
        declared = iwmo_documents(invoices, request.iwmo, parties=request.parties, lookup=request.lookup,
                                  ledger=ledger, message_date=issue_date)
        named.update(declared.files)
    return stage({request.out: named}, still_pending=still_pending), len(named), declared


def _tell_written(out: Path, count: int) -> None:
    _console().print(f"written: {count} file(s) in {out}", markup=False)


@guarded
def credit_command(
    number: str = typer.Argument(..., help="The number of the invoice to credit, e.g. 2024-000012."),
    provider: str | None = PROVIDER_OPTION,
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why (recorded with the credit note)."),
    date: str | None = typer.Option(None, "--invoice-date", metavar="DATE", help="Issue date of the credit note, "
                                    "YYYY-MM-DD or DD-MM-YYYY (default: today)."),
    old_date: str | None = typer.Option(None, "--date", hidden=True, help="The same as --invoice-date."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    ledger: Path | None = LEDGER_OPTION,
    out: Path | None = OUT_OPTION,
    documents: str = DOCUMENTS_OPTION,
    parties: Path | None = PARTIES_OPTION,
    allocations: Path | None = ALLOCATIONS_OPTION,
    iwmo_dir: Path | None = IWMO_DIR_OPTION,
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Credit an issued invoice: a credit note mirrors it with negative amounts and releases its rows,
    so they can be billed again after correction. An invoice is credited at most once."""
    from mgr_tariffs.ledger.store import LedgerError, credit, issue_date_problem, ledger_path  # noqa: PLC0415

    wanted = _documents_request(out, documents, parties, tariffs, allocations, iwmo_dir)
    date = date or old_date
    day = date_option("--invoice-date", date) or dt.date.today()
    problem = issue_date_problem(day)
    if problem:
        raise fail(f"--invoice-date {date}: {problem}", EXIT_USAGE)
    counted: list[tuple[Staged, int, Messages | None]] = []

    def outputs(note: Invoice, still_pending: Callable[[str], bool]) -> Staged | None:
        if wanted is None:
            return None
        staged, count, declared = _staged_documents([note], wanted, day, still_pending, ledger_path(ledger))
        counted.append((staged, count, declared))
        return staged

    try:
        note = credit(ledger_path(ledger), number, reason=reason, issue_date=day, provider=provider, outputs=outputs)
        keep_declarations([d for _, _, d in counted], ledger_path(ledger))
    except LedgerError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    except (DocumentError, OutputError) as exc:
        raise fail(f"{exc}; no credit note was issued", EXIT_INVALID) from None
    for _, count, _ in counted:
        if wanted is not None:
            _tell_written(wanted.out, count)
    if output is TextOrJson.JSON:
        print_json(note.as_json())
        return
    _console().print(f"credit note {note.number} of {note.provider} credits {note.credits}: "
                     f"{format_euro(note.total_incl_vat)} incl. VAT ({len(note.lines)} line(s))", markup=False)


@ledger_app.command("list")
@guarded
def list_command(
    provider: str | None = typer.Option(None, "--provider", "-p", help="Only this provider."),
    municipality: str | None = typer.Option(None, "--municipality", "-m", help="Only this municipality (name/code)."),
    period: str | None = PERIOD_OPTION,
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    ledger: Path | None = LEDGER_OPTION,
) -> None:
    """List the issued invoices and credit notes, oldest first."""
    from mgr_tariffs.ledger.declarations import statuses  # noqa: PLC0415 - iWmo (issue 15)
    from mgr_tariffs.ledger.store import LedgerError, ledger_path, list_invoices  # noqa: PLC0415

    try:
        items = list_invoices(ledger_path(ledger), provider, municipality, period_option(period))
        iwmo = statuses(ledger_path(ledger)) if items else {}
    except LedgerError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    if output is TextOrJson.JSON:
        print_json([{**item.as_json(), "iwmo": iwmo.get((item.provider, item.number))} for item in items])
        return
    shown = table("factuurnummer", "aanbieder", "gemeente", "periode", "factuurdatum", "totaal incl. btw", "opmerking",
                  "iWmo",
                  title=f"{len(items)} uitgereikte factu{'ur' if len(items) == 1 else 'ren'}",
                  right=("totaal incl. btw",), keep=("factuurnummer", "periode", "factuurdatum", "totaal incl. btw"))
    for item in items:
        shown.add_row(item.number, item.provider, item.municipality, item.period, item.issue_date.isoformat(),
                      format_euro(item.total_incl_vat), _note(item), iwmo.get((item.provider, item.number), ""))
    _console().print(fit(shown))


def _note(item: IssuedInvoice) -> str:
    if item.credits:
        return f"crediteert {item.credits}" + (f": {item.reason}" if item.reason else "")
    return f"gecrediteerd door {item.credited_by}" if item.credited_by else ""


@ledger_app.command("show")
@guarded
def show_command(
    number: str = typer.Argument(..., help="The invoice number."),
    provider: str | None = PROVIDER_OPTION,
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json (full BSNs)."),
    ledger: Path | None = LEDGER_OPTION,
    out: Path | None = OUT_OPTION,
    documents: str = DOCUMENTS_OPTION,
    parties: Path | None = PARTIES_OPTION,
    allocations: Path | None = ALLOCATIONS_OPTION,
    iwmo_dir: Path | None = IWMO_DIR_OPTION,
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Show one issued invoice with its lines (BSNs masked; full in --format json); --out writes its documents
    again (UBL, PDF, XLSX) exactly as issued."""
    from mgr_tariffs.ledger.store import LedgerError, ledger_path, show  # noqa: PLC0415

    wanted = _documents_request(out, documents, parties, tariffs, allocations, iwmo_dir)
    try:
        item = show(ledger_path(ledger), number, provider)
    except LedgerError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    if wanted is not None and item.invoice is not None:
        try:
            staged, count, declared = _staged_documents([item.invoice], wanted, item.issue_date,
                                                        ledger=ledger_path(ledger))
            try:
                staged.publish(rollback=True)
            finally:
                staged.discard()
            keep_declarations([declared], ledger_path(ledger))
        except (DocumentError, OutputError, LedgerError) as exc:
            raise fail(str(exc)) from None
        _tell_written(wanted.out, count)
    if output is TextOrJson.JSON:
        print_json(item.as_json())
        return
    assert item.invoice is not None
    console = _console()
    console.print(f"{item.provider} — invoice {item.number} of {item.issue_date.isoformat()}: "
                  f"{item.municipality} ({item.municipality_code}), {item.period}"
                  + (f"; {_note(item)}" if _note(item) else ""), markup=False)
    console.print(_lines_table(item.invoice))
    console.print(f"total {format_euro(item.total)} + VAT {format_euro(item.vat)} = "
                  f"{format_euro(item.total_incl_vat)}", markup=False)


def _lines_table(invoice: Invoice) -> Table:
    money = ("aantal", "tarief", "opbrengst verrekend", "bedrag")
    shown = table("cliënt", "product", "aantal", "eenheid", "tarief", "opbrengst verrekend", "bedrag", right=money,
                  keep=("cliënt", *money))
    for line in invoice.lines:
        shown.add_row(mask_bsn(line.bsn), f"{line.product} {line.product_name}", format_quantity(line.quantity),
                      line.unit.value, format_euro(line.unit_price), format_euro(line.revenue_netted),
                      format_euro(line.amount))
    return fit(shown)


@ledger_app.command("export")
def export_command(
    out: Path | None = typer.Option(None, "--out", "-o", metavar="DIR", help="Write grootboek.csv into DIR (a path "
                                    "ending in .csv: that file) \\[default: standard output]."),
    force: bool = typer.Option(False, "--force", help="Overwrite the file when it exists."),
    ledger: Path | None = LEDGER_OPTION,
) -> None:
    """Export every issued invoice as CSV for the accounting system (one row per invoice, Dutch dialect: ``;``,
    decimal comma, UTF-8 with BOM — on standard output too, so a redirected export opens right in Excel).

    Examples:

      mgr ledger export > grootboek.csv

      mgr ledger export --out boekhouding --ledger mgr-ledger.sqlite
    """
    from mgr_tariffs.ledger.store import LedgerError, export_csv, ledger_path  # noqa: PLC0415

    if out is not None and out.suffix.lower() != ".csv":
        out = out / EXPORT_FILE
    buffer = io.StringIO(newline="")
    try:
        export_csv(ledger_path(ledger), buffer, bom=True)
        if out is None:
            sys.stdout.write(buffer.getvalue())
            return
        with output_set(force) as outputs:
            outputs.write_text(out, buffer.getvalue())
    except (LedgerError, OutputError) as exc:
        raise fail(str(exc), EXIT_INVALID) from None


EXPORT_FILE = "grootboek.csv"


@ledger_app.command("verify")
def verify_command(
    ledger: Path | None = LEDGER_OPTION,
    head: str | None = typer.Option(None, "--head", help="A chain head noted earlier (printed by verify): check that "
                                    "everything the ledger held then is still there."),
) -> None:
    """Check the ledger: SQLite integrity, the hash chain of every supplier, gapless numbers, every invoice
    complete, files published. Exit 1 when unsound. Prints the chain head to note (see --head)."""
    from mgr_tariffs.ledger.store import LedgerError, chain_head, head_is_known, ledger_path, verify  # noqa: PLC0415

    path = ledger_path(ledger)
    try:
        problems = verify(path)
        if head is not None and not head_is_known(path, head.strip().lower()):
            problems.append(f"chain head {head} is not in this ledger: invoices recorded up to then were removed "
                            "(or it is the head of another ledger)")
        now = chain_head(path)
    except LedgerError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    for problem in problems:
        _console().print(f"{path}: error: {problem}", markup=False)
    if problems:
        raise typer.Exit(EXIT_INVALID)
    _console().print(f"{path}: ok (chain head {now})", markup=False)


def register(app: typer.Typer) -> None:
    app.command("credit")(credit_command)
    app.add_typer(ledger_app, name="ledger")
