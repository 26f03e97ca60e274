"""Check a provider's invoice against the catalogue and, optionally, the hours logged.

``check(paths, lookup, hours)`` reads invoice specifications (CSV, .xlsx, or what ``mgr bill`` writes:
its invoice CSVs, ``samenvatting.csv`` and its ``--json`` output), recomputes every line and returns
each discrepancy with the money at stake. The work is vectorised in Polars: every cell is parsed
once per *distinct* text, every rule is an expression over all lines, and only the lines that break
a rule are turned into :class:`Discrepancy` values in Python.

Money at stake: a line's difference is split over its findings so that they add up, never twice:

* ``price``: the line at the invoiced unit price minus the line at the catalogue price;
* ``amount`` / ``netting``: the invoiced amount minus quantity x invoiced unit price (rounded half-up
  once, LN034 revenue netted, never below zero);
* a line that cannot be paid at all (unknown product or municipality, not a member, product not bought
  for the municipality, no price in force) counts its whole amount once;
* ``hours``: the billed quantity minus the hours logged, per provider, municipality, client, product and
  month, valued at the catalogue price; ``double`` counts only when no hour log is given.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from mgr_tariffs import bsn as bsn_
from mgr_tariffs import identity
from mgr_tariffs.allocations.checking import line_findings as allocation_line_findings
from mgr_tariffs.allocations.model import Register
from mgr_tariffs.billing.engine import BillOptions, bill_tables
from mgr_tariffs.catalogue import membership, pricing
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.pricing import no_price_message
from mgr_tariffs.checking import sent
from mgr_tariffs.dates import parse_date as parse_date_text
from mgr_tariffs.documents.naming import provisional_number
from mgr_tariffs.io.dialect import unneutralised
from mgr_tariffs.io.jsonsafe import read_json_text
from mgr_tariffs.io.tables import Column, Table, read_table, resolve_columns
from mgr_tariffs.money import (
    format_euro,
    format_number,
    format_quantity,
    from_cents,
    gross_cents_expr,
    net_cents_expr,
    parse_decimal,
)
from mgr_tariffs.money import gross_cents as line_gross_cents
from mgr_tariffs.money import net_cents as line_net_cents
from mgr_tariffs.problems import InputError, Problem, error
from mgr_tariffs.quantity import MINUTE_DECIMALS, TICKS_PER_HOUR, TICKS_PER_MINUTE, QuantityUnit, to_ticks
from mgr_tariffs.selection import Selection

Parsed = tuple[Any, str | None]
Mask = Callable[[str], str]

COLUMNS = (
    Column("factuurnummer", ("invoice_number", "invoice", "factuur"), required=True),
    Column("factuurdatum", ("invoice_date",)),
    Column("aanbieder", ("provider", "zorgaanbieder"), required=True),
    Column("gemeente", ("municipality",), required=True),
    Column("bsn", ("client", "clientnummer", "burgerservicenummer"), required=True),
    Column("productcode", ("product", "code"), required=True),
    Column("periode", ("period",)),
    Column("datum_van", ("period_start", "eerste_datum", "first_day")),
    Column("datum_tot", ("period_end", "laatste_datum", "last_day")),
    Column("aantal", ("quantity", "uren", "hours")),
    Column("minuten", ("minutes",)),
    Column("eenheid", ("unit",)),
    Column("tarief", ("unit_price", "prijs", "price"), required=True),
    Column("bedrag_bruto", ("gross_amount",)),
    Column("opbrengst", ("revenue",)),
    Column("bedrag", ("amount",), required=True),
    Column("totaal", ("factuurtotaal", "total", "invoice_total")),
    Column("credit_van", ("gecrediteerd_factuurnummer", "credits", "credit_for", "vorig_factuurnummer")),
)
QUANTITY_COLUMNS = ("aantal", "minuten")
NAMES = [c.name for c in COLUMNS]
SUMMARY_COLUMNS = (Column("factuurnummer", ("invoice_number", "invoice", "factuur"), required=True),
                   Column("totaal", ("factuurtotaal", "total", "invoice_total"), required=True),
                   Column("aanbieder", ("provider",)))
MINUTE_UNITS = {"minuut", "minuten", "min", "minute", "minutes"}
BLOCKING = ("product", "municipality", "not_member", "not_for", "no_price")
KINDS = ("product", "municipality", "not_member", "not_for", "no_price", "bsn", "period", "price_change", "price",
         "amount", "netting", "credit", "double", "issued", "hours", "revenue", "allocation", "total")
"""Every kind of discrepancy, in the order they are reported for a line."""

# Digits before the decimal point, so that quantity x unit price and the sums of amounts fit in 64-bit integers
# (ticks of at most 3e9 times cents of at most 1e9): a line beyond these is "too large", never an overflow.
QUANTITY_DIGITS = 6  # aantal (hours) or minuten below 1,000,000
MONEY_DIGITS = {"tarief": 7}  # below € 10.000.000
AMOUNT_DIGITS = 10  # bedrag, bedrag_bruto, opbrengst, totaal below € 10.000.000.000

_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")
_DUTCH_THOUSANDS = re.compile(r"^-?\d{1,3}(?:\.\d{3})+,\d{1,2}$")


@dataclass(frozen=True)
class CheckOptions:
    show_bsn: bool = False
    sheet: str | None = None
    today: dt.date | None = None
    selection: Selection = field(default_factory=Selection)
    """``--period``, ``--provider``, ``--municipality``: only these invoice lines (and hours) are checked."""

    def mask(self, bsn: str) -> str:
        return bsn_.masker(self.show_bsn)(bsn)


@dataclass(frozen=True)
class Discrepancy:
    """One thing wrong with an invoice line (or invoice), with the money at stake where there is any."""

    file: str
    line: int | None
    invoice: str
    kind: str
    message: str
    billed: Decimal | None = None
    expected: Decimal | None = None
    counted: bool = True  # whether its difference is part of the over- and under-billed totals

    @property
    def difference(self) -> Decimal | None:
        if self.billed is None or self.expected is None:
            return None
        return self.billed - self.expected

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "invoice": self.invoice, "kind": self.kind,
                "message": self.message, "billed": _money(self.billed), "expected": _money(self.expected),
                "difference": _money(self.difference)}


@dataclass(frozen=True)
class InvoiceInfo:
    """An invoice as found in the files: who, for whom, which month, how many lines, what it bills."""

    number: str
    provider: str
    municipality: str
    period: str
    files: tuple[str, ...]
    lines: int
    billed: Decimal


@dataclass(frozen=True)
class CheckSummary:
    files: int
    invoices: int
    lines_checked: int
    lines_unreadable: int
    discrepancies: int
    by_kind: dict[str, int]
    billed: Decimal
    over_billed: Decimal
    under_billed: Decimal
    hour_rows: int | None = None
    hour_rows_rejected: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "files": self.files, "invoices": self.invoices, "lines_checked": self.lines_checked,
            "lines_unreadable": self.lines_unreadable, "discrepancies": self.discrepancies, "by_kind": self.by_kind,
            "billed": _money(self.billed), "over_billed": _money(self.over_billed),
            "under_billed": _money(self.under_billed)}
        if self.hour_rows is not None:
            data |= {"hour_rows": self.hour_rows, "hour_rows_rejected": self.hour_rows_rejected}
        return data


@dataclass(frozen=True)
class CheckResult:
    discrepancies: list[Discrepancy]
    problems: list[Problem]  # rows or files that could not be checked (and hour-log rows rejected)
    invoices: list[InvoiceInfo]
    summary: CheckSummary

    @property
    def ok(self) -> bool:
        return not self.discrepancies and not any(p.is_error for p in self.problems)

    def as_json(self) -> dict[str, Any]:
        return {"discrepancies": [d.as_json() for d in self.discrepancies], "summary": self.summary.as_json(),
                "problems": [p.model_dump(mode="json") for p in self.problems]}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- the entry point ------------------------------------------------------------------------------


def check(paths: Sequence[Path], lookup: Lookup, hours: Sequence[Path] | None = None,
          options: CheckOptions | None = None, issued: pl.DataFrame | None = None,
          allocations: Register | None = None) -> CheckResult:
    """Check invoice files. Raises :class:`InputError` only for a file that cannot be read at all.

    ``issued`` (from :func:`mgr_tariffs.ledger.issued_line_keys`) flags lines already on an issued invoice;
    ``allocations`` (an allocation register) flags lines outside or over their allocation.
    """
    options = options or CheckOptions()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mgr-hours") as pool:
        # the hour log is read, checked and summed on a second thread while the invoices are read and checked
        logging = pool.submit(log_hours, hours, lookup, options) if hours else None
        loaded = [_load(Path(path), options) for path in paths]
        result = _check_loaded(loaded, lookup, options, issued, logging, allocations)
    return result


def _check_loaded(loaded: list[_Loaded], lookup: Lookup, options: CheckOptions, issued: pl.DataFrame | None,
                  logging: Future[LoggedHours] | None, allocations: Register | None = None) -> CheckResult:
    problems = [p for item in loaded for p in item.problems] + _nothing_to_check(loaded)
    frames = [item.frame for item in loaded if item.frame is not None]
    totals = [item.totals for item in loaded if item.totals is not None]
    lines, rejected = parse_lines(_concat(frames), lookup)
    if not options.selection.everything:
        lines = lines.filter(options.selection.expr(day="month_start"))
    row_problems = rejection_problems(rejected)
    checked = run_rules(lines, lookup)
    found = line_findings(checked, lookup, options)
    found += double_findings(checked, options, hours_given=logging is not None)
    if issued is not None:
        found += issued_findings(checked, issued, options)
    if allocations is not None:
        found += allocation_findings(checked, allocations, options)
    incomplete = set(rejected.get_column("invoice").drop_nulls().to_list())
    found += total_findings(checked.filter(~pl.col("invoice").is_in(list(incomplete))), _concat(totals))
    logged = logging.result() if logging is not None else None
    if logged is not None:
        found += hour_findings(checked, logged, options)
        problems += logged.problems
    found = sorted(found, key=_order)
    invoices = invoice_infos(checked, lookup)
    summary = summarise(found, checked, len(loaded), len(rejected), invoices, logged)
    return CheckResult(found, problems + row_problems, invoices, summary)


def allocation_findings(lines: pl.DataFrame, register: Register, options: CheckOptions) -> list[Discrepancy]:
    """Lines outside or over their allocation (issue 14), as :mod:`mgr_tariffs.allocations.checking` finds them."""
    return [Discrepancy(f.file, f.line, f.invoice, "allocation", f.message, from_cents(f.billed_cents),
                        from_cents(f.expected_cents)) for f in allocation_line_findings(lines, register, options.mask)]


def _order(d: Discrepancy) -> tuple[str, str, int, int]:
    return d.invoice, d.file, d.line if d.line is not None else 1 << 40, KINDS.index(d.kind)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


# --- reading: CSV/xlsx invoice specifications, bill's summary, bill's JSON --------------------------


@dataclass(frozen=True)
class _Loaded:
    file: str
    problems: list[Problem]
    frame: pl.DataFrame | None = None  # invoice lines: the canonical columns as text, _line, _file
    totals: pl.DataFrame | None = None  # invoice totals: _file, _line, factuurnummer, totaal


def _nothing_to_check(loaded: list[_Loaded]) -> list[Problem]:
    """An error for every readable file without rows, and for invoice totals given without any invoice lines."""
    found = [error(item.file, None, "no invoice lines (the file has a header but no rows)")
             for item in loaded if item.frame is not None and item.frame.is_empty()
             and not any(p.is_error for p in item.problems)]
    found += [error(item.file, None, "no invoices (the file has a header but no rows)")
              for item in loaded if item.totals is not None and item.totals.is_empty()
              and not any(p.is_error for p in item.problems)]
    if any(item.frame is not None and not item.frame.is_empty() for item in loaded):
        return found
    return found + [error(item.file, None, "holds invoice totals but no invoice lines: give the invoice files too, "
                          "to check the totals against their lines")
                    for item in loaded if item.totals is not None and not item.totals.is_empty()]


def _load(path: Path, options: CheckOptions) -> _Loaded:
    if path.suffix.lower() == ".json":
        return _load_json(path)
    if path.suffix.lower() == ".xml":
        return _load_ubl(path)
    lines_sheet = None if options.sheet else _workbook_lines_sheet(path)
    table = read_table(path, sheet=options.sheet or lines_sheet)
    if lines_sheet is not None:
        table = _workbook_as_specification(table, path)
    if _is_summary(table):
        return _load_summary(table)
    frame, problems = resolve_columns(_without_product_name(table), COLUMNS, one_of=[QUANTITY_COLUMNS])
    problems = table.problems + problems + _period_columns(table)
    if any(p.is_error and (p.line is None or p.line <= table.header_line) for p in problems):
        return _Loaded(table.file, problems)
    return _Loaded(table.file, problems, frame.select("_line", *NAMES).with_columns(_file=pl.lit(table.file)))


def _load_ubl(path: Path) -> _Loaded:
    """An e-invoice ``mgr bill`` wrote (:mod:`mgr_tariffs.checking.sent`), as invoice lines."""
    file = str(path)
    rows = sent.read_ubl(path, file)
    frame = pl.DataFrame([{**dict.fromkeys(NAMES), **row} for row in rows],
                         schema={"_line": pl.Int64, **dict.fromkeys(NAMES, pl.String)})
    problems = [] if rows else [error(file, None, "no invoice lines (the e-invoice has no InvoiceLine)")]
    return _Loaded(file, problems, frame.select("_line", *NAMES).with_columns(_file=pl.lit(file)))


def _sheet_names(path: Path) -> list[str]:
    """The sheet names of a workbook (read from its directory only), empty for anything else."""
    import zipfile  # noqa: PLC0415 - only for workbooks

    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return []
    return re.findall(r'<(?:\w+:)?sheet\b[^>]*\bname="([^"]*)"', text)


def _workbook_lines_sheet(path: Path) -> str | None:
    """``facturen.xlsx`` of ``mgr bill``: its lines are on the sheet "Regels"."""
    names = _sheet_names(path)
    return sent.WORKBOOK_LINES if sent.WORKBOOK_LINES in names and sent.WORKBOOK_INVOICES in names else None


def _workbook_as_specification(table: Table, path: Path) -> Table:
    """The lines sheet of ``facturen.xlsx`` in the column names of an invoice specification, with the number of
    the invoice each credit note credits (from the invoices sheet)."""
    frame = table.frame.rename({k: v for k, v in sent.WORKBOOK_COLUMNS.items() if k in table.frame.columns})
    frame = frame.drop([c for c in frame.columns if c not in ("_line", *sent.WORKBOOK_COLUMNS.values())])
    heads = read_table(path, sheet=sent.WORKBOOK_INVOICES).frame
    if {"Factuurnummer", "Crediteert factuur"} <= set(heads.columns):
        credits = heads.select(factuurnummer="Factuurnummer", credit_van="Crediteert factuur")
        frame = frame.join(credits, on="factuurnummer", how="left", maintain_order="left")
    return replace(table, frame=frame)


def _keys(table: Table) -> set[str]:
    return {c.strip().casefold() for c in table.frame.columns}


def _without_product_name(table: Table) -> Table:
    """``mgr bill`` writes ``productcode`` and the product's name as ``product``: the name is not the code."""
    names = {c.strip().casefold(): c for c in table.frame.columns}
    if "productcode" in names and "product" in names:
        return replace(table, frame=table.frame.drop(names["product"]))
    return table


