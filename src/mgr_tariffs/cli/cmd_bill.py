"""``mgr bill``: hour logs to monthly invoices per provider and municipality."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.billing.output import (
    DEFAULT_FORMATS,
    FORMATS,
    REJECTS_FILE,
    TEXT_FORMATS,
    OutputRequest,
    output_contents,
    output_files,
    rejects_csv,
    result_json,
)
from mgr_tariffs.bsn import Mask, mask
from mgr_tariffs.budgets.norms import with_norm_signals
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli.allocation_options import ALLOCATIONS_OPTION, CAP_OPTION, XSD_OPTION, bill_option
from mgr_tariffs.cli.cmd_declare import (
    IwmoRequest,
    iwmo_documents,
    iwmo_request,
    keep_declarations,
)
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    MUNICIPALITY_FILTER,
    PERIOD_OPTION,
    PROVIDER_FILTER,
    date_option,
    fail,
    fit,
    guarded,
    load_lookup,
    parties_file,
    print_json,
    print_problems,
    selection_option,
    stderr,
    stdout,
    table,
)
from mgr_tariffs.cli.document_progress import with_document_progress
from mgr_tariffs.documents import DocumentError
from mgr_tariffs.io.atomic import Content, OutputError, OutputSet, write_atomically, write_directory
from mgr_tariffs.money import format_euro, format_number, from_cents
from mgr_tariffs.problems import warning

if TYPE_CHECKING:  # the ledger and the parties file are imported only when asked for: a faster start-up
    from mgr_tariffs.declarations.messages import Messages
    from mgr_tariffs.io.atomic import Staged
    from mgr_tariffs.ledger.store import IssueResult
    from mgr_tariffs.parties import Parties

LARGE_INPUT = 10 * 1024 * 1024
SHOWN_WARNINGS = 20
SHOWN_INVOICES = 60


@guarded
def bill_command(
    hours: list[Path] = typer.Argument(..., help="Hour logs: CSV (; , or tab, decimal comma or point) or .xlsx."),
    out: Path = typer.Option(None, "--out", "-o", metavar="DIR", help="Write the invoices into DIR (see --documents)."),
    output: str | None = typer.Option(None, "--format", "-f", metavar="text|json|csv", help="What is printed: text for "
                               "people \\[default], json (the full result, full BSNs) or csv (one row per invoice)."),
    documents: str | None = typer.Option(None, "--documents", "-d", metavar="lines,csv,ubl,pdf,xlsx,iwmo|none",
                                  help="What --out writes, comma-separated: lines = regels.csv, every line of the "
                                  "run in one file (the accounting import) \\[default]; csv = one CSV per invoice; "
                                  "ubl = SI-UBL 2.0 e-invoice, pdf and xlsx for people, per invoice; iwmo = WMO323 "
                                  "declarations (with --issue and --allocations); none: nothing (--issue without "
                                  "--out). samenvatting.csv is always written."),
    parties: Path = typer.Option(None, "--parties", envvar="MGR_PARTIES", help="Parties file (YAML) for ubl/pdf/xlsx "
                                 "(default: data/parties.yaml)."),
    invoice_date: str = typer.Option(None, "--invoice-date", metavar="DATE", help="Factuurdatum on documents, "
                                     "YYYY-MM-DD or DD-MM-YYYY (default: today)."),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="The same as --format json."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Bill the valid rows; write the rejected rows with reasons to a file."),
    rejects: Path = typer.Option(None, "--rejects", help="Where --skip-invalid writes the rejected rows "
                                 "(default: DIR/afgekeurd.csv, or afgekeurd.csv here)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
    today: str = typer.Option(None, "--today", help="Reference date for 'lies in the future', YYYY-MM-DD."),
    show_bsn: bool = typer.Option(False, "--show-bsn", help="Show full BSNs on the terminal (masked by default)."),
    issue_invoices: bool = typer.Option(False, "--issue", help="Issue the invoices: number them and record them "
                                        "in the ledger; rows billed before are skipped and reported."),
    ledger: Path = typer.Option(None, "--ledger", envvar="MGR_LEDGER", help="The ledger (SQLite) for --issue, and "
                                "for a preview that marks rows already billed (default: mgr-ledger.sqlite here)."),
    compare_tariffs: Path = typer.Option(None, "--compare-tariffs", metavar="NEW.yaml", help="What-if: bill the "
                                         "logs under this catalogue too and show the difference per municipality, "
                                         "provider, product and month (writes nothing)."),
    as_of: str = typer.Option(None, "--as-of", help="With --compare-tariffs: price every row at the tariffs in "
                              "force on this date, YYYY-MM-DD (what an indexation costs)."),
    period: str | None = PERIOD_OPTION,
    provider: str | None = PROVIDER_FILTER,
    municipality: str | None = MUNICIPALITY_FILTER,
    allocations: list[Path] = ALLOCATIONS_OPTION,
    cap_to_allocation: bool = CAP_OPTION,
    iwmo_dir: Path = XSD_OPTION,
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Bill hour logs: one invoice per provider, municipality and calendar month of the service date.

    Every row is checked; if any is rejected nothing is written, every rejected row is listed as
    [bold]file:line: message[/] and the exit code is 1 (unless --skip-invalid).
    """
    output, documents = _formats(output, documents, as_json)
    lookup = load_lookup(tariffs)
    options = BillOptions(today=date_option("--today", today), show_bsn=show_bsn, sheet=sheet,
                          selection=selection_option(lookup, period, provider, municipality))
    if compare_tariffs is not None:
        _what_if(hours, lookup, compare_tariffs, options, output, skip_invalid, as_of, out, issue_invoices)
    elif as_of is not None:
        raise fail("--as-of needs --compare-tariffs", EXIT_USAGE)
    if issue_invoices and out is None and documents != "none":
        raise fail("--issue numbers invoices that are sent: give --out DIR for their documents, or --documents "
                   "none to issue without writing any", EXIT_USAGE)
    iwmo = _iwmo(documents, issue_invoices, allocations, iwmo_dir, lookup)  # issue 15: WMO323 per issued invoice
    request = _request(out, documents or ",".join(DEFAULT_FORMATS), parties, invoice_date, force, lookup)
    request = with_document_progress(request, as_json=output == "json")  # issue 18: a bar while documents are made
    with _progress(hours) as say:
        result = bill(hours, lookup, options, progress=say)
    result = with_norm_signals(result, hours, sheet, options.mask)  # duration norms (issue 17): warnings only
    result = bill_option(result, allocations, lookup, cap=cap_to_allocation, issue=issue_invoices, ledger=ledger,
                         xsd=iwmo_dir, as_json=output == "json", shown=options.mask)  # issue 14: allocations
    if result.errors and not skip_invalid:
        _refuse(result, output == "json", options.mask)
    if result.unusable and issue_invoices:
        _refuse_issue(result, options.mask)
    day = _invoice_date(invoice_date) or dt.date.today()
    plan = replace(_plan(result, request, rejects if skip_invalid and result.errors else None, hours, force),
                   iwmo=iwmo)
    used = _inputs(tariffs, _parties_used(parties, request), ledger)
    if issue_invoices:
        _check_issue_date(result, ledger, day)
        issued: _Issued | None = _issue(result, ledger, plan, lookup, day)
        written = _told(plan, issued.files) if issued is not None else []
    else:
        issued = None
        if not _ledger_at_hand(ledger):  # nothing from here on reads the rows: ~1 GB for ten million of them
            result = result.without_rows()
        written = _write(result, plan, lookup)
        used += _preview_against_ledger(result, ledger, options.mask)
    _show(result, issued, output, written, used, options.mask)
    if result.unusable:  # --skip-invalid billed the other files, but a whole file was left out
        raise fail(f"{', '.join(result.unusable)}: could not be used at all (see the errors); the other files "
                   "were billed")
    raise typer.Exit(EXIT_OK)


