"""Read an allocation register: CSV or ``.xlsx`` (the dialects of the hour logs) or iWmo WMO301 messages.

One row per allocation; columns are matched case-insensitively, Dutch names canonical, English aliases accepted
(:data:`COLUMNS`). Every problem comes back with its file and line, all at once: a missing or wrong field, volume
and budget both or neither, an end before the start, an unknown product or municipality, a product the
municipality does not buy (``not_for`` in the catalogue), a BSN failing the elfproef, a number used twice, and
overlapping allocations of one client, provider and product. A register with errors gives no allocations.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from mgr_tariffs import bsn
from mgr_tariffs.allocations import wmo301
from mgr_tariffs.allocations.model import (
    FREQUENCY_NAMES,
    UNIT_NAMES,
    Allocation,
    Fields,
    Frequency,
    Register,
    Unit,
)
from mgr_tariffs.allocations.table import REGISTER_SCHEMA, allocations_of, register_table
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.membership import excluded_of
from mgr_tariffs.dates import parse_date
from mgr_tariffs.identity import provider_key, provider_key_expr
from mgr_tariffs.io.tables import MAX_PROBLEMS, Column, Table, read_table, resolve_columns
from mgr_tariffs.money import decimals, parse_decimal
from mgr_tariffs.problems import Problem, error, has_errors, sort_problems

COLUMNS = (
    Column("toewijzingnummer", ("toewijzing", "allocation", "allocation_number", "number", "nummer"), required=True),
    Column("bsn", ("client", "clientnummer", "burgerservicenummer"), required=True),
    Column("aanbieder", ("provider", "zorgaanbieder"), required=True),
    Column("gemeente", ("municipality",), required=True),
    Column("productcode", ("product", "code"), required=True),
    Column("ingangsdatum", ("start", "begindatum", "start_date", "van"), required=True),
    Column("einddatum", ("end", "end_date", "tot", "tot_en_met")),
    Column("volume", ("omvang",)),
    Column("eenheid", ("unit",)),
    Column("frequentie", ("frequency",)),
    Column("budget", ()),
    Column("wet", ("law",)),
    Column("reden_wijziging", ("reason", "redenwijziging")),
    Column("commentaar", ("comment", "opmerking")),
)
MAX_AMOUNT = Decimal(99_999_999)
"""The largest volume or budget (euros) a register may hold: the iWmo LDT_Volume maximum."""


@dataclass(frozen=True)
class RegisterResult:
    """The register (``None`` when it has errors) and every problem found."""

    register: Register | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.register is not None and not has_errors(self.problems)


def read_register(paths: Sequence[Path], lookup: Lookup, *, xsd_dir: Path | None = None,
                  agb_names: Mapping[str, str] | None = None, sheet: str | None = None) -> RegisterResult:
    """Read and check registers (CSV, XLSX or WMO301 XML, told apart by content). Raises
    :class:`~mgr_tariffs.problems.InputError` only for a file that cannot be read at all, or for a WMO301 message
    when ``xsd_dir`` (the iWmo XSD folder) is not given."""
    problems: list[Problem] = []
    frames: list[pl.DataFrame] = []
    for path in map(Path, paths):
        if wmo301.is_xml(path):
            entries, found_problems = wmo301.read_wmo301(path, xsd_dir, agb_names or {})
            frames.append(entries_frame(entries))
        else:
            table = read_table(path, sheet=sheet)
            frame, found_problems = table_frame(table)
            frames.append(frame)
        problems += found_problems
    allocations, row_problems = parse_frame(pl.concat(frames, how="vertical_relaxed"), lookup)
    problems += row_problems + bounded(duplicates_of(allocations)) + bounded(overlaps_of(allocations))
    problems = sort_problems(problems)
    register = Register(allocations, tuple(str(p) for p in paths))
    return RegisterResult(None if has_errors(problems) else register, problems)


NAMES = [c.name for c in COLUMNS]
FRAME_SCHEMA = {"_file": pl.String, "_line": pl.Int64, **dict.fromkeys(NAMES, pl.String)}


def table_frame(table: Table) -> tuple[pl.DataFrame, list[Problem]]:
    """The rows of a register table as a frame (``_file, _line`` and :data:`NAMES`), with the table's and the
    header's problems (no rows when the header is wrong)."""
    frame, problems = resolve_columns(table, COLUMNS)
    problems = [*table.problems, *problems]
    if any(p.is_error and p.line in (None, table.header_line) for p in problems):
        return pl.DataFrame(schema=FRAME_SCHEMA), problems
    if table.rows_read == 0:
        empty = error(table.file, table.header_line, "the register has no allocations")
        return pl.DataFrame(schema=FRAME_SCHEMA), [*problems, empty]
    return frame.select(pl.lit(table.file).alias("_file"), pl.col("_line").cast(pl.Int64), *NAMES), problems


