"""Hour logs to monthly invoices: the main job, vectorised in Polars.

``bill(paths, lookup)`` reads one or more logs, rejects every row that breaks a rule (with its
file and line), prices the others by the tariff in force on their service date, and groups them
into one invoice per provider, municipality and calendar month, with one line per client,
product and unit price. Amounts are integer cents: ``quantity x unrounded price`` rounded
half-up once per line; LN034 revenue is netted per line and never below zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from mgr_tariffs import bsn as bsn_
from mgr_tariffs import identity
from mgr_tariffs import quantity as qty
from mgr_tariffs.billing import hourlog
from mgr_tariffs.billing.invoices import Invoice, InvoiceLine, VatBreakdown
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.io.tables import Table, read_table_blocks, resolve_columns
from mgr_tariffs.money import from_cents, gross_cents_expr, net_cents_expr
from mgr_tariffs.problems import InputError, Problem, error, warning
from mgr_tariffs.quantity import QuantityUnit
from mgr_tariffs.selection import Selection
from mgr_tariffs.vat import vat_cents, vat_cents_expr

Progress = Callable[[str], None]
INVOICE_KEYS = ["provider", "gemeentecode", "period"]
ROW_COLUMNS = ["_file", "_line", "date", "bsn_id", "provider", "municipality_id", "product", "ticks", "unit",
               "revenue_cents", "price_cents"]


@dataclass(frozen=True)
class BillOptions:
    today: dt.date | None = None
    show_bsn: bool = False
    sheet: str | None = None
    selection: Selection = field(default_factory=Selection)
    """``--period``, ``--provider``, ``--municipality``: only these rows are billed (every row is still checked)."""

    def mask(self, bsn: str) -> str:
        return bsn_.masker(self.show_bsn)(bsn)


@dataclass(frozen=True)
class Summary:
    rows_read: int
    rows_billed: int
    rows_rejected: int
    invoices: int
    lines: int
    total: Decimal
    revenue_unnetted: Decimal
    vat: Decimal
    by_municipality: dict[str, Decimal] = field(default_factory=dict)
    by_provider: dict[str, Decimal] = field(default_factory=dict)
    rows_left_out: int = 0
    """Valid rows outside ``--period`` / ``--provider`` / ``--municipality``: not billed, not rejected."""


@dataclass(frozen=True)
class BillingResult:
    """Everything one run found. ``lines`` and ``rows`` are frames; ``invoices`` is built on demand."""

    lookup: Lookup
    lines: pl.DataFrame
    rows: pl.DataFrame
    rejected: pl.DataFrame
    errors: list[Problem]
    warnings: list[Problem]
    rows_read: int
    unusable: tuple[str, ...] = ()
    """Files none of whose rows could be billed (no hour log, a broken header): their errors say why; the
    other files are billed all the same, and ``--skip-invalid`` still fails."""
    rows_left_out: int = 0
    """Valid rows outside the selection of :class:`BillOptions` (``--period``, ...): read, checked, not billed."""
    rows_counted: int | None = None
    """The number of the rows when they were let go (:meth:`without_rows`); None while ``rows`` holds them."""

    @property
    def ok(self) -> bool:
        return not self.errors

    @cached_property
    def invoice_frame(self) -> pl.DataFrame:
        return invoice_totals(self.lines)

    @cached_property
    def invoices(self) -> list[Invoice]:
        return build_invoices(self.lines, self.invoice_frame)

    @cached_property
    def summary(self) -> Summary:
        return summarise(self)

    def without_rows(self) -> BillingResult:
        """This result with its rows let go (an empty frame of their columns), for a run that reads only the
        lines, invoices, rejected rows and summary from here on (``mgr bill --out`` without a ledger): ten million
        rows hold ~1 GB. Their number is kept for the summary, and whatever was worked out already is carried over
        (the rest is worked out later, without the rows in memory)."""
        released = replace(self, rows=self.rows.clear(), rows_counted=self.rows_billed)
        for name in ("summary", "invoice_frame", "invoices"):  # cached_property values: carried over as they are
            if name in self.__dict__:
                released.__dict__[name] = self.__dict__[name]
        return released

    @property
    def rows_billed(self) -> int:
        return len(self.rows) if self.rows_counted is None else self.rows_counted


def bill(paths: Sequence[Path], lookup: Lookup, options: BillOptions | None = None,
         progress: Progress | None = None) -> BillingResult:
    """Bill hour logs. Raises :class:`InputError` only for a file that cannot be read at all.

    A large CSV is read and typed block by block (:func:`mgr_tariffs.io.tables.read_table_blocks`): the text of
    only one block is in memory at a time, so a log of any size can be billed.
    """
    options = options or BillOptions()
    say = progress or (lambda _: None)
    say("reading")
    logs = [_log_of(read_table_blocks(path, sheet=options.sheet), lookup, options) for path in paths]
    return _bill_logs(logs, lookup, options, say)


def bill_tables(tables: Sequence[Table], lookup: Lookup, options: BillOptions, say: Progress) -> BillingResult:
    """Bill tables already read; the steps of :func:`bill` after reading."""
    return _bill_logs([_log_of(iter([table]), lookup, options) for table in tables], lookup, options, say)


@dataclass(frozen=True)
class _Log:
    """One hour log read and typed: its rows (:func:`_prepare`, in blocks), problems, and whether it is usable."""

    file: str
    typed: list[pl.DataFrame]
    problems: list[Problem]
    column_problems: list[Problem]
    rows_read: int
    usable: bool


def _log_of(tables: Iterator[Table], lookup: Lookup, options: BillOptions) -> _Log:
    """Type the rows of each table (the blocks of one file) as it is read; the text of a block is let go after it.

    The first table holds the header: its column problems, or a broken header, make the whole file unusable.
    A file of several blocks gets the catalogue's answers per block (:func:`hourlog.with_catalogue`), and its text
    columns as categoricals (few distinct values): the text is needed only for the rows that are rejected, to write
    them as they were."""
    first = next(tables)
    frame, column_problems = resolve_columns(first, hourlog.COLUMNS, one_of=[hourlog.QUANTITY_COLUMNS])
    usable = not any(p.is_error for p in column_problems) and not any(
        p.is_error and p.line in (None, first.header_line) for p in first.problems)
    problems, rows_read, typed = list(first.problems), first.rows_read, []
    rules = hourlog.RowRules(lookup, options.today or dt.date.today())
    if usable:
        typed.append(_prepare(first, frame, lookup, options))
    for table in tables:
        problems += table.problems
        rows_read += table.rows_read
        if usable:
            if len(typed) == 1:
                typed[0] = _compact(hourlog.with_catalogue(typed[0], rules))
            block, _ = resolve_columns(table, hourlog.COLUMNS, one_of=[hourlog.QUANTITY_COLUMNS])
            typed.append(_compact(hourlog.with_catalogue(_prepare(table, block, lookup, options), rules)))
    if rows_read == 0:
        column_problems.append(error(first.file, first.header_line, "the log has no rows to bill"))
        usable = False
    return _Log(first.file, typed, problems, column_problems, rows_read, usable)


def _compact(typed: pl.DataFrame) -> pl.DataFrame:
    """The texts of a block as categoricals (4 bytes a row instead of 16 and more): the log's own columns (needed
    for the rejected rows only, to write them as they were) and the provider, product, unit and file name of
    every row (made Strings again by :func:`check_typed`, as :data:`ROW_COLUMNS` are): the blocks of a
    ten-million-row log are all in memory until they are checked against each other's client-day totals. Every
    column in one piece: the blocks then join into columns of equally many chunks, which no later step needs to
    copy to align (Polars' CSV reader leaves a text column in several pieces, a literal column is one value)."""
    return typed.with_columns(pl.col(c).cast(pl.Categorical) for c in (*ORIGINAL_COLUMNS, *_TEXT_COLUMNS)
                              if c in typed.columns).rechunk()


_TEXT_COLUMNS = ("provider", "product", "unit", "_file")
"""The text columns of :data:`ROW_COLUMNS`: categoricals in a block, Strings in the rows."""


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """:data:`_TEXT_COLUMNS` as Strings again (:func:`_compact` made them categoricals)."""
    return frame.with_columns(pl.col(c).cast(pl.String) for c in _TEXT_COLUMNS
                              if c in frame.columns and frame.schema[c] != pl.String)


def _bill_logs(logs: Sequence[_Log], lookup: Lookup, options: BillOptions, say: Progress) -> BillingResult:
    problems = [p for log in logs for p in log.problems] + [p for log in logs for p in log.column_problems]
    unusable = [log.file for log in logs if not log.usable]
    rows_read = sum(log.rows_read for log in logs)
    typed = [frame for log in logs if log.usable for frame in log.typed]
    for log in logs:
        log.typed.clear()  # the blocks are the rows' only copy once they are concatenated
    if not typed:
        return replace(_empty(lookup, problems, rows_read), unusable=tuple(unusable))
    say("checking rows")
    valid, rejected = check_typed(typed, lookup, options)
    say("pricing")
    reasons = [hourlog.reasons(row, lookup, options.mask) for row in rejected.iter_rows(named=True)]
    errors = [p for p in problems if p.is_error] + _row_errors(rejected, reasons)
    valid, spellings = one_spelling_per_provider(valid)
    warns = [p for p in problems if not p.is_error] + spellings + duplicate_warnings(valid) + \
        municipality_warnings(valid, lookup, options.mask)
    rows = valid.drop("day_rows")
    left_out = 0
    if not options.selection.everything:
        chosen = rows.filter(options.selection.expr())
        left_out, rows = rows.height - chosen.height, chosen
    return BillingResult(lookup, price_lines(rows, lookup), rows, _rejects_frame(rejected, reasons),
                         errors, warns, rows_read, tuple(unusable), left_out)


def check_tables(frames: Sequence[tuple[Table, pl.DataFrame]], lookup: Lookup,
                 options: BillOptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the rows of the logs into valid rows (typed, priced; :data:`ROW_COLUMNS` and ``day_rows``, the
    client's number of rows that day when more than one) and rejected rows (with reasons)."""
    return check_typed([_prepare(t, f, lookup, options) for t, f in frames], lookup, options)


def check_typed(typed_frames: Sequence[pl.DataFrame], lookup: Lookup,
                options: BillOptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`check_tables` for rows typed already (:func:`_prepare`): the blocks of the logs, checked one by one
    against the client-day totals of them all. A list given is emptied, so that each block is freed once checked."""
    rules = hourlog.RowRules(lookup, options.today or dt.date.today())
    blocks = [f if "client_day" in f.columns else hourlog.with_catalogue(f, rules) for f in typed_frames]
    if isinstance(typed_frames, list):
        typed_frames.clear()
    day = hourlog.day_totals(blocks)
    valid, rejected = [], []
    while blocks:
        checked = hourlog.flag_rows(blocks.pop(0), day, rules)
        reasons = [pl.col(c).is_not_null() for c in hourlog.FIELD_REASONS if c in checked.columns]
        bad = checked.select(pl.any_horizontal(*reasons, *hourlog.row_flag_columns())).to_series()
        if not bad.any():  # nothing rejected: no copy of a million rows
            valid.append(_as_text(checked.select(*ROW_COLUMNS, "day_rows")))
            rejected.append(_as_text(checked.clear()))
        else:
            valid.append(_as_text(checked.filter(~bad).select(*ROW_COLUMNS, "day_rows")))
            rejected.append(_as_text(checked.filter(bad)))
        del checked
    return _joined(valid), _joined(rejected)


def _joined(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _prepare(table: Table, frame: pl.DataFrame, lookup: Lookup, options: BillOptions) -> pl.DataFrame:
    unit = hourlog.quantity_unit(table.frame.columns)
    prepared = hourlog.prepare(frame, lookup, unit, options.mask)
    return prepared.with_columns(_file=pl.lit(table.file))


def _empty(lookup: Lookup, problems: list[Problem], rows_read: int) -> BillingResult:
    empty = pl.DataFrame()
    errors = [p for p in problems if p.is_error]
    return BillingResult(lookup, empty, empty, pl.DataFrame({"_file": [], "_line": [], "reden": []}), errors,
                         [p for p in problems if not p.is_error], rows_read)


def _row_errors(rejected: pl.DataFrame, reasons: list[list[str]]) -> list[Problem]:
    places = rejected.select("_file", "_line").iter_rows()
    return [error(file, line, reason) for (file, line), found in zip(places, reasons, strict=True) for reason in found]


ORIGINAL_COLUMNS = ("datum", "bsn", "aanbieder", "gemeente", "productcode", "uren", "minuten", "opbrengst")


def _rejects_frame(rejected: pl.DataFrame, reasons: list[list[str]]) -> pl.DataFrame:
    originals = [pl.col(c).cast(pl.String) for c in ORIGINAL_COLUMNS if c in rejected.columns]
    joined = pl.Series(["; ".join(found) for found in reasons], dtype=pl.String)
    return rejected.select("_file", "_line", *originals).with_columns(reden=joined)


def one_spelling_per_provider(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """Rows whose provider is spelled differently but is one supplier (:func:`identity.provider_key`) get the
    first spelling; a warning names the other spellings at their first row."""
    if rows.is_empty():
        return rows, []
    seen = rows.get_column("provider").unique(maintain_order=True).to_list()
    chosen = identity.canonical_spellings(seen)
    others = [name for name in seen if chosen[name] != name]
    if not others:
        return rows, []
    first = rows.with_row_index("_i").filter(pl.col("provider").is_in(others)).group_by(
        "provider", maintain_order=True).agg(pl.col("_file").first(), pl.col("_line").first())
    warns = [warning(file, line, f"aanbieder {name!r} is billed as {chosen[name]!r}: the same supplier "
                                 "(names are compared without case and extra spaces)")
             for name, file, line in first.iter_rows()]
    renamed = rows.with_columns(provider=pl.col("provider").replace(others, [chosen[n] for n in others]))
    return renamed, warns


def municipality_warnings(rows: pl.DataFrame, lookup: Lookup, mask: bsn_.Mask) -> list[Problem]:
    """One provider logging one client under two municipalities on one day: billed, but a client has one
    municipality (woonplaatsbeginsel), so it is worth a look. Only a client's days with several rows can be."""
    several = rows.select("provider", "bsn_id", "date", "municipality_id", "_file", "_line", "day_rows").filter(
        pl.col("day_rows") > 1)
    if several.is_empty():
        return []
    keys = ["provider", "bsn_id", "date"]
    marked = several.with_columns(
        first=pl.col("municipality_id").first().over(keys),
        n=pl.col("municipality_id").n_unique().over(keys)).filter(pl.col("n") > 1)
    marked = marked.filter(pl.col("municipality_id") != pl.col("first")).unique(
        [*keys, "municipality_id"], keep="first", maintain_order=True)
    names = {int(m.code): m.name for m in lookup.catalogue.municipalities}
    return [warning(r["_file"], r["_line"], f"client {mask(str(r['bsn_id']).zfill(9))} is logged under "
                    f"{names[r['municipality_id']]} and {names[r['first']]} on {r['date']} by the same provider")
            for r in marked.iter_rows(named=True)]


def duplicate_warnings(rows: pl.DataFrame) -> list[Problem]:
    """Same client, date, product and quantity twice (1,5 uur and 90 minuten are the same quantity): billed,
    but worth a look. Only rows of a client's day with more than one row (``day_rows``) can be."""
    keys = ["bsn_id", "date", "product", "ticks"]
    same_day = rows.select(*keys, "_file", "_line", "day_rows").filter(pl.col("day_rows") > 1)
    candidates = same_day.filter(pl.struct(keys).is_duplicated())
    marked = candidates.with_columns(
        first_file=pl.col("_file").first().over(keys), first_line=pl.col("_line").first().over(keys),
        seen=pl.int_range(pl.len()).over(keys),
    ).filter(pl.col("seen") > 0)
    return [
        warning(r["_file"], r["_line"], "possible duplicate of " + (
            f"line {r['first_line']}" if r["first_file"] == r["_file"] else f"{r['first_file']}:{r['first_line']}")
            + " (same client, date, product and quantity)")
        for r in marked.select("_file", "_line", "first_file", "first_line").iter_rows(named=True)
    ]


# --- pricing: rows to invoice lines --------------------------------------------------------------


def price_lines(rows: pl.DataFrame, lookup: Lookup) -> pl.DataFrame:
    """One line per provider, municipality, month, client, product and unit price, whatever unit its rows are in
    (the line is in hours when all its rows are, else in minutes: :func:`mgr_tariffs.quantity.line_unit`).

    The grouping keys are packed into one 128-bit integer whose order is the order of the
    invoice (provider, municipality name, month, BSN, product, price), so the rows are sorted on
    one column and grouped as runs of equal keys; a line's key columns are those of its first row.
    """
    order = _Orders.of(rows, lookup)
    units = pl.Enum([u.value for u in QuantityUnit])  # one byte a row in the sort, not a text
    keys = pl.concat([part.select(order.key()).to_series()  # slice by slice: the key's terms are 16-byte columns
                      for _, part in _slices(rows)]).rechunk()
    at = keys.arg_sort()  # the rows in invoice order; only the key and the columns summed are put in that order
    keyed = rows.select("ticks", "revenue_cents", "date", pl.col("unit").cast(units)).with_columns(
        key=keys).gather(at).with_columns(pl.col("key").set_sorted(), _row=at)
    del keys, at  # ~0.4 GB for ten million rows: gone before the lines are made
    grouped = keyed.group_by("key", maintain_order=True).agg(
        ticks=pl.col("ticks").sum(), revenue_cents=pl.col("revenue_cents").fill_null(0).sum(),
        rows=pl.len(), first_day=pl.col("date").min(), last_day=pl.col("date").max(), _row=pl.col("_row").first(),
        unit=qty.line_unit_expr(pl.col("unit")),
    )
    del keyed
    nets = pl.col("product").is_in([p.code for p in lookup.catalogue.products if p.nets_revenue])
    amounts = _line_keys(grouped, rows).with_columns(
        gross_cents=gross_cents_expr(pl.col("ticks"), pl.col("price_cents"))).with_columns(
        netted_cents=net_cents_expr(pl.col("gross_cents"), pl.col("revenue_cents"), nets),
    ).with_columns(
        unnetted_cents=pl.col("revenue_cents") - pl.col("netted_cents"),
        amount_cents=pl.col("gross_cents") - pl.col("netted_cents"),
    )
    return _describe(amounts, lookup)


SLICE_ROWS = 1_000_000


def _slices(frame: pl.DataFrame) -> list[tuple[int, pl.DataFrame]]:
    """The frame in slices of :data:`SLICE_ROWS` rows (no copy), each with the number of its first row."""
    return [(start, frame.slice(start, SLICE_ROWS)) for start in range(0, max(frame.height, 1), SLICE_ROWS)]


# Bit places of the parts of a line's key, from the most significant: provider | municipality (rank by name) |
# month (year * 12 + month - 1) | BSN | product | price in cents (< 2^31: prices are below 1,000,000 euro)
_PLACES = {"provider": 98, "municipality": 88, "period": 71, "bsn": 41, "product": 31, "cents": 0}
_LIMITS = {"provider": 2**29, "municipality": 2**10, "product": 2**10}


@dataclass(frozen=True)
class _Orders:
    """Ranks of providers, municipalities (by name) and products (by code), to pack keys."""

    providers: list[str]
    municipalities: list[int]
    products: list[str]

    @classmethod
    def of(cls, rows: pl.DataFrame, lookup: Lookup) -> _Orders:
        by_name = sorted(lookup.catalogue.municipalities, key=lambda m: m.name)
        orders = cls(sorted(rows.get_column("provider").unique().to_list()), [int(m.code) for m in by_name],
                     sorted(lookup.products))
        counts = {"provider": len(orders.providers), "municipality": len(by_name), "product": len(orders.products)}
        for part, count in counts.items():
            if count >= _LIMITS[part]:
                raise InputError(rows.get_column("_file")[0], f"{count:,} {part}s: at most {_LIMITS[part] - 1:,}")
        return orders

    def key(self) -> pl.Expr:
        """The parts of a line's key packed into one Int128 that sorts in invoice order."""
        def at(part: str, value: pl.Expr) -> pl.Expr:
            return value.cast(pl.Int128) * (1 << _PLACES[part])

        def rank(column: str, names: list[Any]) -> pl.Expr:
            return pl.col(column).replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64)

        month = pl.col("date").dt.year().cast(pl.Int64) * 12 + pl.col("date").dt.month().cast(pl.Int64) - 1
        product = pl.col("product").cast(pl.Enum(self.products)).to_physical()
        return (at("provider", pl.col("provider").cast(pl.Enum(self.providers)).to_physical())
                + at("municipality", rank("municipality_id", self.municipalities)) + at("period", month)
                + at("bsn", pl.col("bsn_id")) + at("product", product)
                + at("cents", pl.col("price_cents"))).alias("key")


def _line_keys(grouped: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The key columns of each line, taken from its first row (all rows of a line share them)."""
    period = pl.col("date").dt.year().cast(pl.Int64) * 100 + pl.col("date").dt.month()
    keys = rows.select("provider", "municipality_id", "date", "bsn_id", "product", "price_cents")
    first = keys.gather(grouped.get_column("_row")).select(
        "provider", pl.col("municipality_id").cast(pl.Int64), period.alias("period_id"), "bsn_id", "product",
        "price_cents")
    return grouped.drop("key", "_row").hstack(first)


def _describe(lines: pl.DataFrame, lookup: Lookup) -> pl.DataFrame:
    catalogue = lookup.catalogue
    names = {int(m.code): m.name for m in catalogue.municipalities}
    products = {p.code: p.name for p in catalogue.products}
    treatments = {p.code: p.vat.treatment.value for p in catalogue.products}
    rates = {p.code: int(p.vat.rate) for p in catalogue.products}
    month = (pl.col("period_id") % 100).cast(pl.String).str.pad_start(2, "0")
    minutes = (pl.col("unit") == QuantityUnit.MINUTE.value).cast(pl.Int64)
    code, period, quantity = per_distinct_many(lines, [
        (pl.col("municipality_id"), pl.col("municipality_id").cast(pl.String).str.pad_start(4, "0")),
        (pl.col("period_id"), pl.format("{}-{}", pl.col("period_id") // 100, month)),
        (pl.col("ticks") * 2 + minutes, qty.text_expr(pl.col("ticks"), pl.col("unit")))])
    return lines.with_columns(
        gemeentecode=code, bsn=pl.col("bsn_id").cast(pl.String).str.pad_start(9, "0"), period=period,
        municipality=pl.col("municipality_id").replace_strict(names, return_dtype=pl.String),
        product_name=pl.col("product").replace_strict(products, return_dtype=pl.String),
        vat_treatment=pl.col("product").replace_strict(treatments, return_dtype=pl.String),
        vat_rate=pl.col("product").replace_strict(rates, return_dtype=pl.Int64), quantity=quantity,
    )


def per_distinct_many(frame: pl.DataFrame, specs: Sequence[tuple[pl.Expr, pl.Expr]]) -> list[pl.Series]:
    """For each (key, text) pair: ``text`` (an expression of the frame's columns, equal for equal ``key``) worked
    out once per distinct ``key`` and mapped onto every row. Lines have few distinct amounts, periods or quantities,
    so this is a few times faster than formatting every row; the pairs are done in parallel."""
    keyed = frame.lazy()
    tables = pl.collect_all([keyed.with_columns(key.alias("_key")).unique("_key").select("_key", text.alias("_text"))
                             for key, text in specs])
    mapped = frame.select(
        key.replace_strict(table.get_column("_key"), table.get_column("_text"), return_dtype=pl.String).alias(str(i))
        for i, ((key, _), table) in enumerate(zip(specs, tables, strict=True)))
    return mapped.get_columns()


def invoice_totals(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per invoice with its total, VAT and counts, in the order of the lines.

    The lines of an invoice are adjacent (every producer of lines keeps them in invoice order), so the invoices
    are the runs of equal (provider, municipality, month), grouped by the run's number: a grouping on texts
    needed ~300 MB more for the 3.2M lines of ten million rows, and three times as long. Should the same invoice
    ever come in two runs, the texts are grouped after all."""
    if lines.is_empty():
        return pl.DataFrame()
    starts = pl.any_horizontal(pl.col(k) != pl.col(k).shift(1) for k in INVOICE_KEYS).fill_null(True)
    keyed = lines.select(*INVOICE_KEYS, "municipality", "vat_treatment", "vat_rate", "amount_cents",
                         "unnetted_cents", "rows", "unit", _invoice=starts.cum_sum().cast(pl.UInt32))
    totals = _totals(keyed, ["_invoice"])
    if totals.select(pl.struct(INVOICE_KEYS).is_duplicated().any()).item():
        totals = _totals(keyed, INVOICE_KEYS)
    return totals.drop("_invoice", strict=False)


def _totals(keyed: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    vat = keyed.group_by([*keys, "vat_treatment", "vat_rate"], maintain_order=True).agg(
        base_cents=pl.col("amount_cents").sum())
    vat = vat.with_columns(vat_cents=vat_cents_expr(pl.col("base_cents"), pl.col("vat_rate")))
    per_invoice = vat.group_by(keys, maintain_order=True).agg(vat_cents=pl.col("vat_cents").sum())
    firsts = [pl.col(c).first() for c in (*INVOICE_KEYS, "municipality") if c not in keys]
    totals = keyed.group_by(keys, maintain_order=True).agg(
        *firsts, total_cents=pl.col("amount_cents").sum(), unnetted_cents=pl.col("unnetted_cents").sum(),
        lines=pl.len(), rows=pl.col("rows").sum(),
        minutes_only=(pl.col("unit") == QuantityUnit.MINUTE.value).all())
    joined = totals.join(per_invoice, on=keys, how="left", maintain_order="left")
    first = [*dict.fromkeys([*keys, *INVOICE_KEYS, "municipality"])]  # the columns in the order of the old grouping
    return joined.select(*first, pl.exclude(*first))


def build_invoices(lines: pl.DataFrame, invoices: pl.DataFrame) -> list[Invoice]:
    """The invoice objects (pydantic) for JSON and documents, made column by column from the sorted lines.

    Every column becomes Python values at once, each distinct value converted once (a line's amounts, dates and
    texts repeat: 322,843 lines of a million rows have ~15,000 distinct amounts), and the lines are made from
    values the engine has checked (:meth:`Frozen.trusted_many`): ~9 s became ~1.5 s for those lines."""
    if lines.is_empty():
        return []
    vat = _vat_breakdowns(lines)
    made = InvoiceLine.trusted_many({name: _python_values(lines.get_column(column), convert)
                                     for name, (column, convert) in _LINE_FIELDS.items()})
    result: list[Invoice] = []
    start = 0
    for head in invoices.iter_rows(named=True):
        end = start + head["lines"]
        key = (head["provider"], head["gemeentecode"], head["period"])
        result.append(Invoice(
            provider=head["provider"], municipality=head["municipality"], municipality_code=head["gemeentecode"],
            period=head["period"], lines=tuple(made[start:end]), total=from_cents(head["total_cents"]),
            vat=tuple(vat[key])))
        start = end
    return result


_LINE_FIELDS: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
    # InvoiceLine's fields, in its order: the column of the lines each is made of, and how (None: as it is)
    "bsn": ("bsn", None), "product": ("product", None), "product_name": ("product_name", None),
    "unit": ("unit", QuantityUnit), "unit_price": ("price_cents", from_cents), "quantity": ("quantity", Decimal),
    "gross_amount": ("gross_cents", from_cents), "revenue": ("revenue_cents", from_cents),
    "revenue_netted": ("netted_cents", from_cents), "revenue_unnetted": ("unnetted_cents", from_cents),
    "amount": ("amount_cents", from_cents), "vat_treatment": ("vat_treatment", None),
    "vat_rate": ("vat_rate", Decimal), "first_day": ("first_day", None), "last_day": ("last_day", None),
    "rows": ("rows", None),
}


def _python_values(series: pl.Series, convert: Callable[[Any], Any] | None) -> list[Any]:
    """The series as Python values, ``convert`` applied once per distinct value (equal values share one object).
    Dates are made once per distinct day too (Polars makes a ``date`` per row otherwise)."""
    if convert is None and not series.dtype.is_temporal():
        return series.to_list()
    distinct = series.unique()
    keys = distinct.to_physical().to_list()
    values = distinct.to_list()
    table = dict(zip(keys, values if convert is None else map(convert, values), strict=True))
    return [table[key] for key in series.to_physical().to_list()]


def _vat_breakdowns(lines: pl.DataFrame) -> dict[tuple[str, str, str], list[VatBreakdown]]:
    groups = lines.group_by([*INVOICE_KEYS, "vat_treatment", "vat_rate"], maintain_order=True).agg(
        base=pl.col("amount_cents").sum())
    result: dict[tuple[str, str, str], list[VatBreakdown]] = {}
    for g in groups.iter_rows(named=True):
        amount = vat_cents(g["base"], g["vat_rate"])
        result.setdefault((g["provider"], g["gemeentecode"], g["period"]), []).append(VatBreakdown(
            treatment=g["vat_treatment"], rate=Decimal(g["vat_rate"]), base=from_cents(g["base"]),
            amount=from_cents(amount)))
    return result


def summarise(result: BillingResult) -> Summary:
    rejected_rows = result.rows_read - result.rows_billed - result.rows_left_out
    invoices = result.invoice_frame
    if invoices.is_empty():
        return Summary(result.rows_read, result.rows_billed, rejected_rows, 0, 0, Decimal("0.00"), Decimal("0.00"),
                       Decimal("0.00"), rows_left_out=result.rows_left_out)
    return Summary(rows_left_out=result.rows_left_out,
        rows_read=result.rows_read, rows_billed=result.rows_billed, rows_rejected=rejected_rows,
        invoices=len(invoices), lines=len(result.lines), total=_sum_cents(invoices, "total_cents"),
        revenue_unnetted=_sum_cents(invoices, "unnetted_cents"), vat=_sum_cents(invoices, "vat_cents"),
        by_municipality=_totals_by(invoices, "municipality"), by_provider=_totals_by(invoices, "provider"),
    )


def _sum_cents(frame: pl.DataFrame, column: str) -> Decimal:
    return from_cents(int(frame.get_column(column).sum()))


def _totals_by(invoices: pl.DataFrame, key: str) -> dict[str, Decimal]:
    grouped = invoices.group_by(key).agg(pl.col("total_cents").sum()).sort(key)
    return {name: from_cents(cents) for name, cents in grouped.iter_rows()}
