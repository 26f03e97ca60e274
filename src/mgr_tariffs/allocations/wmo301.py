"""Read allocations from iWmo WMO301 messages (*toewijzing*), validated against the iWmo XSD first.

The XSD is not shipped with the package (the iWmo 3.2 publication of Zorginstituut Nederland; its licence is not
settled): the iWmo folder — with ``xsd/WMO301.xsd`` and ``xsd/basisschema.xsd``, or those two files themselves — is
``--iwmo-dir DIR``, else ``$MGR_IWMO_DIR``, else ``../shared/iwmo`` relative to the working directory when that
folder exists (the option, variable and default ``mgr declare`` uses). A message that breaks the schema gives one
problem per finding, with its line, and no allocations.

What a ``ToegewezenProduct`` becomes: the municipality is the header's ``Afzender`` (CBS code), the provider the
``Ontvanger`` (AGB code) — shown by its name when the parties file names that AGB code, else the code itself —,
the client the ``Client``'s ``Bsn``; ``Omvang`` gives volume, unit (WJ756) and frequency (WMO757), ``Budget`` is
in eurocent, as is a volume in unit 83 (euro, IV042).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from mgr_tariffs.allocations import XSD_ENV
from mgr_tariffs.allocations.model import Fields
from mgr_tariffs.problems import InputError, Problem, error

NAMESPACE = "http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"
BASE_NAMESPACE = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"
_W = f"{{{NAMESPACE}}}"
_B = f"{{{BASE_NAMESPACE}}}"
EURO_CODE = "83"


DEFAULT_RELATIVE = Path("..") / "shared" / "iwmo"


def xsd_folder(option: Path | None) -> Path | None:
    """The folder holding ``WMO301.xsd``: from ``--iwmo-dir``, else ``$MGR_IWMO_DIR``, else ``../shared/iwmo`` when it
    exists; its ``xsd/`` when it has one. ``None`` when none is given or found."""
    env = os.environ.get(XSD_ENV, "").strip()
    root = option if option is not None else Path(env) if env else DEFAULT_RELATIVE if DEFAULT_RELATIVE.is_dir() \
        else None
    if root is None:
        return None
    return root / "xsd" if (root / "xsd" / "WMO301.xsd").is_file() else root


def is_xml(path: Path) -> bool:
    """Whether a file is XML (its first character, after a byte-order mark and white space, is ``<``)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return False  # the table reader says why it cannot be read
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


@cache
def _schema(folder: Path) -> Any:
    xsd = folder / "WMO301.xsd"
    if not xsd.is_file():
        raise InputError(str(folder), "has no WMO301.xsd: give the iWmo 3.2 folder (with xsd/) with --iwmo-dir or "
                         f"${XSD_ENV}")
    try:
        return etree.XMLSchema(etree.parse(str(xsd), _parser()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise InputError(str(xsd), f"is not a usable XSD: {exc}") from None


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def read_wmo301(path: Path, xsd_dir: Path | None, agb_names: Mapping[str, str]) -> tuple[list[Fields], list[Problem]]:
    """The ``ToegewezenProduct`` elements of one message as register cells, or the schema's findings."""
    file = str(path)
    if xsd_dir is None:
        raise InputError(file, f"is a WMO301 message: give the iWmo 3.2 folder (with xsd/WMO301.xsd) with --iwmo-dir "
                               f"or ${XSD_ENV} to validate it")
    schema = _schema(xsd_dir)
    try:
        document = etree.parse(file, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        return [], [error(file, line, f"not well-formed XML: {exc.msg}")]
    except OSError as exc:
        raise InputError(file, f"cannot be read: {exc}") from None
    if not schema.validate(document):
        return [], [error(file, e.line or None, f"WMO301.xsd: {e.message}") for e in schema.error_log]
    root = document.getroot()
    municipality = _text(root, f"{_W}Header/{_W}Afzender")
    agb = _text(root, f"{_W}Header/{_W}Ontvanger") or ""
    provider = agb_names.get(agb, agb)
    entries = []
    for client in root.iter(f"{_W}Client"):
        client_bsn = _text(client, f"{_W}Bsn")
        for product in client.iter(f"{_W}ToegewezenProduct"):
            entries.append(Fields(file, product.sourceline, _cells(product, client_bsn, provider, municipality)))
    return entries, []


def _cells(product: Any, client_bsn: str | None, provider: str, municipality: str | None) -> dict[str, str | None]:
    unit = _text(product, f"{_W}Omvang/{_B}Eenheid")
    volume = _text(product, f"{_W}Omvang/{_B}Volume")
    if unit == EURO_CODE and volume is not None:
        volume = _euros(volume)
    budget = _text(product, f"{_W}Budget")
    return {
        "toewijzingnummer": _text(product, f"{_W}ToewijzingNummer"), "bsn": client_bsn, "aanbieder": provider,
        "gemeente": municipality, "productcode": _text(product, f"{_W}Product/{_B}Code"),
        "ingangsdatum": _text(product, f"{_W}Ingangsdatum"), "einddatum": _text(product, f"{_W}Einddatum"),
        "volume": volume, "eenheid": unit, "frequentie": _text(product, f"{_W}Omvang/{_B}Frequentie"),
        "budget": _euros(budget) if budget is not None else None,
        "reden_wijziging": _text(product, f"{_W}RedenWijziging"), "commentaar": _text(product, f"{_W}Commentaar"),
    }


def _euros(cents: str) -> str:
    return f"{Decimal(cents) / 100:f}"


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None
