"""``mgr validate``, ``mgr schema``, ``mgr price`` and ``mgr tariffs``: the catalogue commands."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import sys
from collections import Counter
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mgr_tariffs.catalogue.indexation import Index, IndexationError, IndexRequest, parse_weights
from mgr_tariffs.catalogue.loader import Lookup, catalogue_schema, load_catalogue
from mgr_tariffs.catalogue.models import Rounding
from mgr_tariffs.catalogue.pricing import PriceError, PriceRow, catalogue_rows, price_on
from mgr_tariffs.cli.common import (
    CATALOGUE_OPTION,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    Printed,
    TextOrJson,
    console,
    date_option,
    fail,
    guarded,
    load_lookup,
    print_json,
    print_problems,
    stderr,
)
from mgr_tariffs.io.yamlsafe import read_text
from mgr_tariffs.money import format_euro, parse_decimal
from mgr_tariffs.problems import InputError, Problem, errors_only, sort_problems
from mgr_tariffs.validation import Kind, check_file


class TableFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def validate(
    paths: list[Path] = typer.Argument(None, metavar="PATH", show_default=False,
                                       help="Files to check: tariff catalogues, parties files, subsidies files "
                                            "\\[default: --tariffs]."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail the check too."),
    against: str = typer.Option(None, "--against", metavar="OLD", help="Also fail when a price that applied "
                                "before today was changed or removed since OLD: a file, git:REV:path, or git:REV "
                                "(each PATH as committed in REV)."),
    today: str = typer.Option(None, "--today", help="Reference date for --against, YYYY-MM-DD or DD-MM-YYYY "
                              "\\[default: today]."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Check tariff catalogues, parties files and subsidies files (told apart by their sections); report every
    problem as [bold]file:line: severity: message[/].

    Exit 0 when clean, 1 when a file has errors (or warnings, with --strict), 2 when a file cannot be read.
    Parties and subsidies files are checked against the catalogue of --tariffs ($MGR_TARIFFS).

    Examples:

      mgr validate

      mgr validate data/tariffs.yaml data/examples/parties.yaml --strict

      mgr validate data/tariffs.yaml --against git:HEAD --format json
    """
    files = paths or [tariffs]
    day = date_option("--today", today) or dt.date.today()
    problems: list[Problem] = []
    unreadable = 0
    reference: list[Lookup | None] = []
    for path in files:
        try:
            checked = check_file(path, _reference(tariffs, reference), str(tariffs))
            problems += checked.problems
            if against is not None and checked.kind is Kind.CATALOGUE and not errors_only(checked.problems):
                problems += _history(path, against, day)
        except InputError as exc:
            problems.append(Problem(file=exc.file, message=exc.message))
            unreadable += 1
    problems = sort_problems(problems)
    failing = bool(problems if strict else errors_only(problems))
    _report(problems, len(files), failing, output)
    raise typer.Exit(EXIT_USAGE if unreadable else EXIT_INVALID if failing else EXIT_OK)


def _reference(tariffs: Path, cache: list[Lookup | None]) -> Lookup | None:
    """The catalogue parties and subsidies are checked against, read once (``None`` when it is not valid)."""
    if not cache:
        try:
            loaded = load_catalogue(tariffs)
            cache.append(Lookup(loaded.catalogue) if loaded.ok and loaded.catalogue is not None else None)
        except InputError:
            cache.append(None)
    return cache[0]


def _history(path: Path, against: str, today: dt.date) -> list[Problem]:
    """``--against``: the prices of ``path`` that applied before today, compared with OLD."""
    from mgr_tariffs.catalogue.diff import (  # noqa: PLC0415 - only with --against: validate starts faster
        GIT_PREFIX,
        SnapshotError,
        exists_in_git,
        history_problems,
        load_snapshot,
    )

    spec = against
    if against.startswith(GIT_PREFIX) and ":" not in against[len(GIT_PREFIX):]:
        rev = against[len(GIT_PREFIX):]
        if not exists_in_git(rev, str(path)):
            return []  # a new file: no history to protect
        spec = f"{against}:{path}"
    try:
        old = load_snapshot(spec)
        new = load_snapshot(str(path))
    except SnapshotError as exc:
        return [*exc.problems, Problem(file=exc.file, message="the catalogue to compare with is invalid")]
    return history_problems(old, new, today)


