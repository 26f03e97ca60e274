"""Issued invoices: gapless numbers, no row billed twice, credit notes — in an SQLite ledger.

``issue(result, path, issue_date=..., lookup=...)`` records the invoices of a billing run in one
write transaction and returns them numbered. Every hour-log row is *fingerprinted*; a row whose
fingerprint belongs to a live invoice (one that is not credited) is not billed again, and is
reported with the number of the invoice that billed it. ``credit`` mirrors an invoice with negative
amounts under a new number and releases its rows. Nothing issued is ever changed or deleted.

Numbers are ``YYYY-NNNNNN``: the year of the issue date and a gapless sequence per provider and
year (credit notes included). An invoice's identity is (provider, number).

The fingerprint of a row is its key itself, stored exactly (no hash: nothing can collide, nothing
changes with a library version): service date, BSN, provider, municipality code, product, quantity
in ticks, revenue in cents (none = 0) and the row's occurrence, its position among identical rows
of the run (0 for the first, 1 for the second, ...). A run stores its billed rows as one Parquet
blob and its invoice lines as another. Which invoice billed a row follows from the row itself (its
run, provider, municipality and service month), and an invoice's lines are a slice of its run's
lines (``first_line``, ``line_count``): no invoice id is stored per row or per line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TextIO, overload

import polars as pl

from mgr_tariffs import __version__
from mgr_tariffs.billing.engine import INVOICE_KEYS, BillingResult, build_invoices, invoice_totals, price_lines
from mgr_tariffs.billing.invoices import Invoice, InvoiceLine, VatBreakdown
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.frozen import Frozen
from mgr_tariffs.ledger.schema import DEFAULT_TIMEOUT, LedgerError, opened, write_transaction
from mgr_tariffs.money import from_cents, json_decimal, json_money
from mgr_tariffs.quantity import QuantityUnit

__all__ = [
    "DEFAULT_LEDGER", "ROW_KEY", "BilledRow", "IssueResult", "IssuedInvoice", "IssuedInvoices", "LedgerError",
    "credit", "export_csv", "find_billed", "fingerprints", "issue", "issued_line_keys", "ledger_path",
    "list_invoices", "live_rows", "show", "verify",
]

DEFAULT_LEDGER = Path("mgr-ledger.sqlite")
LEDGER_ENV = "MGR_LEDGER"
ROW_KEY: dict[str, pl.DataType] = {
    "date": pl.Date(), "bsn_id": pl.Int64(), "provider": pl.String(), "municipality_id": pl.Int32(),
    "product": pl.String(), "ticks": pl.Int64(), "revenue_cents": pl.Int64(), "occurrence": pl.Int32(),
}
"""The fingerprint of a billed row: these columns, with exactly these types (also the stored form)."""
KEY = list(ROW_KEY)
LINE_FIELDS = ["bsn", "product", "unit", "price_cents", "ticks", "quantity", "gross_cents", "revenue_cents",
               "netted_cents", "unnetted_cents", "amount_cents", "first_day", "last_day", "rows"]
PRODUCT_FIELDS = ["product_name", "vat_treatment", "vat_rate"]
NEGATED_FIELDS = ("ticks", "gross_cents", "revenue_cents", "netted_cents", "unnetted_cents", "amount_cents")
ZSTD_LEVEL = 1  # Parquet's own encodings do most of the work: level 3 is hardly smaller and slower


def ledger_path(option: Path | None) -> Path:
    """The ledger to use: ``--ledger PATH``, else ``$MGR_LEDGER``, else ``mgr-ledger.sqlite`` here."""
    if option is not None:
        return option
    env = os.environ.get(LEDGER_ENV, "").strip()
    return Path(env) if env else DEFAULT_LEDGER


# --- fingerprints -------------------------------------------------------------------------------


def fingerprints(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``BillingResult.rows``) as fingerprints: ``_file, _line`` and the :data:`ROW_KEY` columns."""
    keyed = rows.select(
        "_file", pl.col("_line").cast(pl.Int64),
        *[pl.col(c).cast(ROW_KEY[c]) for c in ("date", "bsn_id", "provider", "municipality_id", "product", "ticks")],
        revenue_cents=pl.col("revenue_cents").cast(pl.Int64).fill_null(0))
    return keyed.with_columns(occurrence=_occurrences(keyed))


