"""``mgr declare validate|write|answer``: iWmo WMO323 declarations and their WMO325 answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    TextOrJson,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    stderr,
    stdout,
)
from mgr_tariffs.declarations.material import ENV_VAR, IwmoMaterial, find_material
from mgr_tariffs.money import format_euro, from_cents

if TYPE_CHECKING:  # lxml and the writers are imported by the command that runs: a faster start-up
    from mgr_tariffs.catalogue.loader import Lookup
    from mgr_tariffs.declarations.allocations import Allocations
    from mgr_tariffs.declarations.messages import Messages
    from mgr_tariffs.parties import Parties

IWMO_DIR_OPTION = typer.Option(
    None, "--iwmo-dir", envvar=ENV_VAR, help="Folder with the iWmo 3.2 xsd/, xslt/ and rules/ "
    "(default: ../shared/iwmo when present).")
LEDGER_OPTION = typer.Option(
    None, "--ledger", envvar="MGR_LEDGER", help="The ledger of issued invoices (SQLite) (default: mgr-ledger.sqlite).")


SHOWN_SKIPPED = 5


declare_app = typer.Typer(help="iWmo declarations: validate, write a WMO323, match a WMO325 answer.",
                          no_args_is_help=True)


def _material(option: Path | None) -> IwmoMaterial:
    return find_material(option)


@declare_app.command("validate")
@guarded
def validate_command(
    files: list[Path] = typer.Argument(..., help="WMO323 (or WMO325) messages, from this tool or any other."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    iwmo_dir: Path = IWMO_DIR_OPTION,
) -> None:
    """Check iWmo messages against the XSD and the level-2 rule stylesheet, as VECOZO would.

    Prints every broken rule with its code, its Dutch text and the element path. Exit 0 when every
    file is valid, 1 when a rule is broken, 2 when a file cannot be read.
    """
    from mgr_tariffs.declarations.validation import UnreadableMessage, validate_file  # noqa: PLC0415

    material = _material(iwmo_dir)
    report: dict[str, list[dict[str, object]]] = {}
    unreadable: list[str] = []
    out = stdout()
    for path in files:
        try:
            findings = validate_file(path, material)
        except (OSError, UnreadableMessage) as exc:
            message = str(exc) if isinstance(exc, UnreadableMessage) else f"{path}: cannot be read ({exc.strerror})"
            unreadable.append(message)
            stderr().print(f"mgr: {message}", style="red", markup=False)
            continue
        report[str(path)] = [f.as_json() for f in findings]
        if output is TextOrJson.TEXT:
            for finding in findings:
                out.print(f"{path}: {finding}", markup=False)
            if not findings:
                out.print(f"{path}: valid", markup=False)
    bad = sum(1 for findings in report.values() if findings)
    if output is TextOrJson.JSON:
        print_json({"files": report, "unreadable": unreadable})
    else:
        out.print(f"{len(files)} file(s): {len(report) - bad} valid, {bad} with findings, {len(unreadable)} "
                  "unreadable", markup=False)
    raise typer.Exit(EXIT_USAGE if unreadable else EXIT_INVALID if bad else EXIT_OK)


@declare_app.command("write")
@guarded
def write_command(
    numbers: list[str] = typer.Argument(..., help="Numbers of issued invoices or credit notes in the ledger."),
    allocations: Path = typer.Option(..., "--allocations", "-a", help="The allocation register (CSV, .xlsx, "
                                     "WMO301) or an allocations.yaml: the ToewijzingNummer per client and product."),
    out: Path = typer.Option(..., "--out", "-o", help="Write WMO323-<DeclaratieNummer>.xml files into DIR."),
    parties: Path = typer.Option(None, "--parties", envvar="MGR_PARTIES", help="Parties file with the providers' "
                                 "AGB codes (default: data/parties.yaml)."),
    date: str = typer.Option(None, "--invoice-date", metavar="DATE", help="Date of the message (Dagtekening), "
                             "YYYY-MM-DD (default: today)."),
    provider: str = typer.Option(None, "--provider", "-p", help="The provider (when a number exists for several)."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
    ledger: Path = LEDGER_OPTION,
    iwmo_dir: Path = IWMO_DIR_OPTION,
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Write one WMO323 per invoice of the ledger, each checked (XSD and rules) before it is written;
    the ledger keeps each declaration and its ProductReferenties (for `mgr ledger answer`).

    A credit note mirrors its debit (DebetCredit C, VorigReferentieNummer). An invoice that cannot be
    declared (a Participatiewet row, a missing allocation, ...) is refused with every reason; the others
    are written. Exit 0 when all were written, 1 when one was refused, 2 for unreadable input.
    """
    from mgr_tariffs.declarations.messages import declaration_messages  # noqa: PLC0415
    from mgr_tariffs.io.atomic import OutputError, write_directory  # noqa: PLC0415
    from mgr_tariffs.parties import DEFAULT_PATH as PARTIES_DEFAULT  # noqa: PLC0415
    from mgr_tariffs.parties import load_parties  # noqa: PLC0415

    material = _material(iwmo_dir)
    lookup = load_lookup(tariffs)
    found = _allocations([allocations], lookup, iwmo_dir)
    loaded = load_parties(parties or PARTIES_DEFAULT, lookup)
    print_problems(loaded.problems)
    if loaded.parties is None:
        raise fail("the parties file is invalid; nothing was written")
    messages = _from_ledger(ledger, numbers, provider, lambda invoices, original: declaration_messages(
        invoices, parties=loaded.parties, lookup=lookup, allocations=found,  # type: ignore[arg-type]
        material=material, message_date=date_option("--invoice-date", date) or dt.date.today(), original=original))
    for refused in messages.refused:
        for message in refused.messages:
            stderr().print(f"mgr: {refused.invoice}: {message}", style="red", markup=False)
    if messages.files:
        try:
            written = write_directory(out, messages.files, force=force)
        except OutputError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
        for file in written:
            stdout().print(f"wrote {file}", markup=False)
    for declaration in messages.declarations:
        stdout().print(f"{declaration.invoice_number}: DeclaratieNummer {declaration.number}, "
                       f"{len(declaration.prestaties)} prestatie(s), {format_euro(from_cents(declaration.total))}",
                       markup=False)
    raise typer.Exit(EXIT_INVALID if messages.refused else EXIT_OK)