def _is_summary(table: Table) -> bool:
    """``samenvatting.csv`` of ``mgr bill --out``: one row per invoice with its total, no lines."""
    keys = _keys(table)
    line_keys = {"bsn", "client", "productcode", "product", "code"}
    return not keys & line_keys and "factuurnummer" in keys and "totaal" in keys


def _load_summary(table: Table) -> _Loaded:
    frame, problems = resolve_columns(table, SUMMARY_COLUMNS)
    named = ["aanbieder"] if frame.get_column("aanbieder").null_count() < frame.height else []
    totals = frame.select("_line", "factuurnummer", "totaal", *named).with_columns(_file=pl.lit(table.file))
    return _Loaded(table.file, table.problems + problems, totals=totals)


def _period_columns(table: Table) -> list[Problem]:
    named = {c.name for c in COLUMNS if _present(table, c)}
    if "periode" in named or {"datum_van", "datum_tot"} <= named:
        return []
    return [error(table.file, table.header_line, "the period is missing: give a column 'periode' (YYYY-MM) or "
                  "the columns 'datum_van' and 'datum_tot'")]


def _present(table: Table, column: Column) -> bool:
    return bool(_keys(table) & {n.casefold() for n in (column.name, *column.aliases)})


JSON_FIELDS = {"bsn": "bsn", "productcode": "product", "datum_van": "first_day", "datum_tot": "last_day",
               "aantal": "quantity", "eenheid": "unit", "tarief": "unit_price", "bedrag_bruto": "gross_amount",
               "opbrengst": "revenue", "bedrag": "amount"}


