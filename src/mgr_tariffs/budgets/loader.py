"""Load ``subsidies.yaml`` into :class:`SubsidyFile` plus every problem found, each with its line.

Checked like the catalogue: safe YAML with line marks (:func:`~mgr_tariffs.io.yamlsafe.load_yaml`), the shape
of each subsidy on its own (frozen models: one broken subsidy does not hide the problems of the others; dates
are days, money has at most two decimals), then the rules that relate values: sources, municipalities and
products known, a municipality once per key, the grantor in the key, the period the right way round, listed
advances in date order, every id once. Consistency of the amounts (a key that does not add up to 100 %,
advances above the ceiling, ...) is not a load error but a finding for the controller
(:mod:`mgr_tariffs.budgets.findings`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mgr_tariffs.budgets.models import Subsidy, SubsidyFile
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.loader import _validation_problems as validation_problems
from mgr_tariffs.catalogue.models import Source
from mgr_tariffs.io.yamlsafe import Located, load_yaml, read_text
from mgr_tariffs.problems import Problem, error, has_errors, sort_problems

SECTIONS = ("version", "sources", "subsidies")
Where = Callable[[tuple[str | int, ...]], int | None]


@dataclass(frozen=True)
class SubsidyResult:
    """What loading found: the file (``None`` when it has errors), all problems, and each subsidy's line."""

    file: str
    subsidies: SubsidyFile | None
    problems: list[Problem] = field(default_factory=list)
    where: Where = lambda _path: None

    @property
    def ok(self) -> bool:
        return self.subsidies is not None and not has_errors(self.problems)


def load_subsidies(path: Path | str, lookup: Lookup) -> SubsidyResult:
    """Read and check a subsidy file against the catalogue. Raises :class:`InputError` only when unreadable."""
    path = Path(path)
    return parse_subsidies(read_text(path), str(path), lookup)


def parse_subsidies(text: str, file: str, lookup: Lookup) -> SubsidyResult:
    """Check the text of a subsidy file; never raises: everything wrong comes back as a problem."""
    located = load_yaml(text, file)
    if located.value is None and located.problems:
        return SubsidyResult(file, None, located.problems)
    if not isinstance(located.value, dict):
        return SubsidyResult(file, None, [*located.problems, error(
            file, 1, "the file must be a mapping with the sections sources and subsidies")])
    parsed, problems = _build(located, file, lookup)
    problems = sort_problems([*located.problems, *problems])
    return SubsidyResult(file, None if has_errors(problems) else parsed, problems, located.line_of)


def _build(located: Located, file: str, lookup: Lookup) -> tuple[SubsidyFile | None, list[Problem]]:
    doc: dict[str, Any] = located.value
    problems = [error(file, located.line_of((key,)), f"unknown section {key!r} (known: {', '.join(SECTIONS)})")
                for key in doc if key not in SECTIONS]
    problems += [error(file, 1, f"missing section {key!r}") for key in SECTIONS[1:] if key not in doc]
    sources: dict[str, Source] = {}
    if "sources" in doc:
        try:
            sources = TypeAdapter(dict[str, Source]).validate_python(doc["sources"])
        except ValidationError as exc:
            problems += validation_problems(exc, located, file, ("sources",), "sources")
    if doc.get("version", 1) != 1:
        problems.append(error(file, located.line_of(("version",)), "version: only version 1 is known"))
    raw = doc.get("subsidies")
    subsidies: list[tuple[int, Subsidy]] = []
    if "subsidies" in doc and (not isinstance(raw, list) or not raw):
        problems.append(error(file, located.line_of(("subsidies",)), "section 'subsidies' must be a non-empty list"))
    for index, value in enumerate(raw if isinstance(raw, list) else []):
        try:
            subsidies.append((index, Subsidy.model_validate(value)))
        except ValidationError as exc:
            problems += validation_problems(exc, located, file, ("subsidies", index), _label(index, value))
    for index, subsidy in subsidies:
        problems += subsidy_rules(subsidy, index, sources, lookup, file, located.line_of)
    problems += _duplicate_ids(subsidies, located, file)
    if has_errors(problems):
        return None, problems
    return SubsidyFile(sources=sources, subsidies=tuple(s for _, s in subsidies)), problems