def _occurrences(keyed: pl.DataFrame) -> pl.Series:
    """Per row: how many identical rows (same key) came before it in the run; almost always 0.

    Candidates share one integer made of client, quantity and day: sorting it finds them, and only
    they are numbered, on the full key.
    """
    zeros = pl.zeros(keyed.height, dtype=pl.Int32, eager=True)
    near = keyed.select((pl.col("bsn_id") * 2**17 + pl.col("ticks")) * 2**16 + pl.col("date").cast(pl.Int64))
    ordered = near.to_series().sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.is_empty():
        return zeros
    candidates = keyed.with_row_index("i").filter(near.to_series().is_in(repeated.unique().to_list()))
    numbered = candidates.select("i", k=pl.int_range(pl.len(), dtype=pl.Int32).over(KEY[:-1]))
    numbered = numbered.filter(pl.col("k") > 0)
    return zeros.scatter(numbered.get_column("i"), numbered.get_column("k"))


def _stored(keyed: pl.DataFrame) -> tuple[list[str], pl.DataFrame]:
    """The hour logs of the rows, and the rows as stored: ``file`` (index in that list), ``line``, the key."""
    first = keyed.get_column("_file")[0]
    if keyed.select((pl.col("_file") == first).all()).item():
        files, index = [first], pl.lit(0, pl.Int32)
    else:
        files = sorted(keyed.get_column("_file").unique().to_list())
        index = pl.col("_file").replace_strict({f: i for i, f in enumerate(files)}, return_dtype=pl.Int32)
    return files, keyed.select(index.alias("file"), pl.col("_line").alias("line"), *KEY)