def _what_if(hours: list[Path], lookup: Lookup, compare: Path, options: BillOptions, output: str | None,
             skip_invalid: bool, as_of: str | None, out: Path | None, issuing: bool) -> None:
    if out is not None or issuing:
        raise fail("--compare-tariffs writes nothing: leave out --out and --issue", EXIT_USAGE)
    from mgr_tariffs.cli.whatif import run_what_if  # noqa: PLC0415 - only for a what-if

    run_what_if(hours, lookup, compare, options, output or "text", skip_invalid, date_option("--as-of", as_of))


def _inputs(tariffs: Path, parties: Path | None, ledger: Path | None) -> list[str]:
    """The first line of the text output: which catalogue, parties file and ledger this run used."""
    from mgr_tariffs.catalogue.loader import resolve_catalogue_path  # noqa: PLC0415
    from mgr_tariffs.ledger import ledger_path  # noqa: PLC0415 - not the store: a faster start-up

    used = resolve_catalogue_path(tariffs)
    parts = [f"tarieven {used}" + (" (the copy in the package: there is no data/tariffs.yaml here)"
                                   if used != tariffs else "")]
    if parties is not None:
        parts.append(f"partijen {parties}")
    book = ledger_path(ledger)
    if ledger is not None or book.exists():
        parts.append(f"grootboek {book}")
    return [" · ".join(parts)]


