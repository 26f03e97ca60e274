"""The hour log: its columns, and every row checked against the catalogue.

Validation is two kinds of small pure function:

* **field rules** look at one cell's text (a date, a BSN, a quantity, ...) and return the parsed
  value or the reason it is wrong. They run once per *distinct* text, in plain Python, and the
  results are mapped back onto the column; a million-row log has a few thousand distinct values.
* **row rules** relate fields of one row to the catalogue (membership on the date, the price in
  force, products not bought for a municipality, more than 24 hours on a day) and are Polars
  expressions over the whole frame.

Quantities become integer *ticks* of 1/3000 hour (1,2 s): hours with up to three decimals and
whole minutes both fit exactly, so amounts are computed in integer cents (:mod:`billing`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from mgr_tariffs import bsn
from mgr_tariffs.catalogue import membership, pricing
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.pricing import no_price_message
from mgr_tariffs.dates import parse_date
from mgr_tariffs.io.tables import Column
from mgr_tariffs.money import format_quantity, parse_decimal
from mgr_tariffs.quantity import HOUR_DECIMALS, TICKS_PER_HOUR, TICKS_PER_MINUTE, QuantityUnit, to_ticks
from mgr_tariffs.suggest import did_you_mean

MAX_DAY_TICKS = 24 * TICKS_PER_HOUR
MAX_ROW_HOURS = 24
REVENUE_DECIMALS = 2
MAX_REVENUE = Decimal(1_000_000)

COLUMNS = (
    Column("datum", ("date",), required=True),
    Column("bsn", ("client", "clientnummer", "burgerservicenummer"), required=True),
    Column("aanbieder", ("provider", "zorgaanbieder"), required=True),
    Column("gemeente", ("municipality",), required=True),
    Column("productcode", ("product", "code"), required=True),
    Column("uren", ("hours", "aantal_uren")),
    Column("minuten", ("minutes", "aantal_minuten")),
    Column("opbrengst", ("revenue",)),
)
QUANTITY_COLUMNS = ("uren", "minuten")

Parsed = tuple[Any, str | None]
"""A field rule's answer: the parsed value (None when wrong or empty) and the reason it is wrong."""


# --- field rules: one cell's text to a value or a reason -----------------------------------------

def parse_service_date(text: str) -> Parsed:
    """``yyyy-mm-dd`` or ``dd-mm-yyyy`` (:func:`mgr_tariffs.dates.parse_date`)."""
    return parse_date(text, "datum")


_DURATION = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")


def parse_quantity(text: str, unit: str) -> Parsed:
    """Hours (at most three decimals, more than 0, at most 24) or whole minutes, as ticks. Hours may be a
    duration ``1:30`` (an Excel ``[u]:mm`` cell): whole minutes."""
    name = "uren" if unit == "uur" else "minuten"
    duration = _DURATION.match(text.strip()) if unit == "uur" else None
    if duration:
        return _duration_ticks(text, duration)
    return _decimal_quantity(text, unit, name)


def _decimal_quantity(text: str, unit: str, name: str) -> Parsed:
    value = parse_decimal(text)
    if value is None:
        return None, _not_a_quantity(text, name)
    if value <= 0:
        return None, f"{name} {text!r} must be more than zero" if value == 0 else f"{name} {text!r} is negative"
    hours = value if unit == "uur" else value / 60
    if hours > MAX_ROW_HOURS:
        return None, f"{name} {text!r} is more than 24 hours"
    if unit == "uur" and value != value.quantize(Decimal(1).scaleb(-HOUR_DECIMALS)):
        return None, f"uren {text!r} has more than {HOUR_DECIMALS} decimals"
    if unit == "minuut" and value != value.to_integral_value():
        return None, f"minuten {text!r} must be a whole number of minutes"
    return to_ticks(value, QuantityUnit(unit)), None


def _duration_ticks(text: str, found: re.Match[str]) -> Parsed:
    hours, minutes, seconds = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    if seconds:
        return None, f"uren {text!r} is not a whole number of minutes"
    ticks = hours * TICKS_PER_HOUR + minutes * TICKS_PER_MINUTE
    if ticks == 0:
        return None, f"uren {text!r} must be more than zero"
    if ticks > MAX_ROW_HOURS * TICKS_PER_HOUR:
        return None, f"uren {text!r} is more than 24 hours"
    return ticks, None


