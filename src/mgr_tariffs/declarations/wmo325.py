"""Read a WMO325 declaration answer and match it to its WMO323 declaration.

The answer names its declaration by DeclaratieNummer and lists the *rejected* prestaties, each with
its ProductReferentie and return codes (WJ001); a prestatie of the declaration that the answer does
not list is approved. An answer that matches no declaration, a prestatie that matches no line, or
one listed twice is reported and never applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from lxml import etree

from mgr_tariffs.declarations.material import IwmoMaterial
from mgr_tariffs.declarations.validation import WMO325_NS, Finding, namespace_of, parse_message, validate_document
from mgr_tariffs.declarations.wmo323 import BASE, NS, Declaration
from mgr_tariffs.frozen import Frozen

APPROVED_CODES = ("0200", "8001")
"""0200 no remark, 8001 declaration fully granted (WJ001): not a rejection."""
_N = {"a": WMO325_NS, "b": BASE}


class ReturnCode(Frozen):
    code: str
    meaning: str


class AnsweredPrestatie(Frozen):
    """A prestatie as the answer lists it, with its return codes."""

    reference: str
    bsn: str
    amount: int
    debit: bool
    codes: tuple[ReturnCode, ...]

    @property
    def rejected(self) -> bool:
        return any(c.code not in APPROVED_CODES for c in self.codes)


class Answer(Frozen):
    """One WMO325 message."""

    file: str
    sender: str  # the municipality (Afzender)
    receiver: str  # the provider's AGB code (Ontvanger)
    message_id: str
    message_date: dt.date | None
    declaration_number: str
    submitted: int  # TotaalIngediendBedrag, signed eurocent
    granted: int  # TotaalToegekendBedrag, signed eurocent
    codes: tuple[ReturnCode, ...]
    prestaties: tuple[AnsweredPrestatie, ...]


class AnswerError(Exception):
    """A WMO325 that cannot be read or is not valid; ``findings`` from the XSD/stylesheet."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


def read_answer(data: bytes, name: str, material: IwmoMaterial) -> Answer:
    """Parse and validate a WMO325; :class:`AnswerError` when it is not a valid answer."""
    doc = parse_message(data, name)
    if namespace_of(doc) != WMO325_NS:
        raise AnswerError(f"{name}: not a WMO325 declaration answer (root namespace {namespace_of(doc)!r})")
    findings = validate_document(doc, material, name)
    if findings:
        raise AnswerError(f"{name}: the answer is not a valid WMO325: " + "; ".join(map(str, findings)), findings)
    root = doc.getroot()

    def codes(parent: etree._Element | None) -> tuple[ReturnCode, ...]:
        if parent is None:
            return ()
        return tuple(ReturnCode(code=c.text or "", meaning=material.return_code(c.text or "") or "unknown code")
                     for c in parent.iterfind("a:RetourCodes/a:RetourCode", _N))

    body = root.find("a:DeclaratieAntwoord", _N)
    header = root.find("a:Header", _N)
    if body is None:
        raise AnswerError(f"{name}: the answer has no DeclaratieAntwoord (the whole message was rejected: "
                          f"{', '.join(c.code for c in codes(header))})")
    prestaties = tuple(
        AnsweredPrestatie(reference=_text(p, "a:ProductReferentie/b:ReferentieNummer"),
                          bsn=_text(client, "a:Bsn"), amount=int(_text(p, "a:IngediendBedrag/b:Bedrag")),
                          debit=_text(p, "a:IngediendBedrag/b:DebetCredit") == "D", codes=codes(p))
        for client in body.iterfind("a:Clienten/a:Client", _N) for p in client.iterfind("a:Prestaties/a:Prestatie", _N))
    date = _text(header, "a:BerichtIdentificatie/b:Dagtekening")
    return Answer(file=name, sender=_text(header, "a:Afzender"), receiver=_text(header, "a:Ontvanger"),
                  message_id=_text(header, "a:BerichtIdentificatie/b:Identificatie"),
                  message_date=dt.date.fromisoformat(date) if date else None,
                  declaration_number=_text(body, "a:DeclaratieNummer"),
                  submitted=_signed(body, "a:TotaalIngediendBedrag"), granted=_signed(body, "a:TotaalToegekendBedrag"),
                  codes=codes(header) + codes(body), prestaties=prestaties)


def _text(element: etree._Element | None, path: str) -> str:
    found = None if element is None else element.findtext(path, namespaces=_N)
    return (found or "").strip()


def _signed(element: etree._Element, path: str) -> int:
    amount = int(_text(element, f"{path}/b:TotaalBedrag") or 0)
    return -amount if _text(element, f"{path}/b:DebetCredit") == "C" else amount


class MatchedLine(Frozen):
    """A declared prestatie and what the answer says about it."""

    reference: str
    bsn: str
    product: str
    allocation: int
    amount: int
    debit: bool
    approved: bool
    codes: tuple[ReturnCode, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "product": self.product, "allocation": self.allocation,
                "amount_cents": self.amount if self.debit else -self.amount,
                "status": "approved" if self.approved else "rejected",
                "codes": [{"code": c.code, "meaning": c.meaning} for c in self.codes]}