def _parties_used(parties: Path | None, request: OutputRequest | None) -> Path | None:
    if request is None or request.parties is None:
        return None
    from mgr_tariffs.parties import DEFAULT_PATH as PARTIES_DEFAULT  # noqa: PLC0415

    return parties or PARTIES_DEFAULT


def _check_issue_date(result: BillingResult, ledger: Path | None, day: dt.date) -> None:
    """Refuse an invoice date before a supplier's last issued invoice; warn for one in the future."""
    from mgr_tariffs.identity import provider_key  # noqa: PLC0415
    from mgr_tariffs.ledger.store import LedgerError, last_issue_dates, ledger_path  # noqa: PLC0415

    book = ledger_path(ledger)
    if book.exists() and not result.invoice_frame.is_empty():
        try:
            last = last_issue_dates(book)
        except LedgerError as exc:
            raise fail(str(exc)) from None
        for provider in result.invoice_frame.get_column("provider").unique().to_list():
            before = last.get(provider_key(provider))
            if before is not None and day < before:
                raise fail(f"--invoice-date {day.isoformat()}: {provider} issued an invoice on {before.isoformat()} "
                           "already; its numbers follow the issue dates, so date this run on or after that day",
                           EXIT_USAGE)
    if day > dt.date.today():
        stderr().print(f"mgr: warning: --invoice-date {day.isoformat()} lies in the future", style="yellow",
                       markup=False)


def _ledger_at_hand(ledger: Path | None) -> bool:
    from mgr_tariffs.ledger import ledger_path  # noqa: PLC0415 - not the store: a faster start-up

    return ledger_path(ledger).exists()


def _preview_against_ledger(result: BillingResult, ledger: Path | None, reveal: Mask) -> list[str]:
    """A preview (no --issue) with a ledger at hand marks the rows that are on an issued invoice already."""
    from mgr_tariffs.ledger import ledger_path  # noqa: PLC0415

    book = ledger_path(ledger)
    if not book.exists() or result.rows.is_empty():
        return []
    from mgr_tariffs.ledger.store import LedgerError, find_billed  # noqa: PLC0415 - only with a ledger at hand

    try:
        billed = find_billed(book, result.rows)
    except LedgerError as exc:
        raise fail(str(exc)) from None
    if billed.is_empty():
        return []
    shown = [warning(r["_file"], r["_line"], f"already billed on invoice {r['number']} of {r['provider']}")
             for r in billed.head(SHOWN_WARNINGS).iter_rows(named=True)]
    print_problems(shown, shown=reveal)
    return [f"{billed.height:,} row(s) of this preview are on issued invoices already; --issue bills only the "
            "other rows".replace(",", ".")]


