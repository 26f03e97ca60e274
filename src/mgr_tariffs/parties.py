"""Load ``parties.yaml``: who sends and who receives an invoice, with every problem and its line.

An invoice names its provider as the hour log spells it and its municipality by CBS code; the
documents need more: legal names, addresses, KvK and VAT numbers, the IBAN to pay to, the OIN
and the reference a municipality wants on its e-invoices. Each provider and municipality is
checked on its own (one broken entry does not hide the others); small rules then relate them.
Municipality keys are matched like the catalogue matches them (``Lookup.municipality``): by CBS
code (``"0889"``, ``"GM0889"``) or by name (any case, with or without ``(L.)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints, ValidationError, model_validator
from stdnum import iban as std_iban
from stdnum.exceptions import ValidationError as NumberError
from stdnum.nl import btw as std_btw

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.catalogue.membership import normalise_name
from mgr_tariffs.catalogue.models import Municipality
from mgr_tariffs.frozen import Frozen
from mgr_tariffs.identity import provider_key
from mgr_tariffs.io.yamlsafe import Located, load_yaml, read_text
from mgr_tariffs.problems import Problem, error, has_errors, sort_problems

DEFAULT_PATH = Path("data/parties.yaml")
SECTIONS = ("version", "providers", "municipalities")
Where = Callable[[tuple[str | int, ...]], int | None]



def _check_digits(count: int, what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        value = "".join(text.split())
        if not (value.isdigit() and len(value) == count):
            raise ValueError(f"{what} must be {count} digits, got {text!r}")
        return value

    return check


def _check_vat(text: str) -> str:
    try:
        return "NL" + str(std_btw.validate(text))
    except NumberError as exc:
        raise ValueError(f"{text!r} is not a valid Dutch VAT id (btw-identificatienummer): {exc}") from None


def _check_iban(text: str) -> str:
    try:
        return str(std_iban.validate(text))
    except NumberError as exc:
        raise ValueError(f"{text!r} is not a valid IBAN: {exc}") from None


def _check_postcode(text: str) -> str:
    match = re.fullmatch(r"([1-9]\d{3})\s*([A-Za-z]{2})", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Dutch postcode like '5911 AB'")
    return f"{match.group(1)} {match.group(2).upper()}"


def _check_email(text: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", text.strip()):
        raise ValueError(f"{text!r} is not an e-mail address")
    return text.strip()


MAX_TEXT = 300
"""Longest name, street, city, reference or reason accepted, in characters: what an invoice can show."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT, strip_whitespace=True)]
KvkNumber = Annotated[str, AfterValidator(_check_digits(8, "a KvK number"))]
AgbCode = Annotated[str, AfterValidator(_check_digits(8, "an AGB code"))]
Oin = Annotated[str, AfterValidator(_check_digits(20, "an OIN"))]
VatId = Annotated[str, AfterValidator(_check_vat)]
Iban = Annotated[str, AfterValidator(_check_iban)]
Postcode = Annotated[str, AfterValidator(_check_postcode)]
Email = Annotated[str, AfterValidator(_check_email)]
SchemeCode = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]


class Address(Frozen):
    """A Dutch postal address; only NL is accepted (the invoices are Dutch e-invoices)."""

    street: Text
    postcode: Postcode
    city: Text
    country: Annotated[str, StringConstraints(pattern=r"^NL$")] = "NL"


class Contact(Frozen):
    name: Text
    email: Email
    phone: Text


class ElectronicAddress(Frozen):
    """Where e-invoices are delivered (Peppol participant): ISO 6523 scheme (0190 OIN, 0106 KvK) and id."""

    scheme: SchemeCode
    id: Text


class Provider(Frozen):
    """A care provider that sends invoices."""

    legal_name: Text
    address: Address
    kvk: KvkNumber
    vat_id: VatId | None = None
    no_vat_id_reason: Text | None = None
    iban: Iban
    agb: AgbCode
    contact: Contact

    @model_validator(mode="after")
    def _vat_or_reason(self) -> Provider:
        if (self.vat_id is None) == (self.no_vat_id_reason is None):
            raise ValueError("give either vat_id or no_vat_id_reason (why no VAT id applies), not both or neither")
        return self


class MunicipalityParty(Frozen):
    """A municipality that receives invoices."""

    legal_name: Text
    address: Address
    oin: Oin | None = None
    electronic_address: ElectronicAddress | None = None
    buyer_reference: Text

    @model_validator(mode="after")
    def _some_identifier(self) -> MunicipalityParty:
        if self.oin is None and self.electronic_address is None:
            raise ValueError("give an oin or an electronic_address (or both)")
        return self

    @property
    def legal_id(self) -> tuple[str, str] | None:
        """(ISO 6523 scheme, id) of the legal entity: the OIN, else an OIN or KvK electronic address."""
        if self.oin is not None:
            return "0190", self.oin
        address = self.electronic_address
        if address is not None and address.scheme in ("0190", "0106"):
            return address.scheme, address.id
        return None

    @property
    def endpoint(self) -> tuple[str, str]:
        """(scheme, id) of the electronic address; the OIN when none is given."""
        if self.electronic_address is not None:
            return self.electronic_address.scheme, self.electronic_address.id
        assert self.oin is not None  # guaranteed by _some_identifier
        return "0190", self.oin


def municipality_key(text: str) -> str:
    """The matching key of a municipality: its CBS code when ``text`` is one, else its normalised name."""
    key = normalise_name(text)
    if key.startswith("gm") and key[2:].isdigit():
        key = key[2:]
    return key.zfill(4) if key.isdigit() and len(key) < 4 else key


