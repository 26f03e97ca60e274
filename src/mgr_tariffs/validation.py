"""``mgr validate``: which kind of YAML file a path holds, and every problem of it.

A tariff catalogue (``products:``), a parties file (``providers:``) and a subsidies file (``subsidies:``) are
told apart by their top-level sections; parties and subsidies refer to the catalogue's municipalities and
products, so they are checked against a catalogue too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mgr_tariffs.catalogue.loader import Lookup, parse_catalogue
from mgr_tariffs.io.yamlsafe import read_text
from mgr_tariffs.problems import Problem, error


class Kind(StrEnum):
    CATALOGUE = "catalogue"
    PARTIES = "parties"
    SUBSIDIES = "subsidies"


_SECTION = re.compile(r"^(products|providers|subsidies)\s*:", re.M)
_KINDS = {"products": Kind.CATALOGUE, "providers": Kind.PARTIES, "subsidies": Kind.SUBSIDIES}


def kind_of(text: str) -> Kind:
    """The kind of a YAML file by its first top-level section that names one; a catalogue when none does."""
    found = _SECTION.search(text)
    return _KINDS[found.group(1)] if found else Kind.CATALOGUE


@dataclass(frozen=True)
class Checked:
    """One file checked: its kind and its problems (``readable`` is false when it could not be read at all)."""

    file: str
    kind: Kind
    problems: list[Problem] = field(default_factory=list)
    text: str = ""


def check_file(path: Path, lookup: Lookup | None, catalogue_file: str) -> Checked:
    """Check one file of any kind. Raises :class:`InputError` when it cannot be read.

    ``lookup`` is the catalogue that parties and subsidies are checked against (``None``: it is invalid,
    which is itself the problem reported for such a file).
    """
    text = read_text(path)
    kind = kind_of(text)
    file = str(path)
    if kind is Kind.CATALOGUE:
        return Checked(file, kind, parse_catalogue(text, file).problems, text)
    if lookup is None:
        return Checked(file, kind, [error(file, None, f"cannot be checked: the tariff catalogue {catalogue_file} it "
                                                      "refers to is invalid")], text)
    if kind is Kind.PARTIES:
        from mgr_tariffs.parties import parse_parties  # noqa: PLC0415 - only for parties files

        return Checked(file, kind, parse_parties(text, file, lookup).problems, text)
    from mgr_tariffs.budgets.loader import parse_subsidies  # noqa: PLC0415 - only for subsidies files

    return Checked(file, kind, parse_subsidies(text, file, lookup).problems, text)