def _not_a_quantity(text: str, name: str) -> str:
    if text.strip().lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        return f"{name} {text!r} is not a finite number"
    return f"{name} {text!r} is not a number"


def parse_revenue(text: str) -> Parsed:
    """An amount of at least 0,00 with at most two decimals, in cents."""
    value = parse_decimal(text)
    if value is None:
        return None, f"opbrengst {text!r} is not an amount"
    if value < 0:
        return None, f"opbrengst {text!r} is negative"
    if value > MAX_REVENUE:
        return None, f"opbrengst {text!r} is more than € 1.000.000,00 for one row"
    if value != value.quantize(Decimal("0.01")):
        return None, f"opbrengst {text!r} has more than two decimals"
    return int(value * 100), None


@dataclass(frozen=True)
class ManyRule:
    """A field rule over a whole column of distinct texts: (values, reasons) as two series."""

    parse: Callable[[pl.Series], tuple[pl.Series, pl.Series]]


Rule = Callable[[str], Parsed] | ManyRule


def field_rules(lookup: Lookup, unit: str, mask: Callable[[str], str]) -> dict[str, Rule]:
    """Per log column: the rule that turns its text into a value."""
    def product(text: str) -> Parsed:
        code = text.strip().upper()
        if code in lookup.products:
            return code, None
        return None, f"unknown product code {text!r}{did_you_mean(code, lookup.products)}"

    def municipality(text: str) -> Parsed:
        found = lookup.municipality(text)
        if found:
            return int(found.code), None
        names = [m.name for m in lookup.catalogue.municipalities]
        return None, f"unknown municipality {text!r}{did_you_mean(text, names)}"

    return {
        "datum": parse_service_date,
        "bsn": ManyRule(lambda texts: bsn.parse_many(texts, mask)),
        "productcode": product,
        "gemeente": municipality,
        "uren" if unit == "uur" else "minuten": lambda text: parse_quantity(text, unit),
        "opbrengst": parse_revenue,
    }


FIELD_OUTPUT = {"datum": ("date", pl.Date), "bsn": ("bsn_id", pl.Int64), "productcode": ("product", pl.String),
                "gemeente": ("municipality_id", pl.Int32), "uren": ("ticks", pl.Int64),
                "minuten": ("ticks", pl.Int64), "opbrengst": ("revenue_cents", pl.Int64)}
REQUIRED_FIELDS = {"datum", "bsn", "productcode", "gemeente", "uren", "minuten", "aanbieder"}


def apply_field_rules(frame: pl.DataFrame, rules: dict[str, Rule]) -> pl.DataFrame:
    """Run each column's rule once per distinct text; add its value column, and its reason column
    (``why_<column>``) only when some row of the column has a reason: a clean column adds none.

    Each row's text becomes the number of its distinct value (a cast to a Categorical with a
    category list of its own: one hash lookup per row, all columns at once), and the value and the
    reason are gathered by that number: the category list is the distinct texts in number order.
    """
    categories = {c: pl.Categories.random() for c in rules}  # one private category list per column
    coded = frame.select(pl.col(c).cast(pl.Categorical(categories[c])) for c in rules)
    texts = {c: categories[c].to_series() for c in rules}  # read while ``coded`` keeps the lists alive
    which = coded.select(pl.all().to_physical().cast(pl.UInt32))
    added = [column for c, rule in rules.items() for column in _field_columns(c, rule, texts[c], which.get_column(c))]
    frame = frame.with_columns(added)
    return frame.with_columns(_missing(c) for c in rules if _reason_column(c) in frame.columns)


def _field_columns(column: str, rule: Rule, distinct: pl.Series, which: pl.Series) -> list[pl.Series]:
    output, dtype = FIELD_OUTPUT[column]
    if isinstance(rule, ManyRule):  # a whole column at once (the BSN: tens of thousands of distinct clients)
        stripped = distinct.str.strip_chars()
        many_values, many_reasons = rule.parse(stripped.replace("", None))
        values = many_values.cast(dtype).alias(output).gather(which)
        reasons = many_reasons.alias(_reason_column(column))
    else:
        answers = [rule(text.strip()) if text.strip() else (None, None) for text in distinct.to_list()]
        values = pl.Series(output, [a[0] for a in answers], dtype=dtype).gather(which)
        reasons = pl.Series(_reason_column(column), [a[1] for a in answers], dtype=pl.String)
    if reasons.null_count() < len(reasons):
        return [values, reasons.gather(which)]
    if column in REQUIRED_FIELDS and values.null_count():  # empty cells: reasons "is missing", filled in later
        return [values, pl.repeat(None, len(which), dtype=pl.String, eager=True).alias(reasons.name)]
    return [values]