def _show(result: BillingResult, issued: _Issued | None, output: str | None, written: list[str], used: list[str],
          reveal: Mask) -> None:
    shown = issued.billed if issued else result
    if output == "json":
        print_json(result_json(shown, issued.numbers if issued else None, issued.summary() if issued else None))
    elif output == "csv":
        from mgr_tariffs.billing.output import summary_csv  # noqa: PLC0415

        sys.stdout.write(summary_csv(shown, issued.numbers if issued else None).decode("utf-8"))
    else:
        for line in used:
            stdout().print(line, markup=False)
        _render(shown, issued, reveal=reveal)
        for line in written:
            stdout().print(line, markup=False)


def _refuse_issue(result: BillingResult, reveal: Mask) -> None:
    """With --issue a file that cannot be used stops the run before the ledger is touched."""
    print_problems(result.errors, shown=reveal)
    raise fail(f"{', '.join(result.unusable)}: could not be used at all; nothing was issued or written "
               "(correct the file or leave it out)")


def _invoice_date(text: str | None) -> dt.date | None:
    day = date_option("--invoice-date", text)
    if day is None:
        return None
    from mgr_tariffs.ledger.store import issue_date_problem  # noqa: PLC0415 - the store only for --invoice-date

    problem = issue_date_problem(day)
    if problem:
        raise fail(f"--invoice-date {text}: {problem}", EXIT_USAGE)
    return day


@dataclass(frozen=True)
class _Plan:
    """Every output of one run, decided before anything is written or issued."""

    request: OutputRequest | None
    rejects_in_folder: bool
    rejects_file: Path | None
    force: bool
    iwmo: IwmoRequest | None = None  # --documents iwmo (issue 15)


def _plan(result: BillingResult, request: OutputRequest | None, rejects: Path | None, inputs: list[Path],
          force: bool) -> _Plan:
    """Where everything goes; refuses (before any work) a rejects file that is an input or exists."""
    in_folder = rejects is None and request is not None and bool(result.errors)
    separate = (rejects or Path(REJECTS_FILE)) if result.errors and not in_folder else None
    if separate is not None:
        for given in inputs:
            if _same_file(separate, given):
                raise fail(f"--rejects {separate}: is the hour log {given}; the rejected rows never replace an "
                           "input (name another file)", EXIT_USAGE)
        try:
            OutputSet(force=force).check_targets([separate])
        except OutputError as exc:
            raise fail(str(exc)) from None
    if request is not None and request.out_dir.exists() and not request.out_dir.is_dir():
        raise fail(f"{request.out_dir}: exists and is not a folder")
    return _Plan(replace(request, rejects=in_folder) if request else None, in_folder, separate, force)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _refuse(result: BillingResult, as_json: bool, reveal: Mask) -> None:
    if as_json:
        print_json(_failed_json(result))
        raise typer.Exit(EXIT_INVALID)
    _render(result, None, strict_failure=True, reveal=reveal)
    if result.unusable:
        stderr().print(f"nothing written: {', '.join(result.unusable)} could not be used at all; correct or leave "
                       "out the file (--skip-invalid bills the other files and still exits 1)", style="red",
                       markup=False)
        raise typer.Exit(EXIT_INVALID)
    stderr().print(f"nothing written: {result.summary.rows_rejected} row(s) rejected; correct them, or bill "
                   "the valid rows with --skip-invalid", style="red", markup=False)
    raise typer.Exit(EXIT_INVALID)


@dataclass(frozen=True)
class _Issued:
    """A billing result narrowed to what was issued now, with the numbers the ledger gave."""

    billed: BillingResult
    result: IssueResult
    numbers: dict[tuple[str, str, str], str]
    files: int = 0

    def summary(self) -> dict[str, object]:
        return {"rows_issued": self.result.rows_issued, "rows_already_billed": self.result.rows_already_billed}