def _to_parquet(frame: pl.DataFrame) -> bytes:
    """A frame as Parquet (a stable, self-describing format), zstd-compressed."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=ZSTD_LEVEL, statistics=False)
    return buffer.getvalue()


def _from_parquet(blob: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(blob))


# --- what was billed before ---------------------------------------------------------------------

_LIVE = "i.credits_id IS NULL AND NOT EXISTS (SELECT 1 FROM invoice c WHERE c.credits_id = i.id)"
_OWNERS = "SELECT i.id, i.run_id, i.number, i.provider, i.municipality_code, i.period FROM invoice i"
OWNER_SCHEMA = {"invoice_id": pl.Int64, "run_id": pl.Int64, "number": pl.String, "provider": pl.String,
                "gemeentecode": pl.String, "period": pl.String}
LIVE_SCHEMA = {**ROW_KEY, "number": pl.String(), "billed_file": pl.String(), "billed_line": pl.Int64()}


def _periods(rows: pl.DataFrame) -> list[str]:
    """The service months (``YYYY-MM``) from the first to the last of the rows (a superset is harmless)."""
    first, last = rows.select(first=pl.col("date").min(), last=pl.col("date").max()).row(0)
    months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
    return [f"{month // 12:04d}-{month % 12 + 1:02d}" for month in months]


def _owners(connection: sqlite3.Connection, where: str = "", values: Sequence[Any] = ()) -> pl.DataFrame:
    return pl.DataFrame(connection.execute(_OWNERS + where, values).fetchall(), schema=OWNER_SCHEMA, orient="row")


def _run_rows(run_id: int, files_json: str, blob: bytes) -> pl.DataFrame:
    """The rows one run billed (a ``billed_rows`` record): ``billed_file, billed_line`` and the key."""
    files: list[str] = json.loads(files_json)
    name = (pl.lit(files[0], pl.String) if len(files) == 1
            else pl.col("file").replace_strict(dict(enumerate(files)), return_dtype=pl.String))
    return _from_parquet(blob).select(name.alias("billed_file"), pl.col("line").cast(pl.Int64).alias("billed_line"),
                                      *[pl.col(c).cast(t) for c, t in ROW_KEY.items()])


_BILLED_ROWS = "SELECT b.run_id, r.files_json, b.rows_parquet FROM billed_rows b JOIN run r ON r.id = b.run_id"


def _with_owner(rows: pl.DataFrame, owners: pl.DataFrame, how: Literal["inner", "left"] = "inner") -> pl.DataFrame:
    """The rows one run billed with the invoice of that run that billed each: ``invoice_id, number``.

    The invoice of a row is the run's invoice of its provider, municipality and service month.
    """
    if owners.is_empty():
        return rows.with_columns(invoice_id=pl.lit(None, pl.Int64), number=pl.lit(None, pl.String)).clear(
            0 if how == "inner" else rows.height)
    providers = {p: i for i, p in enumerate(sorted(set(owners.get_column("provider").to_list())))}
    month = pl.col("date").dt.year().cast(pl.Int64) * 100 + pl.col("date").dt.month().cast(pl.Int64)
    provider = pl.col("provider").replace_strict(providers, default=None, return_dtype=pl.Int64)
    key = (provider * 10_000 + pl.col("municipality_id").cast(pl.Int64)) * 1_000_000 + month
    heads = owners.select("invoice_id", "number", _owner=(
        pl.col("provider").replace_strict(providers, return_dtype=pl.Int64) * 10_000
        + pl.col("gemeentecode").cast(pl.Int64)) * 1_000_000 + pl.col("period").str.replace("-", "").cast(pl.Int64))
    return rows.with_columns(_owner=key).join(heads, on="_owner", how=how, maintain_order="left").drop("_owner")


def _live_rows(connection: sqlite3.Connection, periods: list[str]) -> pl.DataFrame:
    """The rows billed by live invoices (not credited) of these service months: key, number, where from."""
    owners = _owners(connection, f" WHERE i.period IN (SELECT value FROM json_each(?)) AND {_LIVE}",
                     (json.dumps(periods),))
    parts = []
    for (run_id,), part in sorted(owners.partition_by("run_id", as_dict=True).items()):
        found = connection.execute(_BILLED_ROWS + " WHERE b.run_id = ?", (run_id,)).fetchone()
        if found is not None:
            parts.append(_with_owner(_run_rows(*found), part).select(*LIVE_SCHEMA))
    return pl.concat(parts) if parts else pl.DataFrame(schema=LIVE_SCHEMA)


def _no_billed() -> pl.DataFrame:
    return pl.DataFrame(schema={"_file": pl.String, "_line": pl.Int64, "provider": pl.String, "number": pl.String,
                                "billed_file": pl.String, "billed_line": pl.Int64})


def _near(frame: pl.DataFrame, index: str) -> pl.DataFrame:
    """Row numbers and an integer of municipality, client and day (equal keys, equal integers), sorted on it."""
    near = ((pl.col("municipality_id").cast(pl.Int64) * 1_000_000_000 + pl.col("bsn_id")) * 2**16
            + pl.col("date").cast(pl.Int64) % 2**16)
    return frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(index), near=near).sort("near")


def _pairs(keyed: pl.DataFrame, live: pl.DataFrame) -> pl.DataFrame:
    """``i, j``: row ``i`` of ``keyed`` has the same key as row ``j`` of ``live``; ordered by ``i``, each once.

    Candidates share the integer of :func:`_near` (a merge join of two sorted columns); then every
    column of the key is compared, so equal keys and nothing else make a pair.
    """
    pairs = _near(keyed, "i").join(_near(live, "j"), on="near", how="inner").select("i", "j")
    mine, theirs = keyed.select(KEY)[pairs.get_column("i")], live.select(KEY)[pairs.get_column("j")]
    same = pl.all_horizontal([mine.get_column(c) == theirs.get_column(c) for c in KEY])
    pairs = pairs.filter(pl.select(same).to_series()).sort("i")
    return pairs.filter(pl.col("i").ne_missing(pl.col("i").shift(1)))


def _split_billed(keyed: pl.DataFrame, live: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """(the rows billed before, with the invoice that billed them; a mask of those rows, None if none)."""
    if live.is_empty():
        return _no_billed(), None
    pairs = _pairs(keyed, live)
    if pairs.is_empty():
        return _no_billed(), None
    mine, theirs = pairs.get_column("i"), pairs.get_column("j")
    billed = pl.concat([keyed.select("_file", "_line", "provider")[mine],
                        live.select("number", "billed_file", "billed_line")[theirs]], how="horizontal")
    return billed, pl.repeat(False, keyed.height, dtype=pl.Boolean, eager=True).scatter(mine, True)


def find_billed(path: Path, rows: pl.DataFrame, *, timeout: float = DEFAULT_TIMEOUT) -> pl.DataFrame:
    """The rows of ``rows`` (``BillingResult.rows``) a live invoice in the ledger billed already.

    Columns ``_file, _line, provider, number, billed_file, billed_line``; read only. This is what
    ``mgr check --ledger`` needs to flag rows issued before.
    """
    if rows.is_empty():
        return _no_billed()
    keyed = fingerprints(rows)
    with opened(path, timeout=timeout) as connection:
        live = _live_rows(connection, _periods(rows))
    return _split_billed(keyed, live)[0]


def live_rows(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> pl.DataFrame:
    """Every row billed by a live invoice (issued, neither a credit note nor credited): the row key
    (:data:`ROW_KEY`), ``number, billed_file, billed_line``. What ``mgr allocations --ledger`` counts as used."""
    with opened(path, timeout=timeout) as connection:
        periods = [p for (p,) in connection.execute(f"SELECT DISTINCT i.period FROM invoice i WHERE {_LIVE}")]
        return _live_rows(connection, periods)


# --- issuing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BilledRow:
    """A row of this run that an earlier invoice already billed."""

    file: str
    line: int
    provider: str
    number: str


class IssuedInvoices(Sequence[Invoice]):
    """The invoices of an issue as ``Invoice`` objects (with ``number``), built on first use.

    Building them costs seconds for a million rows; a run that writes only CSV files never needs to.
    """

    def __init__(self, lines: pl.DataFrame, heads: pl.DataFrame) -> None:
        self._lines = lines
        self._heads = heads

    @cached_property
    def _built(self) -> list[Invoice]:
        if self._heads.is_empty():
            return []
        numbers = self._heads.get_column("number").to_list()
        built = build_invoices(self._lines, self._heads)
        return [invoice.model_copy(update={"number": n}) for invoice, n in zip(built, numbers, strict=True)]

    def __len__(self) -> int:
        return self._heads.height

    @overload
    def __getitem__(self, index: int) -> Invoice: ...

    @overload
    def __getitem__(self, index: slice) -> list[Invoice]: ...

    def __getitem__(self, index: int | slice) -> Invoice | list[Invoice]:
        return self._built[index]

    def __iter__(self) -> Iterator[Invoice]:
        return iter(self._built)

    def __repr__(self) -> str:
        return f"IssuedInvoices({len(self)} invoices)"


@dataclass(frozen=True)
class IssueResult:
    """What :func:`issue` recorded: numbered invoices (frames, objects on demand) and rows skipped."""

    lines: pl.DataFrame
    invoice_frame: pl.DataFrame  # one row per invoice, with ``id``, ``seq`` and ``number``
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
    def invoices(self) -> IssuedInvoices:
        return IssuedInvoices(self.lines, self.invoice_frame)

    def already_billed_rows(self, limit: int | None = None) -> list[BilledRow]:
        """The rows billed before (the first ``limit`` of them), in the order of the run."""
        rows = self.already_billed if limit is None else self.already_billed.head(limit)
        return [BilledRow(*row) for row in rows.select("_file", "_line", "provider", "number").rows()]


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
    periods = _periods(rows)
    with ThreadPoolExecutor(max_workers=2) as pool, opened(path, create_missing=True, timeout=timeout) as connection:
        # No invoice of these months yet (a guess, before the transaction): then this run's own lines
        # and rows will be recorded, and their blobs are encoded while the rows are fingerprinted.
        early = None if _months_issued(connection, periods) else pool.submit(_lines_blob, result.lines)
        keyed = fingerprints(rows)
        guess = _Recording.of(pool, result.lines, keyed, early) if early else None
        with write_transaction(connection):
            billed, done = _split_billed(keyed, _live_rows(connection, periods))
            reported = billed.select("_file", "_line", "provider", "number")
            if billed.height == rows.height:
                return IssueResult(pl.DataFrame(), pl.DataFrame(), reported, 0, issue_date)
            if done is None:  # nothing billed before: the run's own lines and invoices
                recording = guess or _Recording.of(pool, result.lines, keyed)
                heads = result.invoice_frame
            else:
                recording = _Recording.of(pool, price_lines(rows.filter(~done), lookup), keyed.filter(~done))
                heads = invoice_totals(recording.lines)
            heads = _numbered(connection, heads, issue_date)
            _record(connection, heads, recording, issue_date)
    return IssueResult(recording.lines, heads, reported, recording.stored.height, issue_date)


def _months_issued(connection: sqlite3.Connection, periods: list[str]) -> bool:
    query = "SELECT EXISTS (SELECT 1 FROM invoice WHERE period IN (SELECT value FROM json_each(?)))"
    return bool(connection.execute(query, (json.dumps(periods),)).fetchone()[0])


@dataclass(frozen=True)
class _Recording:
    """What a run records besides its invoices: its lines and billed rows, and their blobs (futures)."""

    lines: pl.DataFrame
    files: list[str]
    stored: pl.DataFrame
    lines_blob: Future[bytes]
    rows_blob: Future[bytes]

    @classmethod
    def of(cls, pool: ThreadPoolExecutor, lines: pl.DataFrame, keyed: pl.DataFrame,
           lines_blob: Future[bytes] | None = None) -> _Recording:
        """Start encoding the lines (unless already started) and the rows on ``pool``."""
        files, stored = _stored(keyed)
        return cls(lines, files, stored, lines_blob or pool.submit(_lines_blob, lines),
                   pool.submit(_to_parquet, stored))


def _lines_blob(lines: pl.DataFrame) -> bytes:
    return _to_parquet(lines.select(*LINE_FIELDS, *PRODUCT_FIELDS))


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


def _record(connection: sqlite3.Connection, heads: pl.DataFrame, recording: _Recording, issue_date: dt.date) -> None:
    """Insert the run, its invoices, its lines and its billed rows (the caller holds the transaction).

    The blobs are encoded on worker threads (Polars releases the GIL) while the invoices go in.
    """
    lines, stored = recording.lines, recording.stored
    first_lines, owner = _line_owners(lines, heads)
    if int(heads.get_column("rows").sum()) != stored.height:
        raise LedgerError("internal error: the invoices do not add up to the rows billed; nothing was recorded")
    run_id = _insert_run(connection, "issue", issue_date, stored.height, recording.files)
    invoices = heads.with_columns(first_lines, _vat_documents(lines, owner))
    connection.executemany(_INSERT_INVOICE, _invoice_records(invoices, run_id, issue_date))
    for table, count, blob in (("invoice_lines", lines.height, recording.lines_blob),
                               ("billed_rows", stored.height, recording.rows_blob)):
        connection.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (run_id, count, blob.result()))


def _line_owners(lines: pl.DataFrame, heads: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(where each invoice's lines start, the position in ``heads`` of each line's invoice).

    Checks that the lines come grouped by invoice, in the order of ``heads``.
    """
    counts = heads.get_column("lines").cast(pl.Int64)
    first = (counts.cum_sum() - counts).alias("first_line")
    changes = lines.select(pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in INVOICE_KEYS]))
    starts = changes.to_series().arg_true().cast(pl.Int64)
    grouped = (lines.height == int(counts.sum()) and starts.equals(first, check_names=False)
               and lines.select(pl.col(INVOICE_KEYS).gather(starts)).equals(heads.select(INVOICE_KEYS)))
    if not grouped:
        raise LedgerError("internal error: the invoice lines are not grouped by invoice; nothing was recorded")
    return first, (changes.to_series().cast(pl.Int64).cum_sum() - 1).alias("invoice")