def _reason_column(column: str) -> str:
    return "why_quantity" if column in QUANTITY_COLUMNS else f"why_{column}"


def _missing(column: str) -> pl.Expr:
    """A required field without a value and without a reason was empty: it is missing."""
    reason = _reason_column(column)
    missing = f"{column} is missing" if column in REQUIRED_FIELDS else None
    return (pl.when(pl.col(FIELD_OUTPUT[column][0]).is_null() & pl.col(reason).is_null())
            .then(pl.lit(missing, pl.String)).otherwise(pl.col(reason)).alias(reason))


def quantity_unit(header: Sequence[str]) -> str:
    """``uur`` or ``minuut``: the unit of the quantity column in a log's header (as in the file)."""
    minutes = next(c for c in COLUMNS if c.name == "minuten")
    names = {name.lower() for name in (minutes.name, *minutes.aliases)}
    return "minuut" if any(column.strip().lower() in names for column in header) else "uur"


def prepare(frame: pl.DataFrame, lookup: Lookup, unit: str, mask: Callable[[str], str]) -> pl.DataFrame:
    """Typed columns, and the field reasons of the columns that have any, from the text columns of one log."""
    for column in ("opbrengst", "uren" if unit == "uur" else "minuten"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    frame = apply_field_rules(frame, field_rules(lookup, unit, mask))
    frame = frame.with_columns(provider=pl.col("aanbieder"), unit=pl.lit(unit))  # a table's values are stripped
    no_provider = pl.col("provider").fill_null("") == ""
    if not frame.select(no_provider.any()).item():
        return frame
    return frame.with_columns(why_aanbieder=pl.when(no_provider).then(pl.lit("aanbieder is missing")))


FIELD_REASONS = ["why_datum", "why_bsn", "why_aanbieder", "why_productcode", "why_gemeente", "why_quantity",
                 "why_opbrengst"]


# --- row rules: fields of one row against the catalogue -------------------------------------------


@dataclass(frozen=True)
class RowRules:
    """The rules that relate the fields of a row to each other and to the catalogue."""

    lookup: Lookup
    today: dt.date

    def catalogue_columns(self, frame: pl.DataFrame) -> list[pl.Series]:
        """The catalogue's answers for every row: price in force, membership, not bought, nets revenue."""
        catalogue = self.lookup.catalogue
        nets = [p.code for p in catalogue.products if p.nets_revenue]
        return [pricing.price_cents_of(frame, catalogue), membership.member_of(frame, catalogue).alias("_member"),
                membership.excluded_of(frame, catalogue).alias("_excluded"),
                frame.get_column("product").is_in(nets).alias("_nets")]

    def flags(self) -> dict[str, pl.Expr]:
        """Rule name -> "the row breaks it" (only where the fields it needs are valid), over the catalogue
        columns of :meth:`catalogue_columns`."""
        has_day = pl.col("date").is_not_null()
        return {
            "future": pl.col("date") > self.today,
            "not_member": has_day & pl.col("municipality_id").is_not_null() & ~pl.col("_member"),
            "not_for": pl.col("municipality_id").is_not_null() & pl.col("_excluded"),
            "no_price": has_day & pl.col("product").is_not_null() & pl.col("price_cents").is_null(),
            "over_24h": has_day & (pl.col("day_ticks") > MAX_DAY_TICKS),
            "revenue_not_allowed": (pl.col("revenue_cents").fill_null(0) > 0) & ~pl.col("_nets"),
        }


ROW_MESSAGES: dict[str, Callable[[dict[str, Any], Lookup, Callable[[str], str]], str]] = {
    "future": lambda r, lk, m: f"datum {r['date']} lies in the future",
    "not_member": lambda r, lk, m: f"{_name(r, lk)} was not a member of the MGR on {r['date']}",
    "not_for": lambda r, lk, m: f"{r['product']} is not bought for {_name(r, lk)}",
    "no_price": lambda r, lk, m: _no_price(r, lk),
    "over_24h": lambda r, lk, m: (f"client {m(str(r['bsn_id']).zfill(9))} has "
                                  f"{format_quantity(Decimal(r['day_ticks']) / TICKS_PER_HOUR)} hours on {r['date']}: "
                                  "more than 24 in one day"),
    "revenue_not_allowed": lambda r, lk, m: (f"opbrengst on {r['product']}: only a product with netting "
                                             "(arbeidsmatige dagbesteding, LN034) takes revenue"),
}


def _name(row: dict[str, Any], lookup: Lookup) -> str:
    found = lookup.municipality(str(row["municipality_id"]).zfill(4))
    return found.name if found else str(row["gemeente"])


def _no_price(row: dict[str, Any], lookup: Lookup) -> str:
    return no_price_message(lookup.products[row["product"]], row["date"])


def with_catalogue(typed: pl.DataFrame, rules: RowRules) -> pl.DataFrame:
    """The catalogue's answers (:meth:`RowRules.catalogue_columns`) and the client-day key of every row. They depend
    on the row alone, so a large log gets them block by block, which keeps the temporary columns small."""
    return typed.with_columns(*rules.catalogue_columns(typed), client_day=client_day_key())


def check_rows(typed: pl.DataFrame, rules: RowRules) -> pl.DataFrame:
    """Add the price, the client's hours and rows that day (null when one row), and ``x_<rule>`` per row rule
    (the catalogue's answers are worked out here unless :func:`with_catalogue` gave them already)."""
    priced = typed if "client_day" in typed.columns else with_catalogue(typed, rules)
    return flag_rows(priced, day_totals([priced]), rules)


def day_totals(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """``client_day``, ``day_ticks`` and ``day_rows`` of every client-day with more than one row in ``frames``
    together (the blocks of a log, the logs of a run): only those can be over 24 hours or hold a duplicate."""
    keys = frames[0].get_column("client_day") if len(frames) == 1 else pl.concat(
        [f.get_column("client_day") for f in frames])
    repeated = _repeated(keys).implode()
    del keys
    shared = pl.concat([f.select("client_day", "ticks").filter(pl.col("client_day").is_in(repeated)) for f in frames])
    return shared.group_by("client_day").agg(day_ticks=pl.col("ticks").sum(), day_rows=pl.len())


def flag_rows(priced: pl.DataFrame, day: pl.DataFrame, rules: RowRules) -> pl.DataFrame:
    """The rows of :func:`with_catalogue` with their client-day totals (:func:`day_totals`) and ``x_<rule>`` flags."""
    keys = day.get_column("client_day")
    joined = priced.with_columns(  # two columns looked up, not a join that may copy every column of the rows
        pl.col("client_day").replace_strict(keys, day.get_column(c), default=None).alias(c)
        for c in ("day_ticks", "day_rows"))
    flags = rules.flags()
    flagged = joined.with_columns(*(expr.fill_null(False).alias(f"x_{name}") for name, expr in flags.items()))
    return flagged.drop("_member", "_excluded", "_nets")


def _repeated(keys: pl.Series) -> pl.Series:
    """The keys that occur more than once, found by sorting (a single row is never over 24 hours by itself)."""
    ordered = keys.drop_nulls().sort()
    return ordered.filter(ordered == ordered.shift(1)).unique()


def client_day_key() -> pl.Expr:
    """One integer per client and day (BSN x 10^6 + day number), cheap to group by."""
    return pl.col("bsn_id") * 1_000_000 + pl.col("date").cast(pl.Int64) + 500_000


def row_flag_columns() -> list[str]:
    return [f"x_{name}" for name in ROW_MESSAGES]


def reasons(row: dict[str, Any], lookup: Lookup, mask: Callable[[str], str]) -> list[str]:
    """Every reason one row is rejected, worded for a clerk: field reasons first, then row rules."""
    found = [row[c] for c in FIELD_REASONS if row.get(c)]
    return found + [message(row, lookup, mask) for name, message in ROW_MESSAGES.items() if row.get(f"x_{name}")]