def entries_frame(entries: Sequence[Fields]) -> pl.DataFrame:
    """Register cells (from WMO301 messages) as a frame like :func:`table_frame`'s."""
    return pl.DataFrame([(e.file, e.line, *(e.get(n) for n in NAMES)) for e in entries], schema=FRAME_SCHEMA,
                        orient="row")


def parse_frame(frame: pl.DataFrame, lookup: Lookup) -> tuple[pl.DataFrame, list[Problem]]:
    """:func:`parse_allocation` over every row of a frame, as columns: the register table
    (:data:`~mgr_tariffs.allocations.model.REGISTER_SCHEMA`) of the rows without problems and the problems of the
    others, in row order. The checks are column expressions (a missing cell, the elfproef by
    :func:`mgr_tariffs.bsn.valid_expr`, end before start, ``not_for`` by
    :func:`mgr_tariffs.catalogue.membership.excluded_of`, the provider key by
    :func:`mgr_tariffs.identity.provider_key_expr`); the rules that read a text run once per distinct text (or
    combination of texts) and are joined back; only rows with problems are visited one by one. A property test
    holds the two equal."""
    if frame.is_empty():
        return register_table([]), []
    frame = frame.with_columns(pl.when(pl.col(n) != "").then(pl.col(n)).alias(n) for n in NAMES)
    columns: dict[str, pl.Series] = {}
    reasons: dict[str, pl.Series] = {}
    objects: dict[str, dict[str, Any]] = {"gemeente": {}, "productcode": {}}
    for name in ("toewijzingnummer", "aanbieder"):
        columns[name] = frame.get_column(name)
        reasons[name] = frame.select(pl.when(pl.col(name).is_null()).then(pl.lit(f"{name} is missing"))).to_series()
    columns["bsn"], reasons["bsn"] = _bsn_column(frame.get_column("bsn"))
    for name in ("gemeente", "productcode", "ingangsdatum", "einddatum", "wet"):
        rule, texts = _FIELD_RULES[name], frame.get_column(name)
        distinct = texts.unique().to_list()
        found = [rule(text, lookup) for text in distinct]
        values = [_plain(name, value, objects) for value, _ in found]
        columns[name] = _mapped(texts, distinct, values, _DTYPES[name])
        reasons[name] = _mapped(texts, distinct, [r for _, r in found], pl.String())
    start, end = columns["ingangsdatum"], columns["einddatum"]
    period = pl.select(pl.when(end < start).then(pl.format("einddatum {} is before ingangsdatum {}", end.cast(
        pl.String), start.cast(pl.String)))).to_series()
    pairs = pl.DataFrame({"product": columns["productcode"],
                          "municipality_id": columns["gemeente"].cast(pl.Int64, strict=False)})
    flagged = pairs.filter(excluded_of(pairs, lookup.catalogue)).unique()
    by_code = {int(code): municipality for code, municipality in objects["gemeente"].items()}
    excluded_text = [(p, m, f"{by_code[m].name} does not buy {p} ({objects['productcode'][p].name}): not_for in "
                            "the catalogue") for p, m in flagged.iter_rows()]
    excluded = pairs.join(pl.DataFrame(excluded_text, schema={"product": pl.String, "municipality_id": pl.Int64,
                                                              "_text": pl.String}, orient="row"),
                          on=["product", "municipality_id"], how="left", maintain_order="left").get_column("_text")
    sizes = _sizes(frame.select("volume", "budget", "eenheid", "frequentie", _open=end.is_null()))
    ordered = [reasons[n] for n in ("toewijzingnummer", "bsn", "aanbieder", "gemeente", "productcode",
                                    "ingangsdatum", "einddatum", "wet")]
    return _assemble(frame, columns, [*ordered, period.alias("period"), excluded], sizes)