def _label(index: int, value: Any) -> str:
    ident = value.get("id") if isinstance(value, dict) else None
    return ident.strip() if isinstance(ident, str) and ident.strip() and len(ident) <= 64 else f"subsidies[{index}]"


def _duplicate_ids(subsidies: list[tuple[int, Subsidy]], located: Located, file: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, subsidy in subsidies:
        if subsidy.id in seen:
            first = located.line_of(("subsidies", seen[subsidy.id]))
            problems.append(error(file, located.line_of(("subsidies", index, "id")),
                                  f"subsidy {subsidy.id} is defined twice (first on line {first})"))
        seen.setdefault(subsidy.id, index)
    return problems


def subsidy_rules(subsidy: Subsidy, index: int, sources: dict[str, Source], lookup: Lookup,
                  file: str, where: Where) -> list[Problem]:
    """Every rule relating one subsidy's values to each other, to its sources and to the catalogue."""
    def problem(path: tuple[str | int, ...], message: str) -> Problem:
        return error(file, where(("subsidies", index, *path)), f"{subsidy.id}: {message}")

    found: list[Problem] = []
    found += _source_problems(subsidy, sources, problem)
    found += _municipality_problems(subsidy, lookup, problem)
    if subsidy.period.until < subsidy.period.start:
        found.append(problem(("period", "until"), f"period ends on {subsidy.period.until} before it starts on "
                                                  f"{subsidy.period.start}"))
    valuation = subsidy.valuation
    for path, code in [(("valuation", "product"), valuation.product),
                       *((("valuation", "products", i), c) for i, c in enumerate(valuation.products))]:
        if code is not None and code not in lookup.products:
            found.append(problem(path, f"unknown product code {code!r}; the catalogue has "
                                       f"{', '.join(sorted(lookup.products))}"))
    if subsidy.advances.items and subsidy.advances.items != tuple(sorted(subsidy.advances.items,
                                                                        key=lambda a: a.date)):
        found.append(problem(("advances", "items"), "advances must be listed in date order"))
    return found


def _source_problems(subsidy: Subsidy, sources: dict[str, Source],
                     problem: Callable[[tuple[str | int, ...], str], Problem]) -> list[Problem]:
    if not sources:
        return []  # the sources section itself is reported
    named: list[tuple[tuple[str | int, ...], str | None]] = [(("source",), subsidy.source)]
    for part in ("decision", "ceiling", "application", "key", "advances", "valuation"):
        value = getattr(subsidy, part)
        named.append(((part, "source"), value.source if value is not None else None))
    named += [(("deadlines", i, "source"), d.source) for i, d in enumerate(subsidy.deadlines)]
    return [problem(path, f"unknown source {key!r} (known: {', '.join(sources)})")
            for path, key in named if key is not None and key not in sources]


def _municipality_problems(subsidy: Subsidy, lookup: Lookup,
                           problem: Callable[[tuple[str | int, ...], str], Problem]) -> list[Problem]:
    found = []
    seen: dict[str, int] = {}
    for i, share in enumerate(subsidy.key.shares):
        municipality = lookup.municipality(share.municipality)
        if municipality is None:
            found.append(problem(("key", "shares", i, "municipality"),
                                 f"unknown municipality {share.municipality!r}"))
            continue
        if municipality.code in seen:
            found.append(problem(("key", "shares", i, "municipality"),
                                 f"{municipality.name} is in the key twice (share {seen[municipality.code] + 1} "
                                 "too)"))
        seen.setdefault(municipality.code, i)
    grantor = lookup.municipality(subsidy.grantor)
    if grantor is None:
        found.append(problem(("grantor",), f"unknown municipality {subsidy.grantor!r}"))
    elif grantor.code not in seen:
        found.append(problem(("grantor",), f"the grantor {grantor.name} is not in the key"))
    return found


def subsidies_schema() -> dict[str, Any]:
    """The JSON Schema of ``subsidies.yaml`` (draft 2020-12), for editors and yaml-language-server."""
    document = SubsidyFile.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Subsidies next to the MGR tariffs (mgr-tariffs)",
        **{key: value for key, value in document.items() if key != "title"},
    }

