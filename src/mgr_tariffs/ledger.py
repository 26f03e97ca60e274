"""Issued invoices: gapless numbers, no row billed twice, credit notes — in an SQLite ledger.

``issue(result, path, issue_date=..., lookup=...)`` records the invoices of a billing run in one
write transaction and returns them numbered. Every hour-log row is *fingerprinted*; a row whose
fingerprint belongs to a live invoice (one that is not credited) is not billed again, and is
reported with the number of the invoice that billed it. ``credit`` mirrors an invoice with negative
amounts under a new number and releases its rows. Nothing issued is ever changed or deleted.

Numbers are ``YYYY-NNNNNN``: the year of the issue date and a gapless sequence per provider and
year (credit notes included). An invoice's identity is (provider, number).

Fingerprint of a row (stable across processes and versions): the first 8 bytes of SHA-256 of
``mgr-row-v1 | provider | municipality code | BSN | product | revenue cents`` (computed once per
distinct client key), plus an exact integer packing the service date, the quantity in ticks and
the row's position among identical rows of the run (0 for the first, 1 for the second, ...).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from . import __version__
from .billing import INVOICE_KEYS, BillingResult, build_invoices, invoice_totals, price_lines
from .catalogue import Lookup
from .invoices import Frozen, Invoice, InvoiceLine, QuantityUnit, VatBreakdown
from .ledger_schema import DEFAULT_TIMEOUT, LedgerError, opened, write_transaction
from .money import from_cents, half_up_div, json_decimal, json_money

__all__ = [
    "DEFAULT_LEDGER", "BilledRow", "IssueResult", "IssuedInvoice", "LedgerError", "credit", "export_csv",
    "find_billed", "fingerprints", "issue", "issued_line_keys", "ledger_path", "list_invoices", "show", "verify",
]

DEFAULT_LEDGER = Path("mgr-ledger.sqlite")
LEDGER_ENV = "MGR_LEDGER"
FINGERPRINT_VERSION = "mgr-row-v1"
DAY_OFFSET = 25567  # days from 1900-01-01 to 1970-01-01: service dates become small positive numbers
ROW_BITS = 20  # ticks (at most 72,000) and the occurrence number each get 20 bits; the day the rest
CLIENT_COLUMNS = ["provider", "municipality_id", "bsn_id", "product", "revenue"]
LINE_FIELDS = ["bsn", "product", "unit", "price_cents", "ticks", "quantity", "gross_cents", "revenue_cents",
               "netted_cents", "unnetted_cents", "amount_cents", "first_day", "last_day", "rows"]
PRODUCT_FIELDS = ["product_name", "vat_treatment", "vat_rate"]  # stored once per product of an invoice
NEGATED_FIELDS = ("ticks", "gross_cents", "revenue_cents", "netted_cents", "unnetted_cents", "amount_cents")


def ledger_path(option: Path | None) -> Path:
    """The ledger to use: ``--ledger PATH``, else ``$MGR_LEDGER``, else ``mgr-ledger.sqlite`` here."""
    if option is not None:
        return option
    env = os.environ.get(LEDGER_ENV, "").strip()
    return Path(env) if env else DEFAULT_LEDGER


# --- fingerprints -------------------------------------------------------------------------------


def _digest64(text: str) -> int:
    digest = hashlib.sha256(f"{FINGERPRINT_VERSION}\x1f{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def fingerprints(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``BillingResult.rows``) with ``client_key`` and ``row_key``: the row's fingerprint."""
    packed = _client_ids(rows)
    clients = packed.select("_who", "_what", *CLIENT_COLUMNS).unique(subset=["_who", "_what"])
    text = pl.concat_str([
        pl.col("provider"), pl.col("municipality_id").cast(pl.String).str.pad_start(4, "0"),
        pl.col("bsn_id").cast(pl.String).str.pad_start(9, "0"), pl.col("product"), pl.col("revenue").cast(pl.String),
    ], separator="\x1f")
    digests = [_digest64(t) for t in clients.select(text).to_series().to_list()]
    clients = clients.select("_who", "_what", client_key=pl.Series(digests, dtype=pl.Int64))
    keyed = packed.join(clients, on=["_who", "_what"], how="left", maintain_order="left")
    base = ((pl.col("date").cast(pl.Int64) + DAY_OFFSET) * 2 ** (2 * ROW_BITS)
            + pl.col("ticks").cast(pl.Int64) * 2 ** ROW_BITS)
    keyed = keyed.with_columns(row_key=base).drop("_who", "_what", "revenue")
    return keyed.with_columns(row_key=pl.col("row_key") + _occurrences(keyed))