_INSERT_INVOICE = "INSERT INTO invoice VALUES (" + ", ".join("?" * 18) + ")"


def _insert_run(connection: sqlite3.Connection, kind: str, issue_date: dt.date, rows: int, files: list[str]) -> int:
    cursor = connection.execute(
        "INSERT INTO run (kind, issued_at, issue_date, rows_issued, files_json, tool_version) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (kind, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), issue_date.isoformat(), rows, json.dumps(files),
         __version__))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _invoice_records(heads: pl.DataFrame, run_id: int, issue_date: dt.date) -> list[tuple[Any, ...]]:
    """The ``invoice`` rows, in the column order of the table."""
    return heads.select(
        "id", pl.lit(run_id).alias("run_id"), "provider", pl.lit(issue_date.year).alias("year"), "seq", "number",
        pl.lit(issue_date.isoformat()).alias("issue_date"), "municipality", "gemeentecode", "period", "total_cents",
        "vat_cents", "lines", "rows", "vat_json", "first_line", pl.lit(None).alias("credits_id"),
        pl.lit(None).alias("reason"),
    ).rows()


def _vat_documents(lines: pl.DataFrame, owner: pl.Series) -> pl.Series:
    """Per invoice (``owner``: the invoice of each line, 0, 1, ...): its VAT breakdown as JSON text.

    ``[{"treatment": ..., "rate": 21, "base_cents": ..., "amount_cents": ...}, ...]``, money in
    integer cents; the amount is base x rate / 100 rounded half away from zero, as on the invoice.
    """
    vat = lines.select(owner, "vat_treatment", "vat_rate", "amount_cents").group_by(
        "invoice", "vat_treatment", "vat_rate", maintain_order=True).agg(base=pl.col("amount_cents").sum())
    treatments = {t: json.dumps(t) for t in vat.get_column("vat_treatment").unique().to_list()}
    product = pl.col("base") * pl.col("vat_rate")
    amount = (product.abs() * 2 + 100) // 200 * pl.when(product < 0).then(-1).otherwise(1)
    piece = pl.concat_str([
        pl.lit('{"treatment": '), pl.col("vat_treatment").replace_strict(treatments, return_dtype=pl.String),
        pl.lit(', "rate": '), pl.col("vat_rate").cast(pl.String), pl.lit(', "base_cents": '),
        pl.col("base").cast(pl.String), pl.lit(', "amount_cents": '), amount.cast(pl.String), pl.lit("}"),
    ])
    documents = vat.with_columns(piece=piece).group_by("invoice", maintain_order=True).agg(
        vat_json=pl.format("[{}]", pl.col("piece").str.join(", ")))
    return documents.get_column("vat_json")


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
       i.vat_json, i.run_id, i.first_line
