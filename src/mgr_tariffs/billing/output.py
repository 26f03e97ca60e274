"""What ``mgr bill`` writes: the accounting import, invoice CSVs, the summary, the rejects file and the JSON result.

By default a run writes two files: ``regels.csv``, every invoice line of the run with its invoice
number (the import for the accounting system), and ``samenvatting.csv``, one row per invoice. One
CSV per invoice (``csv``) and the documents to send (``ubl``, ``pdf``, ``xlsx``) are written when asked.

CSV files are in the Dutch spreadsheet dialect (``;``, decimal comma, UTF-8 with BOM) so they
open right in a Dutch Excel, and ``mgr check`` reads them back. Text that a spreadsheet would
run as a formula is neutralised with a leading apostrophe. Large outputs are formatted by Polars
in one pass and cut per invoice, never row by row in Python.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from mgr_tariffs.billing.engine import BillingResult, per_distinct_many
from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents import DocumentError, write_documents
from mgr_tariffs.documents.naming import (
    MAX_STEM,
    check_unique,
    provider_part,
    provider_parts,
    provisional_number,
    safe_filename,
    stem_of,
)
from mgr_tariffs.io.atomic import Content, OutputError, OutputSet, Streamed, write_directory
from mgr_tariffs.io.dialect import BOM, SEPARATOR, neutralise, neutralised
from mgr_tariffs.money import from_cents, json_money
from mgr_tariffs.vat import vat_cents

if TYPE_CHECKING:  # the parties file is loaded only for documents
    from mgr_tariffs.parties import Parties

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "LINES_FILE",
    "REJECTS_FILE",
    "SUMMARY_FILE",
    "TEXT_FORMATS",
    "OutputRequest",
    "invoice_files",
    "lines_csv",
    "lines_csv_parts",
    "neutralise",
    "output_contents",
    "output_files",
    "provisional_number",
    "rejects_csv",
    "result_json",
    "summary_csv",
    "write_outputs",
]

SUMMARY_FILE = "samenvatting.csv"
LINES_FILE = "regels.csv"
REJECTS_FILE = "afgekeurd.csv"
FORMATS = ("lines", "csv", "ubl", "pdf", "xlsx")
"""What ``--out`` can write: ``lines`` (:data:`LINES_FILE`, the default), ``csv`` (one CSV per invoice) and the
documents of :mod:`mgr_tariffs.documents`. :data:`SUMMARY_FILE` is written with any of them."""
DEFAULT_FORMATS = ("lines",)
TEXT_FORMATS = frozenset({"lines", "csv"})
"""The formats made from the lines alone: the others need the parties file and the invoice objects."""

ALLOCATION_COLUMN = ["toewijzingnummer"]
"""The column a line gets when the run was held to allocations: its allocation's number (issue 14)."""
INVOICE_COLUMNS = ["factuurnummer", "aanbieder", "gemeente", "gemeentecode", "periode", "bsn", "productcode",
                   "product", "eenheid", "tarief", "{quantity}", "bedrag_bruto", "opbrengst", "opbrengst_verrekend",
                   "opbrengst_niet_verrekend", "bedrag", "btw_behandeling", "btw_tarief", "eerste_datum",
                   "laatste_datum", "regels"]
SUMMARY_COLUMNS = ["factuurnummer", "aanbieder", "gemeente", "gemeentecode", "periode", "regels", "logregels",
                   "totaal", "btw", "totaal_incl_btw", "opbrengst_niet_verrekend", "bestand"]


def csv_text(column: str) -> pl.Expr:
    """A text column as one CSV field: neutralised, and quoted (quotes doubled) when it holds ``;``, ``"`` or a
    line break, as Polars' ``write_csv`` quotes when necessary."""
    text = neutralised(column)
    quoted = pl.lit('"') + text.str.replace_all('"', '""', literal=True) + pl.lit('"')
    return pl.when(text.str.contains('[;"\r\n]')).then(quoted).otherwise(text).alias(column)