def _client_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """Two integers per row that identify its client key exactly (cheaper to group than text)."""
    providers = {name: i for i, name in enumerate(rows.get_column("provider").unique().to_list())}
    products = {code: i for i, code in enumerate(rows.get_column("product").unique().to_list())}
    what = (pl.col("provider").replace_strict(providers, return_dtype=pl.Int64) * len(products)
            + pl.col("product").replace_strict(products, return_dtype=pl.Int64)) * 2 ** 32 + pl.col("revenue")
    return rows.with_columns(revenue=pl.col("revenue_cents").fill_null(0)).with_columns(
        _who=pl.col("municipality_id").cast(pl.Int64) * 10**9 + pl.col("bsn_id"), _what=what)


def _occurrences(keyed: pl.DataFrame) -> pl.Series:
    """Per row: how many identical rows (same client key, day and quantity) came before it in the run.

    Identical rows are rare: candidates are found by sorting one combined integer, numbered, and
    scattered back.
    """
    occurrence = pl.zeros(keyed.height, dtype=pl.Int64, eager=True)
    mixed = keyed.select("client_key", "row_key", x=pl.col("client_key").xor(pl.col("row_key"))).with_row_index("i")
    ordered = mixed.sort("x", "i")
    twins = ordered.filter((pl.col("x") == pl.col("x").shift(1)) | (pl.col("x") == pl.col("x").shift(-1)))
    if twins.is_empty():
        return occurrence
    numbered = twins.sort("i").with_columns(k=pl.int_range(pl.len(), dtype=pl.Int64).over("client_key", "row_key"))
    if int(numbered.get_column("k").max()) >= 2 ** ROW_BITS:  # type: ignore[arg-type]
        raise LedgerError(f"more than {2 ** ROW_BITS} identical rows in one run; they cannot be told apart")
    return occurrence.scatter(numbered.get_column("i"), numbered.get_column("k"))