SIZE_KEY = ["volume", "budget", "eenheid", "frequentie", "_open"]
SIZE_SCHEMA: dict[str, pl.DataType] = {"_amount": pl.Int64(), "_unit": pl.String(), "_frequency": pl.String(),
                                       "_size_reasons": pl.List(pl.String())}


def _sizes(keys: pl.DataFrame) -> pl.DataFrame:
    """:func:`_size` of every row (``volume, budget, eenheid, frequentie, _open``), once per distinct combination:
    the measure (a volume's, or a budget's cents), unit and frequency, and the reasons."""
    distinct = keys.unique()
    found = []
    for key in distinct.iter_rows():
        volume, budget, reasons = _size(*key)
        amount, unit, frequency = volume if volume else (budget, None, None)
        found.append((amount, unit.value if unit else None, frequency.value if frequency else None, reasons))
    table = pl.concat([distinct, pl.DataFrame(found, schema=SIZE_SCHEMA, orient="row")], how="horizontal")
    return keys.join(table, on=SIZE_KEY, how="left", nulls_equal=True, maintain_order="left").drop(SIZE_KEY)


def _bsn_column(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The BSN column by :func:`mgr_tariffs.bsn.normalise_expr` and :func:`~mgr_tariffs.bsn.valid_expr` (the
    elfproef over the column); the reason for the others by :func:`mgr_tariffs.bsn.parse`, once per text."""
    checked = texts.to_frame("t").select(padded=bsn.normalise_expr(pl.col("t"))).with_columns(
        ok=bsn.valid_expr(pl.col("padded")))
    ok = checked.get_column("ok")
    values = pl.select(pl.when(ok).then(checked.get_column("padded").cast(pl.Int64, strict=False))).to_series()
    wrong = texts.filter(~ok).unique().to_list()
    found = [_bsn(text or None, None) for text in wrong]  # type: ignore[arg-type]
    return values, _mapped(texts, wrong, [r for _, r in found], pl.String()) if wrong else pl.Series(
        [None] * len(texts), dtype=pl.String)


_DTYPES: dict[str, pl.DataType] = {"toewijzingnummer": pl.String(), "bsn": pl.Int64(), "aanbieder": pl.String(),
                                   "gemeente": pl.String(), "productcode": pl.String(), "ingangsdatum": pl.Date(),
                                   "einddatum": pl.Date(), "volume": pl.String(), "budget": pl.String(),
                                   "wet": pl.String()}


def _plain(name: str, value: Any, objects: dict[str, dict[str, Any]]) -> Any:
    """A parsed value as a column can hold it: a municipality or product by its code (kept in ``objects``)."""
    if name in objects and value is not None:
        objects[name][value.code] = value
        return value.code
    return value


def _mapped(texts: pl.Series, distinct: list[Any], values: list[Any], dtype: pl.DataType) -> pl.Series:
    table = pl.DataFrame({"_text": pl.Series(distinct, dtype=pl.String), "_value": pl.Series(values, dtype=dtype)})
    return texts.to_frame("_text").join(table, on="_text", how="left", nulls_equal=True,
                                        maintain_order="left").get_column("_value")


def _assemble(frame: pl.DataFrame, columns: dict[str, pl.Series], reasons: list[pl.Series],
              sizes: pl.DataFrame) -> tuple[pl.DataFrame, list[Problem]]:
    """The table of the rows without problems, and the problems of the others (the first
    :data:`~mgr_tariffs.io.tables.MAX_PROBLEMS` rows with problems, the rest counted)."""
    names = [f"_r{i}" for i in range(len(reasons))]
    work = pl.concat([frame.select("_file", "_line", "reden_wijziging", "commentaar"),
                      pl.DataFrame([s.alias(n) for n, s in columns.items()]),
                      pl.DataFrame([s.alias(n) for n, s in zip(names, reasons, strict=True)]), sizes],
                     how="horizontal")
    bad = pl.any_horizontal(*(pl.col(n).is_not_null() for n in names)) | (pl.col("_size_reasons").list.len() > 0)
    work = work.with_columns(_bad=bad)
    wrong = work.filter(pl.col("_bad"))
    problems = []
    for row in wrong.head(MAX_PROBLEMS).select("_file", "_line", *names, "_size_reasons").iter_rows():
        file, line, *found, size_reasons = row
        problems += [error(file, line, reason) for reason in [*found, *size_reasons] if reason is not None]
    if wrong.height > MAX_PROBLEMS:
        file, line = wrong.row(MAX_PROBLEMS)[:2]
        problems.append(error(file, line, f"{wrong.height - MAX_PROBLEMS:,} more allocations with problems from "
                              f"this line on are not listed (only the first {MAX_PROBLEMS:,})"))
    table = work.filter(~pl.col("_bad")).select(
        number="toewijzingnummer", bsn_id="bsn", provider="aanbieder", provider_key=provider_key_expr(
            pl.col("aanbieder")), municipality_id=pl.col("gemeente").cast(pl.Int64), product="productcode",
        start="ingangsdatum", end="einddatum", amount="_amount", unit="_unit", frequency="_frequency",
        in_money=pl.col("_unit").is_null() | (pl.col("_unit") == Unit.EURO.value), law="wet",
        reason="reden_wijziging", comment="commentaar", file="_file", line="_line",
        index=pl.int_range(pl.len(), dtype=pl.UInt32))
    return table.cast(REGISTER_SCHEMA), problems  # type: ignore[arg-type]


Cache = dict[tuple[Any, ...], Any]


def parse_allocation(entry: Fields, lookup: Lookup, cache: Cache | None = None
                     ) -> tuple[Allocation | None, list[Problem]]:
    """One allocation from its cells, or every reason it is not one. Each rule runs once per distinct text (or
    combination of texts) when ``cache`` is given: a register has few distinct dates, products and sizes."""
    known: Cache = {} if cache is None else cache
    reasons: list[str] = []
    parsed: dict[str, Any] = {}
    for name, rule in _FIELD_RULES.items():
        text = entry.get(name)
        key = (name, text)
        if key not in known:
            known[key] = rule(text, lookup)
        value, reason = known[key]
        parsed[name] = value
        if reason:
            reasons.append(reason)
    reasons += _relations(entry, parsed, lookup, known)
    if reasons:
        return None, [error(entry.file, entry.line, reason) for reason in reasons]
    volume: tuple[int, Unit, Frequency] | None = parsed["volume"]
    amount, unit, frequency = volume if volume else (parsed["budget"], None, None)
    provider = parsed["aanbieder"]
    return Allocation(
        number=parsed["toewijzingnummer"], bsn_id=parsed["bsn"], provider=provider,
        provider_key=_once(known, ("key", provider), lambda: provider_key(provider)),
        municipality_id=int(parsed["gemeente"].code), product=parsed["productcode"].code,
        start=parsed["ingangsdatum"], end=parsed["einddatum"], amount=amount, unit=unit, frequency=frequency,
        law=parsed["wet"], reason=entry.get("reden_wijziging"), comment=entry.get("commentaar"), file=entry.file,
        line=entry.line), []


def _once(cache: Cache, key: tuple[Any, ...], work: Any) -> Any:
    if key in cache:
        return cache[key]
    value = cache[key] = work()
    return value


Parsed = tuple[Any, str | None]


def _required(name: str, text: str | None) -> str | None:
    return None if text else f"{name} is missing"


def _number(text: str | None, _: Lookup) -> Parsed:
    return text, _required("toewijzingnummer", text)


def _bsn(text: str | None, _: Lookup) -> Parsed:
    if not text:
        return None, "bsn is missing"
    return bsn.parse(text)


def _provider(text: str | None, _: Lookup) -> Parsed:
    return text, _required("aanbieder", text)


def _municipality(text: str | None, lookup: Lookup) -> Parsed:
    if not text:
        return None, "gemeente is missing"
    found = lookup.municipality(text)
    return (found, None) if found else (None, f"unknown municipality {text!r}")


def _product(text: str | None, lookup: Lookup) -> Parsed:
    if not text:
        return None, "productcode is missing"
    found = lookup.products.get(text.strip().upper())
    return (found, None) if found else (None, f"unknown product code {text!r}; the catalogue has "
                                              f"{', '.join(sorted(lookup.products))}")


def _date(name: str, required: bool) -> Any:
    def rule(text: str | None, _: Lookup) -> Parsed:
        if not text:
            return None, f"{name} is missing" if required else None
        return parse_date(text.split("T")[0].split(" ")[0], name)
    return rule


LAWS = {"wmo": "Wmo", "participatiewet": "Participatiewet"}


def _law(text: str | None, _: Lookup) -> Parsed:
    """The law the allocation was granted under (optional): ``Wmo`` or ``Participatiewet``."""
    if not text:
        return None, None
    law = LAWS.get(text.strip().lower())
    return (law, None) if law else (None, f"wet {text!r} is not known (Wmo or Participatiewet)")


def _ignore(text: str | None, _: Lookup) -> Parsed:
    return text, None


_FIELD_RULES = {
    "toewijzingnummer": _number, "bsn": _bsn, "aanbieder": _provider, "gemeente": _municipality,
    "productcode": _product, "ingangsdatum": _date("ingangsdatum", True), "einddatum": _date("einddatum", False),
    "volume": _ignore, "budget": _ignore, "wet": _law,
}


def _relations(entry: Fields, parsed: dict[str, Any], lookup: Lookup, cache: Cache) -> list[str]:
    """The rules between fields: the period, volume or budget, the product bought for the municipality."""
    reasons = []
    start: dt.date | None = parsed["ingangsdatum"]
    end: dt.date | None = parsed["einddatum"]
    if start and end and end < start:
        reasons.append(f"einddatum {end.isoformat()} is before ingangsdatum {start.isoformat()}")
    product, municipality = parsed["productcode"], parsed["gemeente"]
    if product and municipality and _once(cache, ("excluded", product.code, municipality.code),
                                          lambda: lookup.excluded(product, municipality)):
        reasons.append(f"{municipality.name} does not buy {product.code} ({product.name}): not_for in the catalogue")
    volume, budget, unit, frequency = (entry.get(n) for n in ("volume", "budget", "eenheid", "frequentie"))
    size = _once(cache, ("size", volume, budget, unit, frequency, end is None),
                 lambda: _size(volume, budget, unit, frequency, end is None))
    parsed["volume"], parsed["budget"] = size[0], size[1]
    size_reasons: list[str] = size[2]
    return reasons + size_reasons


def _size(volume: str | None, budget: str | None, unit: str | None, frequency: str | None, open_end: bool
          ) -> tuple[tuple[int, Unit, Frequency] | None, int | None, list[str]]:
    """Volume (with unit and frequency) or budget: exactly one of them, and right."""
    if volume and budget:
        return None, None, ["volume and budget both given: an allocation has one of them"]
    if not volume and not budget:
        return None, None, ["volume or budget is missing: an allocation has one of them"]
    if volume:
        found, reasons = _volume(volume, unit, frequency, open_end)
        return found, None, reasons
    cents, reasons = _budget(budget or "", unit, frequency, open_end)
    return None, cents, reasons


def _amount(name: str, text: str) -> tuple[Decimal | None, str | None]:
    value = parse_decimal(text)
    if value is None:
        return None, f"{name} {text!r} is not a number"
    if value <= 0:
        return None, f"{name} {text!r} must be more than zero"
    if value > MAX_AMOUNT:
        return None, f"{name} {text!r} is more than {MAX_AMOUNT:,}"
    return value, None


def _volume(text: str, unit_text: str | None, frequency_text: str | None, open_end: bool
            ) -> tuple[tuple[int, Unit, Frequency] | None, list[str]]:
    reasons = []
    value, reason = _amount("volume", text)
    unit = UNIT_NAMES.get(unit_text.lower()) if unit_text else None
    frequency = FREQUENCY_NAMES.get(frequency_text.lower()) if frequency_text else None
    if reason:
        reasons.append(reason)
    if unit_text is None:
        reasons.append("eenheid is missing: a volume needs one (uur, minuut, dagdeel or euro)")
    elif unit is None:
        reasons.append(f"eenheid {unit_text!r} is not known (uur, minuut, dagdeel, euro or WJ756 01, 04, 16, 83)")
    if frequency_text is None:
        reasons.append("frequentie is missing: a volume needs one (dag, week, maand or totaal)")
    elif frequency is None:
        reasons.append(f"frequentie {frequency_text!r} is not known (dag, week, maand, totaal or WMO757 1, 2, 4, 6)")
    if frequency is Frequency.WEEK and open_end:
        reasons.append("einddatum is missing: an allocation per week must have one (iWmo: Verplicht)")
    if value is None or unit is None or frequency is None or reasons:
        return None, reasons
    measure = value * unit.per_unit
    if measure != measure.to_integral_value():
        exact = "two decimals" if unit.is_money else "a whole number of 1,2 seconds"
        return None, [f"volume {text!r} {unit.value} is not exact: at most {exact}"]
    return (int(measure), unit, frequency), []


def _budget(text: str, unit: str | None, frequency: str | None, open_end: bool) -> tuple[int | None, list[str]]:
    reasons = []
    value, reason = _amount("budget", text)
    if reason:
        reasons.append(reason)
    elif value is not None and decimals(value) > 2:
        reasons.append(f"budget {text!r} has more than two decimals")
    for name, given in (("eenheid", unit), ("frequentie", frequency)):
        if given:
            reasons.append(f"{name} belongs to a volume, not to a budget")
    if open_end:
        reasons.append("einddatum is missing: an allocation with a budget must have one")
    return (None if reasons or value is None else int(value * 100)), reasons


Found = tuple[str, int | None, str]
"""A problem before it is made: file, line, message (a register may have very many)."""


def bounded(found: Iterable[Found]) -> list[Problem]:
    """The first :data:`~mgr_tariffs.io.tables.MAX_PROBLEMS` as problems, the rest counted in one more."""
    problems: list[Problem] = []
    rest, first = 0, None
    for file, line, message in found:
        if len(problems) < MAX_PROBLEMS:
            problems.append(error(file, line, message))
        else:
            rest += 1
            first = first or (file, line)
    if first is not None:
        problems.append(error(first[0], first[1], f"{rest:,} more problems of this kind from this line on are not "
                              f"listed (only the first {MAX_PROBLEMS:,})"))
    return problems


def duplicate_numbers(allocations: Sequence[Allocation]) -> Iterator[Found]:
    """A toewijzingnummer used twice: the second and further uses (the plain-Python reference of
    :func:`duplicates_of`)."""
    first: dict[str, Allocation] = {}
    for allocation in allocations:
        seen = first.setdefault(allocation.number, allocation)
        if seen is not allocation:
            yield _duplicate(allocation, seen)


def duplicates_of(table: pl.DataFrame) -> list[Found]:
    """:func:`duplicate_numbers` over a register table: the rows whose number an earlier row has."""
    found = table.select("index", _first=pl.col("index").min().over("number")).filter(
        pl.col("index") != pl.col("_first"))
    if found.is_empty():
        return []
    at = _objects(table, [*found.get_column("index").to_list(), *found.get_column("_first").to_list()])
    return [_duplicate(at[i], at[first]) for i, first in found.iter_rows()]


def _duplicate(allocation: Allocation, seen: Allocation) -> Found:
    return (allocation.file, allocation.line,
            f"toewijzingnummer {allocation.number!r} is used before, {_where(seen, allocation)}")


def overlaps(allocations: Sequence[Allocation]) -> Iterator[Found]:
    """Allocations of one client, provider and product whose periods overlap: one problem at the later one (the
    plain-Python reference of :func:`overlaps_of`)."""
    groups: dict[tuple[int, str, str], list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        groups[(allocation.bsn_id, allocation.provider_key, allocation.product)].append(allocation)
    for items in groups.values():
        ordered = sorted(items, key=lambda a: (a.start, a.file, a.line or 0))
        reach: Allocation | None = None
        for allocation in ordered:
            if reach is not None and (reach.end is None or allocation.start <= reach.end):
                yield _overlap(allocation, reach)
            if reach is None or (reach.end is not None and (allocation.end is None or allocation.end > reach.end)):
                reach = allocation


OPEN_END = 2**40
"""An open end as a number of days: after every date."""


def overlaps_of(table: pl.DataFrame) -> list[Found]:
    """:func:`overlaps` over a register table, in the same order. Sorted on client, provider, product, start, file
    and line, the *reach* before a row is the earliest row of its group with the latest end so far (an open end
    the latest): a running maximum of ``group × 2⁴¹ + end`` (the group number lifts each group above the ones
    before it). A row that starts on or before that end overlaps it."""
    group = ["bsn_id", "provider_key", "product"]
    ends = pl.col("end").cast(pl.Int64).fill_null(OPEN_END)
    ordered = table.select("index", "start", "file", pl.col("line").fill_null(0), *group, _end=ends).sort(
        *group, "start", "file", "line", "index")
    first = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in group)
    ordered = ordered.with_columns(_g=first.cast(pl.Int64).cum_sum() * 2**41)
    ordered = ordered.with_columns(_cum=(pl.col("_g") + pl.col("_end")).cum_max())
    changed = pl.col("_cum").ne_missing(pl.col("_cum").shift(1))
    ordered = ordered.with_columns(_reach=pl.when(changed).then(pl.col("index")).forward_fill())
    same = pl.col("_g") == pl.col("_g").shift(1)
    reach_end = pl.col("_cum").shift(1) - pl.col("_g")
    found = ordered.with_columns(_before=pl.col("_reach").shift(1)).filter(same & (
        (reach_end == OPEN_END) | (pl.col("start").cast(pl.Int64) <= reach_end)))
    if found.is_empty():
        return []
    firsts = ordered.group_by("_g").agg(_first=pl.col("index").min())
    found = found.join(firsts, on="_g").sort("_first", "start", "file", "line", "index").select("index", "_before")
    at = _objects(table, [*found.get_column("index").to_list(), *found.get_column("_before").to_list()])
    return [_overlap(at[i], at[reach]) for i, reach in found.iter_rows()]


def _overlap(allocation: Allocation, reach: Allocation) -> Found:
    until = reach.end.isoformat() if reach.end else "open end"
    return (allocation.file, allocation.line, (
        f"allocation {allocation.number} ({allocation.start.isoformat()} – "
        f"{allocation.end.isoformat() if allocation.end else 'open end'}) overlaps allocation "
        f"{reach.number} ({reach.start.isoformat()} – {until}, {_where(reach, allocation)}) of the "
        f"same client, provider and product"))


def _objects(table: pl.DataFrame, indices: Iterable[int]) -> dict[int, Allocation]:
    """The allocations at these rows of a register table, by index."""
    wanted = sorted(set(indices))
    return dict(zip(wanted, allocations_of(table[wanted]), strict=True))


def _where(seen: Allocation, here: Allocation) -> str:
    return f"line {seen.line}" if seen.file == here.file else f"{seen.file}:{seen.line}"
