"""The allocation rules of :mod:`.rules` over Polars frames: the bulk path of ``mgr bill`` and ``mgr allocations``.

:func:`register_frame` is a register as columns; :func:`month_use_frame` assigns every billed row (the rows of
``billing.engine``, :data:`~mgr_tariffs.billing.engine.ROW_COLUMNS`) to its allocation with one as-of join on the
key (client, provider key, municipality, product) and the start date, and sums the use per allocation and month;
:func:`allowed_in_month_expr` and :func:`allowed_total_expr` are the allowed volumes as expressions.
``tests/test_allocations_properties.py`` holds each equal to its plain-Python rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from mgr_tariffs.allocations import rules
from mgr_tariffs.allocations.model import Allocation, Frequency
from mgr_tariffs.allocations.table import register_table
from mgr_tariffs.identity import provider_key
from mgr_tariffs.money import gross_cents_expr, net_cents_expr

KEY = ["bsn_id", "provider_key", "municipality_id", "product"]
USE_SCHEMA: dict[str, pl.DataType] = {"number": pl.String(), "period_id": pl.Int64(), "earlier": pl.Int64(),
                                      "current": pl.Int64(), "price_cents": pl.Int64()}


def register_frame(allocations: Sequence[Allocation]) -> pl.DataFrame:
    """The allocations as columns (:data:`~mgr_tariffs.allocations.table.REGISTER_SCHEMA`); a budget has frequency
    ``null``; ``index`` is the position in the register."""
    return register_table(allocations)


def assign_frame(register: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``date, bsn_id, provider, municipality_id, product`` at least) in their order with ``number`` (the
    covering allocation, or null) and ``ended`` (the allocation of the key that ended before the date, or null).

    The as-of join is by the BSN and one integer packing municipality, provider and product (the provider's rank
    looked up once per spelling)."""
    providers = sorted(set(register.get_column("provider_key").unique().to_list()))
    products = sorted(set(register.get_column("product").unique().to_list()))
    spellings = rows.get_column("provider").unique().drop_nulls().to_list()
    rank = {key: i for i, key in enumerate(providers)}
    left = rows.select(
        "date", _bsn=pl.col("bsn_id").cast(pl.Int64), _key=_packed(
            pl.col("municipality_id"), pl.col("provider"), pl.col("product"), spellings,
            [rank.get(provider_key(s)) for s in spellings], products)).with_columns(
        _row=pl.int_range(pl.len(), dtype=pl.UInt32))
    right = register.select(pl.col("index").alias("_index"), pl.col("start").alias("date"),
                            pl.col("end").alias("_end"), _bsn=pl.col("bsn_id"), _key=_packed(
        pl.col("municipality_id"), pl.col("provider_key"), pl.col("product"), providers, list(range(len(providers))),
        products))
    joined = left.drop_nulls("_key").sort("date").join_asof(right.sort("date"), on="date", by=["_bsn", "_key"],
                                                            strategy="backward", check_sortedness=False)
    covered = pl.col("_end").is_null() | (pl.col("date") <= pl.col("_end"))
    found = joined.select("_row", _allocation=pl.when(covered).then(pl.col("_index")),
                          _ended=pl.when(~covered).then(pl.col("_index")))
    allocation, ended = (_placed(found.get_column("_row"), found.get_column(c), rows.height)
                         for c in ("_allocation", "_ended"))
    numbers = register.get_column("number")
    return rows.with_columns(number=_gather(numbers, allocation), ended=_gather(numbers, ended),
                             _allocation=allocation)


def _placed(at: pl.Series, values: pl.Series, height: int) -> pl.Series:
    """``values`` put back at the rows ``at`` (the others null): a scatter rather than a sort back."""
    placed = pl.Series(values.name, dtype=values.dtype).extend_constant(None, height)
    return placed.scatter(at, values) if values.null_count() < len(values) else placed


def _gather(values: pl.Series, index: pl.Series) -> pl.Series:
    """``values[index]`` with null where the index is null."""
    if index.null_count() == len(index):
        return pl.Series(values.name, dtype=values.dtype).extend_constant(None, len(index))
    return values.gather(index)