def _to_ipc(frame: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC (a stable, versioned format), zstd-compressed."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


# --- what was billed before ---------------------------------------------------------------------

_LIVE_INVOICES = """
SELECT i.id, i.number FROM invoice i
WHERE i.period IN (SELECT value FROM json_each(?)) AND i.credits_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM invoice c WHERE c.credits_id = i.id)
"""
BILLED_SCHEMA = {"invoice_id": pl.Int64, "client_key": pl.Int64, "row_key": pl.Int64, "_file": pl.String,
                 "_line": pl.Int64}


def _periods(rows: pl.DataFrame) -> str:
    """The service months (``YYYY-MM``) of the rows, as JSON for the queries."""
    months = rows.select(year=pl.col("date").dt.year(), month=pl.col("date").dt.month()).unique()
    return json.dumps([f"{y:04d}-{m:02d}" for y, m in months.rows()])


def _live_keys(connection: sqlite3.Connection, periods: str) -> pl.DataFrame:
    """The fingerprints of the rows billed by live invoices (not credited) of these service months.

    Columns ``number, client_key, row_key, billed_file, billed_line``.
    """
    live = pl.DataFrame(connection.execute(_LIVE_INVOICES, (periods,)).fetchall(),
                        schema={"invoice_id": pl.Int64, "number": pl.String}, orient="row")
    query = "SELECT rows_ipc FROM billed_rows WHERE period IN (SELECT value FROM json_each(?))"
    parts = [pl.read_ipc(io.BytesIO(blob)) for (blob,) in connection.execute(query, (periods,))]
    billed = pl.concat(parts) if parts else pl.DataFrame(schema=BILLED_SCHEMA)
    return billed.join(live, on="invoice_id", how="inner").select(
        "number", "client_key", "row_key", billed_file="_file", billed_line="_line")


def _split_billed(keyed: pl.DataFrame, live: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows billed before, with the invoice that billed them; rows still to bill)."""
    on = ["client_key", "row_key"]
    billed = keyed.join(live, on=on, how="inner", maintain_order="left")
    return billed, keyed.join(live.select(on), on=on, how="anti", maintain_order="left")


def find_billed(path: Path, rows: pl.DataFrame, *, timeout: float = DEFAULT_TIMEOUT) -> pl.DataFrame:
    """The rows of ``rows`` (``BillingResult.rows``) a live invoice in the ledger billed already.

    Columns ``_file, _line, provider, number, billed_file, billed_line``; read only. This is what
    ``mgr check --ledger`` needs to flag rows issued before.
    """
    columns = ["_file", "_line", "provider", "number", "billed_file", "billed_line"]
    if rows.is_empty():
        return pl.DataFrame(schema={c: pl.Int64 if "line" in c else pl.String for c in columns})
    keyed = fingerprints(rows)
    with opened(path, timeout=timeout) as connection:
        live = _live_keys(connection, _periods(rows))
    billed, _ = _split_billed(keyed, live)
    return billed.select(columns)


# --- issuing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BilledRow:
    """A row of this run that an earlier invoice already billed."""

    file: str
    line: int
    provider: str
    number: str


@dataclass(frozen=True)
class IssueResult:
    """What :func:`issue` recorded: numbered invoices (frames, objects on demand) and rows skipped."""

    lines: pl.DataFrame
    invoice_frame: pl.DataFrame  # one row per invoice, with ``number`` and ``seq``
    already_billed: pl.DataFrame  # ``_file, _line, provider, number`` of the rows billed before
    rows_issued: int
    issue_date: dt.date

    @property
    def rows_already_billed(self) -> int:
        return self.already_billed.height

    @property
    def numbers(self) -> list[str]:
        return [] if self.invoice_frame.is_empty() else self.invoice_frame.get_column("number").to_list()

    @cached_property
    def invoices(self) -> list[Invoice]:
        built = build_invoices(self.lines, self.invoice_frame)
        return [invoice.model_copy(update={"number": n}) for invoice, n in zip(built, self.numbers, strict=True)]

    def already_billed_rows(self) -> list[BilledRow]:
        return [BilledRow(*row) for row in self.already_billed.select("_file", "_line", "provider", "number").rows()]


def issue(result: BillingResult, path: Path, *, issue_date: dt.date, lookup: Lookup,
          timeout: float = DEFAULT_TIMEOUT) -> IssueResult:
    """Number and record the invoices of ``result`` for the rows no live invoice billed yet.

    One write transaction (``BEGIN IMMEDIATE``): all invoices of the run are recorded or none. The
    ledger is created when missing. Raises :class:`LedgerError` (foreign/corrupt file, busy, ...).
    """
    rows = result.rows
    if rows.is_empty():
        with opened(path, create_missing=True, timeout=timeout):
            return IssueResult(pl.DataFrame(), pl.DataFrame(), _no_rows(), 0, issue_date)
    keyed = fingerprints(rows)
    periods = _periods(rows)
    with opened(path, create_missing=True, timeout=timeout) as connection, write_transaction(connection):
        billed, remaining = _split_billed(keyed, _live_keys(connection, periods))
        if remaining.is_empty():
            return IssueResult(pl.DataFrame(), pl.DataFrame(), billed, 0, issue_date)
        fresh = remaining.height == rows.height
        lines = result.lines if fresh else price_lines(remaining, lookup)
        heads = _numbered(connection, result.invoice_frame if fresh else invoice_totals(lines), issue_date)
        _record(connection, heads, lines, remaining, issue_date)
    return IssueResult(lines, heads, billed.select("_file", "_line", "provider", "number"), remaining.height,
                       issue_date)


def _no_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"_file": pl.String, "_line": pl.Int64, "provider": pl.String, "number": pl.String})


def _next_seq(connection: sqlite3.Connection, provider: str, year: int) -> int:
    row = connection.execute("SELECT coalesce(max(seq), 0) FROM invoice WHERE provider = ? AND year = ?",
                             (provider, year)).fetchone()
    return int(row[0]) + 1


def _next_id(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT coalesce(max(id), 0) FROM invoice").fetchone()[0]) + 1


def _numbered(connection: sqlite3.Connection, heads: pl.DataFrame, issue_date: dt.date) -> pl.DataFrame:
    """The invoice frame with ``id``, ``seq`` and ``number``: per provider the next numbers of the year."""
    year = issue_date.year
    starts = {p: _next_seq(connection, p, year) for p in heads.get_column("provider").unique().to_list()}
    first_id = _next_id(connection)
    return heads.with_columns(
        id=pl.int_range(first_id, first_id + heads.height, dtype=pl.Int64),
        seq=pl.col("provider").replace_strict(starts, return_dtype=pl.Int64)
        + pl.int_range(pl.len(), dtype=pl.Int64).over("provider"),
    ).with_columns(number=pl.format("{}-{}", pl.lit(year), pl.col("seq").cast(pl.String).str.pad_start(6, "0")))


def _record(connection: sqlite3.Connection, heads: pl.DataFrame, lines: pl.DataFrame, rows: pl.DataFrame,
            issue_date: dt.date) -> None:
    run_id = _insert_run(connection, "issue", issue_date, rows.height)
    vat_json = _vat_documents(heads, lines)
    connection.executemany(_INSERT_INVOICE, [
        (h["id"], run_id, h["provider"], issue_date.year, h["seq"], h["number"], issue_date.isoformat(),
         h["municipality"], h["gemeentecode"], h["period"], h["total_cents"], h["vat_cents"], h["lines"], h["rows"],
         vat, None, None)
        for h, vat in zip(heads.iter_rows(named=True), vat_json, strict=True)
    ])
    owned = lines.join(heads.select(*INVOICE_KEYS, invoice_id="id"), on=INVOICE_KEYS, maintain_order="left")
    connection.executemany("INSERT INTO invoice_lines VALUES (?, ?, ?, ?)",
                           _month_blobs(owned.select("period", "invoice_id", *LINE_FIELDS, *PRODUCT_FIELDS), run_id))
    connection.executemany("INSERT INTO billed_rows VALUES (?, ?, ?, ?)", _billed_records(heads, rows, run_id))


def _month_blobs(frame: pl.DataFrame, run_id: int) -> list[tuple[int, str, int, bytes]]:
    """One record per service month (``period`` column): the rest of the frame as Arrow IPC."""
    return [(run_id, str(period), part.height, _to_ipc(part.drop("period")))
            for (period,), part in frame.partition_by("period", as_dict=True).items()]


_INSERT_INVOICE = "INSERT INTO invoice VALUES (" + ", ".join("?" * 17) + ")"


def _insert_run(connection: sqlite3.Connection, kind: str, issue_date: dt.date, rows: int) -> int:
    cursor = connection.execute(
        "INSERT INTO run (kind, issued_at, issue_date, rows_issued, tool_version) VALUES (?, ?, ?, ?, ?)",
        (kind, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), issue_date.isoformat(), rows, __version__))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _vat_documents(heads: pl.DataFrame, lines: pl.DataFrame) -> list[str]:
    """Per invoice (in the order of ``heads``): its VAT breakdown as JSON, money in integer cents."""
    vat = lines.group_by([*INVOICE_KEYS, "vat_treatment", "vat_rate"], maintain_order=True).agg(
        base=pl.col("amount_cents").sum())
    breakdowns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for provider, code, period, treatment, rate, base in vat.rows():
        breakdowns.setdefault((provider, code, period), []).append({
            "treatment": treatment, "rate": rate, "base_cents": base, "amount_cents": half_up_div(base * rate, 100)})
    return [json.dumps(breakdowns[key]) for key in heads.select(INVOICE_KEYS).rows()]


def _month(column: str) -> pl.Expr:
    return pl.col(column).dt.year().cast(pl.Int64) * 100 + pl.col(column).dt.month().cast(pl.Int64)


def _billed_records(heads: pl.DataFrame, rows: pl.DataFrame, run_id: int) -> list[tuple[int, str, int, bytes]]:
    """One record per service month: the invoice, fingerprint, file and line of each billed row (Arrow IPC)."""
    owners = heads.select("id", "provider", "period", municipality_id=pl.col("gemeentecode").cast(pl.Int64),
                          period_id=pl.col("period").str.replace("-", "").cast(pl.Int64))
    keyed = rows.select("provider", "_file", "_line", "client_key", "row_key",
                        municipality_id=pl.col("municipality_id").cast(pl.Int64), period_id=_month("date"))
    owned = keyed.join(owners, on=["provider", "municipality_id", "period_id"], how="inner")
    if owned.height != rows.height:
        raise LedgerError("internal error: billed rows without an invoice; nothing was recorded")
    owned = owned.select("period", invoice_id="id", client_key="client_key", row_key="row_key", _file="_file",
                         _line=pl.col("_line").cast(pl.Int64))
    return _month_blobs(owned, run_id)


# --- reading the ledger -------------------------------------------------------------------------


class IssuedInvoice(Frozen):
    """An invoice as recorded: its header, and with :func:`show` the full invoice with its lines."""

    number: str
    provider: str
    municipality: str
    municipality_code: str
    period: str
    issue_date: dt.date
    total: Decimal
    vat: Decimal
    lines: int
    rows: int
    credits: str | None = None
    credited_by: str | None = None
    reason: str | None = None
    invoice: Invoice | None = None

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total + self.vat

    @property
    def is_credit_note(self) -> bool:
        return self.credits is not None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "number": self.number, "provider": self.provider, "municipality": self.municipality,
            "municipality_code": self.municipality_code, "period": self.period,
            "issue_date": self.issue_date.isoformat(), "total": json_money(self.total), "vat": json_money(self.vat),
            "total_incl_vat": json_money(self.total_incl_vat), "lines": self.lines, "rows": self.rows,
            "credits": self.credits, "credited_by": self.credited_by, "reason": self.reason,
        }
        if self.invoice is not None:
            data["invoice"] = self.invoice.as_json()
        return data


_SELECT = """
SELECT i.id, i.number, i.provider, i.municipality, i.municipality_code, i.period, i.issue_date, i.total_cents,
       i.vat_cents, i.line_count, i.row_count, o.number AS credits, c.number AS credited_by, i.reason,
       i.vat_json, i.run_id
FROM invoice i LEFT JOIN invoice o ON o.id = i.credits_id LEFT JOIN invoice c ON c.credits_id = i.id
"""


def _issued(record: sqlite3.Row, invoice: Invoice | None = None) -> IssuedInvoice:
    return IssuedInvoice(
        number=record["number"], provider=record["provider"], municipality=record["municipality"],
        municipality_code=record["municipality_code"], period=record["period"],
        issue_date=dt.date.fromisoformat(record["issue_date"]), total=from_cents(record["total_cents"]),
        vat=from_cents(record["vat_cents"]), lines=record["line_count"], rows=record["row_count"],
        credits=record["credits"], credited_by=record["credited_by"], reason=record["reason"], invoice=invoice)


def _line_items(connection: sqlite3.Connection, record: sqlite3.Row) -> list[dict[str, Any]]:
    """The lines of one recorded invoice, one dict per line, in invoice order."""
    blob = connection.execute("SELECT lines_ipc FROM invoice_lines WHERE run_id = ? AND period = ?",
                              (record["run_id"], record["period"])).fetchone()
    frame = pl.read_ipc(io.BytesIO(blob[0])).filter(pl.col("invoice_id") == record["id"])
    return frame.drop("invoice_id").to_dicts()


def _invoice(record: sqlite3.Row, items: list[dict[str, Any]]) -> Invoice:
    return Invoice(
        provider=record["provider"], municipality=record["municipality"],
        municipality_code=record["municipality_code"], period=record["period"],
        lines=tuple(_line(item) for item in items), total=from_cents(record["total_cents"]),
        vat=tuple(VatBreakdown(treatment=v["treatment"], rate=Decimal(v["rate"]), base=from_cents(v["base_cents"]),
                               amount=from_cents(v["amount_cents"])) for v in json.loads(record["vat_json"])),
        number=record["number"], credits=record["credits"])


def _line(item: dict[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        bsn=item["bsn"], product=item["product"], product_name=item["product_name"], unit=QuantityUnit(item["unit"]),
        unit_price=from_cents(item["price_cents"]), quantity=Decimal(item["quantity"]),
        gross_amount=from_cents(item["gross_cents"]), revenue=from_cents(item["revenue_cents"]),
        revenue_netted=from_cents(item["netted_cents"]), revenue_unnetted=from_cents(item["unnetted_cents"]),
        amount=from_cents(item["amount_cents"]), vat_treatment=item["vat_treatment"],
        vat_rate=Decimal(item["vat_rate"]), first_day=item["first_day"], last_day=item["last_day"], rows=item["rows"])


def _filters(provider: str | None, municipality: str | None, period: str | None) -> tuple[str, list[str]]:
    clauses, values = [], []
    if provider:
        clauses.append("i.provider = ? COLLATE NOCASE")
        values.append(provider)
    if municipality:
        clauses.append("(i.municipality = ? COLLATE NOCASE OR i.municipality_code = ?)")
        values += [municipality, municipality.zfill(4) if municipality.isdigit() else municipality]
    if period:
        clauses.append("(i.period = ? OR substr(i.period, 1, 4) = ?)")
        values += [period, period]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def list_invoices(path: Path, provider: str | None = None, municipality: str | None = None,
                  period: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> list[IssuedInvoice]:
    """The recorded invoices (headers), oldest first; filters match case-insensitively.

    ``municipality`` is a name or a CBS code; ``period`` is ``YYYY-MM`` or a year ``YYYY``.
    """
    where, values = _filters(provider, municipality, period)
    with opened(path, timeout=timeout) as connection:
        connection.row_factory = sqlite3.Row
        records = connection.execute(_SELECT + where + " ORDER BY i.id", values).fetchall()
    return [_issued(r) for r in records]


def _find(connection: sqlite3.Connection, path: Path, number: str, provider: str | None) -> sqlite3.Row:
    connection.row_factory = sqlite3.Row
    where = " WHERE i.number = ?" + (" AND i.provider = ? COLLATE NOCASE" if provider else "")
    found = connection.execute(_SELECT + where, [number, provider] if provider else [number]).fetchall()
    if not found:
        of = f" of provider {provider!r}" if provider else ""
        raise LedgerError(f"{path}: no invoice {number}{of} in the ledger")
    if len(found) > 1:
        names = ", ".join(repr(r["provider"]) for r in found)
        raise LedgerError(f"{path}: invoice number {number} exists for {len(found)} providers ({names}); "
                          "say which with --provider")
    result: sqlite3.Row = found[0]
    return result


def show(path: Path, number: str, provider: str | None = None, *,
         timeout: float = DEFAULT_TIMEOUT) -> IssuedInvoice:
    """One recorded invoice with its lines (``.invoice``); ``provider`` when the number is ambiguous."""
    with opened(path, timeout=timeout) as connection:
        record = _find(connection, path, number, provider)
        return _issued(record, _invoice(record, _line_items(connection, record)))


# --- credit notes -------------------------------------------------------------------------------


def credit(path: Path, number: str, *, reason: str | None, issue_date: dt.date, provider: str | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> Invoice:
    """Issue the credit note of invoice ``number``: its lines negated, a new number, its rows released."""
    with opened(path, timeout=timeout) as connection, write_transaction(connection):
        original = _find(connection, path, number, provider)
        _check_creditable(path, original)
        seq = _next_seq(connection, original["provider"], issue_date.year)
        credit_number = f"{issue_date.year}-{seq:06d}"
        items = [_negated(item) for item in _line_items(connection, original)]
        vat = json.dumps([{**v, "base_cents": -v["base_cents"], "amount_cents": -v["amount_cents"]}
                          for v in json.loads(original["vat_json"])])
        run_id = _insert_run(connection, "credit", issue_date, 0)
        credit_id = _next_id(connection)
        connection.execute(_INSERT_INVOICE, (
            credit_id, run_id, original["provider"], issue_date.year, seq, credit_number, issue_date.isoformat(),
            original["municipality"], original["municipality_code"], original["period"], -original["total_cents"],
            -original["vat_cents"], original["line_count"], 0, vat, original["id"], reason))
        frame = pl.DataFrame(items).select(pl.lit(original["period"]).alias("period"),
                                           pl.lit(credit_id, pl.Int64).alias("invoice_id"), *LINE_FIELDS,
                                           *PRODUCT_FIELDS)
        connection.executemany("INSERT INTO invoice_lines VALUES (?, ?, ?, ?)", _month_blobs(frame, run_id))
        record = _find(connection, path, credit_number, original["provider"])
        return _invoice(record, _line_items(connection, record))


def _check_creditable(path: Path, original: sqlite3.Row) -> None:
    if original["credits"] is not None:
        raise LedgerError(f"{path}: {original['number']} is itself a credit note (of {original['credits']}); "
                          "it cannot be credited")
    if original["credited_by"] is not None:
        raise LedgerError(f"{path}: {original['number']} was already credited by {original['credited_by']}")


def _negated(item: dict[str, Any]) -> dict[str, Any]:
    negated = {**item, **{f: -item[f] for f in NEGATED_FIELDS}}
    negated["quantity"] = json_decimal(-Decimal(item["quantity"]))
    return negated


# --- export, keys for checks, verification ------------------------------------------------------

EXPORT_COLUMNS = ["aanbieder", "factuurnummer", "factuurdatum", "crediteert", "gemeente", "gemeentecode", "periode",
                  "bedrag_excl_btw", "btw", "bedrag_incl_btw", "regels", "uurregels", "gecrediteerd_door", "reden"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str | None) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (``=1+1`` -> ``'=1+1``)."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _amount(amount: Decimal) -> str:
    return json_money(amount).replace(".", ",")


def _export_row(item: IssuedInvoice) -> list[str]:
    return [neutralise(item.provider), item.number, item.issue_date.isoformat(), item.credits or "",
            neutralise(item.municipality), item.municipality_code, item.period, _amount(item.total),
            _amount(item.vat), _amount(item.total_incl_vat), str(item.lines), str(item.rows),
            item.credited_by or "", neutralise(item.reason)]


def export_csv(path: Path, stream: TextIO, *, bom: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Every recorded invoice as one CSV row for the accounting system (Dutch dialect, see docs)."""
    items = list_invoices(path, timeout=timeout)
    if bom:
        stream.write("\ufeff")
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(_export_row(item) for item in items)


def _all_lines(connection: sqlite3.Connection) -> pl.DataFrame:
    parts = [pl.read_ipc(io.BytesIO(blob)) for (blob,) in connection.execute("SELECT lines_ipc FROM invoice_lines")]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(
        schema={"invoice_id": pl.Int64, "bsn": pl.String, "product": pl.String, "price_cents": pl.Int64,
                "unit": pl.String, "quantity": pl.String, "amount_cents": pl.Int64, "rows": pl.Int64})


def issued_line_keys(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> pl.DataFrame:
    """The invoice lines of every live invoice (issued, neither a credit note nor credited).

    Columns ``provider, number, gemeentecode, period, bsn, product, price_cents, unit, quantity,
    amount_cents``: join an invoice's lines on ``provider, gemeentecode, period, bsn, product`` to
    flag lines that were issued before.
    """
    query = ("SELECT i.id, i.provider, i.number, i.municipality_code, i.period FROM invoice i "
             "WHERE i.credits_id IS NULL AND NOT EXISTS (SELECT 1 FROM invoice c WHERE c.credits_id = i.id)")
    with opened(path, timeout=timeout) as connection:
        live = pl.DataFrame(connection.execute(query).fetchall(), orient="row", schema={
            "invoice_id": pl.Int64, "provider": pl.String, "number": pl.String, "gemeentecode": pl.String,
            "period": pl.String})
        lines = _all_lines(connection)
    return live.join(lines, on="invoice_id", how="inner", maintain_order="left").select(
        "provider", "number", "gemeentecode", "period", "bsn", "product", "price_cents", "unit", "quantity",
        "amount_cents")


def verify(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Everything wrong with the ledger (empty when sound): SQLite integrity, gapless numbers per
    provider and year, each invoice complete (its lines, total and billed rows), no orphans."""
    with opened(path, timeout=timeout) as connection:
        integrity = [r[0] for r in connection.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if integrity == ["ok"] else [f"integrity_check: {line}" for line in integrity]
        counts, orphans = _billed_counts(connection)
        lines = {i: (n, total, rows) for i, n, total, rows in _all_lines(connection).group_by("invoice_id").agg(
            pl.len(), pl.col("amount_cents").sum(), pl.col("rows").sum()).rows()}
        problems += _gaps(connection) + orphans
        problems += [p for record in connection.execute(
            "SELECT id, provider, number, total_cents, line_count, row_count, credits_id FROM invoice")
            for p in _incomplete(record, counts.pop(record[0], 0), lines.pop(record[0], (0, 0, 0)))]
    return (problems + [f"{n} billed rows belong to invoice id {i}, which does not exist" for i, n in counts.items()]
            + [f"{n} lines belong to invoice id {i}, which does not exist" for i, (n, _, _) in lines.items()])


def _gaps(connection: sqlite3.Connection) -> list[str]:
    query = "SELECT provider, year, count(*), min(seq), max(seq) FROM invoice GROUP BY provider, year"
    return [f"{provider} {year}: numbers {low}..{high} for {count} invoices (not gapless)"
            for provider, year, count, low, high in connection.execute(query) if low != 1 or high != count]


def _billed_counts(connection: sqlite3.Connection) -> tuple[dict[int, int], list[str]]:
    """Billed rows per invoice id, and the records whose content does not match their row count."""
    counts: dict[int, int] = {}
    problems = []
    for run_id, period, row_count, blob in connection.execute("SELECT * FROM billed_rows"):
        part = pl.read_ipc(io.BytesIO(blob))
        if part.height != row_count:
            problems.append(f"billed rows of run {run_id}, {period}: {part.height} rows, {row_count} recorded")
        for invoice_id, count in part.group_by("invoice_id").len().rows():
            counts[invoice_id] = counts.get(invoice_id, 0) + count
    return counts, problems


def _incomplete(record: Sequence[Any], billed: int, lines: tuple[int, int, int]) -> Iterable[str]:
    _, provider, number, total, line_count, row_count, credits_id = record
    count, amount, line_rows = lines
    where = f"{provider} {number}"
    if count != line_count or amount != total:
        yield f"{where}: {count} lines adding up to {amount} cents recorded, {line_count} lines and {total} expected"
    if credits_id is None and (billed != row_count or line_rows != row_count):
        yield f"{where}: {billed} billed rows recorded, {row_count} expected"
