"""Allocations (toewijzingen): the ToewijzingNummer every WMO323 line names, and the law a row falls under.

A stand-in for the allocations of issue 14 (WMO301), kept to what a declaration needs: per client and
product a numbered allocation with a first and (optional) last day, and the law it was granted under
(``Wmo`` or ``Participatiewet``; absent: the product's ``domain``). ``allocations.yaml``::

    version: 1
    allocations:
      - number: 210001        # ToewijzingNummer, 1 to 9 digits
        bsn: "951808679"
        product: LN032
        from: 2021-03-01
        until: 2021-12-31     # inclusive; absent: open
        law: Wmo              # MGR2018.4 (003): participation products can be bought under the Wmo
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationError

from mgr_tariffs import bsn as bsn_
from mgr_tariffs.catalogue.models import Day
from mgr_tariffs.frozen import Frozen
from mgr_tariffs.io.yamlsafe import load_yaml, read_text
from mgr_tariffs.problems import Problem, error, has_errors, sort_problems

if TYPE_CHECKING:
    from mgr_tariffs.allocations.model import Register

LAWS = {"wmo": "Wmo", "participatiewet": "Participatiewet"}


def _bsn(text: Any) -> str:
    value = bsn_.normalise(str(text))
    if value is None or not bsn_.is_valid(value):
        raise ValueError(f"{bsn_.mask(str(text))} is not a valid BSN (elfproef)")
    return value


def _law(text: str) -> str:
    law = LAWS.get(text.strip().lower())
    if law is None:
        raise ValueError(f"law {text!r} is not one of Wmo, Participatiewet")
    return law


class Allocation(Frozen):
    """One allocated product (ToegewezenProduct) of one client."""

    number: int = Field(ge=0, le=999_999_999, description="ToewijzingNummer (LDT_Nummer: at most 9 digits).")
    bsn: Annotated[str, AfterValidator(_bsn)]
    product: Annotated[str, StringConstraints(pattern=r"^LN\d{3}$")]
    start: Day = Field(alias="from")
    until: Day | None = None
    law: Annotated[str, AfterValidator(_law)] | None = None

    model_config = ConfigDict(populate_by_name=True)

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        return self.start <= last and (self.until is None or first <= self.until)


class MissingAllocation(Exception):
    """No allocation covers a client, product and month that is to be declared."""


@dataclass(frozen=True)
class Allocations:
    """The allocations by client and product; :meth:`find` answers (client, product, month) → allocation."""

    items: tuple[Allocation, ...]

    def find(self, bsn: str, product: str, first: dt.date, last: dt.date) -> Allocation:
        """The allocation of ``bsn`` and ``product`` in force in ``first..last`` (one month).

        Raises :class:`MissingAllocation` naming the client (masked), product and month when none is.
        """
        found = [a for a in self.items if a.bsn == bsn and a.product == product and a.overlaps(first, last)]
        if not found:
            raise MissingAllocation(f"no allocation (ToewijzingNummer) for client {bsn_.mask(bsn)}, product "
                                    f"{product} in {first:%Y-%m}; add it to the allocations file")
        return found[0]

    @classmethod
    def from_register(cls, register: Register) -> Allocations:
        """From the allocation register of ``mgr allocations`` (issue 14): number, client, product, period, law."""
        return cls(tuple(Allocation.model_construct(  # checked by the register's reader already
            number=int(a.number), bsn=f"{a.bsn_id:09d}", product=a.product, start=a.start, until=a.end,
            law=LAWS.get((a.law or "").strip().lower(), a.law)) for a in register.allocations if a.number.isdigit()))

    @classmethod
    def of(cls, mapping: dict[tuple[str, str, str], int]) -> Allocations:
        """From a plain mapping (client, product, ``YYYY-MM``) → number: one allocation per whole month."""
        items = []
        for (client, product, month), number in mapping.items():
            first = dt.date.fromisoformat(f"{month}-01")
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            items.append(Allocation(number=number, bsn=client, product=product, start=first, until=last))
        return cls(tuple(items))


@dataclass(frozen=True)
class AllocationsResult:
    allocations: Allocations | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.allocations is not None


def load_allocations(path: Path) -> AllocationsResult:
    """Read and check an allocations file; :class:`InputError` only when it cannot be read."""
    return parse_allocations(read_text(path), str(path))


def parse_allocations(text: str, file: str) -> AllocationsResult:
    located = load_yaml(text, file)
    doc = located.value
    problems = list(located.problems)
    if not isinstance(doc, dict) or not isinstance(doc.get("allocations"), list):
        if doc is not None or not problems:
            problems.append(error(file, 1, "the file must be a mapping with `version: 1` and a list `allocations`"))
        return AllocationsResult(None, problems)
    problems += [error(file, located.line_of((key,)), f"unknown section {key!r} (known: version, allocations)")
                 for key in doc if key not in ("version", "allocations")]
    if doc.get("version", 1) != 1:
        problems.append(error(file, located.line_of(("version",)), "version must be 1"))
    items: list[tuple[int, Allocation]] = []
    for index, raw in enumerate(doc["allocations"]):
        try:
            items.append((index, Allocation.model_validate(raw)))
        except ValidationError as exc:
            for detail in exc.errors(include_url=False):
                path = ("allocations", index, *detail["loc"])
                field = ".".join(str(p) for p in detail["loc"]) or "entry"
                message = str(detail["msg"]).removeprefix("Value error, ")
                problems.append(error(file, located.line_of(path), f"allocation {index + 1}: {field}: {message}"))
    problems += _conflicts(items, file, located.line_of)
    problems = sort_problems(problems)
    return AllocationsResult(None if has_errors(problems) else Allocations(tuple(a for _, a in items)), problems)


def _conflicts(items: list[tuple[int, Allocation]], file: str, where: Any) -> list[Problem]:
    """Two allocations of one client and product that overlap, or one number used for two."""
    problems = []
    for i, (index, a) in enumerate(items):
        for _, b in items[:i]:
            line = where(("allocations", index))
            if a.until is not None and a.until < a.start:
                continue
            if a.bsn == b.bsn and a.product == b.product and a.overlaps(b.start, b.until or dt.date.max):
                problems.append(error(file, line, f"allocation {a.number} overlaps allocation {b.number} of the "
                                      f"same client and product {a.product}"))
            elif a.number == b.number:
                problems.append(error(file, line, f"ToewijzingNummer {a.number} is used twice"))
    problems += [error(file, where(("allocations", index, "until")), f"allocation {a.number} ends before it starts")
                 for index, a in items if a.until is not None and a.until < a.start]
    return problems