def _load_json(path: Path) -> _Loaded:
    """The output of ``mgr bill --json``: its invoices and their lines, each line at its physical line."""
    file = str(path)
    text = _json_text(path, file)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(file, f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("invoices"), list):
        raise InputError(file, "is JSON but not the output of `mgr bill --json` (no list 'invoices')")
    places = line_object_lines(text)
    records, problems = _json_records(data["invoices"], places, file)
    frame = pl.DataFrame(records, schema={"_line": pl.Int64, **dict.fromkeys(NAMES, pl.String)}, orient="row")
    return _Loaded(file, problems, frame.with_columns(_file=pl.lit(file)))


def _json_text(path: Path, file: str) -> str:
    return read_json_text(path, file)  # bounded in size and nesting (mgr_tariffs.io.jsonsafe)


def _json_records(invoices: list[Any], places: list[int], file: str) -> tuple[list[list[Any]], list[Problem]]:
    records: list[list[Any]] = []
    problems: list[Problem] = []
    for number, invoice in enumerate(invoices, start=1):
        if not isinstance(invoice, dict) or not isinstance(invoice.get("lines"), list):
            problems.append(error(file, None, f"invoice {number} has no list 'lines'"))
            continue
        head = _json_head(invoice)
        for line in invoice["lines"]:
            place = places[len(records)] if len(records) < len(places) else None
            records.append([place, *(_json_cell(head, line, name) for name in NAMES)])
    return records, problems


def _json_head(invoice: dict[str, Any]) -> dict[str, Any]:
    provider, code, period = (str(invoice.get(k) or "") for k in ("provider", "municipality_code", "period"))
    number = invoice.get("number") or provisional_number(provider, code, period)
    return {"factuurnummer": number, "aanbieder": provider, "gemeente": code or invoice.get("municipality"),
            "periode": period, "totaal": invoice.get("total"), "credit_van": invoice.get("credits")}


def _json_cell(head: dict[str, Any], line: Any, name: str) -> str | None:
    value = head.get(name) if name in head else line.get(JSON_FIELDS.get(name, "")) if isinstance(line, dict) else None
    return None if value is None or value == "" else str(value)


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')


def line_object_lines(text: str) -> list[int]:
    """The physical line of every object in a list under the key ``lines``, in document order."""
    stack: list[str | None] = []
    key: str | None = None
    found: list[int] = []
    line, last = 1, 0
    for token in _JSON_TOKEN.finditer(text):
        mark = token.group()
        if token.group(1):
            key = mark[1:mark.index('"', 1)] if "\\" not in mark else None
            continue
        if mark == "{" and stack and stack[-1] == "lines":
            line, last = line + text.count("\n", last, token.start()), token.start()
            found.append(line)
        if mark in "{[":
            stack.append(key if mark == "[" else None)
        elif mark in "]}" and stack:
            stack.pop()
        key = None
    return found


# --- parsing: every text cell once per distinct value ------------------------------------------------


def parse_money(text: str, name: str) -> Parsed:
    """An amount in cents: ``1234,56``, ``1234.56``, ``1.234,56`` or ``€ 48,60``; at most two decimals."""
    cleaned = text.replace("€", "").replace(" ", "").strip()
    if _DUTCH_THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(".", "")
    value = parse_decimal(cleaned)
    if value is None:
        return None, f"{name} {text!r} is not an amount"
    digits = MONEY_DIGITS.get(name, AMOUNT_DIGITS)
    if abs(value) >= 10**digits:
        return None, f"{name} {text!r} is too large (at most {format_euro(10**digits - Decimal('0.01'))})"
    if value != value.quantize(Decimal("0.01")):
        return None, f"{name} {text!r} has more than two decimals"
    return int(value * 100), None


def parse_invoice_quantity(text: str, unit: str) -> Parsed:
    """A line's quantity as ticks of 1/3000 hour: hours with at most three decimals, or whole minutes."""
    name = "minuten" if unit == "minuut" else "aantal"
    value = parse_decimal(text)
    if value is None:
        return None, f"{name} {text!r} is not a number"
    if abs(value) >= 10**QUANTITY_DIGITS:
        return None, f"{name} {text!r} is too large ({format_number(Decimal(10**QUANTITY_DIGITS), 0)} or more)"
    ticks = to_ticks(value, QuantityUnit(unit))
    if unit == "minuut" and ticks is None:
        return None, f"minuten {text!r} is not a whole number of 1/50 minute (at most {MINUTE_DECIMALS} decimals)"
    if unit == "uur" and (ticks is None or value != value.quantize(Decimal("0.001"))):
        return None, f"aantal {text!r} has more than three decimals"
    return ticks, None