FROM invoice i LEFT JOIN invoice o ON o.id = i.credits_id LEFT JOIN invoice c ON c.credits_id = i.id
"""


def _issued(record: sqlite3.Row, invoice: Invoice | None = None) -> IssuedInvoice:
    return IssuedInvoice(
        number=record["number"], provider=record["provider"], municipality=record["municipality"],
        municipality_code=record["municipality_code"], period=record["period"],
        issue_date=dt.date.fromisoformat(record["issue_date"]), total=from_cents(record["total_cents"]),
        vat=from_cents(record["vat_cents"]), lines=record["line_count"], rows=record["row_count"],
        credits=record["credits"], credited_by=record["credited_by"], reason=record["reason"], invoice=invoice)


def _line_frame(connection: sqlite3.Connection, record: sqlite3.Row) -> pl.DataFrame:
    """The lines of one recorded invoice, in invoice order: its slice of its run's lines."""
    found = connection.execute("SELECT lines_parquet FROM invoice_lines WHERE run_id = ?",
                               (record["run_id"],)).fetchone()
    if found is None:
        raise LedgerError(f"{record['provider']} {record['number']}: its lines are missing from the ledger "
                          "(see mgr ledger verify)")
    return _from_parquet(found[0]).slice(record["first_line"], record["line_count"])


