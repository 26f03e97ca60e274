"""Load ``tariffs.yaml`` into a :class:`Catalogue` plus every problem found, each with its line.

The shape of each product and municipality is checked one item at a time, so one broken product
does not hide the problems of the others; the rules of :mod:`mgr_tariffs.rules` then run on all
the items that have a valid shape.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from mgr_tariffs.catalogue import membership, pricing
from mgr_tariffs.catalogue.membership import normalise_name
from mgr_tariffs.catalogue.models import Catalogue, Category, Municipality, Product, Source
from mgr_tariffs.catalogue.rules import RULES, Context, Item
from mgr_tariffs.io.yamlsafe import Located, load_yaml, read_text
from mgr_tariffs.problems import Problem, error, has_errors, sort_problems

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
DEFAULT_PATH = Path("data/tariffs.yaml")
PACKAGED_PATH = Path(__file__).with_name("tariffs.yaml")
"""The catalogue shipped with the package (the same file as ``data/tariffs.yaml`` of the repository)."""


def resolve_catalogue_path(path: Path | str = DEFAULT_PATH) -> Path:
    """The default ``data/tariffs.yaml`` when it is here, else the packaged copy; any other path as given."""
    path = Path(path)
    if path == DEFAULT_PATH and not path.exists() and PACKAGED_PATH.exists():
        return PACKAGED_PATH
    return path
_CBS_CODE = re.compile(r"^(?:gm)?\s*(\d{1,4})$")
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
    """Check the text of a tariff file; never raises: everything wrong comes back as a problem."""
    located = load_yaml(text, file)
    if located.value is None and located.problems:
        return CatalogueResult(None, located.problems)
    if not isinstance(located.value, dict):
        found = _kind(located.value)
        return CatalogueResult(None, [*located.problems, error(file, 1, f"the file must be a mapping with the "
                                                               f"sections {', '.join(SECTIONS[1:])}, not {found}")])
    catalogue, problems = _build(located, file)
    problems = sort_problems([*located.problems, *problems])
    return CatalogueResult(None if has_errors(problems) else catalogue, problems)


def _kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    return "a list" if isinstance(value, list) else f"the single value {str(value)[:40]!r}"


def _build(located: Located, file: str) -> tuple[Catalogue | None, list[Problem]]:
    doc: dict[str, Any] = located.value
    problems = [error(file, located.line_of((key,)), f"unknown section {key!r} (known: {', '.join(SECTIONS)})")
                for key in doc if key not in SECTIONS]
    problems += [error(file, 1, f"missing section {key!r}") for key in SECTIONS[1:] if key not in doc]
    no_sources: dict[str, Source] = {}
    no_categories: tuple[Category, ...] = ()
    sources, p1 = _section(located, file, "sources", dict[str, Source], no_sources)
    categories, p2 = _section(located, file, "categories", tuple[Category, ...], no_categories)
    municipalities, p3 = _items(located, file, "municipalities", Municipality)
    products, p4 = _items(located, file, "products", Product)
    version, p5 = _section(located, file, "version", Literal[1], 1)
    catalogue = Catalogue(version=version, sources=sources, categories=categories,
                          municipalities=tuple(m.value for m in municipalities),
                          products=tuple(p.value for p in products))
    ctx = Context(file, located.line_of, catalogue, products, municipalities)
    rule_problems = [problem for rule in RULES for problem in rule(ctx)]
    return catalogue, problems + p1 + p2 + p3 + p4 + p5 + rule_problems


def _section(located: Located, file: str, key: str, kind: Any, default: T) -> tuple[T, list[Problem]]:
    if key not in located.value:
        return default, []
    empty = _empty_problem(located, file, key)
    if empty:
        return default, empty
    try:
        return TypeAdapter(kind).validate_python(located.value[key]), []
    except ValidationError as exc:
        return default, _validation_problems(exc, located, file, (key,), key)


def _empty_problem(located: Located, file: str, key: str) -> list[Problem]:
    if key != "version" and located.value[key] in (None, [], {}):
        return [error(file, located.line_of((key,)), f"section {key!r} is empty")]
    return []


def _items(located: Located, file: str, key: str, model: type[M]) -> tuple[list[Item[M]], list[Problem]]:
    if key not in located.value:
        return [], []
    raw = located.value[key]
    if not isinstance(raw, list) or not raw:
        problems = _empty_problem(located, file, key)
        return [], problems or [error(file, located.line_of((key,)), f"section {key!r} must be a list")]
    items, problems = [], []
    for index, value in enumerate(raw):
        try:
            items.append(Item(index, model.model_validate(value)))
        except ValidationError as exc:
            problems += _validation_problems(exc, located, file, (key, index), _label(key, index, value))
    return items, problems


def _label(key: str, index: int, value: Any) -> str:
    """How a problem names a list item: by its code when it has a usable one, else by position."""
    code = value.get("code") if isinstance(value, dict) else None
    if isinstance(code, str) and code.strip() and len(code) <= 20:
        return code.strip()
    return f"{key}[{index}]"


def _validation_problems(exc: ValidationError, located: Located, file: str,
                         prefix: tuple[str | int, ...], label: str) -> list[Problem]:
    return [
        error(file, located.line_of((*prefix, *detail["loc"])), _detail_message(label, detail))
        for detail in exc.errors(include_url=False)
    ]


def _detail_message(label: str, detail: Any) -> str:
    where = label + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"])
    kind = detail["type"]
    if kind == "missing":
        return f"{where}: required field is missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    value = detail.get("input")
    if kind == "enum":
        return f"{where}: unknown value {value!r} (known: {detail['ctx']['expected'].replace(' or ', ', ')})"
    message = str(detail["msg"]).removeprefix("Value error, ")
    if isinstance(value, str | int | Decimal | dt.date) and not isinstance(value, bool):
        shown = repr(value) if isinstance(value, str) else str(value)
        message += f" (found {shown[:60]})"
    return f"{where}: {message}"


def catalogue_schema() -> dict[str, Any]:
    """The JSON Schema of ``tariffs.yaml`` (draft 2020-12), for editors and yaml-language-server."""
    document = Catalogue.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "MGR Sociaal Domein Limburg-Noord tariff catalogue (mgr-tariffs)",
        **{key: value for key, value in document.items() if key != "title"},
    }


class Lookup:
    """Fast questions to a valid catalogue: products by code, municipalities by name or code."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.products: dict[str, Product] = {p.code: p for p in catalogue.products}
        self.municipalities: dict[str, Municipality] = {}
        for m in catalogue.municipalities:
            self.municipalities[m.code] = m
            self.municipalities[normalise_name(m.name)] = m

    def municipality(self, text: str) -> Municipality | None:
        """By name (any case, with or without "(L.)") or CBS code (``0889``, ``889``, ``GM0889``, ``gm889``)."""
        key = normalise_name(text)
        code = _CBS_CODE.match(key)
        return self.municipalities.get(code.group(1).zfill(4) if code else key)

    def excluded(self, product: Product, municipality: Municipality) -> bool:
        """Whether the product is not bought for the municipality (:func:`membership.excluded`)."""
        return membership.excluded(product, municipality)

    def price(self, code: str, day: dt.date) -> pricing.Quote | None:
        """The price in force on ``day`` (:func:`pricing.price_in_force`); ``None`` for an unknown code."""
        product = self.products.get(code.strip().upper())
        return None if product is None else pricing.quote(product, day)