def _narrowed(result: BillingResult, issued: IssueResult) -> _Issued:
    """The run as issued: the ledger's spellings, and only the rows that were not billed before."""
    base = issued.billed or result
    heads = issued.invoice_frame
    numbers = {} if heads.is_empty() else {
        (p, m, d): n for p, m, d, n in heads.select("provider", "gemeentecode", "period", "number").iter_rows()}
    if issued.lines is base.lines:  # every row was new: the run as billed (its totals are worked out already)
        return _Issued(base, issued, numbers)
    return _Issued(replace(base, lines=issued.lines if not issued.lines.is_empty() else base.lines.clear()),
                   issued, numbers)


def _issue(result: BillingResult, ledger: Path | None, plan: _Plan, lookup: Lookup, day: dt.date) -> _Issued:
    """Issue and write as one unit of work: the files are staged inside the ledger's transaction (any
    failure there leaves the ledger unchanged), published after its commit, or by the next run."""
    request = plan.request
    if request is not None:
        _check_out_dir(request.out_dir, plan.force)
    from mgr_tariffs.io.atomic import stage  # noqa: PLC0415
    from mgr_tariffs.ledger.store import LedgerError, issue, ledger_path  # noqa: PLC0415

    made: list[_Issued] = []
    declared: list[Messages | None] = []

    def outputs(issued: IssueResult, still_pending: Callable[[str], bool]) -> Staged | None:
        narrowed = _narrowed(result, issued)
        files = {} if request is None else output_files(
            narrowed.billed, request, lookup, issued.invoices if set(request.formats) - TEXT_FORMATS else None,
            narrowed.numbers)
        if plan.iwmo is not None and request is not None and request.parties is not None:
            messages = iwmo_documents(list(issued.invoices), plan.iwmo, parties=request.parties, lookup=lookup,
                                      ledger=ledger_path(ledger), message_date=day, skip_not_wmo=True)
            declared.append(messages)
            files.update(messages.files)
        single = {plan.rejects_file: rejects_csv(result)} if plan.rejects_file is not None else {}
        made.append(replace(narrowed, files=len(files)))
        if request is None and not single:
            return None
        return stage({request.out_dir: files} if request is not None else {}, single, force=plan.force,
                     still_pending=still_pending)

    try:
        done = issue(result, ledger_path(ledger), issue_date=day, lookup=lookup, outputs=outputs,
                     kvk=_kvk_numbers(result, request))
        keep_declarations(declared, ledger_path(ledger))
    except LedgerError as exc:
        raise fail(str(exc)) from None
    except (OutputError, DocumentError) as exc:
        raise fail(f"{exc}; nothing was issued") from None
    for note in done.recovered:
        stderr().print(f"mgr: {note}", style="yellow", markup=False)
    return replace(made[-1], result=done) if made else _narrowed(result, done)


def _kvk_numbers(result: BillingResult, request: OutputRequest | None) -> dict[str, str]:
    """The KvK number of each provider of the run, when a parties file is at hand (it is part of who a supplier is)."""
    if request is None or request.parties is None or result.invoice_frame.is_empty():
        return {}
    found = {}
    for provider in result.invoice_frame.get_column("provider").unique().to_list():
        party = request.parties.provider(provider)
        if party is not None:
            found[provider] = party.kvk
    return found


def _check_out_dir(out: Path, force: bool) -> None:
    """Refuse a non-empty output folder before issuing, so issued invoices always get their files."""
    if out.exists() and any(out.iterdir()) and not force:
        raise fail(f"{out} is not empty; issued invoices are written to a new or empty folder (or use --force)")


PRINTED = ("text", "json", "csv")