def _report(problems: list[Problem], files: int, failing: bool, output: TextOrJson) -> None:
    errors = len(errors_only(problems))
    warnings = len(problems) - errors
    if output is TextOrJson.JSON:
        print_json({"files": files, "errors": errors, "warnings": warnings, "ok": not failing,
                    "problems": [p.model_dump(mode="json") for p in problems]})
        return
    console = _plain_console()
    print_problems(problems, console)
    console.print(f"{_count(files, 'file')} checked: {_count(errors, 'error')}, {_count(warnings, 'warning')}: "
                  f"{'invalid' if failing else 'ok'}", markup=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _plain_console(width: int | None = None) -> Console:
    """Rich for stdout that shows text as it is: no emoji codes, no markup, no highlighting."""
    return console(width=width)


def schema() -> None:
    """Print the JSON Schema of the tariff catalogue (for editors and yaml-language-server)."""
    print_json(catalogue_schema())


@guarded
def price(
    code: str = typer.Argument(..., help="MGR product code, e.g. LN017."),
    on: str | None = typer.Option(None, "--on", help="Service date, YYYY-MM-DD \\[default: today]."),
    output: TextOrJson = typer.Option(TextOrJson.TEXT, "--format", "-f", help="text or json."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Show the price of a product on a service date, with its period and source."""
    day = date_option("--on", on) or dt.date.today()
    try:
        quote = price_on(load_lookup(tariffs), code, day)
    except PriceError as exc:
        raise fail(str(exc)) from None
    if output is TextOrJson.JSON:
        print_json(quote.as_json())
        return
    until = quote.until.isoformat() if quote.until else "until further notice"
    _plain_console().print(
        f"{quote.product.code} {quote.product.name}: {format_euro(quote.amount)} per {quote.product.unit} on "
        f"{day.isoformat()} (in force {quote.start.isoformat()} – {until}; source {quote.source})", markup=False)


tariffs_app = typer.Typer(help="List the catalogue, index its prices, compare two catalogues.",
                          rich_markup_mode="rich")


@tariffs_app.callback(invoke_without_command=True)
@guarded
def tariffs_command(
    ctx: typer.Context,
    on: str | None = typer.Option(None, "--on", help="Show only the prices in force on this date, YYYY-MM-DD."),
    output: TableFormat = typer.Option(TableFormat.TABLE, "--format", "-f", help="table, json or csv."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """List the catalogue: every product with its price history (or the prices on one date).

    [bold]mgr tariffs index[/] indexes prices; [bold]mgr tariffs diff OLD NEW[/] shows what changed.
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = catalogue_rows(load_lookup(tariffs), date_option("--on", on))
    if output is TableFormat.JSON:
        print_json([row.as_json() for row in rows])
    elif output is TableFormat.CSV:
        _print_csv(rows)
    else:
        _print_table(rows)


def _print_csv(rows: list[PriceRow]) -> None:
    buffer = io.StringIO()
    fields = ["code", "name", "category", "unit", "price", "from", "until", "vat", "not_for", "source"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.as_csv() for row in rows)
    sys.stdout.write(buffer.getvalue())


def _print_table(rows: list[PriceRow]) -> None:
    table = Table(title="MGR Sociaal Domein Limburg-Noord — tarieven")
    for column in ("code", "naam", "categorie", "eenheid", "tarief", "van", "tot en met", "niet voor"):
        table.add_column(column, justify="right" if column == "tarief" else "left")
    for row in rows:
        table.add_row(row.product.code, row.product.name, row.product.category, row.product.unit.value,
                      format_euro(row.amount), row.start.isoformat(), row.until.isoformat() if row.until else "—",
                      ", ".join(row.product.not_for) or "—")
    _plain_console(width=200).print(table)


def _decimal_option(option: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    value = parse_decimal(text)
    if value is None:
        raise fail(f"{option} {text!r} is not a number; write it as 3.42 or 3,42", EXIT_USAGE)
    return value


def _index_of(percent: str | None, ova: str | None, ppc: str | None, weights: str | None) -> Index:
    given = _decimal_option("--percent", percent)
    parts = _decimal_option("--ova", ova), _decimal_option("--ppc", ppc)
    if given is not None and (parts != (None, None) or weights):
        raise fail("give --percent, or --ova and --ppc (with --weights), not both", EXIT_USAGE)
    if given is not None:
        return Index(given)
    if parts[0] is None or parts[1] is None:
        raise fail("give the index: --percent P, or --ova P and --ppc Q (with --weights, default 90/10)", EXIT_USAGE)
    try:
        return Index.of_parts(parts[0], parts[1], parse_weights(weights or "90/10"))
    except ValueError as exc:
        raise fail(f"--weights: {exc}", EXIT_USAGE) from None


@guarded
def index_command(
    start: str = typer.Option(..., "--from", help="First day of the indexed prices, YYYY-MM-DD (the open periods "
                              "end the day before)."),
    percent: str = typer.Option(None, "--percent", help="The index in percent, e.g. 3.42."),
    ova: str = typer.Option(None, "--ova", help="OVA in percent (with --ppc): the index is weighted from both."),
    ppc: str = typer.Option(None, "--ppc", help="Consumer prices (PPC) in percent, with --ova."),
    weights: str = typer.Option(None, "--weights", help="Weights of OVA and PPC, e.g. 90/10 \\[default: 90/10]."),
    rounding: Rounding = typer.Option(Rounding.HALF_UP, "--rounding", help="To cents: half-up, up or down."),
    precision: int = typer.Option(2, "--precision", min=2, max=3, help="3: first round half-up to three "
                                  "decimals, then to cents."),
    products: str = typer.Option(None, "--products", help="Only these products, e.g. LN017,LN018."),
    category: str = typer.Option(None, "--category", help="Only the products of this category, e.g. LN2."),
    note: str = typer.Option(None, "--note", help="Why: recorded with every indexed price."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the changes and the diff; write nothing."),
    replace: bool = typer.Option(False, "--replace", help="Correct the (provisional) indexation from --from: "
                                 "recompute its prices with the new figure."),
    today: str = typer.Option(None, "--today", help="Reference date, YYYY-MM-DD \\[default: today]."),
    tariffs: Path = CATALOGUE_OPTION,
) -> None:
    """Index prices: close each selected product's open period the day before --from and add the indexed price.

    The percentage, its parts, the rounding and the note are recorded with the new price. The file is
    edited in place (comments, anchors and layout kept) and the diff is printed; --dry-run only prints.
    A second run for the same date is refused; correct a provisional figure with --replace.
    """
    request = IndexRequest(
        start=date_option("--from", start) or dt.date.today(), index=_index_of(percent, ova, ppc, weights),
        today=date_option("--today", today) or dt.date.today(), rounding=rounding, precision=precision,
        products=tuple(products.split(",")) if products else (), category=category, note=note, replace=replace)
    from mgr_tariffs.catalogue.edit import index_text  # noqa: PLC0415 - ruamel.yaml only for editing
    from mgr_tariffs.io.atomic import OutputError, write_atomically  # noqa: PLC0415

    text = read_text(tariffs)
    try:
        outcome = index_text(text, str(tariffs), request)
    except IndexationError as exc:
        for reason in exc.reasons:
            stderr().print(reason, style="red", markup=False)
        raise fail(f"{tariffs}: nothing changed") from None
    console = _plain_console()
    for change in outcome.changes:
        console.print(change.describe(), markup=False)
    sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), outcome.text.splitlines(keepends=True),
                                               str(tariffs), f"{tariffs} (indexed)"))
    print_problems(outcome.problems)
    if not outcome.ok:
        raise fail(f"{tariffs}: the result would be invalid; nothing written")
    if dry_run:
        console.print(f"dry run: {tariffs} not changed", markup=False)
        return
    try:
        bom = codecs.BOM_UTF8 if tariffs.read_bytes().startswith(codecs.BOM_UTF8) else b""
        write_atomically(tariffs.resolve(), bom + outcome.text.encode("utf-8"), force=True)
    except OutputError as exc:
        raise fail(str(exc)) from None
    console.print(f"written: {tariffs} ({len(outcome.changes)} price(s) {'corrected' if replace else 'indexed'})",
                  markup=False)


@guarded
def diff_command(
    old: str = typer.Argument(..., help="The old catalogue: a file or git:REV:path."),
    new: str = typer.Argument(..., help="The new catalogue: a file or git:REV:path."),
    output: Printed = typer.Option(Printed.TEXT, "--format", "-f", help="text, json or csv."),
) -> None:
    """Show what changed between two catalogues: products, periods added, closed, changed or removed."""
    from mgr_tariffs.catalogue.diff import CHANGE_FIELDS, SnapshotError, diff_catalogues, load_snapshot  # noqa: PLC0415

    try:
        before, after = load_snapshot(old), load_snapshot(new)
    except SnapshotError as exc:
        print_problems(exc.problems)
        raise fail(f"{exc.file}: the tariff catalogue is invalid; run `mgr validate`") from None
    changes = diff_catalogues(before, after)
    if output is Printed.JSON:
        counts = Counter(c.kind.value for c in changes)
        print_json({"old": old, "new": new, "changes": [c.as_json() for c in changes], "summary": dict(counts)})
    elif output is Printed.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CHANGE_FIELDS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in c.as_json().items()} for c in changes)
        sys.stdout.write(buffer.getvalue())
    else:
        console = _plain_console()
        for change in changes:
            console.print(change.describe(), markup=False)
        counts = Counter(c.kind.value for c in changes)
        shown = ", ".join(f"{kind}: {n}" for kind, n in counts.items()) or "no changes"
        console.print(f"{old} -> {new}: {shown}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("price")(price)
    tariffs_app.command("index")(index_command)
    tariffs_app.command("diff")(diff_command)
    app.add_typer(tariffs_app, name="tariffs")