def cents_text(column: str) -> pl.Expr:
    """Integer cents as Dutch decimal text: ``123456`` -> ``1234,56``, ``-5`` -> ``-0,05``."""
    cents = pl.col(column)
    size = cents.abs()
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = sign + (size // 100).cast(pl.String) + "," + (size % 100).cast(pl.String).str.pad_start(2, "0")
    return text.alias(column)


def invoice_file_name(provider: str, municipality_code: str, period: str, number: str | None = None) -> str:
    """The CSV name of one invoice on its own (a run uses :func:`_numbers`, which keeps its providers apart)."""
    return f"{stem_of(provider, municipality_code, period, number)}.csv"


def _numbers(invoices: pl.DataFrame, numbers: dict[tuple[str, str, str], str] | None) -> pl.DataFrame:
    """The invoices with their number (``factuurnummer``: provisional until issued) and file name (``bestand``).

    Names are made per distinct provider (:func:`provider_parts`) and formatted for all invoices at
    once; they are unique by construction, and :func:`check_unique` makes sure.
    """
    if invoices.is_empty():
        return invoices.with_columns(factuurnummer=pl.lit(None, pl.String), bestand=pl.lit(None, pl.String))
    parts = provider_parts(invoices.get_column("provider").unique(maintain_order=True).to_list())
    part = pl.col("provider").replace_strict(parts, return_dtype=pl.String)
    alone = {p: provider_part(p) for p in parts}
    provisional = pl.format("CONCEPT-{}-{}-{}", pl.col("provider").replace_strict(alone, return_dtype=pl.String),
                            "gemeentecode", "period")
    if numbers:
        keys: list[tuple[str, str, str]] = list(invoices.select("provider", "gemeentecode", "period").iter_rows())
        given = pl.Series([numbers.get(k) for k in keys], dtype=pl.String)
        named = invoices.with_columns(_number=given).with_columns(
            factuurnummer=pl.coalesce("_number", provisional),
            bestand=pl.when(pl.col("_number").is_null())
            .then(pl.format("concept-{}-{}-{}.csv", part, "gemeentecode", "period"))
            .otherwise(pl.format("factuur-{}-{}.csv", "_number", part))).drop("_number")
    else:
        named = invoices.with_columns(factuurnummer=provisional,
                                      bestand=pl.format("concept-{}-{}-{}.csv", part, "gemeentecode", "period"))
    files = named.get_column("bestand").to_list()
    if any(len(f) > MAX_STEM + len(".csv") or not _SAFE_NAME.match(f) for f in set(files)):
        named = named.with_columns(bestand=pl.Series([safe_filename(f[:-4]) + ".csv" for f in files], dtype=pl.String))
    try:
        check_unique(named.get_column("bestand").to_list())
    except DocumentError as exc:
        raise OutputError(str(exc)) from None
    return named


_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]\.csv$")


HEADERS = {
    (minutes, allocation): (BOM + SEPARATOR.join([*(c.replace("{quantity}", "minuten" if minutes else "aantal")
                                                    for c in INVOICE_COLUMNS), *ALLOCATION_COLUMN[:allocation]])
                            + "\r\n").encode("utf-8")
    for minutes in (False, True) for allocation in (False, True)
}
"""The header of an invoice CSV: ``aantal`` (in the line's ``eenheid``), or ``minuten`` when every line is minutes;
``toewijzingnummer`` last when the run was held to allocations (``mgr bill --allocations``)."""


def invoice_files(result: BillingResult, numbers: dict[tuple[str, str, str], str] | None = None) -> dict[str, bytes]:
    """One CSV per invoice, file name -> content.

    Every line is formatted by Polars in one pass into one text (the lines of an invoice are
    adjacent); each invoice's file is then its header plus its slice of that text, cut at the byte
    offset where its last line ends (from the lengths of the fields).
    """
    if result.lines.is_empty():
        return {}
    invoices = _numbers(result.invoice_frame, numbers)
    fields = _csv_fields(result.lines, invoices)
    body = _body(fields)
    line_bytes = fields.select(pl.sum_horizontal(pl.all().str.len_bytes()) + (fields.width - 1) + 2).to_series()
    ends = line_bytes.cum_sum().gather(invoices.get_column("lines").cum_sum() - 1).to_list()
    return _cut(body, ends, invoices, "allocation" in result.lines.columns)


def lines_csv(result: BillingResult, numbers: dict[tuple[str, str, str], str] | None = None) -> bytes:
    """Every invoice line of the run in one CSV (:data:`LINES_FILE`), invoice by invoice, in the columns of an
    invoice CSV: the accounting import. The quantity column is ``aantal``, in each line's ``eenheid``."""
    return b"".join(lines_csv_parts(result, numbers))