def _formats(output: str | None, documents: str | None, as_json: bool) -> tuple[str | None, str | None]:
    """``--format`` (what is printed) and ``--documents`` (what is written). ``--json`` is ``--format json``; a
    ``--format`` naming documents (``csv,ubl,pdf``, the option's meaning before 0.2) is read as ``--documents``
    with a warning, so that scripts keep working."""
    named = {part.strip().lower() for part in (output or "").split(",")}
    if output is not None and output.strip().lower() not in PRINTED and documents is None and named <= set(FORMATS):
        stderr().print(f"mgr: warning: --format {output} names documents: that is --documents now (--format "
                       "chooses what is printed: text, json or csv)", style="yellow", markup=False)
        output, documents = None, output
    if output is not None and output.strip().lower() not in PRINTED:
        raise fail(f"--format {output!r}: choose from text, json, csv", EXIT_USAGE)
    if as_json:
        if output not in (None, "json"):
            raise fail("--json is --format json: give one of them", EXIT_USAGE)
        output = "json"
    return (output.strip().lower() if output else None), documents


def _iwmo(documents: str | None, issuing: bool, allocations: list[Path] | None, iwmo_dir: Path | None,
          lookup: Lookup) -> IwmoRequest | None:
    wanted = [f.strip().lower() for f in (documents or "").split(",")]
    if "iwmo" in wanted and not issuing:
        raise fail("--documents iwmo needs --issue: a WMO323 names the invoice number", EXIT_USAGE)
    return iwmo_request(wanted, allocations, iwmo_dir, lookup)


def _request(out: Path | None, formats: str, parties: Path | None, invoice_date: str | None, force: bool,
             lookup: Lookup) -> OutputRequest | None:
    if formats.strip().lower() == "none":
        if out is not None:
            raise fail("--documents none writes nothing: leave out --out DIR", EXIT_USAGE)
        return None
    wanted = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    unknown = [f for f in wanted if f not in (*FORMATS, "iwmo")]
    if unknown or not wanted:
        raise fail(f"--documents {formats!r}: choose from {', '.join((*FORMATS, 'iwmo'))} (or none)", EXIT_USAGE)
    documents = set(wanted) - TEXT_FORMATS  # iwmo needs the parties file too (the provider's AGB code)
    wanted = tuple(f for f in wanted if f != "iwmo") or DEFAULT_FORMATS  # iwmo: written by _issue, next to them
    if out is None:
        if set(wanted) - set(DEFAULT_FORMATS):
            raise fail("--documents needs --out DIR", EXIT_USAGE)
        return None
    loaded = _load_parties(parties, lookup) if documents else None
    return OutputRequest(out, wanted, loaded, _invoice_date(invoice_date), force)


def _load_parties(path: Path | None, lookup: Lookup) -> Parties:
    from mgr_tariffs.parties import DEFAULT_PATH as PARTIES_DEFAULT  # noqa: PLC0415
    from mgr_tariffs.parties import load_parties  # noqa: PLC0415

    result = load_parties(parties_file(path or PARTIES_DEFAULT), lookup)
    if result.parties is None:
        print_problems(result.problems)
        raise fail(f"{path or PARTIES_DEFAULT}: the parties file is invalid")
    return result.parties


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
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415 - on a TTY only

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("reading", total=None)

        def say(phase: str) -> None:
            progress.update(task, description=phase)

        yield say


def _told(plan: _Plan, files: int) -> list[str]:
    told = []
    if plan.request is not None:
        told.append(f"written: {files} file(s) in {plan.request.out_dir}")
    if plan.rejects_file is not None:
        told.append(f"rejected rows written to {plan.rejects_file}")
    return told