def _packed(municipality: pl.Expr, provider: pl.Expr, product: pl.Expr, names: list[str],
            ranks: list[int | None], products: list[str]) -> pl.Expr:
    """Municipality code | provider rank (24 bits; ``ranks`` of ``names``) | product rank (16 bits) in one integer,
    or null when the provider or product is not in the register (then no allocation covers the row)."""
    provider_rank = provider.replace_strict(names, ranks, default=None, return_dtype=pl.Int64)
    product_rank = product.replace_strict(products, list(range(len(products))), default=None, return_dtype=pl.Int64)
    return (municipality.cast(pl.Int64) * 2**24 + provider_rank) * 2**16 + product_rank


def month_use_frame(register: pl.DataFrame, rows: pl.DataFrame, earlier: pl.DataFrame | None = None
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`.rules.month_use` over frames: the rows with ``number, ended, _allocation`` (the index of the
    covering allocation) and the use per allocation and month (:data:`USE_SCHEMA` and ``index``, sorted on number
    and month)."""
    assigned, use = month_use_by_index(register, rows, earlier)
    use = use.with_columns(number=_gather(register.get_column("number"), use.get_column("index")))
    return assigned, use.select(*USE_SCHEMA, "index").sort("number", "period_id")


def month_use_by_index(register: pl.DataFrame, rows: pl.DataFrame, earlier: pl.DataFrame | None = None
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`month_use_frame` without the numbers: the use per allocation and month as ``index, period_id,
    earlier, current, price_cents``, sorted on index and month (what the bulk path works on)."""
    assigned = assign_frame(register, rows)
    use = _use(register, assigned, "current").with_columns(earlier=pl.lit(0, pl.Int64))
    merged = earlier is not None and not earlier.is_empty()
    if earlier is not None and merged:
        before = _use(register, assign_frame(register, earlier), "earlier").with_columns(
            current=pl.lit(0, pl.Int64), price_cents=pl.lit(None, pl.Int64))
        use = pl.concat([use, before.select(use.columns)]).group_by("index", "period_id").agg(
            earlier=pl.col("earlier").sum(), current=pl.col("current").sum(),
            price_cents=pl.col("price_cents").max())
    use = use.select("index", "period_id", *(pl.col(c).fill_null(0).cast(pl.Int64) for c in (
        "earlier", "current", "price_cents")))
    return assigned, use.sort("index", "period_id") if merged else use  # _use's are sorted already


def _use(register: pl.DataFrame, assigned: pl.DataFrame, slot: str) -> pl.DataFrame:
    """The use per allocation and month (``index, period_id``, ``slot`` and the highest price; sorted on index and
    month): ticks for time;
    for euros each part of a line (its rows of one month, price and unit) priced and netted. Grouped on one
    integer, ``index × 2¹⁶ + month number``; an allocation counts either time or euros, so the two kinds of rows
    are summed apart."""
    month = pl.col("date").dt.year().cast(pl.Int64) * 12 + pl.col("date").dt.month().cast(pl.Int64) - 1
    money = _gather(register.get_column("in_money"), assigned.get_column("_allocation"))
    keyed = assigned.select(pl.col("_allocation").cast(pl.Int64) * 2**16 + month, "ticks", "price_cents",
                            _money=money).rename({"_allocation": "_key"})
    price = pl.col("price_cents").max() if slot == "current" else pl.lit(0, pl.Int64)
    times = keyed.filter(~pl.col("_money")).group_by("_key").agg(pl.col("ticks").sum().alias(slot),
                                                                 price.alias("price_cents"))
    parts = [times]
    if money.any():
        rows = assigned.select("unit", pl.col("revenue_cents").fill_null(0)).with_columns(keyed).filter(
            pl.col("_money"))
        segments = rows.group_by("_key", "price_cents", "unit").agg(
            ticks=pl.col("ticks").sum(), revenue=pl.col("revenue_cents").sum())
        gross = gross_cents_expr(pl.col("ticks"), pl.col("price_cents"))
        segments = segments.with_columns(gross=gross).select(
            "_key", "price_cents", measure=pl.col("gross") - net_cents_expr(pl.col("gross"), pl.col("revenue"),
                                                                            pl.lit(True)))
        parts.append(segments.group_by("_key").agg(pl.col("measure").sum().alias(slot), price.alias("price_cents")))
    use = pl.concat(parts).sort("_key")
    months = pl.col("_key") % 2**16
    return use.select((pl.col("_key") // 2**16).cast(pl.UInt32).alias("index"),
                      (months // 12 * 100 + months % 12 + 1).alias("period_id"), slot, "price_cents")


# --- allowed volumes as expressions --------------------------------------------------------------


def _monday(day: pl.Expr) -> pl.Expr:
    return day - pl.duration(days=day.dt.weekday() - 1)


def _weeks(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """ISO calendar weeks touched by ``first..last``: Mondays apart / 7 + 1."""
    return (_monday(last) - _monday(first)).dt.total_days() // 7 + 1


def _days(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    return (last - first).dt.total_days() + 1


def _months(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    def index(day: pl.Expr) -> pl.Expr:
        return day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64)
    return index(last) - index(first) + 1


def allowed_in_month_expr() -> pl.Expr:
    """:func:`.rules.allowed_in_month` over columns ``start, end, amount, frequency, period_id``."""
    year, month = pl.col("period_id") // 100, pl.col("period_id") % 100
    first = pl.date(year, month, 1)
    last = first.dt.month_end()
    start = pl.max_horizontal(first, pl.col("start"))
    end = pl.when(pl.col("end").is_null()).then(last).otherwise(pl.min_horizontal(last, pl.col("end")))
    frequency = pl.col("frequency")
    count = (pl.when(frequency == Frequency.WEEK.value).then(_weeks(start, end))
             .when(frequency == Frequency.DAY.value).then(_days(start, end)).otherwise(1))
    limited = frequency.is_in([Frequency.WEEK.value, Frequency.DAY.value, Frequency.MONTH.value])
    return (pl.when(~limited.fill_null(False)).then(None).when(start > end).then(0)
            .otherwise(count * pl.col("amount")).cast(pl.Int64))


WEEK_OFFSET = 7 * 10**6
"""Days added before taking a weekday, so that the remainder is of a positive number (1970-01-01 was a Thursday)."""


def allowed_in_month(table: pl.DataFrame) -> pl.Series:
    """:func:`allowed_in_month_expr` in steps (each intermediate once, as a column), for a large table: the month
    and the allocation's period as day numbers (since 1970-01-01), the month's first and last day looked up once
    per month, the weeks as Mondays apart / 7 + 1."""
    periods = table.get_column("period_id").unique().drop_nulls().to_list()
    epoch = dt.date(1970, 1, 1)
    bounds = [tuple((day - epoch).days for day in rules.month_bounds(p)) for p in periods]
    first = pl.col("period_id").replace_strict(periods, [b[0] for b in bounds], default=None, return_dtype=pl.Int64)
    last = pl.col("period_id").replace_strict(periods, [b[1] for b in bounds], default=None, return_dtype=pl.Int64)
    days = table.select("frequency", "amount", _first=first, _last=last, _start=pl.col("start").cast(pl.Int64),
                        _end=pl.col("end").cast(pl.Int64))
    days = days.select("frequency", "amount", _from=pl.max_horizontal("_first", "_start"),
                       _to=pl.min_horizontal(pl.col("_last"), pl.col("_end").fill_null(pl.col("_last"))))

    def monday(day: pl.Expr) -> pl.Expr:
        return day - (day + 3 + WEEK_OFFSET) % 7

    frequency = pl.col("frequency")
    count = (pl.when(frequency == Frequency.WEEK.value).then((monday(pl.col("_to")) - monday(pl.col("_from"))) // 7
                                                              + 1)
             .when(frequency == Frequency.DAY.value).then(pl.col("_to") - pl.col("_from") + 1).otherwise(1))
    limited = frequency.is_in([Frequency.WEEK.value, Frequency.DAY.value, Frequency.MONTH.value]).fill_null(False)
    return days.select(pl.when(~limited).then(None).when(pl.col("_from") > pl.col("_to")).then(0)
                       .otherwise(count * pl.col("amount")).cast(pl.Int64).alias("allowed")).to_series()


def allowed_total_expr() -> pl.Expr:
    """:func:`.rules.allowed_total` over columns ``start, end, amount, frequency``."""
    frequency, start, end = pl.col("frequency"), pl.col("start"), pl.col("end")
    count = (pl.when(frequency == Frequency.WEEK.value).then(_weeks(start, end))
             .when(frequency == Frequency.DAY.value).then(_days(start, end)).otherwise(_months(start, end)))
    whole = frequency.is_null() | (frequency == Frequency.TOTAL.value)
    return (pl.when(whole).then(pl.col("amount")).when(end.is_null()).then(None)
            .otherwise(count * pl.col("amount")).cast(pl.Int64))


def billable_expr(by: str = "number") -> pl.Expr:
    """:func:`.rules.billable` over columns ``allowed, earlier, current, total`` and ``by`` (the allocation), the
    months of each allocation in order and together: its total spent month by month is
    ``min(what is left, the months' room so far)``.

    Sums per allocation are global running sums less their value where the allocation starts (no windows)."""
    first = pl.col(by).ne_missing(pl.col(by).shift(1))
    last = pl.col(by).ne_missing(pl.col(by).shift(-1))

    def running(value: pl.Expr) -> pl.Expr:
        total = value.cum_sum()
        return total - pl.when(first).then(total - value).forward_fill()

    def whole(value: pl.Expr) -> pl.Expr:
        return pl.when(last).then(running(value)).backward_fill()

    room = pl.when(pl.col("allowed").is_null()).then(pl.col("current")).otherwise(
        pl.min_horizontal(pl.col("current"), (pl.col("allowed") - pl.col("earlier")).clip(0)))
    left = (pl.col("total") - whole(pl.col("earlier"))).clip(0)
    spent = pl.min_horizontal(left, running(room))
    capped = spent - pl.when(first).then(0).otherwise(spent.shift(1))
    return pl.when(pl.col("total").is_null()).then(room).otherwise(capped).cast(pl.Int64)


def billable(table: pl.DataFrame, by: str = "number") -> pl.Series:
    """:func:`billable_expr` in steps (each intermediate once, as a column), for a large table."""
    first = pl.col(by).ne_missing(pl.col(by).shift(1))
    last = pl.col(by).ne_missing(pl.col(by).shift(-1))
    steps = table.select("allowed", "earlier", "current", "total", _first=first, _last=last)

    def running(name: str) -> pl.Expr:
        return pl.col(f"_sum_{name}") - pl.when("_first").then(pl.col(f"_sum_{name}") - pl.col(name)).forward_fill()

    steps = steps.with_columns(room=pl.when(pl.col("allowed").is_null()).then(pl.col("current")).otherwise(
        pl.min_horizontal(pl.col("current"), (pl.col("allowed") - pl.col("earlier")).clip(0))),
        _sum_earlier=pl.col("earlier").cum_sum())
    steps = steps.with_columns(_sum_room=pl.col("room").cum_sum())
    steps = steps.with_columns(_run_earlier=running("earlier"), _run_room=running("room"))
    steps = steps.with_columns(_whole_earlier=pl.when("_last").then(pl.col("_run_earlier")).backward_fill())
    steps = steps.with_columns(_spent=pl.min_horizontal((pl.col("total") - pl.col("_whole_earlier")).clip(0),
                                                        pl.col("_run_room")))
    capped = pl.col("_spent") - pl.when("_first").then(0).otherwise(pl.col("_spent").shift(1))
    return steps.select(pl.when(pl.col("total").is_null()).then(pl.col("room")).otherwise(capped).cast(pl.Int64)
                        .alias("billable")).to_series()