LINES_PER_PART = 250_000


def lines_csv_parts(result: BillingResult, numbers: dict[tuple[str, str, str], str] | None = None) -> Iterator[bytes]:
    """:func:`lines_csv` in parts of whole invoices of about :data:`LINES_PER_PART` lines, the header first: the
    import of ten million rows is formatted and written part by part, never whole in memory."""
    allocation = "allocation" in result.lines.columns
    yield HEADERS[(False, allocation)]
    if result.lines.is_empty():
        return
    invoices = _numbers(result.invoice_frame, numbers)
    counts = invoices.get_column("lines").to_list()
    first_invoice = first_line = 0
    while first_invoice < len(counts):
        last, size = first_invoice, 0
        while last < len(counts) and (size == 0 or size + counts[last] <= LINES_PER_PART):
            size += counts[last]
            last += 1
        yield _body(_csv_fields(result.lines.slice(first_line, size), invoices.slice(first_invoice,
                                                                                     last - first_invoice)))
        first_invoice, first_line = last, first_line + size


def _body(fields: pl.DataFrame) -> bytes:
    """The lines' fields (CSV text already, quoted where needed) written as they are, one line each."""
    buffer = io.BytesIO()
    fields.write_csv(buffer, separator=SEPARATOR, include_header=False, line_terminator="\r\n", quote_style="never")
    return buffer.getvalue()


def _cut(body: bytes, ends: list[int], invoices: pl.DataFrame, allocation: bool) -> dict[str, bytes]:
    """Each invoice's file: its header and its lines, the bytes of ``body`` up to its end offset."""
    files: dict[str, bytes] = {}
    start = 0
    names, minutes = invoices.get_column("bestand").to_list(), invoices.get_column("minutes_only").to_list()
    for name, minutes_only, end in zip(names, minutes, ends, strict=True):
        files[name] = HEADERS[(minutes_only, allocation)] + body[start:end]
        start = end
    return files


def _csv_fields(lines: pl.DataFrame, invoices: pl.DataFrame) -> pl.DataFrame:
    """The fields of each invoice line as CSV text, in the layout of :data:`INVOICE_COLUMNS` (the first
    five columns in one field, as they are the same on every line of an invoice).

    What is the same on every line of an invoice (number, provider, municipality, period) is
    formatted once per invoice; amounts, dates and products once per distinct value. A million
    rows have a few thousand distinct amounts, so this is a few times faster than formatting
    every line.
    """
    heads = invoices.select(pl.concat_str(
        csv_text("factuurnummer"), csv_text("provider"), csv_text("municipality"), "gemeentecode", "period",
        separator=SEPARATOR)).to_series()
    which = pl.select(pl.int_range(invoices.height, dtype=pl.UInt32).repeat_by(invoices.get_column("lines"))
                      .explode()).to_series()
    product = pl.concat_str("product", csv_text("product_name"), separator=SEPARATOR)
    product_text, price, quantity, *money, first_day, last_day = per_distinct_many(lines, [
        (pl.col("product"), product), (pl.col("price_cents"), cents_text("price_cents")),
        (pl.col("quantity"), pl.col("quantity").str.replace(".", ",", literal=True)),
        *((pl.col(c), cents_text(c)) for c in MONEY_COLUMNS),
        *((pl.col(c), pl.col(c).cast(pl.String)) for c in ("first_day", "last_day"))])
    fields = [
        heads.gather(which), lines.get_column("bsn"), product_text, lines.get_column("unit"), price, quantity, *money,
        lines.get_column("vat_treatment"), lines.get_column("vat_rate").cast(pl.String), first_day, last_day,
        lines.get_column("rows").cast(pl.String),
    ]
    if "allocation" in lines.columns:
        fields.append(lines.select(csv_text("allocation").fill_null("")).to_series())
    return pl.DataFrame([f.alias(str(i)) for i, f in enumerate(fields)])


MONEY_COLUMNS = ("gross_cents", "revenue_cents", "netted_cents", "unnetted_cents", "amount_cents")


