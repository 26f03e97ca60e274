"""Indexation of tariffs: the index, the indexed price and which periods an indexation adds.

The VNG advises to index care tariffs by a weighted index, 90 % OVA (Overheidsbijdrage in de
Arbeidskostenontwikkeling) plus 10 % consumer prices (PPC): OVA 4,18 % and PPC 1,82 % give
0,9 x 4,18 + 0,1 x 1,82 = 3,944 %. The indexed price is ``base x (100 + percent) / 100``, exact, and then
rounded to cents the way the contract says: half-up, up (the national Wmo agreement) or down; with
precision 3 it is first rounded half-up to three decimals and only then to cents (Zeeland).

:func:`plan_indexation` works out, for every selected product, which period is closed and which price
is added (or, with ``replace``, which provisional figure is corrected); :mod:`mgr_tariffs.catalogue.edit`
writes that into the YAML. Nothing here reads or writes files.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from mgr_tariffs.catalogue.models import Catalogue, Indexation, Price, Product, Rounding
from mgr_tariffs.money import CENT, format_euro, format_number, round_cents

MILLI = Decimal("0.001")
MAX_AMOUNT = Decimal(1_000_000)
DEFAULT_WEIGHTS = (90, 10)
_WEIGHTS = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")
_MODES = {Rounding.UP: ROUND_UP, Rounding.DOWN: ROUND_DOWN}


class IndexationError(Exception):
    """An indexation that cannot be made; every reason, worded for a clerk."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


def parse_weights(text: str) -> tuple[int, int]:
    """``"90/10"`` as ``(90, 10)``; the two weights must add up to 100."""
    match = _WEIGHTS.match(text)
    if match is None:
        raise ValueError(f"weights {text!r}: write them as OVA/PPC in percent, e.g. 90/10")
    ova, ppc = int(match[1]), int(match[2])
    if ova + ppc != 100:
        raise ValueError(f"weights {text!r} add up to {ova + ppc}, not 100")
    return ova, ppc


def weighted_percent(ova: Decimal, ppc: Decimal, weights: tuple[int, int] = DEFAULT_WEIGHTS) -> Decimal:
    """The index weighted from its parts, exactly: 90/10 of OVA 4,18 and PPC 1,82 is 3,944."""
    return ((ova * weights[0] + ppc * weights[1]) / 100).normalize() + 0  # + 0 turns -0 into 0


def indexed_amount(base: Decimal, percent: Decimal, rounding: Rounding = Rounding.HALF_UP,
                   precision: int = 2) -> Decimal:
    """``base`` indexed by ``percent``, rounded to cents by ``rounding``.

    With ``precision`` 3 the exact result is first rounded half-up to three decimals, then to cents:
    € 47,04 + 3,42 % is exactly 48,648768; half-up and up give 48,65, down 48,64.
    """
    if precision not in (2, 3):
        raise ValueError(f"precision {precision}: choose 2 or 3")
    exact = base * (100 + percent) / 100
    if precision == 3:
        exact = exact.quantize(MILLI, rounding=ROUND_HALF_UP)
    if rounding is Rounding.HALF_UP:
        return round_cents(exact)
    return exact.quantize(CENT, rounding=_MODES[rounding])


def format_percent(percent: Decimal) -> str:
    """A percentage Dutch style without superfluous zeros: ``3,944 %``, ``3,42 %``, ``-0,5 %``."""
    normal = percent.normalize()
    exponent = normal.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{format_number(normal, places)} %"


