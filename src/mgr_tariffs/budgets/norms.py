"""Duration norms: clients whose hours for a product go beyond the product's norm within a window.

A norm (catalogue, ``products[].norms``) says how long a product is expected to take, e.g. client support
"within two dagdelen (8 hours) per request" (Westfriesland, source 001). Hours beyond it are a **signal**, a
warning to report the reason to the municipality, never a rejection.

The window is the request (traject) when the log has a request column (:data:`REQUEST_COLUMN`) and the row a
value in it; otherwise a calendar window: the norm's own, or for a per-request norm the one asked for
(quarter by default). Hours are summed per provider, client, product and window from the rows the billing
engine accepted (:class:`~mgr_tariffs.billing.BillingResult` ``.rows``); a signal points at the row with which
the sum first goes beyond the norm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from mgr_tariffs.billing import BillingResult
from mgr_tariffs.bsn import mask
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.models import Norm, NormWindow
from mgr_tariffs.identity import provider_key
from mgr_tariffs.io.tables import Column, Table, read_table, resolve_columns
from mgr_tariffs.money import format_quantity
from mgr_tariffs.problems import Problem, Severity
from mgr_tariffs.quantity import TICKS_PER_HOUR

REQUEST_COLUMN = Column("traject", ("request", "aanvraag", "verzoek", "trajectnummer", "traject_id", "request_id"))
"""The optional log column naming the request (traject) a row belongs to."""
CALENDAR_WINDOWS = (NormWindow.MONTH, NormWindow.QUARTER, NormWindow.YEAR)
HEADER_SAMPLE = 64 * 1024


@dataclass(frozen=True)
class Signal:
    """One client beyond one norm in one window."""

    file: str
    line: int
    provider: str
    bsn: str
    product: str
    window: str  # "traject T-17", "2019-Q3", "2019-07" or "2019"
    first_day: str
    last_day: str
    ticks: int
    norm: Norm

    @property
    def hours(self) -> Decimal:
        return Decimal(self.ticks) / TICKS_PER_HOUR

    def message(self, show: Callable[[str], str] = mask) -> str:
        return (f"norm: client {show(self.bsn)} of {self.provider} has {format_quantity(self.hours)} hours of "
                f"{self.product} in {self.window} ({self.first_day} – {self.last_day}), more than the norm of "
                f"{format_quantity(self.norm.hours)} hours per {self.norm.per.value} ({self.norm.source})"
                f"{self._counted()}; "
                "report the reason to the municipality")

    def _counted(self) -> str:
        if self.norm.per is NormWindow.REQUEST and not self.window.startswith("traject "):
            return ", counted per calendar window as the rows name no request"
        return ""

    def problem(self, show: Callable[[str], str] = mask) -> Problem:
        """The signal as a warning with its place (built without re-validation: a large log may have many)."""
        return Problem.model_construct(file=self.file, line=self.line, message=self.message(show),
                                       severity=Severity.WARNING)

    def as_json(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "provider": self.provider, "bsn": self.bsn,
                "product": self.product, "window": self.window, "first_day": self.first_day,
                "last_day": self.last_day, "hours": f"{self.hours.normalize():f}",
                "norm_hours": f"{self.norm.hours.normalize():f}", "norm_per": self.norm.per.value,
                "norm_source": self.norm.source}


def request_frame(tables: Sequence[Table]) -> pl.DataFrame | None:
    """``_file``, ``_line`` and ``traject`` of the tables that have a request column; ``None`` when none has."""
    frames = []
    for table in tables:
        frame, _ = resolve_columns(table, [REQUEST_COLUMN])
        if table.frame.is_empty() or frame.get_column("traject").null_count() == len(frame):
            continue
        frames.append(frame.select(pl.lit(table.file).alias("_file"), pl.col("_line").cast(pl.Int64), "traject"))
    return pl.concat(frames) if frames else None


def norm_signals(rows: pl.DataFrame, lookup: Lookup, requests: pl.DataFrame | None = None,
                 window: NormWindow = NormWindow.QUARTER) -> list[Signal]:
    """Every client beyond a norm of its product, in file order (see the module's text)."""
    signals = [Signal(file=r["_file"], line=r["_line"], provider=r["provider"], bsn=str(r["bsn_id"]).zfill(9),
                      product=r["product"], window=_label(r["traject"], r["period"], norm, window),
                      first_day=r["first_day"].isoformat(), last_day=r["last_day"].isoformat(), ticks=r["total"],
                      norm=norm)
               for norm, over in _beyond_all(rows, lookup, requests, window) for r in over.iter_rows(named=True)]
    return sorted(signals, key=lambda s: (s.file, s.line))


def norm_warnings(rows: pl.DataFrame, lookup: Lookup, requests: pl.DataFrame | None = None,
                  window: NormWindow = NormWindow.QUARTER, show: Callable[[str], str] = mask) -> list[Problem]:
    """``[s.problem(show) for s in norm_signals(...)]``, the message worded once per distinct hours, BSN and
    window instead of once per signal: a million-row log has ten thousand signals (``mgr bill``)."""
    frames = []
    for norm, over in _beyond_all(rows, lookup, requests, window):
        label = _label_expr(norm, window)
        counted = (pl.lit(", counted per calendar window as the rows name no request")
                   if norm.per is NormWindow.REQUEST else pl.lit(""))
        counted = pl.when(label.str.starts_with("traject ")).then(pl.lit("")).otherwise(counted)
        hours = _per_distinct(over.get_column("total"),
                              lambda ticks: format_quantity(Decimal(ticks) / TICKS_PER_HOUR))
        shown = _per_distinct(over.get_column("bsn_id"), lambda number: show(str(number).zfill(9)))
        frames.append(over.select("_file", "_line", message=pl.format(
            "norm: client {} of {} has {} hours of {} in {} ({} – {}), more than the norm of {} hours per {} ({}){}; "
            "report the reason to the municipality", shown, "provider", hours, "product", label,
            pl.col("first_day").cast(pl.String), pl.col("last_day").cast(pl.String),
            pl.lit(format_quantity(norm.hours)), pl.lit(norm.per.value), pl.lit(norm.source), counted)))
    if not frames:
        return []
    found = pl.concat(frames).sort("_file", "_line", maintain_order=True)
    return [Problem.model_construct(file=file, line=line, message=message, severity=Severity.WARNING)
            for file, line, message in found.iter_rows()]


def _per_distinct(values: pl.Series, text: Callable[[int], str]) -> pl.Series:
    """``text`` of each value, worked out once per distinct value."""
    distinct = values.unique()
    return values.replace_strict(distinct, pl.Series([text(v) for v in distinct.to_list()], dtype=pl.String),
                                 return_dtype=pl.String)


def _beyond_all(rows: pl.DataFrame, lookup: Lookup, requests: pl.DataFrame | None,
                window: NormWindow) -> list[tuple[Norm, pl.DataFrame]]:
    """Per norm of the catalogue, the windows beyond it (:func:`_beyond`)."""
    if window not in CALENDAR_WINDOWS:
        raise ValueError(f"the fallback window must be one of {', '.join(w.value for w in CALENDAR_WINDOWS)}")
    normed = [(p.code, n) for p in lookup.catalogue.products for n in p.norms]
    if rows.is_empty() or not normed:
        return []

    def of(code: str) -> pl.DataFrame:  # one product's rows at a time: never a copy of all the rows with norms
        part = rows.filter(pl.col("product") == code).select(
            "_file", pl.col("_line").cast(pl.Int64), "date", "bsn_id", "provider", "product", "ticks")
        if requests is None:  # no traject column then: a text of millions of empty values
            return part
        return part.join(requests, on=["_file", "_line"], how="left", maintain_order="left")

    found = [(norm, _beyond(of(code), norm, window)) for code, norm in normed]
    return [(norm, over) for norm, over in found if not over.is_empty()]


def _period_expr(norm: Norm, fallback: NormWindow, requested: bool) -> pl.Expr:
    """The calendar window of a row as one integer (2019 * 10 + quarter, 2019 * 100 + month, or the year);
    -1 for a row counted by its request (``requested``: the rows have a ``traject`` column)."""
    calendar = norm.per if norm.per in CALENDAR_WINDOWS else fallback
    year = pl.col("date").dt.year().cast(pl.Int64)
    numbers = {NormWindow.YEAR: year, NormWindow.MONTH: year * 100 + pl.col("date").dt.month().cast(pl.Int64),
               NormWindow.QUARTER: year * 10 + pl.col("date").dt.quarter().cast(pl.Int64)}
    if norm.per is NormWindow.REQUEST and requested:
        return pl.when(pl.col("traject") != "").then(pl.lit(-1, pl.Int64)).otherwise(numbers[calendar])
    return numbers[calendar]


def _label(traject: str, period: int, norm: Norm, fallback: NormWindow) -> str:
    if traject and norm.per is NormWindow.REQUEST:
        return f"traject {traject}"
    calendar = norm.per if norm.per in CALENDAR_WINDOWS else fallback
    if calendar is NormWindow.QUARTER:
        return f"{period // 10}-Q{period % 10}"
    return f"{period // 100}-{period % 100:02d}" if calendar is NormWindow.MONTH else str(period)


def _label_expr(norm: Norm, fallback: NormWindow) -> pl.Expr:
    """:func:`_label` over the columns ``traject`` and ``period``."""
    calendar = norm.per if norm.per in CALENDAR_WINDOWS else fallback
    period = pl.col("period")
    if calendar is NormWindow.QUARTER:
        text = pl.format("{}-Q{}", period // 10, period % 10)
    elif calendar is NormWindow.MONTH:
        text = pl.format("{}-{}", period // 100, (period % 100).cast(pl.String).str.pad_start(2, "0"))
    else:
        text = period.cast(pl.String)
    if norm.per is NormWindow.REQUEST:
        return pl.when(pl.col("traject") != "").then(pl.format("traject {}", "traject")).otherwise(text)
    return text


def _beyond(rows: pl.DataFrame, norm: Norm, fallback: NormWindow) -> pl.DataFrame:
    """The windows beyond the norm, each at the row where the running sum first goes beyond it, with the window's
    total and first and last day. Totals per provider, client and window first (one pass); the running sum only for
    the windows beyond."""
    requested = "traject" in rows.columns
    keys = ["who", "bsn_id", "traject", "period"] if requested else ["who", "bsn_id", "period"]
    limit = int(norm.hours * TICKS_PER_HOUR)
    keys_of = {spelling: provider_key(spelling) for spelling in rows.get_column("provider").unique().to_list()}
    number = {key: i for i, key in enumerate(sorted(set(keys_of.values())))}
    who = pl.col("provider").replace_strict(  # a number per provider (its key's), not a text per row
        list(keys_of), [number[key] for key in keys_of.values()], return_dtype=pl.Int32)
    keyed = rows.with_columns(who=who, period=_period_expr(norm, fallback, requested))
    if requested:
        keyed = keyed.with_columns(traject=pl.col("traject").fill_null(""))
    beyond = keyed.group_by(keys).agg(total=pl.col("ticks").sum()).filter(pl.col("total") > limit)
    ordered = keyed.join(beyond, on=keys, how="inner").sort([*keys, "date", "_file", "_line"]).with_columns(
        running=pl.col("ticks").cum_sum().over(keys), first_day=pl.col("date").min().over(keys),
        last_day=pl.col("date").max().over(keys))
    over = ordered.filter(pl.col("running") > limit).unique(keys, keep="first", maintain_order=True)
    if not requested:
        over = over.with_columns(traject=pl.lit("", pl.String))
    return over.select("_file", "_line", "provider", "bsn_id", "product", "traject", "period", "first_day",
                       "last_day", "total")


def may_have_request_column(path: Path) -> bool:
    """Whether a log may carry a request column, from its first line only (a workbook: always), so that
    ``mgr bill`` reads a large CSV a second time only when it has one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEADER_SAMPLE)
    except OSError:
        return False
    if head.startswith(b"PK"):
        return True
    first = next((line for line in head.decode("utf-8", "replace").lstrip("\ufeff").splitlines() if line.strip()),
                 "")
    names = {n.casefold() for n in (REQUEST_COLUMN.name, *REQUEST_COLUMN.aliases)}
    for separator in (";", ",", "\t"):
        if any(part.strip().strip('"').strip().casefold() in names for part in first.split(separator)):
            return True
    return False


def with_norm_signals(result: BillingResult, paths: Sequence[Path], sheet: str | None = None,
                      show: Callable[[str], str] = mask) -> BillingResult:
    """The billing result with a warning for every norm signal of its rows (for ``mgr bill``)."""
    if result.rows.is_empty() or not any(p.norms for p in result.lookup.catalogue.products):
        return result
    tables = [read_table(p, sheet=sheet) for p in paths if may_have_request_column(p)]
    found = norm_warnings(result.rows, result.lookup, request_frame(tables), show=show)
    if not found:
        return result
    return dataclasses.replace(result, warnings=[*result.warnings, *found])