def parse_period(text: str) -> Parsed:
    """``YYYY-MM`` as the number YYYYMM."""
    found = _PERIOD.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None, f"periode {text!r} is not a month (write YYYY-MM)"
    return int(found.group(1)) * 100 + int(found.group(2)), None


def parse_date(text: str, name: str) -> Parsed:
    return parse_date_text(text, name)


def with_bsn(frame: pl.DataFrame, column: str = "bsn") -> pl.DataFrame:
    """Add the BSN as nine digits (``bsn_key``, for double billing and hours; the text as given when it is not
    BSN-shaped) and ``bsn_valid`` (the elfproef), by the rules of :mod:`mgr_tariffs.bsn`."""
    padded = bsn_.normalise_expr(pl.col(column))
    return frame.with_columns(bsn_key=pl.coalesce(padded, pl.col(column)), bsn_valid=bsn_.valid_expr(padded))


def _parse(frame: pl.DataFrame, column: str, rule: Callable[[str], Parsed], output: str,
           dtype: pl.DataType, fast: tuple[pl.Expr, pl.Expr] | None = None) -> pl.DataFrame:
    """Add ``output`` and ``why_<output>``: ``fast = (applies, value)`` as one expression where it applies,
    ``rule`` in Python once per distinct other text of ``column``."""
    applies, value = fast if fast else (pl.lit(False), pl.lit(None, dtype))
    slow = frame.filter(pl.col(column).is_not_null() & ~applies).get_column(column).unique()
    if slow.is_empty():
        return frame.with_columns(pl.when(applies).then(value).cast(dtype).alias(output),
                                  pl.lit(None, pl.String).alias(f"why_{output}"))
    answers = [rule(text) for text in slow.to_list()]
    mapping = pl.DataFrame({
        column: slow, f"slow_{output}": pl.Series([a[0] for a in answers], dtype=dtype),
        f"why_{output}": pl.Series([a[1] for a in answers], dtype=pl.String),
    })
    joined = frame.join(mapping, on=column, how="left", maintain_order="left")
    return joined.with_columns(pl.when(applies).then(value).otherwise(pl.col(f"slow_{output}")).cast(dtype)
                               .alias(output)).drop(f"slow_{output}")


def _fast_fixed(column: str, places: int, scale: int, digits: int) -> tuple[pl.Expr, pl.Expr]:
    """Plain numbers (``-12,5``, ``3.25``) with at most ``digits`` digits before and ``places`` after the decimal
    sign, as integers of 1/10^places x scale; anything else (too long, too precise) is left to the slow rule.

    The value goes through Polars' exact decimal type (an integer with a scale), never through a float; it is
    only computed where the pattern applies, and never raises for the other texts.
    """
    text = pl.col(column)
    fraction = rf"(?:[.,]\d{{1,{places}}})?" if places else ""
    applies = text.str.contains(rf"^-?\d{{1,{digits}}}{fraction}$").fill_null(False)
    exact = text.str.replace(",", ".", literal=True).cast(pl.Decimal(38, places), strict=False)
    return applies, pl.when(applies).then(exact.to_physical().cast(pl.Int64, strict=False) * scale)


def _fast_date(column: str) -> tuple[pl.Expr, pl.Expr]:
    """ISO dates (``2019-07-01``) that exist; anything else goes to :func:`parse_date`."""
    day = pl.col(column).str.to_date("%Y-%m-%d", strict=False)
    return (pl.col(column).str.contains(r"^\d{4}-\d{2}-\d{2}$") & day.is_not_null()).fill_null(False), day