def change_percent(old: Decimal, new: Decimal) -> Decimal:
    """How much ``new`` differs from ``old``, in percent, to three decimals (half-up)."""
    return ((new - old) * 100 / old).quantize(MILLI, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Index:
    """An index: a percentage, or OVA and PPC parts with their weights."""

    percent: Decimal
    ova: Decimal | None = None
    ppc: Decimal | None = None
    weights: tuple[int, int] | None = None

    @classmethod
    def of_parts(cls, ova: Decimal, ppc: Decimal, weights: tuple[int, int] = DEFAULT_WEIGHTS) -> Index:
        return cls(weighted_percent(ova, ppc, weights), ova, ppc, weights)

    def describe(self) -> str:
        """``3,944 % (90 % OVA 4,18 % + 10 % PPC 1,82 %)`` or ``3,42 %``."""
        if self.ova is None or self.ppc is None or self.weights is None:
            return format_percent(self.percent)
        return (f"{format_percent(self.percent)} ({self.weights[0]} % OVA {format_percent(self.ova)} + "
                f"{self.weights[1]} % PPC {format_percent(self.ppc)})")


@dataclass(frozen=True)
class IndexRequest:
    """What ``mgr tariffs index`` was asked: from when, by how much, how rounded, for which products."""

    start: dt.date
    index: Index
    today: dt.date
    rounding: Rounding = Rounding.HALF_UP
    precision: int = 2
    products: tuple[str, ...] = ()
    category: str | None = None
    note: str | None = None
    replace: bool = False


@dataclass(frozen=True)
class PeriodChange:
    """One product's part of an indexation: the period closed (if any) and the price added or corrected."""

    code: str
    start: dt.date
    base: Decimal
    amount: Decimal
    indexation: Indexation
    closes: Price | None = None
    replaces: Price | None = None

    def describe(self) -> str:
        """One line for the terminal, e.g. ``LN017 from 2027-01-01: € 48,60 -> € 50,27 (+3,944 %, ...)``."""
        index = self.indexation
        parts = Index(index.percent, index.ova, index.ppc,
                      parse_weights(index.weights) if index.weights else None).describe()
        how = f"{parts}, rounded {index.rounding.value}" + (", on 3 decimals" if index.precision == 3 else "")
        if self.replaces is not None:
            return (f"{self.code} from {self.start}: corrects {format_euro(self.replaces.amount)} to "
                    f"{format_euro(self.amount)} (base {format_euro(self.base)}, {how}; was "
                    f"{format_percent(self.replaces.indexation.percent) if self.replaces.indexation else '?'})")
        closed = f"; the period from {self.closes.start} now ends on {self.start - dt.timedelta(days=1)}" \
            if self.closes is not None else ""
        return f"{self.code} from {self.start}: {format_euro(self.base)} -> {format_euro(self.amount)} ({how}){closed}"


def select_products(catalogue: Catalogue, codes: Sequence[str], category: str | None) -> list[Product]:
    """The products an indexation is for: the codes given, one category, or all. Unknown names are errors."""
    if codes and category:
        raise IndexationError(["choose --products or --category, not both"])
    by_code = {p.code: p for p in catalogue.products}
    if codes:
        wanted = [c.strip().upper() for c in codes if c.strip()]
        unknown = [c for c in wanted if c not in by_code]
        if unknown:
            raise IndexationError([f"unknown product code {c!r}; the catalogue has {', '.join(by_code)}"
                                   for c in unknown])
        return [p for p in catalogue.products if p.code in wanted]
    if category:
        chosen = [p for p in catalogue.products if p.category == category.strip().upper()]
        if not chosen:
            known = ", ".join(c.code for c in catalogue.categories)
            raise IndexationError([f"no product in category {category!r} (categories: {known})"])
        return chosen
    return list(catalogue.products)


def plan_indexation(catalogue: Catalogue, request: IndexRequest) -> list[PeriodChange]:
    """Every product's change, or :class:`IndexationError` with every reason none can be made."""
    products = select_products(catalogue, request.products, request.category)
    changes: list[PeriodChange] = []
    reasons: list[str] = []
    for product in products:
        try:
            changes.append(_replace(product, request) if request.replace else _index(product, request))
        except IndexationError as exc:
            reasons += exc.reasons
    if reasons:
        raise IndexationError(reasons)
    return changes


def _index(product: Product, request: IndexRequest) -> PeriodChange:
    start = request.start
    if start <= request.today:
        raise IndexationError([f"{product.code}: --from {start} is not after today ({request.today}): the new "
                               "price would re-price service dates that may have been invoiced"])
    later = [p for p in product.prices if p.start >= start]
    if later:
        first = later[0]
        if first.start == start:
            raise IndexationError([f"{product.code} already has a price from {start} ({format_euro(first.amount)}): "
                                   "it was indexed from that date before; correct it with --replace"])
        raise IndexationError([f"{product.code} has a price from {first.start}, after --from {start}"])
    last = product.prices[-1]
    day_before = start - dt.timedelta(days=1)
    if last.until is not None and last.until != day_before:
        raise IndexationError([f"{product.code}: its last price ended on {last.until}; an indexation from {start} "
                               f"continues an open period or one that ends on {day_before}"])
    amount = _amount(product.code, last.amount, request)
    return PeriodChange(product.code, start, last.amount, amount, _provenance(last.amount, request),
                        closes=last if last.until is None else None)


def _replace(product: Product, request: IndexRequest) -> PeriodChange:
    start = request.start
    last = product.prices[-1]
    if last.start != start or last.indexation is None:
        raise IndexationError([f"{product.code} has no indexed price from {start} to replace"])
    if start <= request.today:
        raise IndexationError([f"{product.code}: the price from {start} has started (today is {request.today}); "
                               "invoices may carry it: catch up the difference in the next indexation instead"])
    base = last.indexation.base
    amount = _amount(product.code, base, request)
    provenance = _provenance(base, request).model_copy(
        update={"replaces": last.indexation.percent, "note": request.note or last.indexation.note})
    return PeriodChange(product.code, start, base, amount, provenance, replaces=last)


def _amount(code: str, base: Decimal, request: IndexRequest) -> Decimal:
    amount = indexed_amount(base, request.index.percent, request.rounding, request.precision)
    if not Decimal(0) < amount < MAX_AMOUNT:
        raise IndexationError([f"{code}: {format_euro(base)} indexed by {format_percent(request.index.percent)} "
                               f"gives {amount}, not a price"])
    return amount


def _provenance(base: Decimal, request: IndexRequest) -> Indexation:
    index = request.index
    weights = f"{index.weights[0]}/{index.weights[1]}" if index.weights else None
    return Indexation(base=base, percent=index.percent, ova=index.ova, ppc=index.ppc, weights=weights,
                      rounding=request.rounding, precision=2 if request.precision == 2 else 3,
                      note=request.note)


def provenance_problems(previous: Price | None, price: Price) -> list[str]:
    """What is wrong with a price's recorded indexation: the amount, the parts or the base do not add up."""
    index = price.indexation
    if index is None:
        return []
    problems = []
    parts = (index.ova, index.ppc)
    if (parts[0] is None) != (parts[1] is None) or (index.weights is not None and parts[0] is None):
        problems.append("indexation: give ova and ppc together, with weights, or neither")
    elif parts[0] is not None and parts[1] is not None:
        try:
            weights = parse_weights(index.weights or "90/10")
        except ValueError as exc:
            problems.append(f"indexation: {exc}")
        else:
            weighted = weighted_percent(parts[0], parts[1], weights)
            if weighted != index.percent:
                problems.append(f"indexation: percent {index.percent} is not {weights[0]} % of OVA {parts[0]} + "
                                f"{weights[1]} % of PPC {parts[1]} = {weighted}")
    expected = indexed_amount(index.base, index.percent, index.rounding, index.precision)
    if expected != price.amount:
        problems.append(f"indexation: {index.base} indexed by {index.percent} % and rounded {index.rounding.value} "
                        f"is {expected}, but the amount is {price.amount}")
    if previous is not None and previous.amount != index.base:
        problems.append(f"indexation: base {index.base} is not the price before, {previous.amount}")
    return problems