def summary_csv(result: BillingResult, numbers: dict[tuple[str, str, str], str] | None = None,
                file: str | None = None) -> bytes:
    """One row per invoice with its totals and the file that holds its lines (``bestand``): its own CSV, or
    ``file`` when given (:data:`LINES_FILE` when the run wrote no CSV per invoice)."""
    invoices = _numbers(result.invoice_frame, numbers) if not result.invoice_frame.is_empty() else None
    if invoices is not None and file is not None:
        invoices = invoices.with_columns(bestand=pl.lit(file, pl.String))
    header = SEPARATOR.join(SUMMARY_COLUMNS) + "\r\n"
    if invoices is None:
        return (BOM + header).encode("utf-8")
    frame = invoices.with_columns(incl=pl.col("total_cents") + pl.col("vat_cents")).select(
        neutralised("factuurnummer"), neutralised("provider"), neutralised("municipality"), "gemeentecode",
        "period", pl.col("lines").cast(pl.String), pl.col("rows").cast(pl.String), cents_text("total_cents"),
        cents_text("vat_cents"), cents_text("incl"), cents_text("unnetted_cents"), "bestand")
    body = frame.write_csv(separator=SEPARATOR, include_header=False, line_terminator="\r\n")
    return (BOM + header + body).encode("utf-8")


def rejects_csv(result: BillingResult) -> bytes:
    """The rejected rows as they were in the log, with file, line and every reason."""
    frame = result.rejected.rename({"_file": "bestand", "_line": "regel"})
    text_columns = [c for c in frame.columns if c != "regel"]
    safe = frame.with_columns(*(neutralised(c) for c in text_columns)).select("bestand", "regel", "reden",
                                                                               *[c for c in text_columns
                                                                                 if c not in {"bestand", "reden"}])
    return (BOM + safe.write_csv(separator=SEPARATOR, line_terminator="\r\n")).encode("utf-8")


def money_json(column: str) -> pl.Expr:
    """Integer cents as JSON money text: ``123456`` -> ``"1234.56"``."""
    return cents_text(column).str.replace(",", ".", literal=True)


