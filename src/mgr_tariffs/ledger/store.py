"""Issued invoices: gapless numbers, no row billed twice, credit notes — in an SQLite ledger.

``issue(result, path, issue_date=..., lookup=...)`` records the invoices of a billing run in one
write transaction and returns them numbered. Every hour-log row is *fingerprinted*; a row whose
fingerprint belongs to a live invoice (one that is not credited) is not billed again, and is
reported with the number of the invoice that billed it. ``credit`` mirrors an invoice with negative
amounts under a new number and releases its rows. Nothing issued is ever changed or deleted.

Numbers are ``YYYY-NNNNNN``: the year of the issue date and a gapless sequence per supplier and
year (credit notes included). A supplier is a provider's identity
(:func:`mgr_tariffs.identity.provider_key`: NFC, white space, case), or its KvK number when the
parties file gives one; the ledger's first spelling of a supplier is the one every later invoice
carries. An invoice's identity is (provider, number). Every invoice and credit note is sealed in
a hash chain per supplier (:mod:`mgr_tariffs.ledger.chain`).

Issuing is one unit of work with the files it writes (:mod:`mgr_tariffs.ledger.publish`): the
``outputs`` callback of :func:`issue` and :func:`credit` stages them inside the transaction
(any failure there leaves the ledger as it was), the publication is recorded with the invoices,
and the files are moved into place after the commit, or by the next run after a crash.

A ledger whose content cannot be read (a blob that is not Parquet, JSON that is not JSON, a value of
the wrong type) is a :class:`LedgerError` ``FILE: ledger damaged: WHAT``; reading commands open the
ledger read-only.

The fingerprint of a row is its key itself, stored exactly (no hash: nothing can collide, nothing
changes with a library version): service date, BSN, provider, municipality code, product, quantity
in ticks, revenue in cents (none = 0) and the row's occurrence, its position among identical rows
of the run (0 for the first, 1 for the second, ...). A run stores its billed rows as one Parquet
blob and its invoice lines as another. Which invoice billed a row follows from the row itself (its
run, provider, municipality and service month), and an invoice's lines are a slice of its run's
lines (``first_line``, ``line_count``): no invoice id is stored per row or per line.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TextIO, overload

import polars as pl

from mgr_tariffs import __version__
from mgr_tariffs.billing.engine import INVOICE_KEYS, BillingResult, build_invoices, invoice_totals, price_lines
from mgr_tariffs.billing.invoices import Invoice, InvoiceLine, VatBreakdown
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.dates import Period, parse_period
from mgr_tariffs.frozen import Frozen
from mgr_tariffs.identity import canonical_spellings, provider_key
from mgr_tariffs.io import dialect
from mgr_tariffs.io.atomic import OutputError, Staged
from mgr_tariffs.ledger import DEFAULT_LEDGER, chain, ledger_path, publish
from mgr_tariffs.ledger.declarations import released_lines
from mgr_tariffs.ledger.schema import DEFAULT_TIMEOUT, LedgerError, opened, write_transaction
from mgr_tariffs.money import from_cents, json_decimal, json_money
from mgr_tariffs.quantity import QuantityUnit
from mgr_tariffs.vat import vat_cents_expr

__all__ = [
    "DEFAULT_LEDGER",
    "ROW_KEY",
    "BilledRow",
    "IssueResult",
    "IssuedInvoice",
    "IssuedInvoices",
    "LedgerError",
    "Outputs",
    "PublishPending",
    "StillPending",
    "chain_head",
    "credit",
    "export_csv",
    "find_billed",
    "fingerprints",
    "head_is_known",
    "issue",
    "issue_date_problem",
    "issued_line_keys",
    "last_issue_dates",
    "ledger_path",
    "list_invoices", "live_rows",
    "pending_tokens",
    "recover",
    "show",
    "verify",
]

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


class Damaged(Exception):
    """Something stored in the ledger cannot be read; :func:`_reading` adds the file name."""


def _from_parquet(blob: bytes, what: str = "a stored blob") -> pl.DataFrame:
    if not isinstance(blob, bytes):
        raise Damaged(f"{what}: not a blob")
    try:
        return pl.read_parquet(io.BytesIO(blob))
    except Exception as exc:  # Polars raises several kinds for bytes that are not Parquet
        raise Damaged(f"{what}: not Parquet ({type(exc).__name__})") from None


def _json(text: Any, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise Damaged(f"{what}: not JSON") from None


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Whatever stored value cannot be read becomes ``FILE: ledger damaged: WHAT`` (never a traceback)."""
    try:
        yield
    except Damaged as exc:
        raise LedgerError(f"{path}: ledger damaged: {exc}; the file was left untouched") from None
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError, pl.exceptions.PolarsError) as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise LedgerError(f"{path}: ledger damaged: a stored value has the wrong type or form ({text}); "
                          "the file was left untouched") from None


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
    files = _json(files_json, f"the hour logs of run {run_id}")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise Damaged(f"the hour logs of run {run_id}: not a list of names")
    name = (pl.lit(files[0] if files else "", pl.String) if len(files) <= 1
            else pl.col("file").replace_strict(dict(enumerate(files)), return_dtype=pl.String))
    return _from_parquet(blob, f"the billed rows of run {run_id}").select(
        name.alias("billed_file"), pl.col("line").cast(pl.Int64).alias("billed_line"),
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
    released = released_lines(connection)  # lines an iWmo answer rejected: their rows bill again
    for (run_id,), part in sorted(owners.partition_by("run_id", as_dict=True).items()):
        found = connection.execute(_BILLED_ROWS + " WHERE b.run_id = ?", (run_id,)).fetchone()
        if found is not None:
            owned = _with_owner(_run_rows(*found), part)
            parts.append(owned.join(released, on=list(released.columns), how="anti").select(*LIVE_SCHEMA))
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
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        live = _live_rows(connection, _periods(rows))
        keyed = _canonical_rows(connection, keyed)
    return _split_billed(keyed, live)[0]


def live_rows(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> pl.DataFrame:
    """Every row billed by a live invoice (issued, neither a credit note nor credited): the row key
    (:data:`ROW_KEY`), ``number, billed_file, billed_line``; read only. What ``mgr allocations --ledger`` and
    ``mgr bill --allocations`` count as used before (issue 14)."""
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
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
    published: tuple[Path, ...] = ()  # the files (and folders) the run published
    recovered: tuple[str, ...] = ()  # what the run completed of an earlier, interrupted one
    billed: BillingResult | None = field(default=None, compare=False)  # the run with the ledger's spellings

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


StillPending = Callable[[str], bool]
Outputs = Callable[["IssueResult", StillPending], Staged | None]
"""Stages the files of an issue (:func:`mgr_tariffs.io.atomic.stage`), inside its transaction; the second
argument tells ``stage`` which staged leftovers the ledger still waits for."""
EARLIEST_ISSUE_DATE = dt.date(2000, 1, 1)
LATEST_AHEAD = dt.timedelta(days=366)


def last_issue_dates(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, dt.date]:
    """Per supplier (:func:`provider_key`) the issue date of its last invoice or credit note; read only.

    An invoice dated before the last one of its supplier would break the order of its numbers (EN 16931 BT-2:
    numbers follow the issue dates), so ``mgr bill --issue`` and ``mgr credit`` refuse such a date.
    """
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        rows = connection.execute("SELECT provider, max(issue_date) FROM invoice GROUP BY provider").fetchall()
    found: dict[str, dt.date] = {}
    for provider, day in rows:
        key, when = provider_key(str(provider)), dt.date.fromisoformat(str(day))
        found[key] = max(found.get(key, when), when)
    return found


def issue_date_problem(day: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``day`` cannot be an issue date (``None`` when it can): from 2000 up to a year from today.

    (A date such as 9999-12-31 would number invoices of a year that never comes, and has no due date.)
    """
    now = today or dt.date.today()
    if day < EARLIEST_ISSUE_DATE:
        return f"before {EARLIEST_ISSUE_DATE.isoformat()}; an issue date is today or close to it"
    if day > now + LATEST_AHEAD:
        return "more than a year from today; an issue date is today or close to it"
    return None


class PublishPending(LedgerError):
    """The invoices are issued (committed), but their files could not be moved into place yet."""


def issue(result: BillingResult, path: Path, *, issue_date: dt.date, lookup: Lookup,
          timeout: float = DEFAULT_TIMEOUT, kvk: Mapping[str, str] | None = None,
          outputs: Outputs | None = None) -> IssueResult:
    """Number and record the invoices of ``result`` for the rows no live invoice billed yet.

    One write transaction (``BEGIN IMMEDIATE``): all invoices of the run are recorded or none. The
    ledger is created when missing. ``kvk``: provider spelling -> KvK number (from the parties
    file), which makes the KvK part of the supplier's identity. ``outputs`` stages the run's files
    inside the transaction (when it raises, nothing is recorded); they are published after the
    commit. Raises :class:`LedgerError` (foreign/corrupt file, busy, ...), :class:`PublishPending`
    when the files could not be moved into place after the commit.
    """
    with ThreadPoolExecutor(max_workers=2) as pool, \
            opened(path, create_missing=True, timeout=timeout) as connection, _reading(path):
        recovered = tuple(_recover(connection, path))
        if result.rows.is_empty():
            issued = IssueResult(pl.DataFrame(), pl.DataFrame(), _no_rows(), 0, issue_date, billed=result)
            return _unrecorded(issued, outputs, recovered, publish.pending_tokens(connection).__contains__)
        result, suppliers = _canonical(connection, result, dict(kvk or {}), lookup)
        rows = result.rows
        periods = _periods(rows)
        # No invoice of these months yet (a guess, before the transaction): then this run's own lines
        # and rows will be recorded, and their blobs are encoded while the rows are fingerprinted.
        early = None if _months_issued(connection, periods) else pool.submit(_lines_blob, result.lines)
        keyed = fingerprints(rows)
        guess = _Recording.of(pool, result.lines, keyed, early) if early else None
        staged: Staged | None = None
        publication: int | None = None
        try:
            with write_transaction(connection):
                billed, done = _split_billed(keyed, _live_rows(connection, periods))
                reported = billed.select("_file", "_line", "provider", "number")
                if billed.height == rows.height:
                    issued = IssueResult(pl.DataFrame(), pl.DataFrame(), reported, 0, issue_date, billed=result)
                else:
                    if done is None:  # nothing billed before: the run's own lines and invoices
                        recording = guess or _Recording.of(pool, result.lines, keyed)
                        heads = result.invoice_frame
                    else:
                        recording = _Recording.of(pool, price_lines(rows.filter(~done), lookup), keyed.filter(~done))
                        heads = invoice_totals(recording.lines)
                    heads = _numbered(connection, heads, issue_date, suppliers)
                    run_id = _record(connection, heads, recording, issue_date, suppliers)
                    issued = IssueResult(recording.lines, heads, reported, recording.stored.height, issue_date,
                                         billed=result)
                    waiting = publish.pending_tokens(connection).__contains__
                    staged = outputs(issued, waiting) if outputs is not None else None
                    if staged is not None:
                        publication = publish.record(connection, run_id, staged)
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        if publication is None:
            return _unrecorded(issued, outputs, recovered, publish.pending_tokens(connection).__contains__)
        assert staged is not None
        _publish_committed(connection, path, publication, staged, issued.numbers)
    return replace(issued, published=tuple(staged.targets), recovered=recovered)


def _unrecorded(issued: IssueResult, outputs: Outputs | None, recovered: tuple[str, ...],
                still_pending: StillPending) -> IssueResult:
    """A run that recorded nothing: its files (if any) are written at once, all or none."""
    staged = outputs(issued, still_pending) if outputs is not None else None
    if staged is None:
        return replace(issued, recovered=recovered)
    try:
        staged.publish(rollback=True)
    except BaseException:
        staged.discard()
        raise
    return replace(issued, published=tuple(staged.targets), recovered=recovered)


def _publish_committed(connection: sqlite3.Connection, path: Path, publication: int, staged: Staged,
                       numbers: Sequence[str]) -> None:
    try:
        publish.publish(connection, publication, staged)
    except OutputError as exc:
        shown = ", ".join(numbers[:3]) + (" ..." if len(numbers) > 3 else "")
        raise PublishPending(
            f"{path}: the invoices are issued ({shown}), but their files could not be moved into place: {exc}; "
            "they wait under a hidden name beside their target and the next mgr bill --issue or mgr credit with "
            "this ledger publishes them (mgr ledger verify lists them until then)") from None


def _recover(connection: sqlite3.Connection, path: Path) -> list[str]:
    try:
        return publish.recover(connection)
    except OutputError as exc:
        raise LedgerError(f"{path}: {exc}; nothing new was issued") from None


def recover(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Complete the publications an interrupted run left pending (see :mod:`mgr_tariffs.ledger.publish`).

    Returns what was done; nothing when the ledger does not exist or nothing is pending.
    """
    if not path.exists():
        return []
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        if not publish.pending(connection):
            return []
    with opened(path, timeout=timeout) as connection, _reading(path):
        return _recover(connection, path)


def pending_tokens(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Callable[[str], bool]:
    """A test for staged leftovers: is this token a publication the ledger still waits for?"""
    if not path.exists():
        return lambda _: False
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        tokens = publish.pending_tokens(connection)
    return tokens.__contains__


# --- who a supplier is ------------------------------------------------------------------------


def _ledger_spellings(connection: sqlite3.Connection) -> tuple[list[str], dict[str, str]]:
    """The ledger's spellings of providers (first issued first), and KvK number -> its first spelling."""
    spellings = [r[0] for r in connection.execute("SELECT provider FROM invoice GROUP BY provider ORDER BY min(id)")]
    bound: dict[str, str] = {}
    if chain.has_chain(connection):
        for number, provider in connection.execute(
                "SELECT c.kvk, i.provider FROM chain c JOIN invoice i ON i.id = c.invoice_id "
                "WHERE c.kvk IS NOT NULL ORDER BY c.id"):
            bound.setdefault(number, provider)
    return spellings, bound


def _spelling_map(connection: sqlite3.Connection, providers: list[str], kvk: Mapping[str, str]) -> dict[str, str]:
    """Each spelling of this run -> the spelling its supplier has in the ledger (or first in this run):
    the same KvK number, else the same :func:`provider_key`."""
    spellings, bound = _ledger_spellings(connection)
    chosen = canonical_spellings(providers, spellings)
    for provider in providers:
        number = kvk.get(provider)
        if number:
            chosen[provider] = bound.setdefault(number, chosen[provider])
    return chosen


def _canonical_rows(connection: sqlite3.Connection, frame: pl.DataFrame,
                    kvk: Mapping[str, str] | None = None) -> pl.DataFrame:
    if frame.is_empty():
        return frame
    mapping = _spelling_map(connection, frame.get_column("provider").unique(maintain_order=True).to_list(), kvk or {})
    if all(k == v for k, v in mapping.items()):
        return frame
    return frame.with_columns(pl.col("provider").replace_strict(mapping, return_dtype=pl.String))


def _canonical(connection: sqlite3.Connection, result: BillingResult, kvk: dict[str, str],
               lookup: Lookup) -> tuple[BillingResult, dict[str, str]]:
    """The run with the ledger's spelling of every supplier (invoices of one supplier merged), and
    the KvK number of each (canonical) provider that has one."""
    providers = result.invoice_frame.get_column("provider").unique(maintain_order=True).to_list()
    mapping = _spelling_map(connection, providers, kvk)
    suppliers = {mapping[p]: kvk[p] for p in providers if kvk.get(p)}
    if all(k == v for k, v in mapping.items()):
        return result, suppliers
    rows = result.rows.with_columns(pl.col("provider").replace_strict(mapping, return_dtype=pl.String))
    return replace(result, rows=rows, lines=price_lines(rows, lookup)), suppliers


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


def _next_seqs(connection: sqlite3.Connection, providers: Iterable[str], year: int,
               kvk: Mapping[str, str] | None = None) -> dict[str, int]:
    """Per provider the next number of the year: one sequence per supplier, whatever the spelling
    (:func:`provider_key`), shared with every invoice of the same KvK number."""
    tops: dict[str, int] = {}
    for spelling, top in connection.execute("SELECT provider, max(seq) FROM invoice WHERE year = ? GROUP BY provider",
                                            (year,)):
        key = provider_key(spelling)
        tops[key] = max(tops.get(key, 0), int(top))
    starts = {}
    for provider in providers:
        top = tops.get(provider_key(provider), 0)
        number = (kvk or {}).get(provider)
        if number and chain.has_chain(connection):
            row = connection.execute("SELECT max(i.seq) FROM invoice i JOIN chain c ON c.invoice_id = i.id "
                                     "WHERE c.kvk = ? AND i.year = ?", (number, year)).fetchone()
            top = max(top, int(row[0] or 0))
        starts[provider] = top + 1
    return starts


def _next_id(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT coalesce(max(id), 0) FROM invoice").fetchone()[0]) + 1


def _numbered(connection: sqlite3.Connection, heads: pl.DataFrame, issue_date: dt.date,
              kvk: Mapping[str, str] | None = None) -> pl.DataFrame:
    """The invoice frame with ``id``, ``seq`` and ``number``: per supplier the next numbers of the year."""
    year = issue_date.year
    if not 1 <= year <= 9999:
        raise LedgerError(f"issue date {issue_date}: outside the years 1-9999")
    starts = _next_seqs(connection, heads.get_column("provider").unique().to_list(), year, kvk)
    if max(starts.values()) + heads.height > 999_999:
        raise LedgerError(f"{year}: the invoice numbers of the year would pass 999999")
    first_id = _next_id(connection)
    return heads.with_columns(
        id=pl.int_range(first_id, first_id + heads.height, dtype=pl.Int64),
        seq=pl.col("provider").replace_strict(starts, return_dtype=pl.Int64)
        + pl.int_range(pl.len(), dtype=pl.Int64).over("provider"),
    ).with_columns(number=pl.format("{}-{}", pl.lit(year), pl.col("seq").cast(pl.String).str.pad_start(6, "0")))


def _record(connection: sqlite3.Connection, heads: pl.DataFrame, recording: _Recording, issue_date: dt.date,
            kvk: Mapping[str, str] | None = None) -> int:
    """Insert the run, its invoices, their chain records, its lines and its billed rows (the caller holds
    the transaction); returns the run's id.

    The blobs are encoded on worker threads (Polars releases the GIL) while the invoices go in and
    the texts of their chain records are made.
    """
    lines, stored = recording.lines, recording.stored
    first_lines, owner = _line_owners(lines, heads)
    if int(heads.get_column("rows").sum()) != stored.height:
        raise LedgerError("internal error: the invoices do not add up to the rows billed; nothing was recorded")
    run_id = _insert_run(connection, "issue", issue_date, stored.height, recording.files)
    invoices = heads.with_columns(first_lines, _vat_documents(lines, owner))
    records = _invoice_records(invoices, run_id, issue_date)
    connection.executemany(_INSERT_INVOICE, records)
    run = ("issue", issue_date.isoformat(), stored.height, json.dumps(recording.files))
    texts = [(r[0], r[2], run_id, chain.record_text((*r[:16], None, None, *run))) for r in records]
    blobs = []
    for table, count, blob in (("invoice_lines", lines.height, recording.lines_blob),
                               ("billed_rows", stored.height, recording.rows_blob)):
        blobs.append(blob.result())
        connection.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (run_id, count, blobs[-1]))
    chain.insert(connection, chain.link(connection, texts, {run_id: (chain.digest(blobs[0]), chain.digest(blobs[1]))},
                                        kvk or {}))
    return run_id


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
    amount = vat_cents_expr(pl.col("base"), pl.col("vat_rate"))
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
        raise Damaged(f"the lines of {record['provider']} {record['number']} are missing (see mgr ledger verify)")
    return _from_parquet(found[0], f"the invoice lines of run {record['run_id']}").slice(
        record["first_line"], record["line_count"])


def _line_items(connection: sqlite3.Connection, record: sqlite3.Row) -> list[dict[str, Any]]:
    """The lines of one recorded invoice, one dict per line, in invoice order."""
    return _line_frame(connection, record).to_dicts()


def _invoice(record: sqlite3.Row, items: list[dict[str, Any]]) -> Invoice:
    return Invoice(
        provider=record["provider"], municipality=record["municipality"],
        municipality_code=record["municipality_code"], period=record["period"],
        lines=tuple(_line(item) for item in items), total=from_cents(record["total_cents"]),
        vat=tuple(VatBreakdown(treatment=v["treatment"], rate=Decimal(v["rate"]), base=from_cents(v["base_cents"]),
                               amount=from_cents(v["amount_cents"]))
                  for v in _json(record["vat_json"], f"the VAT breakdown of {record['number']}")),
        number=record["number"], credits=record["credits"])


def _line(item: dict[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        bsn=item["bsn"], product=item["product"], product_name=item["product_name"], unit=QuantityUnit(item["unit"]),
        unit_price=from_cents(item["price_cents"]), quantity=Decimal(item["quantity"]),
        gross_amount=from_cents(item["gross_cents"]), revenue=from_cents(item["revenue_cents"]),
        revenue_netted=from_cents(item["netted_cents"]), revenue_unnetted=from_cents(item["unnetted_cents"]),
        amount=from_cents(item["amount_cents"]), vat_treatment=item["vat_treatment"],
        vat_rate=Decimal(item["vat_rate"]), first_day=item["first_day"], last_day=item["last_day"], rows=item["rows"])


def _filters(municipality: str | None, period: Period | str | None) -> tuple[str, list[str]]:
    clauses, values = [], []
    if municipality:
        clauses.append("(i.municipality = ? COLLATE NOCASE OR i.municipality_code = ?)")
        values += [municipality, municipality.zfill(4) if municipality.isdigit() else municipality]
    if isinstance(period, str):
        parsed, reason = parse_period(period)
        if parsed is None:
            raise LedgerError(str(reason))
        period = parsed
    if period is not None:
        clauses.append("i.period BETWEEN ? AND ?")
        values += [period.first.strftime("%Y-%m"), period.last.strftime("%Y-%m")]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def list_invoices(path: Path, provider: str | None = None, municipality: str | None = None,
                  period: Period | str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> list[IssuedInvoice]:
    """The recorded invoices (headers), oldest first; filters match case-insensitively.

    ``municipality`` is a name or a CBS code; ``period`` a :class:`~mgr_tariffs.dates.Period` or its text
    (``2019-07``, ``2019-Q3``, ``2019``, ``2019-07..2019-09``).
    """
    where, values = _filters(municipality, period)
    key = provider_key(provider) if provider else None
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        connection.row_factory = sqlite3.Row
        records = connection.execute(_SELECT + where + " ORDER BY i.id", values).fetchall()
        return [_issued(r) for r in records if key is None or provider_key(str(r["provider"])) == key]


def _find(connection: sqlite3.Connection, path: Path, number: str, provider: str | None) -> sqlite3.Row:
    connection.row_factory = sqlite3.Row
    found = connection.execute(_SELECT + " WHERE i.number = ?", [number]).fetchall()
    if provider:
        found = [r for r in found if provider_key(str(r["provider"])) == provider_key(provider)]
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
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        record = _find(connection, path, number, provider)
        return _issued(record, _invoice(record, _line_items(connection, record)))


# --- credit notes -------------------------------------------------------------------------------


def credit(path: Path, number: str, *, reason: str | None, issue_date: dt.date, provider: str | None = None,
           timeout: float = DEFAULT_TIMEOUT,
           outputs: Callable[[Invoice, StillPending], Staged | None] | None = None) -> Invoice:
    """Issue the credit note of invoice ``number``: its lines negated, a new number, its rows released.

    ``outputs`` stages the credit note's documents inside the transaction (when it raises, nothing
    is recorded); they are published after the commit, as with :func:`issue`.
    """
    with opened(path, timeout=timeout) as connection, _reading(path):
        _recover(connection, path)
        staged: Staged | None = None
        publication: int | None = None
        try:
            with write_transaction(connection):
                original = _find(connection, path, number, provider)
                _issued(original)  # a record of the wrong types is damage, never credited
                _check_creditable(path, original)
                kvk = _kvk_of(connection, original["id"])
                seq = _next_seqs(connection, [original["provider"]], issue_date.year,
                                 {original["provider"]: kvk} if kvk else None)[original["provider"]]
                credit_number = f"{issue_date.year}-{seq:06d}"
                lines = _negated(_line_frame(connection, original))
                vat = json.dumps([{**v, "base_cents": -v["base_cents"], "amount_cents": -v["amount_cents"]}
                                  for v in _json(original["vat_json"], f"the VAT breakdown of {number}")])
                run_id = _insert_run(connection, "credit", issue_date, 0, [])
                connection.execute(_INSERT_INVOICE, (
                    _next_id(connection), run_id, original["provider"], issue_date.year, seq, credit_number,
                    issue_date.isoformat(), original["municipality"], original["municipality_code"],
                    original["period"], -original["total_cents"], -original["vat_cents"], lines.height, 0, vat, 0,
                    original["id"], reason))
                connection.execute("INSERT INTO invoice_lines VALUES (?, ?, ?)",
                                   (run_id, lines.height, _to_parquet(lines)))
                chain.seal(connection, run_id, {original["provider"]: kvk} if kvk else None)
                record = _find(connection, path, credit_number, original["provider"])
                note = _invoice(record, _line_items(connection, record))
                waiting = publish.pending_tokens(connection).__contains__
                staged = outputs(note, waiting) if outputs is not None else None
                if staged is not None:
                    publication = publish.record(connection, run_id, staged)
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        if publication is not None and staged is not None:
            _publish_committed(connection, path, publication, staged, [credit_number])
        return note


def _kvk_of(connection: sqlite3.Connection, invoice_id: int) -> str | None:
    if not chain.has_chain(connection):
        return None
    row = connection.execute("SELECT kvk FROM chain WHERE invoice_id = ?", (invoice_id,)).fetchone()
    return str(row[0]) if row and row[0] else None


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


def neutralise(text: str | None) -> str:
    """An export cell: empty for nothing, else :func:`mgr_tariffs.io.dialect.neutralise`."""
    return dialect.neutralise(text) if text else ""


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
        lines = _from_parquet(blob, f"the invoice lines of run {run_id}")
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
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        live = pl.DataFrame(connection.execute(query).fetchall(), orient="row", schema={
            "invoice_id": pl.Int64, "provider": pl.String, "number": pl.String, "gemeentecode": pl.String,
            "period": pl.String})
        lines, _ = _owned_lines(connection)
    return live.join(lines, on="invoice_id", how="inner", maintain_order="left").select(
        "provider", "number", "gemeentecode", "period", "bsn", "product", "price_cents", "unit", "quantity",
        "amount_cents")


def verify(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Everything wrong with the ledger (empty when sound): SQLite integrity, the hash chain (the first
    record per supplier that no longer matches what was issued, deleted records), gapless numbers per
    supplier and year, each invoice complete (its lines, total and billed rows), no orphans, no row
    billed by two live invoices, and files of a run that are not published yet. Read only."""
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        integrity = [r[0] for r in connection.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if integrity == ["ok"] else [f"integrity_check: {line}" for line in integrity]
        problems += chain.verify_chain(connection)
        lines, line_problems = _owned_lines(connection)
        sums = {i: (n, total, rows) for i, n, total, rows in lines.group_by("invoice_id").agg(
            pl.len(), pl.col("amount_cents").sum(), pl.col("rows").sum()).rows()}
        counts, row_problems = _billed_counts(connection)
        problems += _gaps(connection) + line_problems + row_problems
        problems += [p for record in connection.execute(
            "SELECT id, provider, number, total_cents, line_count, row_count, credits_id FROM invoice")
            for p in _incomplete(record, counts.get(record[0], 0), sums.get(record[0], (0, 0, 0)))]
        problems += publish.verify_publications(connection)
    return problems


def chain_head(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """One short hash of the ledger's chain now; :func:`head_is_known` later proves nothing was removed."""
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        return chain.head(connection)


def head_is_known(path: Path, noted: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Whether the chain still holds everything it held when ``noted`` (:func:`chain_head`) was taken."""
    with opened(path, readonly=True, timeout=timeout) as connection, _reading(path):
        return chain.known_hash(connection, noted)


def _gaps(connection: sqlite3.Connection) -> list[str]:
    """Numbers per supplier (:func:`provider_key`) and year that are not 1, 2, ... n."""
    seqs: dict[tuple[str, int], tuple[str, list[int]]] = {}
    for provider, year, seq in connection.execute("SELECT provider, year, seq FROM invoice ORDER BY id"):
        seqs.setdefault((provider_key(str(provider)), year), (provider, []))[1].append(seq)
    problems = []
    for (_, year), (provider, numbers) in seqs.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"{provider} {year}: numbers {min(numbers)}..{max(numbers)} for {len(numbers)} invoices "
                            "(not gapless, or a number used twice)")
    return problems


def _billed_counts(connection: sqlite3.Connection) -> tuple[dict[int, int], list[str]]:
    """Billed rows per invoice id, and what is wrong with the billed rows: a record whose content does
    not match its row count, rows that belong to no invoice of their run, a row billed twice."""
    owners = _owners(connection).partition_by("run_id", as_dict=True)
    live = [i for (i,) in connection.execute(f"SELECT i.id FROM invoice i WHERE {_LIVE}")]
    released = released_lines(connection)
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
        keys.append(owned.filter(pl.col("invoice_id").is_in(live)).join(
            released, on=list(released.columns), how="anti").select(KEY))  # rejected iWmo lines bill again
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