def _fast_period(column: str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(column)
    month = text.str.slice(5, 2).cast(pl.Int64, strict=False)
    applies = text.str.contains(r"^\d{4}-\d{2}$").fill_null(False) & month.is_between(1, 12).fill_null(False)
    return applies, text.str.slice(0, 4).cast(pl.Int64, strict=False) * 100 + month


REQUIRED = ("factuurnummer", "aanbieder", "gemeente", "bsn", "productcode", "tarief", "bedrag")
PROBLEM_REASONS = ["why_ticks", "why_price_cents", "why_amount_cents", "why_gross_cents", "why_revenue_cents",
                   "why_total_cents", "why_period_id", "why_date_from", "why_date_to", "why_missing"]


def parse_lines(frame: pl.DataFrame | None, lookup: Lookup) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed invoice lines: those that can be checked, and those that cannot be read (with reasons)."""
    typed = _typed(frame if frame is not None else _empty_lines(), lookup)
    bad = pl.any_horizontal(pl.col(PROBLEM_REASONS).is_not_null())
    return typed.filter(~bad), typed.filter(bad)


def rejection_problems(rejected: pl.DataFrame) -> list[Problem]:
    """A problem for every reason a line cannot be read."""
    return [error(r["_file"], r["_line"], reason) for r in rejected.iter_rows(named=True)
            for reason in (r[c] for c in PROBLEM_REASONS) if reason]


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema={"_line": pl.Int64, **dict.fromkeys(NAMES, pl.String), "_file": pl.String})


@dataclass(frozen=True)
class _Field:
    """How one text column becomes a typed column: a fast expression where it applies, else a rule in Python."""

    column: str
    output: str
    rule: Callable[[str], Parsed]
    dtype: pl.DataType
    fast: tuple[pl.Expr, pl.Expr] | None = None


def _fields(lookup: Lookup) -> list[_Field]:
    hours = _fast_fixed("quantity", 3, TICKS_PER_HOUR // 1000, QUANTITY_DIGITS)
    minutes = _fast_fixed("quantity", 0, TICKS_PER_MINUTE, QUANTITY_DIGITS)  # whole minutes; decimals: the rule
    is_hour = pl.col("unit") == "uur"
    quantity = ((is_hour & hours[0]) | (~is_hour & minutes[0]), pl.when(is_hour).then(hours[1]).otherwise(minutes[1]))
    money = [_Field(column, output, _money_rule(column), pl.Int64(),
                    _fast_fixed(column, 2, 1, MONEY_DIGITS.get(column, AMOUNT_DIGITS)))
             for column, output in (("tarief", "price_cents"), ("bedrag", "amount_cents"),
                                    ("bedrag_bruto", "gross_cents"), ("opbrengst", "revenue_cents"),
                                    ("totaal", "total_cents"))]
    return [
        _Field("quantity_key", "ticks", _quantity_rule, pl.Int64(), quantity), *money,
        _Field("periode", "period_id", parse_period, pl.Int64(), _fast_period("periode")),
        _Field("datum_van", "date_from", lambda t: parse_date(t, "datum_van"), pl.Date(), _fast_date("datum_van")),
        _Field("datum_tot", "date_to", lambda t: parse_date(t, "datum_tot"), pl.Date(), _fast_date("datum_tot")),
        _Field("gemeente", "municipality_id", _municipality_rule(lookup), pl.Int64()),
    ]


def _quantity_rule(key: str) -> Parsed:
    unit, text = key.split("|", 1)
    return parse_invoice_quantity(text, unit)


def _typed(frame: pl.DataFrame, lookup: Lookup) -> pl.DataFrame:
    """Every field typed in one pass of fast expressions, the rest once per distinct text in Python."""
    unit = pl.when(pl.col("eenheid").str.to_lowercase().is_in(list(MINUTE_UNITS))
                   | (pl.col("aantal").is_null() & pl.col("minuten").is_not_null()))
    frame = frame.with_columns(unit=unit.then(pl.lit("minuut")).otherwise(pl.lit("uur")),
                               product=pl.col("productcode").str.to_uppercase(),
                               quantity=pl.coalesce("aantal", "minuten"),
                               provider=unneutralised("aanbieder"), invoice=unneutralised("factuurnummer"),
                               credits=unneutralised("credit_van"))
    frame = frame.with_columns(quantity_key=pl.col("unit") + "|" + pl.col("quantity"))
    fields = _fields(lookup)
    fast = [f for f in fields if f.fast is not None]
    frame = frame.with_columns(
        *(f.fast[1].cast(f.dtype, strict=False).alias(f.output) for f in fast if f.fast is not None),
        *(f.fast[0].alias(f"ok_{f.output}") for f in fast if f.fast is not None),
    )
    for f in fields:
        frame = _slow(frame, f)
    frame = frame.with_columns(provider_key=identity.provider_key_expr(pl.col("provider")))
    return _dates(with_bsn(frame.with_columns(why_missing=_missing())))


def _slow(frame: pl.DataFrame, spec: _Field) -> pl.DataFrame:
    """``spec.rule`` once per distinct text of the rows its fast expression does not cover."""
    done = pl.col(f"ok_{spec.output}") if spec.fast is not None else pl.lit(False)
    texts = frame.filter(pl.col(spec.column).is_not_null() & ~done).get_column(spec.column).unique()
    why = f"why_{spec.output}"
    if texts.is_empty():
        typed = [pl.lit(None, spec.dtype).alias(spec.output)] if spec.fast is None else []
        return frame.with_columns(*typed, pl.lit(None, pl.String).alias(why))
    answers = [spec.rule(text) for text in texts.to_list()]
    mapping = pl.DataFrame({spec.column: texts, "slow": pl.Series([a[0] for a in answers], dtype=spec.dtype),
                            why: pl.Series([a[1] for a in answers], dtype=pl.String)})
    joined = frame.join(mapping, on=spec.column, how="left", maintain_order="left")
    value = pl.col(spec.output) if spec.fast is not None else pl.lit(None, spec.dtype)
    return joined.with_columns(pl.when(done).then(value).otherwise(pl.col("slow")).alias(spec.output)).drop("slow")


def _money_rule(name: str) -> Callable[[str], Parsed]:
    return lambda text: parse_money(text, name)


def _municipality_rule(lookup: Lookup) -> Callable[[str], Parsed]:
    def rule(text: str) -> Parsed:
        found = lookup.municipality(text)
        return (int(found.code), None) if found else (None, f"unknown municipality {text!r}")
    return rule


def _missing() -> pl.Expr:
    """Why a line cannot be checked for lack of a value (the first required value that is empty)."""
    expr = pl.lit(None, pl.String)
    quantity = pl.coalesce("aantal", "minuten").is_null()
    period = pl.col("periode").is_null() & (pl.col("datum_van").is_null() | pl.col("datum_tot").is_null())
    for name, empty in reversed([*((n, pl.col(n).is_null()) for n in REQUIRED), ("aantal", quantity),
                                 ("periode", period)]):
        expr = pl.when(empty).then(pl.lit(f"{name} is missing")).otherwise(expr)
    return expr


def _dates(frame: pl.DataFrame) -> pl.DataFrame:
    """The first and last day the line covers: the dates given, else the month of ``periode``."""
    year, month = pl.col("period_id") // 100, pl.col("period_id") % 100
    first = pl.date(year, month, 1)
    last = first.dt.month_end()
    return frame.with_columns(start=pl.coalesce("date_from", first), end=pl.coalesce("date_to", last)).with_columns(
        month_start=pl.coalesce(first, pl.col("start").dt.month_start()))


# --- rules over all lines --------------------------------------------------------------------------


def run_rules(lines: pl.DataFrame, lookup: Lookup) -> pl.DataFrame:
    """Add the catalogue's answers (price, membership, ...) and one boolean column ``x_<kind>`` per rule."""
    catalogue = lookup.catalogue
    known = pl.col("product").is_in(list(lookup.products))
    at = lines.with_columns(
        pricing.price_cents_of(lines, catalogue, day="start").alias("price_start"),
        pricing.price_cents_of(lines, catalogue, day="end").alias("price_end"),
        pricing.boundary_inside_of(lines, catalogue),
        membership.member_of(lines, catalogue, day="start").fill_null(False).alias("member_start"),
        membership.member_of(lines, catalogue, day="end").fill_null(False).alias("member_end"),
        membership.excluded_of(lines, catalogue).alias("excluded"),
        nets=pl.col("product").is_in([p.code for p in catalogue.products if p.nets_revenue]))
    has_municipality = pl.col("municipality_id").is_not_null()
    at = at.with_columns(
        catalogue_cents=pl.when(pl.col("straddle")).then(None).otherwise(pl.col("price_start")),
        own_gross=gross_cents_expr(pl.col("ticks"), pl.col("price_cents")),
        own_net=_net(gross_cents_expr(pl.col("ticks"), pl.col("price_cents"))),
        x_product=~known,
        x_municipality=~has_municipality,
        x_not_member=has_municipality & ~(pl.col("member_start") & pl.col("member_end")),
        x_not_for=has_municipality & known & pl.col("excluded"),
        x_no_price=known & pl.col("price_start").is_null() & pl.col("price_end").is_null() & ~pl.col("straddle"),
        x_bsn=~pl.col("bsn_valid"),
        x_period=_period_wrong(),
        x_price_change=known & pl.col("straddle"),
        x_credit=(pl.col("ticks") < 0) & pl.col("credits").is_null(),
    )
    at = at.with_columns(
        catalogue_net=_net(gross_cents_expr(pl.col("ticks"), pl.col("catalogue_cents"))),
        x_price=pl.col("catalogue_cents").is_not_null() & (pl.col("catalogue_cents") != pl.col("price_cents")),
        x_arithmetic=(pl.col("amount_cents") != pl.col("own_net"))
        | (pl.col("gross_cents").is_not_null() & (pl.col("gross_cents") != pl.col("own_gross"))),
    )
    blocked = pl.any_horizontal([pl.col(f"x_{k}") for k in BLOCKING])
    return at.with_columns(blocked=blocked.fill_null(False))


def _net(gross: pl.Expr) -> pl.Expr:
    """A line's amount after LN034 netting (:func:`mgr_tariffs.money.net_cents_expr`)."""
    return gross - net_cents_expr(gross, pl.col("revenue_cents"), pl.col("nets"))


def _period_wrong() -> pl.Expr:
    """The line does not cover (part of) one calendar month, the month of its ``periode``."""
    month = pl.col("month_start")
    return ((pl.col("start").dt.month_start() != month) | (pl.col("end").dt.month_start() != month)
            | (pl.col("start") > pl.col("end"))).fill_null(False)


# --- findings per line -----------------------------------------------------------------------------


def line_findings(lines: pl.DataFrame, lookup: Lookup, options: CheckOptions) -> list[Discrepancy]:
    """Every per-line discrepancy; only the lines that break a rule are visited in Python."""
    # not per line, or x_arithmetic
    across = ("amount", "netting", "double", "issued", "hours", "revenue", "allocation", "total")
    flags = [f"x_{k}" for k in KINDS if k not in across] + ["x_arithmetic"]
    flagged = lines.filter(pl.any_horizontal(pl.col(flags).fill_null(False)))
    found: list[Discrepancy] = []
    for row in flagged.iter_rows(named=True):
        found += _row_findings(row, lookup, options.mask)
    return found


def _row_findings(row: dict[str, Any], lookup: Lookup, mask: Mask) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    blocked = False
    for kind, describe in LINE_RULES.items():
        if not row.get(f"x_{kind}" if kind not in ("amount", "netting") else "x_arithmetic"):
            continue
        if kind in ("amount", "netting") and _arithmetic_kind(row) != kind:
            continue
        message, billed, expected = describe(row, lookup, mask)
        counted = not blocked and billed is not None and expected is not None
        found.append(Discrepancy(row["_file"], row["_line"], row["invoice"], kind, message, billed, expected, counted))
        blocked = blocked or kind in BLOCKING
    return found


def _arithmetic_kind(row: dict[str, Any]) -> str:
    """``netting`` when a line with revenue has the right gross amount but the wrong net amount, else ``amount``."""
    return "netting" if row["revenue_cents"] and not _gross_wrong(row) else "amount"


def _gross_wrong(row: dict[str, Any]) -> bool:
    return row["gross_cents"] is not None and row["gross_cents"] != row["own_gross"]


def _netted(row: dict[str, Any]) -> int:
    return line_net_cents(line_gross_cents(row["ticks"], row["price_cents"]), row["revenue_cents"] or 0,
                          row["nets"])[0]


Described = tuple[str, Decimal | None, Decimal | None]


def _amount(row: dict[str, Any]) -> Decimal:
    return from_cents(row["amount_cents"])


def _not_payable(message: str) -> Callable[[dict[str, Any], Lookup, Mask], Described]:
    def describe(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
        return message.format(**row, name=_name(row, lookup)), _amount(row), Decimal("0.00")
    return describe


def _name(row: dict[str, Any], lookup: Lookup) -> str:
    code = row.get("municipality_id")
    found = lookup.municipality(str(code).zfill(4)) if code is not None else None
    return found.name if found else str(row.get("gemeente"))


def _not_member(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    municipality = lookup.municipality(str(row["municipality_id"]).zfill(4))
    assert municipality is not None
    day = row["start"] if not municipality.is_member_on(row["start"]) else row["end"]
    spans = ", ".join(f"from {m.start}" + (f" until {m.until}" if m.until else "") for m in municipality.memberships)
    message = f"{municipality.name} was not a member of the MGR on {day} (member {spans})"
    return message, _amount(row), Decimal("0.00")


def _no_price(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    return no_price_message(lookup.products[row["product"]], row["start"]), _amount(row), Decimal("0.00")


def _bsn(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    reason = bsn_.parse(row["bsn"], mask)[1] or f"BSN {mask(row['bsn'])} is not valid"
    return f"{reason}: the line cannot be paid to a known client", _amount(row), None


def _period(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    span = f"{row['start']} – {row['end']}"
    if row["start"] > row["end"]:
        return f"period {span} ends before it starts", None, None
    month = row["month_start"].strftime("%Y-%m")
    return f"period {span} is not within one calendar month (periode {month}): bill each month apart", None, None


def _price_change(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    product = lookup.products[row["product"]]
    parts = [f"{_euro(p.amount)} " + (f"from {p.start}" if p.start > row["start"] else f"until {p.until}")
             for p in product.prices if p.start <= row["end"] and (p.until is None or p.until >= row["start"])]
    span = f"{row['start']} – {row['end']}"
    return (f"period {span} straddles a price change of {product.code} ({', '.join(parts) or 'no price'}): "
            "bill each part at its own price", None, None)


def _price(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    quote = lookup.price(row["product"], row["start"])
    assert quote is not None
    until = f" until {quote.until}" if quote.until else ""
    message = (f"tarief {_euro(from_cents(row['price_cents']))} but {_euro(quote.amount)} applies "
               f"from {quote.start}{until}")
    return message, from_cents(row["own_net"]), from_cents(row["catalogue_net"])


def _arithmetic(row: dict[str, Any], lookup: Lookup, mask: Mask) -> Described:
    per_unit = TICKS_PER_MINUTE if row["unit"] == "minuut" else TICKS_PER_HOUR
    quantity = format_quantity(Decimal(row["ticks"]) / per_unit)
    per = " / 60" if row["unit"] == "minuut" else ""
    gross = line_gross_cents(row["ticks"], row["price_cents"])
    sum_text = f"{quantity} × {_euro(from_cents(row['price_cents']))}{per} = {_euro(from_cents(gross))}"
    netted = _netted(row)
    if netted or (row["revenue_cents"] and _arithmetic_kind(row) == "netting"):
        sum_text += f" − opbrengst {_euro(from_cents(netted))} = {_euro(from_cents(gross - netted))}"
        if not row["nets"]:
            sum_text += f" ({row['product']} does not net revenue)"
    shown = f"bedrag_bruto {_euro(from_cents(row['gross_cents']))}" if _gross_wrong(row) else (
        f"bedrag {_euro(_amount(row))}")
    return f"{shown} but {sum_text}", _amount(row), from_cents(row["own_net"])


def _euro(amount: Decimal) -> str:
    return format_number(amount, 2)


LINE_RULES: dict[str, Callable[[dict[str, Any], Lookup, Mask], Described]] = {
    "product": _not_payable("unknown product code {productcode!r}"),
    "municipality": _not_payable("unknown municipality {gemeente!r}"),
    "not_member": _not_member,
    "not_for": _not_payable("{product} is not bought for {name}"),
    "no_price": _no_price,
    "bsn": _bsn,
    "period": _period,
    "price_change": _price_change,
    "price": _price,
    "amount": _arithmetic,
    "netting": _arithmetic,
    "credit": lambda row, lookup, mask: (
        f"negative quantity (a credit of {_euro(_amount(row))}) without a reference to the invoice it credits "
        "(give credit_van: the number of the credited invoice)", None, None),
}


# --- double billing, hours, totals -------------------------------------------------------------------

DOUBLE_KEYS = ["provider_key", "municipality_id", "bsn_key", "product", "month_start"]


def double_findings(lines: pl.DataFrame, options: CheckOptions, hours_given: bool) -> list[Discrepancy]:
    """The same client, product and month billed twice (overlapping days), on any invoice in any file."""
    if lines.is_empty():
        return []
    keyed = without_mirrored_credits(lines).with_columns(order=pl.int_range(pl.len()))
    keyed = keyed.filter(pl.struct(DOUBLE_KEYS).is_duplicated()).sort([*DOUBLE_KEYS, "start", "order"])
    marked = keyed.with_columns(
        previous_end=pl.col("end").cum_max().shift(1).over(DOUBLE_KEYS),
        first_file=pl.col("_file").first().over(DOUBLE_KEYS), first_line=pl.col("_line").first().over(DOUBLE_KEYS),
        first_invoice=pl.col("invoice").first().over(DOUBLE_KEYS),
    ).filter(pl.col("start") <= pl.col("previous_end"))
    return [_double(row, options.mask, hours_given) for row in marked.iter_rows(named=True)]


def without_mirrored_credits(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines less every credit line (one with ``credit_van``) and the debit line it mirrors: the line of the
    credited invoice with the same client, product, month and the opposite quantity and amount."""
    credits = lines.filter(pl.col("credits").is_not_null())
    if credits.is_empty():
        return lines
    mirror = ["provider_key", "bsn_key", "product", "month_start", "ticks", "amount_cents"]
    pairs = credits.select(pl.col("credits").alias("invoice"), *mirror[:-2], ticks=-pl.col("ticks"),
                           amount_cents=-pl.col("amount_cents")).with_columns(_mirrored=pl.lit(True))
    debits = lines.join(pairs.unique(), on=["invoice", *mirror], how="left", nulls_equal=False,
                        maintain_order="left").get_column("_mirrored").fill_null(False)
    return lines.filter(~debits & pl.col("credits").is_null())


def _double(row: dict[str, Any], mask: Mask, hours_given: bool) -> Discrepancy:
    where = f"line {row['first_line']}" if row["first_file"] == row["_file"] else (
        f"{row['first_file']}:{row['first_line']}")
    if row["first_invoice"] != row["invoice"]:
        where += f" (invoice {row['first_invoice']})"
    message = (f"possible double billing: client {mask(row['bsn_key'])}, {row['product']}, "
               f"{row['month_start'].strftime('%Y-%m')} is billed on {where} too")
    return Discrepancy(row["_file"], row["_line"], row["invoice"], "double", message, _amount(row), Decimal("0.00"),
                       counted=not hours_given and not row["blocked"])


ISSUED_KEYS = ["provider_key", "gemeentecode", "period", "bsn", "product"]


def issued_findings(lines: pl.DataFrame, issued: pl.DataFrame, options: CheckOptions) -> list[Discrepancy]:
    """Lines whose client, product and month are already on a live issued invoice with another number."""
    if lines.is_empty() or issued.is_empty():
        return []
    keyed = lines.with_columns(
        provider_key=identity.provider_key_expr(pl.col("provider")),
        gemeentecode=pl.col("municipality_id").cast(pl.String).str.pad_start(4, "0"),
        period=pl.col("month_start").dt.strftime("%Y-%m"), bsn=pl.col("bsn_key"))
    ledger = issued.select(provider_key=identity.provider_key_expr(pl.col("provider")), gemeentecode="gemeentecode",
                           period="period", bsn="bsn", product="product", issued_number="number").unique(ISSUED_KEYS)
    found = keyed.join(ledger, on=ISSUED_KEYS, how="inner").filter(pl.col("issued_number") != pl.col("invoice"))
    return [
        Discrepancy(row["_file"], row["_line"], row["invoice"], "issued",
                    f"double billing: client {options.mask(row['bsn'])}, {row['product']}, {row['period']} is "
                    f"already on issued invoice {row['issued_number']}", _amount(row), Decimal("0.00"),
                    counted=not row["blocked"])
        for row in found.iter_rows(named=True)
    ]


HOUR_KEYS = ["provider_key", "municipality_id", "period_id", "bsn_key", "product"]


def hour_findings(lines: pl.DataFrame, logged: LoggedHours, options: CheckOptions) -> list[Discrepancy]:
    """Billed quantity and LN034 revenue against the hour log, per provider, municipality, client, product and
    month: more or fewer hours than logged, and revenue the log has but the invoice left off (it would have
    been netted)."""
    payable = lines.filter(~pl.col("blocked")).with_columns(
        period_id=pl.col("month_start").dt.year() * 100 + pl.col("month_start").dt.month(),
        value=gross_cents_expr(pl.col("ticks"), pl.coalesce("catalogue_cents", "price_cents")))
    billed = payable.group_by(HOUR_KEYS).agg(
        billed_ticks=pl.col("ticks").sum(), billed_cents=pl.col("value").sum(),
        billed_revenue=pl.col("revenue_cents").fill_null(0).sum(), billed_amount=pl.col("amount_cents").sum(),
        _file=pl.col("_file").first(), _line=pl.col("_line").first(), invoice=pl.col("invoice").first())
    log = logged.sums
    covered = lines.select("provider_key", "municipality_id",
                           period_id=pl.col("month_start").dt.year() * 100 + pl.col("month_start").dt.month(),
                           cover_invoice="invoice", cover_file="_file").unique(HOUR_KEYS[:3], keep="first")
    log = log.join(covered, on=HOUR_KEYS[:3], how="inner")
    both = billed.join(log, on=HOUR_KEYS, how="full", coalesce=True).with_columns(
        pl.col("billed_ticks", "billed_cents", "billed_revenue", "billed_amount", "logged_ticks", "logged_cents",
               "logged_revenue", "logged_amount").fill_null(0))
    differing = both.filter(pl.col("billed_ticks") != pl.col("logged_ticks"))
    found = [_hours(row, options.mask) for row in differing.iter_rows(named=True)]
    short = both.filter((pl.col("billed_ticks") == pl.col("logged_ticks"))  # revenue left off that would be netted
                        & (pl.col("billed_revenue") < pl.col("logged_revenue"))
                        & (pl.col("billed_amount") > pl.col("logged_amount")))
    return found + [_revenue(row, options.mask) for row in short.iter_rows(named=True)]


def _revenue(row: dict[str, Any], mask: Mask) -> Discrepancy:
    period = f"{row['period_id'] // 100}-{row['period_id'] % 100:02d}"
    message = (f"client {mask(row['bsn_key'])}, {row['product']}, {period}: opbrengst "
               f"{_euro(from_cents(row['billed_revenue']))} billed but {_euro(from_cents(row['logged_revenue']))} "
               "logged: revenue left off the invoice is not netted")
    return Discrepancy(row["_file"], row["_line"], row["invoice"], "revenue", message,
                       from_cents(row["billed_amount"]), from_cents(row["logged_amount"]))


@dataclass(frozen=True)
class LoggedHours:
    """An hour log billed by ``mgr bill``'s own engine (without writing invoices), its lines summed per
    provider, municipality, month, client and product: ``logged_ticks``, ``logged_cents`` (the line amounts
    before netting), ``logged_revenue`` and ``logged_amount`` (after netting)."""

    rows_read: int
    rows_rejected: int
    problems: list[Problem]
    sums: pl.DataFrame


def log_hours(paths: Sequence[Path], lookup: Lookup, options: CheckOptions) -> LoggedHours:
    """Bill the hour logs with the billing engine (:func:`mgr_tariffs.billing.bill_tables`): the same reading,
    the same rules and the same lines as ``mgr bill``; its problems are reported as the hour log's."""
    bill_options = BillOptions(today=options.today, show_bsn=options.show_bsn, sheet=options.sheet,
                               selection=options.selection)
    tables = [read_table(path, sheet=options.sheet) for path in paths]
    result = bill_tables(tables, lookup, bill_options, lambda _: None)
    read_warnings = [p for t in tables for p in t.problems if not p.is_error]
    problems = [p.model_copy(update={"message": f"hour log: {p.message}"}) for p in (*result.errors, *read_warnings)]
    rejected = result.rows_read - len(result.rows)
    return LoggedHours(result.rows_read, rejected, problems, _hour_sums(result.lines))


def _hour_sums(lines: pl.DataFrame) -> pl.DataFrame:
    schema = {"provider_key": pl.String, "municipality_id": pl.Int64, "period_id": pl.Int64, "bsn_key": pl.String,
              "product": pl.String, "logged_ticks": pl.Int64, "logged_cents": pl.Int64, "logged_revenue": pl.Int64,
              "logged_amount": pl.Int64}
    if lines.is_empty():
        return pl.DataFrame(schema=schema)
    keyed = lines.with_columns(provider_key=identity.provider_key_expr(pl.col("provider")), bsn_key=pl.col("bsn"))
    sums = keyed.group_by("provider_key", "municipality_id", "period_id", "bsn_key", "product").agg(
        logged_ticks=pl.col("ticks").sum(), logged_cents=pl.col("gross_cents").sum(),
        logged_revenue=pl.col("revenue_cents").sum(), logged_amount=pl.col("amount_cents").sum())
    return sums.select(*schema).cast(schema)  # type: ignore[arg-type]


def _hours(row: dict[str, Any], mask: Mask) -> Discrepancy:
    billed, logged = (Decimal(row[k]) / TICKS_PER_HOUR for k in ("billed_ticks", "logged_ticks"))
    period = f"{row['period_id'] // 100}-{row['period_id'] % 100:02d}"
    what = "over-billed" if billed > logged else "under-billed"
    message = (f"client {mask(row['bsn_key'])}, {row['product']}, {period}: billed {format_quantity(billed)} uur, "
               f"logged {format_quantity(logged)} uur: {format_quantity(abs(billed - logged))} uur {what}")
    if row["billed_ticks"] == 0:
        message += " (logged but not on the invoice)"
    invoice = row["invoice"] if row["invoice"] is not None else row["cover_invoice"]
    file = row["_file"] if row["_file"] is not None else row["cover_file"]
    return Discrepancy(file, row["_line"], invoice, "hours", message, from_cents(row["billed_cents"]),
                       from_cents(row["logged_cents"]))


def total_findings(lines: pl.DataFrame, totals: pl.DataFrame | None) -> list[Discrepancy]:
    """The total an invoice states (a column, bill's JSON, or samenvatting.csv) against the sum of its lines."""
    sums = lines.with_columns(provider_key=identity.provider_key_expr(pl.col("provider"))).group_by(
        "provider_key", "invoice", maintain_order=True).agg(
        sum_cents=pl.col("amount_cents").sum(), _file=pl.col("_file").first(), _line=pl.col("_line").min(),
        total_cents=pl.col("total_cents").drop_nulls().first())
    wrong = sums.filter(pl.col("total_cents").is_not_null() & (pl.col("total_cents") != pl.col("sum_cents")))
    found = [_total(row["_file"], row["_line"], row["invoice"], row["total_cents"], row["sum_cents"])
             for row in wrong.iter_rows(named=True)]
    return found + _summary_totals(sums, totals)


def _summary_totals(sums: pl.DataFrame, totals: pl.DataFrame | None) -> list[Discrepancy]:
    if totals is None:
        return []
    stated = _parse(totals.with_columns(invoice=unneutralised("factuurnummer")), "totaal",
                    _money_rule("totaal"), "stated_cents", pl.Int64())
    keys = ["invoice"]
    if "aanbieder" in stated.columns:  # invoice numbers are unique per provider: match on the provider too
        keys.insert(0, "provider_key")
        stated = stated.with_columns(provider_key=identity.provider_key_expr(unneutralised("aanbieder")))
    joined = stated.join(sums.select(*keys, "sum_cents"), on=keys, how="inner")
    wrong = joined.filter(pl.col("stated_cents").is_not_null() & (pl.col("stated_cents") != pl.col("sum_cents")))
    return [_total(r["_file"], r["_line"], r["invoice"], r["stated_cents"], r["sum_cents"])
            for r in wrong.iter_rows(named=True)]


def _total(file: str, line: int | None, invoice: str, stated: int, summed: int) -> Discrepancy:
    message = f"invoice total {_euro(from_cents(stated))} but its lines add up to {_euro(from_cents(summed))}"
    return Discrepancy(file, line, invoice, "total", message, from_cents(stated), from_cents(summed))


# --- summary -------------------------------------------------------------------------------------------


def invoice_infos(lines: pl.DataFrame, lookup: Lookup) -> list[InvoiceInfo]:
    """The invoices the files hold, in the order they were found."""
    grouped = lines.with_columns(provider_key=identity.provider_key_expr(pl.col("provider"))).group_by(
        "provider_key", "invoice", maintain_order=True).agg(
        provider=pl.col("provider").first(), municipality=pl.col("gemeente").first(),
        municipality_id=pl.col("municipality_id").first(), first=pl.col("month_start").min(),
        last=pl.col("month_start").max(),
        files=pl.col("_file").unique(maintain_order=True), lines=pl.len(), billed=pl.col("amount_cents").sum())
    return [InvoiceInfo(r["invoice"], r["provider"], _name(r, lookup), _months(r["first"], r["last"]),
                        tuple(r["files"]), r["lines"], from_cents(r["billed"]))
            for r in grouped.iter_rows(named=True)]


def _months(first: dt.date, last: dt.date) -> str:
    return first.strftime("%Y-%m") if first == last else f"{first:%Y-%m} – {last:%Y-%m}"


def summarise(found: list[Discrepancy], lines: pl.DataFrame, files: int, unreadable: int,
              invoices: list[InvoiceInfo], logged: LoggedHours | None) -> CheckSummary:
    by_kind = {kind: sum(1 for d in found if d.kind == kind) for kind in KINDS}
    differences = [d.difference for d in found if d.counted and d.difference is not None]
    over = sum((d for d in differences if d > 0), Decimal("0.00"))
    under = -sum((d for d in differences if d < 0), Decimal("0.00"))
    return CheckSummary(
        files=files, invoices=len(invoices), lines_checked=len(lines) + unreadable, lines_unreadable=unreadable,
        discrepancies=len(found), by_kind={k: n for k, n in by_kind.items() if n},
        billed=from_cents(int(lines.get_column("amount_cents").sum() or 0)), over_billed=over, under_billed=under,
        hour_rows=logged.rows_read if logged else None,
        hour_rows_rejected=logged.rows_rejected if logged else None)
