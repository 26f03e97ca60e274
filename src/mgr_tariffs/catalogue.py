"""Load ``tariffs.yaml`` into a :class:`Catalogue` plus every problem found, each with its line.

The shape of each product and municipality is checked one item at a time, so one broken product
does not hide the problems of the others; the rules of :mod:`mgr_tariffs.rules` then run on all
the items that have a valid shape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from .models import Catalogue, Category, Municipality, Product, Source
from .problems import Problem, error, has_errors, sort_problems
from .rules import RULES, Context, Item, normalise_name
from .yamlsafe import Located, load_yaml, read_text

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
DEFAULT_PATH = Path("data/tariffs.yaml")
SECTIONS = ("version", "sources", "categories", "municipalities", "products")


@dataclass(frozen=True)
class CatalogueResult:
    """What loading found: the catalogue (``None`` when it has errors) and all problems."""

    catalogue: Catalogue | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.catalogue is not None and not has_errors(self.problems)


def load_catalogue(path: Path | str = DEFAULT_PATH) -> CatalogueResult:
    """Read and check a tariff file. Raises :class:`InputError` only when it cannot be read."""
    path = Path(path)
    return parse_catalogue(read_text(path), str(path))


def parse_catalogue(text: str, file: str) -> CatalogueResult:
    located = load_yaml(text, file)
    if located.value is None and located.problems:
        return CatalogueResult(None, located.problems)
    if not isinstance(located.value, dict):
        return CatalogueResult(None, [*located.problems, error(file, 1, "the file must be a mapping with "
                                                               f"the sections {', '.join(SECTIONS[1:])}")])
    catalogue, problems = _build(located, file)
    problems = sort_problems([*located.problems, *problems])
    return CatalogueResult(None if has_errors(problems) else catalogue, problems)


def _build(located: Located, file: str) -> tuple[Catalogue | None, list[Problem]]:
    doc: dict[str, Any] = located.value
    problems = [error(file, located.line_of((key,)), f"unknown section {key!r} (known: {', '.join(SECTIONS)})")
                for key in doc if key not in SECTIONS]
    problems += [error(file, 1, f"missing section {key!r}") for key in SECTIONS[1:] if key not in doc]
    sources, p1 = _section(located, file, "sources", dict[str, Source], {})
    categories, p2 = _section(located, file, "categories", tuple[Category, ...], ())
    municipalities, p3 = _items(located, file, "municipalities", Municipality)
    products, p4 = _items(located, file, "products", Product)
    version, p5 = _section(located, file, "version", int, 1)
    catalogue = Catalogue(version=version, sources=sources, categories=categories,
                          municipalities=tuple(m.value for m in municipalities),
                          products=tuple(p.value for p in products))
    ctx = Context(file, located.line_of, catalogue, products, municipalities)
    rule_problems = [problem for rule in RULES for problem in rule(ctx)]
    return catalogue, problems + p1 + p2 + p3 + p4 + p5 + rule_problems


def _section(located: Located, file: str, key: str, kind: type[T], default: T) -> tuple[T, list[Problem]]:
    if key not in located.value:
        return default, []
    try:
        return TypeAdapter(kind).validate_python(located.value[key]), []
    except ValidationError as exc:
        return default, _validation_problems(exc, located, file, (key,))


def _items(located: Located, file: str, key: str, model: type[M]) -> tuple[list[Item[M]], list[Problem]]:
    raw = located.value.get(key)
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [error(file, located.line_of((key,)), f"{key!r} must be a list")]
    items, problems = [], []
    for index, value in enumerate(raw):
        try:
            items.append(Item(index, model.model_validate(value)))
        except ValidationError as exc:
            problems += _validation_problems(exc, located, file, (key, index))
    return items, problems


def _validation_problems(exc: ValidationError, located: Located, file: str,
                         prefix: tuple[str | int, ...]) -> list[Problem]:
    problems = []
    for detail in exc.errors(include_url=False):
        loc = tuple(part for part in detail["loc"] if not (isinstance(part, str) and part[:1].isupper()))
        path = (*prefix, *loc)
        where = ".".join(str(part) for part in path)
        problems.append(error(file, located.line_of(path), f"{where}: {detail['msg']}"))
    return problems


@dataclass(frozen=True)
class Quote:
    """The price of a product on a day, with the period it belongs to and where it comes from."""

    product: Product
    day: dt.date
    amount: Decimal
    start: dt.date
    until: dt.date | None
    source: str


class Lookup:
    """Fast questions to a valid catalogue: products by code, municipalities by name or code."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.products = {p.code: p for p in catalogue.products}
        self.municipalities: dict[str, Municipality] = {}
        for m in catalogue.municipalities:
            for key in (m.code, m.gm_code.lower(), normalise_name(m.name)):
                self.municipalities[key] = m

    def municipality(self, text: str) -> Municipality | None:
        """By name (any case, with or without "(L.)") or CBS code (with or without "GM")."""
        key = normalise_name(text)
        if key.isdigit() and len(key) < 4:
            key = key.zfill(4)
        return self.municipalities.get(key)

    def excluded(self, product: Product, municipality: Municipality) -> bool:
        return normalise_name(municipality.name) in {normalise_name(n) for n in product.not_for}

    def price(self, code: str, day: dt.date) -> Quote | None:
        product = self.products.get(code.strip().upper())
        if product is None:
            return None
        for price in product.prices:
            if price.covers(day):
                return Quote(product, day, price.amount, price.start, price.until, price.source or product.source)
        return None