def _line_items(connection: sqlite3.Connection, record: sqlite3.Row) -> list[dict[str, Any]]:
    """The lines of one recorded invoice, one dict per line, in invoice order."""
    return _line_frame(connection, record).to_dicts()


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
        lines = _negated(_line_frame(connection, original))
        vat = json.dumps([{**v, "base_cents": -v["base_cents"], "amount_cents": -v["amount_cents"]}
                          for v in json.loads(original["vat_json"])])
        run_id = _insert_run(connection, "credit", issue_date, 0, [])
        connection.execute(_INSERT_INVOICE, (
            _next_id(connection), run_id, original["provider"], issue_date.year, seq, credit_number,
            issue_date.isoformat(), original["municipality"], original["municipality_code"], original["period"],
            -original["total_cents"], -original["vat_cents"], lines.height, 0, vat, 0, original["id"], reason))
        connection.execute("INSERT INTO invoice_lines VALUES (?, ?, ?)", (run_id, lines.height, _to_parquet(lines)))
        record = _find(connection, path, credit_number, original["provider"])
        return _invoice(record, _line_items(connection, record))


def _check_creditable(path: Path, original: sqlite3.Row) -> None:
    if original["credits"] is not None:
        raise LedgerError(f"{path}: {original['number']} is itself a credit note (of {original['credits']}); "
                          "it cannot be credited")
    if original["credited_by"] is not None:
        raise LedgerError(f"{path}: {original['number']} was already credited by {original['credited_by']}")


