"""The catalogue rules: each one a small pure function from the loaded items to problems.

A rule gets the items that passed their shape check, each with its position in the file, and a
``where`` function that turns a path into a line. It returns problems and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from mgr_tariffs.catalogue.indexation import provenance_problems
from mgr_tariffs.catalogue.membership import normalise_name
from mgr_tariffs.catalogue.models import Catalogue, Municipality, Product
from mgr_tariffs.problems import Problem, error, warning

T = TypeVar("T")
MAX_PRICE = Decimal(1_000_000)
"""Prices must stay below this (a tariff of a million euros is a typing error, and keeps formatting exact)."""
Where = Callable[[tuple[str | int, ...]], int | None]


@dataclass(frozen=True)
class Item(Generic[T]):
    """A validated list item and its index in the file's list."""

    index: int
    value: T


class Period(Protocol):
    @property
    def start(self) -> dt.date: ...
    @property
    def until(self) -> dt.date | None: ...


@dataclass(frozen=True)
class Context:
    file: str
    where: Where
    catalogue: Catalogue
    products: Sequence[Item[Product]]
    municipalities: Sequence[Item[Municipality]]

    def problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        return error(self.file, self.where(path), message)

    def warn(self, path: tuple[str | int, ...], message: str) -> Problem:
        return warning(self.file, self.where(path), message)


Rule = Callable[[Context], list[Problem]]


def _duplicates(items: Iterable[Item[T]], key: Callable[[T], str]) -> list[tuple[Item[T], Item[T]]]:
    seen: dict[str, Item[T]] = {}
    pairs = []
    for item in items:
        k = key(item.value)
        if k in seen:
            pairs.append((seen[k], item))
        else:
            seen[k] = item
    return pairs


def duplicate_product_codes(ctx: Context) -> list[Problem]:
    return [
        ctx.problem(("products", dup.index, "code"),
                    f"product {dup.value.code} is defined twice (first on line {ctx.where(('products', first.index))})")
        for first, dup in _duplicates(ctx.products, lambda p: p.code)
    ]


def duplicate_municipalities(ctx: Context) -> list[Problem]:
    by_code = [
        ctx.problem(("municipalities", dup.index, "code"), f"municipality code {dup.value.code} is listed twice "
                    f"(first for {first.value.name} on line {ctx.where(('municipalities', first.index))})")
        for first, dup in _duplicates(ctx.municipalities, lambda m: m.code)
    ]
    by_name = [
        ctx.problem(("municipalities", dup.index, "name"), f"municipality {dup.value.name} is listed twice (first "
                    f"as {first.value.name} ({first.value.code}) on line {ctx.where(('municipalities', first.index))})")
        for first, dup in _duplicates(ctx.municipalities, lambda m: normalise_name(m.name))
    ]
    return by_code + by_name


def duplicate_categories(ctx: Context) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, category in enumerate(ctx.catalogue.categories):
        if category.code in seen:
            first = ctx.where(("categories", seen[category.code]))
            problems.append(ctx.problem(("categories", index), f"category {category.code} is defined twice "
                                        f"(first on line {first})"))
        seen.setdefault(category.code, index)
    return problems


def unknown_categories(ctx: Context) -> list[Problem]:
    known = {c.code for c in ctx.catalogue.categories}
    if not known:
        return []  # the categories section itself is reported
    return [
        ctx.problem(("products", item.index, "category"),
                    f"{item.value.code}: unknown category {item.value.category} (known: {', '.join(sorted(known))})")
        for item in ctx.products if item.value.category not in known
    ]


def unknown_sources(ctx: Context) -> list[Problem]:
    known = set(ctx.catalogue.sources)
    if not known:
        return []  # the sources section itself is reported
    return [
        ctx.problem(("products", item.index, "source"), f"{item.value.code}: unknown source {item.value.source!r}")
        for item in ctx.products if item.value.source not in known
    ] + [
        ctx.problem(("products", item.index, "prices", i, "source"), f"{item.value.code}: unknown source {p.source!r}")
        for item in ctx.products for i, p in enumerate(item.value.prices) if p.source and p.source not in known
    ] + [
        ctx.problem(("products", item.index, "norms", i, "source"), f"{item.value.code}: unknown source {n.source!r}")
        for item in ctx.products for i, n in enumerate(item.value.norms) if n.source not in known
    ]


def restrictions_name_members(ctx: Context) -> list[Problem]:
    members = {normalise_name(m.value.name) for m in ctx.municipalities}
    if not members:
        return []  # the municipalities section itself is reported
    return [
        ctx.problem(("products", item.index, "not_for", i),
                    f"{item.value.code}: not_for names {name!r}, which is not a member municipality")
        for item in ctx.products for i, name in enumerate(item.value.not_for) if normalise_name(name) not in members
    ]


def price_amounts(ctx: Context) -> list[Problem]:
    return [
        problem
        for item in ctx.products
        for i, price in enumerate(item.value.prices)
        for problem in _amount_problems(ctx, ("products", item.index, "prices", i, "amount"), item.value.code,
                                        price.amount)
    ]