@declare_app.command("answer")
@guarded
def answer_command(
    answers: list[Path] = typer.Argument(..., help="WMO325 declaration answers."),
    declarations: list[Path] = typer.Option(..., "--declarations", "-d", help="The WMO323 messages they answer."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    iwmo_dir: Path = IWMO_DIR_OPTION,
) -> None:
    """Match each WMO325 answer to its WMO323 by DeclaratieNummer and ProductReferentie: per line approved
    or rejected with the return codes and their meaning (WJ001), toegekend against ingediend.

    An answer that matches no declaration, or a line twice, is reported, never matched. Exit 0 when every
    answer matched, 1 when one did not, 2 for an unreadable file. (``mgr ledger answer`` records them.)
    """
    from mgr_tariffs.declarations.wmo325 import (  # noqa: PLC0415
        AnswerError,
        MatchError,
        match_answer,
        read_answer,
        read_declaration,
    )

    material = _material(iwmo_dir)
    try:
        declared = [read_declaration(_read(path), str(path)) for path in declarations]
    except AnswerError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    matched, problems = [], []
    for path in answers:
        try:
            matched.append(match_answer(read_answer(_read(path), str(path), material), declared))
        except AnswerError as exc:
            problems.append(str(exc) + "".join(f"\n  {f}" for f in exc.findings))
        except MatchError as exc:
            problems.append(str(exc))
    for problem in problems:
        stderr().print(f"mgr: {problem}", style="red", markup=False)
    if output is TextOrJson.JSON:
        print_json({"answers": [m.as_json() for m in matched], "problems": problems})
    else:
        out = stdout()
        for m in matched:
            out.print(f"{m.answer_file}: declaration {m.declaration_number}: {len(m.approved)} approved, "
                      f"{len(m.rejected)} rejected; ingediend {format_euro(from_cents(m.submitted))}, toegekend "
                      f"{format_euro(from_cents(m.granted))}", markup=False)
            for line in m.rejected:
                codes = "; ".join(f"{c.code} {c.meaning}" for c in line.codes)
                out.print(f"  rejected {line.reference} ({line.product}, allocation {line.allocation}, "
                          f"{format_euro(from_cents(line.amount))}): {codes}", markup=False)
    raise typer.Exit(EXIT_INVALID if problems else EXIT_OK)


def _from_ledger(ledger: Path | None, numbers: list[str], provider: str | None,
                 make: Callable[[list[Invoice], Callable[[str, str], Invoice]], Messages]) -> Messages:
    """The messages of ledger invoices, each declaration kept in the ledger with its ProductReferenties."""
    from mgr_tariffs.ledger.store import LedgerError, ledger_path, show  # noqa: PLC0415

    path = ledger_path(ledger)
    try:
        invoices = [_with_lines(show(path, number, provider).invoice, number) for number in numbers]
        messages = make(invoices, lambda who, number: _with_lines(show(path, number, who).invoice, number))
        keep_declarations([messages], path)
    except LedgerError as exc:
        raise fail(str(exc)) from None
    return messages


def _with_lines(invoice: Invoice | None, number: str) -> Invoice:
    if invoice is None:
        raise fail(f"invoice {number}: the ledger has no lines for it")
    return invoice


def _read(path: Path) -> bytes:
    from mgr_tariffs.problems import InputError  # noqa: PLC0415

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None


@guarded
def ledger_answer_command(
    answers: list[Path] = typer.Argument(..., help="WMO325 declaration answers."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    ledger: Path = LEDGER_OPTION,
    iwmo_dir: Path = IWMO_DIR_OPTION,
) -> None:
    """Record WMO325 answers: each matched to its declaration in the ledger by DeclaratieNummer (and the
    provider's AGB) and ProductReferentie; per line approved or rejected with its return codes (WJ001).

    A rejected line releases its rows for correction, like a credit note: the next `mgr bill --issue`
    bills them again. An answer that matches no declaration, or one answered before, is reported and never
    applied. Exit 0 when every answer was recorded, 1 when one was refused, 2 for an unreadable file.
    """
    from mgr_tariffs.declarations.wmo325 import AnswerError, read_answer  # noqa: PLC0415
    from mgr_tariffs.ledger.declarations import record_answer  # noqa: PLC0415
    from mgr_tariffs.ledger.store import LedgerError, ledger_path  # noqa: PLC0415

    material = _material(iwmo_dir)
    path = ledger_path(ledger)
    recorded, problems = [], []
    for file in answers:
        data = _read(file)
        try:
            answer = read_answer(data, str(file), material)
            recorded.append(record_answer(path, answer, data, receiver_agb=answer.receiver))
        except (AnswerError, LedgerError) as exc:
            problems.append(str(exc))
    for problem in problems:
        stderr().print(f"mgr: {problem}", style="red", markup=False)
    if output is TextOrJson.JSON:
        print_json({"answers": [{**r.matched.as_json(), "provider": r.provider} for r in recorded],
                    "problems": problems})
    else:
        for r in recorded:
            m = r.matched
            stdout().print(f"{m.answer_file}: invoice {r.invoice_number} ({r.provider}): {len(m.approved)} approved, "
                           f"{len(m.rejected)} rejected (rows released for correction); ingediend "
                           f"{format_euro(from_cents(m.submitted))}, toegekend {format_euro(from_cents(m.granted))}",
                           markup=False)
            for line in m.rejected:
                codes = "; ".join(f"{c.code} {c.meaning}" for c in line.codes)
                stdout().print(f"  rejected {line.reference} ({line.product}): {codes}", markup=False)
    raise typer.Exit(EXIT_INVALID if problems else EXIT_OK)


def register(app: typer.Typer) -> None:
    from mgr_tariffs.cli.cmd_ledger import ledger_app  # noqa: PLC0415

    app.add_typer(declare_app, name="declare")
    ledger_app.command("answer")(ledger_answer_command)


# --- `--documents iwmo` on `mgr credit` and `mgr ledger show` ----------------------------------------------

ALLOCATIONS_OPTION = typer.Option(None, "--allocations", "-a", help="With --documents iwmo: the allocations file "
                                  "(ToewijzingNummer per client and product; see docs/iwmo.md).")


@dataclass(frozen=True)
class IwmoRequest:
    """What ``--documents iwmo`` needs, checked before the ledger is touched."""

    allocations: Allocations
    material: IwmoMaterial


def iwmo_request(formats: list[str], allocations: Path | list[Path] | None, iwmo_dir: Path | None,
                 lookup: Lookup | None = None) -> IwmoRequest | None:
    """``None`` when iwmo is not asked for; a usage error (exit 2) when its inputs are missing.

    The allocations are an ``allocations.yaml`` (docs/iwmo.md) or the allocation register of
    ``mgr allocations`` (CSV, .xlsx or WMO301; docs/allocations.md).
    """
    if "iwmo" not in formats:
        return None
    paths = [allocations] if isinstance(allocations, Path) else list(allocations or [])
    if not paths:
        raise fail("--documents iwmo needs --allocations FILE (the ToewijzingNummer of every line)", EXIT_USAGE)
    material = _material(iwmo_dir)
    return IwmoRequest(_allocations(paths, lookup, iwmo_dir), material)


def _allocations(paths: list[Path], lookup: Lookup | None, iwmo_dir: Path | None) -> Allocations:
    from mgr_tariffs.declarations.allocations import Allocations, load_allocations  # noqa: PLC0415

    if all(path.suffix.lower() in (".yaml", ".yml") for path in paths) and len(paths) == 1:
        found = load_allocations(paths[0])
        print_problems(found.problems)
        if found.allocations is None:
            raise fail(f"{paths[0]}: the allocations file is invalid; nothing was issued or written")
        return found.allocations
    from mgr_tariffs.allocations.register import read_register  # noqa: PLC0415
    from mgr_tariffs.allocations.wmo301 import xsd_folder  # noqa: PLC0415

    loaded = read_register(paths, lookup or load_lookup(CATALOGUE_OPTION.default), xsd_dir=xsd_folder(iwmo_dir))
    print_problems(loaded.problems)
    if loaded.register is None:
        raise fail(f"{', '.join(map(str, paths))}: the allocation register is invalid; nothing was issued or written")
    return Allocations.from_register(loaded.register)


def iwmo_documents(invoices: list[Invoice], request: IwmoRequest, *, parties: Parties, lookup: Lookup,
                   ledger: Path, message_date: dt.date, skip_not_wmo: bool = False) -> Messages:
    """The checked WMO323 of each invoice (a credit note with the invoice it credits, read from the ledger).

    Raises :class:`DocumentError` with every reason when one cannot be declared, so nothing is written;
    with ``skip_not_wmo`` (a billing run) invoices without a Wmo line are left to their UBL and named.
    """
    from mgr_tariffs.declarations.messages import declaration_messages  # noqa: PLC0415
    from mgr_tariffs.documents import DocumentError  # noqa: PLC0415
    from mgr_tariffs.ledger.store import show  # noqa: PLC0415

    messages = declaration_messages(invoices, parties=parties, lookup=lookup, allocations=request.allocations,
                                    material=request.material, message_date=message_date,
                                    original=lambda who, number: _with_lines(show(ledger, number, who).invoice,
                                                                             number), skip_not_wmo=skip_not_wmo)
    if messages.skipped:
        shown = ", ".join(messages.skipped[:SHOWN_SKIPPED]) + (
            f" and {len(messages.skipped) - SHOWN_SKIPPED} more" if len(messages.skipped) > SHOWN_SKIPPED else "")
        stderr().print(f"mgr: no WMO323 for {len(messages.skipped)} invoice(s) ({shown}): no line falls under the "
                       "Wmo, or the month lies before iWmo 3 (2021); invoice them as UBL", style="yellow", markup=False)
    if messages.refused:
        raise DocumentError("; ".join(f"{r.invoice}: {m}" for r in messages.refused for m in r.messages))
    return messages


def keep_declarations(written: list[Messages | None], ledger: Path) -> None:
    """Keep each written declaration and its ProductReferenties in the ledger (for `mgr ledger answer`)."""
    from mgr_tariffs.declarations.wmo323 import file_name  # noqa: PLC0415
    from mgr_tariffs.ledger.declarations import record_declaration  # noqa: PLC0415

    for messages in filter(None, written):
        for declaration, invoice in zip(messages.declarations, messages.invoices, strict=True):
            record_declaration(ledger, invoice.provider, declaration, messages.files[file_name(declaration)])