def _negated(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines of a credit note: quantities and amounts negated, the rest as on the original."""
    quantity = [json_decimal(-Decimal(q)) for q in lines.get_column("quantity").to_list()]
    return lines.with_columns(*[-pl.col(f) for f in NEGATED_FIELDS], quantity=pl.Series(quantity, dtype=pl.String))


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


def _owned_lines(connection: sqlite3.Connection) -> tuple[pl.DataFrame, list[str]]:
    """Every recorded line with its ``invoice_id`` (from the invoices' slices of their run's lines),
    and the runs whose lines do not match their invoices."""
    query = "SELECT id, run_id, first_line, line_count FROM invoice ORDER BY run_id, first_line, line_count, id"
    heads = pl.DataFrame(connection.execute(query).fetchall(),
        schema={"invoice_id": pl.Int64, "run_id": pl.Int64, "first_line": pl.Int64, "line_count": pl.Int64},
        orient="row")
    by_run = {int(run): part for (run,), part in heads.partition_by("run_id", as_dict=True).items()}
    parts, problems = [], []
    for run_id, recorded, blob in connection.execute("SELECT run_id, line_count, lines_parquet FROM invoice_lines"):
        lines = _from_parquet(blob)
        members = by_run.get(run_id)
        problem = _tiling_problem(run_id, recorded, lines.height, members)
        if problem or members is None:
            problems.append(problem or "")
            continue
        owner = members.get_column("first_line").search_sorted(pl.int_range(lines.height, eager=True), side="right")
        parts.append(lines.with_columns(invoice_id=members.get_column("invoice_id").gather(owner - 1)))
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema={
        "invoice_id": pl.Int64, "bsn": pl.String, "product": pl.String, "price_cents": pl.Int64, "unit": pl.String,
        "quantity": pl.String, "amount_cents": pl.Int64, "rows": pl.Int64}), problems


def _tiling_problem(run_id: int, recorded: int, height: int, members: pl.DataFrame | None) -> str | None:
    """Why the invoices of a run do not own its lines exactly once each, in order (``None`` when they do)."""
    if height != recorded:
        return f"run {run_id}: {height} invoice lines stored, {recorded} recorded"
    if members is None:
        return f"run {run_id}: {height} invoice lines belong to no invoice"
    counts = members.get_column("line_count")
    if counts.sum() != height or not (counts.cum_sum() - counts).equals(members.get_column("first_line"),
                                                                         check_names=False):
        return f"run {run_id}: the invoices' lines do not cover its {height} lines exactly once"
    return None


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
        lines, _ = _owned_lines(connection)
    return live.join(lines, on="invoice_id", how="inner", maintain_order="left").select(
        "provider", "number", "gemeentecode", "period", "bsn", "product", "price_cents", "unit", "quantity",
        "amount_cents")


def verify(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Everything wrong with the ledger (empty when sound): SQLite integrity, gapless numbers per
    provider and year, each invoice complete (its lines, total and billed rows), no orphans, no row
    billed by two live invoices."""
    with opened(path, timeout=timeout) as connection:
        integrity = [r[0] for r in connection.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if integrity == ["ok"] else [f"integrity_check: {line}" for line in integrity]
        lines, line_problems = _owned_lines(connection)
        sums = {i: (n, total, rows) for i, n, total, rows in lines.group_by("invoice_id").agg(
            pl.len(), pl.col("amount_cents").sum(), pl.col("rows").sum()).rows()}
        counts, row_problems = _billed_counts(connection)
        problems += _gaps(connection) + line_problems + row_problems
        problems += [p for record in connection.execute(
            "SELECT id, provider, number, total_cents, line_count, row_count, credits_id FROM invoice")
            for p in _incomplete(record, counts.get(record[0], 0), sums.get(record[0], (0, 0, 0)))]
    return problems


def _gaps(connection: sqlite3.Connection) -> list[str]:
    query = "SELECT provider, year, count(*), min(seq), max(seq) FROM invoice GROUP BY provider, year"
    return [f"{provider} {year}: numbers {low}..{high} for {count} invoices (not gapless)"
            for provider, year, count, low, high in connection.execute(query) if low != 1 or high != count]


def _billed_counts(connection: sqlite3.Connection) -> tuple[dict[int, int], list[str]]:
    """Billed rows per invoice id, and what is wrong with the billed rows: a record whose content does
    not match its row count, rows that belong to no invoice of their run, a row billed twice."""
    owners = _owners(connection).partition_by("run_id", as_dict=True)
    live = [i for (i,) in connection.execute(f"SELECT i.id FROM invoice i WHERE {_LIVE}")]
    counts: dict[int, int] = {}
    problems: list[str] = []
    keys = []
    for run_id, files, blob, recorded in connection.execute(
            "SELECT b.run_id, r.files_json, b.rows_parquet, b.row_count FROM billed_rows b "
            "LEFT JOIN run r ON r.id = b.run_id ORDER BY b.run_id"):
        rows = _run_rows(run_id, files or "[]", blob)
        if rows.height != recorded:
            problems.append(f"billed rows of run {run_id}: {rows.height} rows stored, {recorded} recorded")
        owned = _with_owner(rows, owners.get((run_id,), pl.DataFrame(schema=OWNER_SCHEMA)), how="left")
        orphans = owned.get_column("invoice_id").null_count()
        if orphans:
            problems.append(f"run {run_id}: {orphans} billed rows belong to no invoice of the run")
        for invoice_id, count in owned.drop_nulls("invoice_id").group_by("invoice_id").len().rows():
            counts[invoice_id] = count
        keys.append(owned.filter(pl.col("invoice_id").is_in(live)).select(KEY))
    twice = pl.concat(keys).filter(pl.struct(KEY).is_duplicated()).n_unique() if keys else 0
    if twice:
        problems.append(f"{twice} hour-log rows are billed by more than one live invoice")
    return counts, problems


def _incomplete(record: Sequence[Any], billed: int, lines: tuple[int, int, int]) -> Iterable[str]:
    _, provider, number, total, line_count, row_count, credits_id = record
    count, amount, line_rows = lines
    where = f"{provider} {number}"
    if count != line_count or amount != total:
        yield f"{where}: {count} lines adding up to {amount} cents recorded, {line_count} lines and {total} expected"
    if credits_id is None and billed != row_count:
        yield f"{where}: {billed} billed rows recorded, {row_count} expected"
    if credits_id is None and count == line_count and line_rows != row_count:
        yield f"{where}: its lines bill {line_rows} rows, {row_count} expected"