def _json_lines(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.select(
        "bsn", "product", "product_name", "unit", money_json("price_cents").alias("unit_price"), "quantity",
        money_json("gross_cents").alias("gross_amount"), money_json("revenue_cents").alias("revenue"),
        money_json("netted_cents").alias("revenue_netted"), money_json("unnetted_cents").alias("revenue_unnetted"),
        money_json("amount_cents").alias("amount"), "vat_treatment", pl.col("vat_rate").cast(pl.String),
        pl.col("first_day").cast(pl.String), pl.col("last_day").cast(pl.String), "rows",
        *(["allocation"] if "allocation" in lines.columns else []),
    )


def _json_invoices(result: BillingResult, numbers: dict[tuple[str, str, str], str]) -> list[dict[str, Any]]:
    if result.lines.is_empty():
        return []
    lines = iter(_json_lines(result.lines).to_dicts())
    vat = {(i.provider, i.municipality_code, i.period): i for i in _vat_only(result)}
    invoices = []
    for head in result.invoice_frame.iter_rows(named=True):
        key = (head["provider"], head["gemeentecode"], head["period"])
        number = {"number": numbers[key]} if key in numbers else {}
        breakdown = vat[key]
        invoices.append({
            **number, "provider": head["provider"], "municipality": head["municipality"],
            "municipality_code": head["gemeentecode"], "period": head["period"],
            "lines": [next(lines) for _ in range(head["lines"])], "total": json_money(from_cents(head["total_cents"])),
            "vat": breakdown.vat, "total_incl_vat": json_money(from_cents(head["total_cents"] + head["vat_cents"])),
            "revenue_unnetted": json_money(from_cents(head["unnetted_cents"])),
        })
    return invoices


@dataclass(frozen=True)
class _Vat:
    provider: str
    municipality_code: str
    period: str
    vat: list[dict[str, str]]


def _vat_only(result: BillingResult) -> list[_Vat]:
    groups = result.lines.group_by(["provider", "gemeentecode", "period", "vat_treatment", "vat_rate"],
                                   maintain_order=True).agg(base=pl.col("amount_cents").sum())
    found: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for g in groups.iter_rows(named=True):
        amount = vat_cents(g["base"], g["vat_rate"])
        found.setdefault((g["provider"], g["gemeentecode"], g["period"]), []).append({
            "treatment": g["vat_treatment"], "rate": str(g["vat_rate"]), "base": json_money(from_cents(g["base"])),
            "amount": json_money(from_cents(amount))})
    return [_Vat(*key, vat) for key, vat in found.items()]


def result_json(result: BillingResult, numbers: dict[tuple[str, str, str], str] | None = None,
                extra_summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full result as data: money as strings with a point, full BSNs."""
    summary = result.summary
    return {
        "invoices": _json_invoices(result, numbers or {}),
        "errors": [p.model_dump(mode="json", exclude={"severity"}) for p in result.errors],
        "warnings": [p.model_dump(mode="json", exclude={"severity"}) for p in result.warnings],
        "summary": {
            "rows_read": summary.rows_read, "rows_billed": summary.rows_billed,
            "rows_rejected": summary.rows_rejected, "invoices": summary.invoices, "lines": summary.lines,
            "total": json_money(summary.total), "vat": json_money(summary.vat),
            "total_incl_vat": json_money(summary.total + summary.vat),
            "revenue_unnetted": json_money(summary.revenue_unnetted),
            "by_municipality": {k: json_money(v) for k, v in summary.by_municipality.items()},
            "by_provider": {k: json_money(v) for k, v in summary.by_provider.items()},
            **(extra_summary or {}),
        },
    }


class _Collected(OutputSet):
    """An output set that only gathers file contents, for :func:`write_directory` to write at once."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

    def check_targets(self, targets: list[Path]) -> None:
        return None  # write_directory checks every target of the run together

    def write_bytes(self, target: Path, data: bytes) -> None:
        self.files[target.name] = data


@dataclass(frozen=True)
class OutputRequest:
    """What to write for one run of ``mgr bill``."""

    out_dir: Path
    formats: tuple[str, ...] = DEFAULT_FORMATS
    parties: Parties | None = None
    issue_date: dt.date | None = None
    force: bool = False
    rejects: bool = False
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)  # documents done, in all


def output_files(result: BillingResult, request: OutputRequest, lookup: Lookup,
                 invoices: Sequence[Invoice] | None = None,
                 numbers: dict[tuple[str, str, str], str] | None = None) -> dict[str, bytes]:
    """Every file of a run, name -> content: the lines, the CSVs, the summary, the rejects and the documents asked for.

    Raises :class:`DocumentError` when a document cannot be made (e.g. a party is missing).
    """
    return {name: bytes(content) for name, content in output_contents(result, request, lookup, invoices,
                                                                         numbers).items()}


def output_contents(result: BillingResult, request: OutputRequest, lookup: Lookup,
                    invoices: Sequence[Invoice] | None = None,
                    numbers: dict[tuple[str, str, str], str] | None = None) -> dict[str, Content]:
    """:func:`output_files` with the accounting import as :class:`~mgr_tariffs.io.atomic.Streamed` parts, made
    while it is written (:func:`~mgr_tariffs.io.atomic.write_directory`)."""
    files: dict[str, Content] = {}
    if "lines" in request.formats:
        files[LINES_FILE] = Streamed(lambda: lines_csv_parts(result, numbers))
    if "csv" in request.formats:
        files.update(invoice_files(result, numbers))
    files[SUMMARY_FILE] = summary_csv(result, numbers, None if "csv" in request.formats else
                                      LINES_FILE if "lines" in request.formats else "")
    if request.rejects:
        files[REJECTS_FILE] = rejects_csv(result)
    documents = [f for f in request.formats if f not in TEXT_FORMATS]
    if documents:
        if request.parties is None:
            raise DocumentError("documents need a parties file (--parties)")
        collected = _Collected()
        write_documents(invoices if invoices is not None else result.invoices, request.parties, lookup,
                        request.out_dir, documents, issue_date=request.issue_date or dt.date.today(),
                        outputs=collected, progress=request.progress)
        files.update(collected.files)
    return files


def write_outputs(result: BillingResult, request: OutputRequest, lookup: Lookup,
                  invoices: Sequence[Invoice] | None = None,
                  numbers: dict[tuple[str, str, str], str] | None = None) -> list[Path]:
    """Write all files of a run into ``request.out_dir``, all or none (see :func:`write_directory`)."""
    files = output_contents(result, request, lookup, invoices, numbers)
    return write_directory(request.out_dir, files, request.force)