def _write(result: BillingResult, plan: _Plan, lookup: Lookup) -> list[str]:
    """Write every file of the run before anything is shown, all or none; returns what to tell the user."""
    request = plan.request
    files: Mapping[str, Content] = {}
    try:
        if request is not None:
            files = output_contents(result, request, lookup)
        if request is not None and plan.rejects_file is not None:  # two places, published together or not at all
            from mgr_tariffs.io.atomic import stage  # noqa: PLC0415

            stage({request.out_dir: files}, {plan.rejects_file: rejects_csv(result)},
                  force=plan.force).publish(rollback=True)
        elif request is not None:
            write_directory(request.out_dir, files, plan.force)
        elif plan.rejects_file is not None:
            write_atomically(plan.rejects_file, rejects_csv(result), plan.force)
    except (OutputError, DocumentError) as exc:
        raise fail(str(exc)) from None
    return _told(plan, len(files))


def _render(result: BillingResult, issued: _Issued | None, strict_failure: bool = False,
            reveal: Mask = mask) -> None:
    print_problems(result.errors, shown=reveal)
    if issued is not None:
        _render_already_billed(issued.result)
    warnings = result.warnings
    print_problems(warnings[:SHOWN_WARNINGS], shown=reveal)
    if len(warnings) > SHOWN_WARNINGS:
        stderr().print(f"... and {len(warnings) - SHOWN_WARNINGS} more warning(s) (see --json)", style="yellow")
    s = result.summary
    console = stdout()
    left_out = f" · outside the selection {s.rows_left_out:,}" if s.rows_left_out else ""
    console.print(f"rows read {s.rows_read:,} · billed {s.rows_billed:,} · rejected {s.rows_rejected:,}{left_out}"
                  .replace(",", "."), markup=False)
    if strict_failure:
        return
    console.print(f"{s.invoices} invoice(s), {s.lines} line(s); total {format_euro(s.total)} excl. btw, "
                  f"btw {format_euro(s.vat)}", markup=False)
    if s.revenue_unnetted:
        console.print(f"revenue not netted (more than the line amount): {format_euro(s.revenue_unnetted)}",
                      style="yellow", markup=False)
    if 0 < s.invoices <= SHOWN_INVOICES:
        console.print(_invoice_table(result, issued.numbers if issued is not None else None))
    if s.invoices:
        console.print(_totals_table("gemeente", s.by_municipality))
        console.print(_totals_table("aanbieder", s.by_provider))


def _render_already_billed(issued: IssueResult) -> None:
    shown = [warning(r.file, r.line, f"already billed on invoice {r.number} of {r.provider}")
             for r in issued.already_billed_rows(SHOWN_WARNINGS)]
    print_problems(shown)
    if issued.rows_already_billed > SHOWN_WARNINGS:
        stderr().print(f"... and {issued.rows_already_billed - SHOWN_WARNINGS} more row(s) billed before (see --json)",
                       style="yellow")
    stdout().print(f"issued {issued.rows_issued:,} row(s) on {len(issued.numbers)} invoice(s); "
                   f"{issued.rows_already_billed:,} row(s) were billed before".replace(",", "."), markup=False)


def _invoice_table(result: BillingResult, numbers: Mapping[tuple[str, str, str], str] | None = None) -> Table:
    """The invoices of the run, with the number each got when they were issued."""
    first = ("factuurnummer",) if numbers else ()
    shown = table(*first, "aanbieder", "gemeente", "periode", "regels", "totaal", title="facturen",
                  right=("regels", "totaal"), keep=(*first, "periode", "regels", "totaal"))
    for row in result.invoice_frame.iter_rows(named=True):
        number = (numbers.get((row["provider"], row["gemeentecode"], row["period"]), ""),) if numbers else ()
        shown.add_row(*number, row["provider"], row["municipality"], row["period"],
                      format_number(Decimal(row["lines"]), 0), format_euro(from_cents(row["total_cents"])))
    return fit(shown)


def _totals_table(title: str, totals: Mapping[str, Decimal]) -> Table:
    shown = table(title, "bedrag", title=f"totaal per {title}", right=("bedrag",), keep=("bedrag",))
    for name, amount in totals.items():
        shown.add_row(name, format_euro(amount))
    return fit(shown)


def register(app: typer.Typer) -> None:
    app.command("bill")(bill_command)