class Parties(Frozen):
    """Every provider (by its name in the hour logs) and municipality (by code or name) of the file."""

    providers: dict[str, Provider]
    municipalities: dict[str, MunicipalityParty]

    def provider(self, name: str) -> Provider | None:
        found = self.providers.get(name)
        if found is not None:
            return found
        wanted = provider_key(name)
        return next((p for key, p in self.providers.items() if provider_key(key) == wanted), None)

    def municipality(self, municipality: Municipality) -> MunicipalityParty | None:
        for key in (municipality.code, municipality_key(municipality.name)):
            if key in self.municipalities:
                return self.municipalities[key]
        return None


@dataclass(frozen=True)
class PartiesResult:
    """What loading found: the parties (``None`` when there are errors) and all problems."""

    parties: Parties | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.parties is not None and not has_errors(self.problems)


def load_parties(path: Path | str = DEFAULT_PATH, lookup: Lookup | None = None) -> PartiesResult:
    """Read and check a parties file; with a ``lookup`` every municipality must be in the catalogue.

    Raises :class:`~mgr_tariffs.problems.InputError` only when the file cannot be read.
    """
    path = Path(path)
    return parse_parties(read_text(path), str(path), lookup)


def parse_parties(text: str, file: str, lookup: Lookup | None = None) -> PartiesResult:
    located = load_yaml(text, file)
    if located.value is None and located.problems:
        return PartiesResult(None, located.problems)
    if not isinstance(located.value, dict):
        return PartiesResult(None, [*located.problems, error(file, 1, "the file must be a mapping with the sections "
                                                             "providers and municipalities")])
    parties, problems = _build(located, file, lookup)
    problems = sort_problems([*located.problems, *problems])
    return PartiesResult(None if has_errors(problems) else parties, problems)


def _build(located: Located, file: str, lookup: Lookup | None) -> tuple[Parties, list[Problem]]:
    doc: dict[str, Any] = located.value
    problems = [error(file, located.line_of((key,)), f"unknown section {key!r} (known: {', '.join(SECTIONS)})")
                for key in doc if key not in SECTIONS]
    problems += [error(file, 1, f"missing section {key!r}") for key in SECTIONS[1:] if key not in doc]
    if doc.get("version", 1) != 1:
        problems.append(error(file, located.line_of(("version",)), "version must be 1"))
    providers, p1 = _entries(located, file, "providers", Provider)
    raw_municipalities, p2 = _entries(located, file, "municipalities", MunicipalityParty)
    where = located.line_of
    municipalities, p3 = _keyed_municipalities(raw_municipalities, where, file, lookup)
    p4 = duplicate_providers(list(providers), where, file)
    return Parties(providers=providers, municipalities=municipalities), problems + p1 + p2 + p3 + p4


def _entries(located: Located, file: str, section: str, model: type[Any]) -> tuple[dict[str, Any], list[Problem]]:
    raw = located.value.get(section)
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [error(file, located.line_of((section,)), f"{section!r} must be a mapping from name to details")]
    entries: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        try:
            entries[key] = model.model_validate(value)
        except ValidationError as exc:
            problems += _validation_problems(exc, located, file, (section, key))
    return entries, problems


def _validation_problems(exc: ValidationError, located: Located, file: str,
                         prefix: tuple[str | int, ...]) -> list[Problem]:
    problems = []
    for detail in exc.errors(include_url=False):
        loc = tuple(part for part in detail["loc"] if not (isinstance(part, str) and part[:1].isupper()))
        path = (*prefix, *loc)
        where = ".".join(str(part) for part in path)
        message = str(detail["msg"]).removeprefix("Value error, ")
        problems.append(error(file, located.line_of(path), f"{where}: {message}"))
    return problems


def _keyed_municipalities(entries: dict[str, MunicipalityParty], where: Where, file: str,
                          lookup: Lookup | None) -> tuple[dict[str, MunicipalityParty], list[Problem]]:
    """Key each municipality by CBS code (resolved through the catalogue when there is one)."""
    keyed: dict[str, MunicipalityParty] = {}
    first: dict[str, str] = {}
    problems: list[Problem] = []
    for key, party in entries.items():
        resolved, problem = resolve_municipality(key, lookup, where, file)
        if problem is not None:
            problems.append(problem)
        elif resolved in keyed:
            earlier = first[resolved]
            problems.append(error(file, where(("municipalities", key)), f"municipality {key!r} is listed twice "
                                  f"(first as {earlier!r} on line {where(('municipalities', earlier))})"))
        else:
            keyed[resolved], first[resolved] = party, key
    return keyed, problems


def resolve_municipality(key: str, lookup: Lookup | None, where: Where, file: str) -> tuple[str, Problem | None]:
    """The CBS code of a key (its normalised form without a catalogue), or a problem for an unknown one."""
    if lookup is None:
        return municipality_key(key), None
    found = lookup.municipality(key)
    if found is None:
        known = ", ".join(sorted(m.name for m in lookup.catalogue.municipalities))
        return key, error(file, where(("municipalities", key)),
                          f"municipality {key!r} is not in the tariff catalogue (known: {known})")
    return found.code, None


def duplicate_providers(names: list[str], where: Where, file: str) -> list[Problem]:
    """Two provider names that differ only in case or spacing would be ambiguous."""
    seen: dict[str, str] = {}
    problems = []
    for name in names:
        key = provider_key(name)
        if key in seen:
            problems.append(error(file, where(("providers", name)),
                                  f"provider {name!r} is listed twice (as {seen[key]!r} too)"))
        else:
            seen[key] = name
    return problems