def _amount_problems(ctx: Context, path: tuple[str | int, ...], code: str, amount: Decimal) -> list[Problem]:
    problems = []
    if amount <= 0:
        problems.append(ctx.problem(path, f"{code}: price {amount} must be more than zero"))
    if amount >= MAX_PRICE:
        problems.append(ctx.problem(path, f"{code}: price {amount} is implausibly high (at most 999999.99)"))
    if places(amount) > 2:
        problems.append(ctx.problem(path, f"{code}: price {amount} has more than two decimals"))
    return problems


def places(amount: Decimal) -> int:
    """Decimals that matter (48.60 has one, 48.605 three), exact for any exponent: no context rounding."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    text = "".join(map(str, digits))
    trailing_zeros = len(text) - len(text.rstrip("0"))
    return -exponent - min(trailing_zeros, -exponent)


def price_indexations(ctx: Context) -> list[Problem]:
    """A recorded indexation must add up: its parts to its percent, its base and percent to the amount."""
    return [
        ctx.problem(("products", item.index, "prices", i, "indexation"), f"{item.value.code}: {message}")
        for item in ctx.products
        for i, price in enumerate(item.value.prices)
        for message in provenance_problems(item.value.prices[i - 1] if i else None, price)
    ]


def month_starts(ctx: Context) -> list[Problem]:
    """A price should start on the first of a month: iWmo declares one line per client, product and month."""
    return [
        ctx.warn(("products", item.index, "prices", i, "from"),
                 f"{item.value.code}: the price from {price.start} does not start on the first of a month, so a "
                 "line per client, product and month cannot carry one price (iWmo declares one line per month)")
        for item in ctx.products
        for i, price in enumerate(item.value.prices) if price.start.day != 1
    ]


def price_periods(ctx: Context) -> list[Problem]:
    return [
        problem
        for item in ctx.products
        for problem in period_problems(ctx, ("products", item.index, "prices"), item.value.code, item.value.prices)
    ]


def membership_periods(ctx: Context) -> list[Problem]:
    return [
        problem
        for item in ctx.municipalities
        for problem in period_problems(ctx, ("municipalities", item.index, "memberships"), item.value.name,
                                       item.value.memberships, gaps_allowed=True)
    ]


def period_problems(ctx: Context, path: tuple[str | int, ...], owner: str, periods: Sequence[Period],
                    gaps_allowed: bool = False) -> list[Problem]:
    """End before start, out of order, overlapping or duplicate starts, open ends, gaps."""
    problems = [ctx.problem((*path, i, "until"), f"{owner}: period ends on {p.until} before it starts on {p.start}")
                for i, p in enumerate(periods) if p.until is not None and p.until < p.start]
    for i in range(1, len(periods)):
        problems += _pair_problems(ctx, (*path, i), owner, periods[i - 1], periods[i], gaps_allowed)
    return problems


def _pair_problems(ctx: Context, path: tuple[str | int, ...], owner: str, before: Period, after: Period,
                   gaps_allowed: bool) -> list[Problem]:
    if before.until is not None and before.until < before.start:
        return []  # reported as ending before it starts; comparing with it would only add noise
    if after.start == before.start:
        return [ctx.problem(path, f"{owner}: two periods start on {after.start}")]
    if after.start < before.start:
        return [ctx.problem(path, f"{owner}: periods are out of order ({after.start} comes after {before.start})")]
    if before.until is None or after.start <= before.until:
        end = "has no end" if before.until is None else f"runs until {before.until}"
        return [ctx.problem(path, f"{owner}: period from {after.start} overlaps the one before, which {end}")]
    day = dt.timedelta(days=1)
    if not gaps_allowed and after.start - before.until > day:
        first, last = before.until + day, after.start - day
        return [ctx.warn(path, f"{owner}: no price from {first} to {last} (a gap between two periods)")]
    return []


IWMO_DOMAINS = ("wmo", "participatiewet")
"""Laws a product with an iWmo mapping can be bought under: the Wmo, and participation products that
source MGR2018.4 (003) lets municipalities buy under the Wmo as well."""


def iwmo_mappings(ctx: Context) -> list[Problem]:
    """An iWmo mapping names a known source or says what was assumed, on a Wmo or participation product."""
    known = set(ctx.catalogue.sources)
    problems = []
    for item in ctx.products:
        mapping, path = item.value.iwmo, ("products", item.index, "iwmo")
        if mapping is None:
            continue
        if mapping.source is None and mapping.assumption is None:
            problems.append(ctx.problem(path, f"{item.value.code}: the iWmo mapping needs a `source` or an "
                                        "`assumption` (where the ProductCategorie and ProductCode come from)"))
        if mapping.source is not None and known and mapping.source not in known:
            problems.append(ctx.problem((*path, "source"), f"{item.value.code}: unknown source {mapping.source!r}"))
        if item.value.domain.strip().lower() not in IWMO_DOMAINS:
            problems.append(ctx.problem(path, f"{item.value.code}: an iWmo mapping on a {item.value.domain} "
                                        "product; iWmo declares Wmo support only"))
    return problems


RULES: tuple[Rule, ...] = (
    duplicate_product_codes,
    duplicate_categories,
    duplicate_municipalities,
    unknown_categories,
    unknown_sources,
    restrictions_name_members,
    price_amounts,
    price_indexations,
    price_periods,
    month_starts,
    membership_periods,
    iwmo_mappings,
)
"""Every rule, in the order their problems are reported."""