class MatchedAnswer(Frozen):
    """An answer matched to its declaration: every declared line approved or rejected."""

    answer_file: str
    declaration_number: str
    invoice_number: str
    submitted: int
    granted: int
    lines: tuple[MatchedLine, ...]

    @property
    def rejected(self) -> tuple[MatchedLine, ...]:
        return tuple(line for line in self.lines if not line.approved)

    @property
    def approved(self) -> tuple[MatchedLine, ...]:
        return tuple(line for line in self.lines if line.approved)

    def as_json(self) -> dict[str, Any]:
        return {"answer": self.answer_file, "declaration": self.declaration_number, "invoice": self.invoice_number,
                "submitted_cents": self.submitted, "granted_cents": self.granted,
                "approved": len(self.approved), "rejected": len(self.rejected),
                "lines": [line.as_json() for line in self.lines]}


class MatchError(Exception):
    """The answer cannot be applied: it matches no declaration, a line twice, or an unknown line."""


def match_answer(answer: Answer, declarations: Sequence[Declaration]) -> MatchedAnswer:
    """Match the answer to its declaration by DeclaratieNummer and each line by ProductReferentie.

    Raises :class:`MatchError` (nothing is applied) when the answer matches no declaration or more than
    one, lists a ProductReferentie that is not in the declaration, or one twice.
    """
    candidates = [d for d in declarations if d.number == answer.declaration_number]
    if len(candidates) != 1:
        what = "no declaration" if not candidates else f"{len(candidates)} declarations"
        raise MatchError(f"{answer.file}: DeclaratieNummer {answer.declaration_number} matches {what}")
    declaration = candidates[0]
    declared = {p.reference: p for p in declaration.prestaties}
    listed: dict[str, AnsweredPrestatie] = {}
    problems = []
    for item in answer.prestaties:
        if item.reference not in declared:
            problems.append(f"ProductReferentie {item.reference} is not in declaration {declaration.number}")
        elif item.reference in listed:
            problems.append(f"ProductReferentie {item.reference} is answered twice")
        elif item.bsn != declared[item.reference].bsn:
            problems.append(f"ProductReferentie {item.reference} names another client than the declaration")
        listed.setdefault(item.reference, item)
    declared_total = declaration.total
    if answer.submitted != declared_total:
        problems.append(f"the answer's TotaalIngediendBedrag {answer.submitted} differs from the declared "
                        f"{declared_total} (eurocent)")
    if problems:
        raise MatchError(f"{answer.file}: " + "; ".join(problems))
    lines = tuple(
        MatchedLine(reference=p.reference, bsn=p.bsn, product=p.product, allocation=p.allocation, amount=p.amount,
                    debit=p.debit, approved=not (p.reference in listed and listed[p.reference].rejected),
                    codes=listed[p.reference].codes if p.reference in listed else ())
        for p in declaration.prestaties)
    return MatchedAnswer(answer_file=answer.file, declaration_number=declaration.number,
                         invoice_number=declaration.invoice_number, submitted=answer.submitted,
                         granted=answer.granted, lines=lines)


def read_declaration(data: bytes, name: str) -> Declaration:
    """A WMO323 (as this tool or other software wrote it) back as a :class:`Declaration`, for matching."""
    doc = parse_message(data, name)
    if namespace_of(doc) != NS:
        raise AnswerError(f"{name}: not a WMO323 declaration")
    n = {"d": NS, "b": BASE}
    root = doc.getroot()

    def text(element: etree._Element | None, path: str) -> str:
        found = None if element is None else element.findtext(path, namespaces=n)
        return (found or "").strip()

    try:
        body = root.find("d:Declaratie", n)
        header = root.find("d:Header", n)
        prestaties = []
        for client in root.iterfind("d:Declaratie/d:Clienten/d:Client", n):
            for p in client.iterfind("d:Prestaties/d:Prestatie", n):
                prestaties.append(dict(
                    reference=text(p, "d:ProductReferentie/b:ReferentieNummer"),
                    previous_reference=text(p, "d:ProductReferentie/b:VorigReferentieNummer") or None,
                    bsn=text(client, "d:Bsn"), allocation=int(text(p, "d:ToewijzingNummer")),
                    category=text(p, "d:ProductCategorie"), code=text(p, "d:ProductCode"),
                    first_day=dt.date.fromisoformat(text(p, "d:ProductPeriode/b:Begindatum")),
                    last_day=dt.date.fromisoformat(text(p, "d:ProductPeriode/b:Einddatum")),
                    volume=int(text(p, "d:GeleverdVolume")), unit=text(p, "d:Eenheid"),
                    tariff=int(text(p, "d:ProductTarief") or 0), amount=int(text(p, "d:IngediendBedrag/b:Bedrag")),
                    debit=text(p, "d:IngediendBedrag/b:DebetCredit") == "D", product=text(p, "d:ProductCode")))
        number = text(body, "d:DeclaratieNummer")
        return Declaration.model_validate(dict(
            number=number, invoice_number=number, sender_agb=text(header, "d:Afzender"),
            municipality_code=text(header, "d:Ontvanger"),
            message_id=text(header, "d:BerichtIdentificatie/b:Identificatie"),
            message_date=dt.date.fromisoformat(text(header, "d:BerichtIdentificatie/b:Dagtekening")),
            period_start=dt.date.fromisoformat(text(body, "d:DeclaratiePeriode/b:Begindatum")),
            period_end=dt.date.fromisoformat(text(body, "d:DeclaratiePeriode/b:Einddatum")),
            prestaties=prestaties))
    except (ValueError, TypeError) as exc:
        raise AnswerError(f"{name}: not a complete WMO323 ({exc.__class__.__name__}: {exc})") from None
