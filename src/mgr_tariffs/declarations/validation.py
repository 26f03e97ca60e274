"""Validate an iWmo message before it is sent: the XSD (level 1) and the rule stylesheet (level 2).

Both levels run on every message, so one run reports everything at once (VECOZO answers an invalid
message with the bare code 0001). The stylesheet is XSLT 1.0 and runs in lxml. Every finding has a
rule code, its Dutch text and the element path it is about:

* a stylesheet ``Fout`` keeps its code (TR358, CS340, CD060, ...), its text and its ``Locatie``;
* an XSD error on ``GeleverdVolume`` is reported as IV042 (a whole number in its Eenheid), any other
  XSD error as ``XSD`` with the schema's message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from mgr_tariffs.declarations.material import IwmoMaterial, instruction_sentence

REPORT_NS = {"r": "http://www.istandaarden.nl/validatie/1_1/rapport/schema"}
WMO323_NS = "http://www.istandaarden.nl/iwmo/3_2/wmo323/schema"
WMO325_NS = "http://www.istandaarden.nl/iwmo/3_2/wmo325/schema"
MAX_BYTES = 50 * 1024 * 1024
"""A declaration of 50 MB has hundreds of thousands of lines; larger is refused, not parsed."""


@dataclass(frozen=True)
class Finding:
    """One broken rule: its code, its Dutch text and where in the message (element paths)."""

    code: str
    text: str
    locations: tuple[str, ...]
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "locations": list(self.locations), "line": self.line}

    def __str__(self) -> str:
        where = ", ".join(self.locations)
        return f"[{self.code}] {self.text}" + (f" (at {where})" if where else "")


class UnreadableMessage(Exception):
    """The file is not an XML message that can be checked (not well-formed, too big, unknown root)."""


def parser() -> etree.XMLParser:
    """A parser that resolves no entities and fetches nothing (a hostile file stays harmless)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def parse_message(data: bytes, name: str) -> etree._ElementTree:
    if len(data) > MAX_BYTES:
        raise UnreadableMessage(f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return etree.ElementTree(etree.fromstring(data, parser()))
    except etree.XMLSyntaxError as exc:
        raise UnreadableMessage(f"{name}: not well-formed XML: {exc}") from None


@functools.cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), parser()))


@functools.cache
def _rules(path: Path) -> etree.XSLT:
    return etree.XSLT(etree.parse(str(path), parser()))


def namespace_of(doc: etree._ElementTree) -> str:
    return etree.QName(doc.getroot()).namespace or ""


def validate_document(doc: etree._ElementTree, material: IwmoMaterial, name: str = "message") -> list[Finding]:
    """Every finding of the XSD and (for a WMO323 or WMO325) the rule stylesheet; empty when valid."""
    namespace = namespace_of(doc)
    schema_path = material.schema(namespace)
    if schema_path is None:
        raise UnreadableMessage(f"{name}: root namespace {namespace!r} is not an iWmo 3.2 WMO301/323/325 message")
    schema = _schema(schema_path)
    findings = [] if schema.validate(doc) else [_xsd_finding(e, material) for e in schema.error_log]
    if namespace in (WMO323_NS, WMO325_NS):
        findings += level2(doc, material)
    return findings


def validate_bytes(data: bytes, material: IwmoMaterial, name: str = "message") -> list[Finding]:
    return validate_document(parse_message(data, name), material, name)


def validate_file(path: Path, material: IwmoMaterial) -> list[Finding]:
    """Findings of one file; :class:`UnreadableMessage` (or ``OSError``) when it cannot be checked."""
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    return validate_bytes(data, material, str(path))


def level2(doc: etree._ElementTree, material: IwmoMaterial) -> list[Finding]:
    """The stylesheet's report: one finding per ``Fout``, with its Dutch text (its details or the rule text)."""
    report = _rules(material.stylesheet)(doc)
    findings = []
    for fout in report.getroot().iterfind(".//r:Fout", REPORT_NS):
        code = (fout.findtext("r:Code", default="", namespaces=REPORT_NS) or "?").strip()
        details = " ".join((fout.findtext("r:Details", default="", namespaces=REPORT_NS) or "").split())
        text = details or material.rule_text(code) or "(no rule text in the iWmo folder)"
        locations = tuple((loc.text or "").strip() for loc in fout.iterfind("r:Locatie", REPORT_NS))
        findings.append(Finding(code, text, locations))
    return findings


def _xsd_finding(error: Any, material: IwmoMaterial) -> Finding:
    path = _plain_path(str(error.path or ""))
    message = str(error.message)
    if path.endswith("/GeleverdVolume"):
        text = instruction_sentence(material.root, "IV042", "geheel getal") or "GeleverdVolume is a whole number"
        return Finding("IV042", f"{text} ({message})", (path,), error.line)
    return Finding("XSD", message, (path,) if path else (), error.line)


def _plain_path(path: str) -> str:
    """``/wmo323:Bericht/wmo323:Header`` → ``/Bericht/Header`` (the stylesheet's style)."""
    return "/".join(part.split(":", 1)[-1] for part in path.split("/"))
