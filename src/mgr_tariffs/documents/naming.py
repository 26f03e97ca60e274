"""File names and document ids that are the same on every run and safe on every file system.

A name comes from the invoice number once the invoice is issued (``factuur-2019-000123``) and
from provider, municipality and period before that (``concept-<provider>-0889-2019-03``).
Names never contain ``<>:"/\\|?*`` or control characters, never end in a dot or space and are
never a reserved Windows device name (``CON``, ``NUL``, ``COM1`` ...).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mgr_tariffs.billing.invoices import Invoice

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_STEM = 120


def ascii_fold(text: str) -> str:
    """``Cliëntondersteuning`` -> ``Clientondersteuning``: accents dropped, other non-ASCII removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=4096)  # a run names thousands of invoices of a few dozen providers
def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: ``Werkbedrijf De Peel B.V.`` -> ``werkbedrijf-de-peel-b-v``."""
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-") or "x"


def safe_filename(name: str) -> str:
    """A file name that Windows, macOS and Linux all accept, as close to ``name`` as possible."""
    cleaned = _UNSAFE.sub("_", name).strip().rstrip(". ")
    if not cleaned or cleaned.split(".")[0].strip().lower() in _RESERVED:
        cleaned = f"_{cleaned}"
    return cleaned if len(cleaned) <= MAX_STEM else cleaned[:MAX_STEM].rstrip(". ")


def provisional_id(invoice: Invoice) -> str:
    """The id of an invoice that has no number yet: ``CONCEPT-<provider slug>-<CBS code>-<YYYY-MM>``."""
    return provisional_number(invoice.provider, invoice.municipality_code, invoice.period)


def provisional_number(provider: str, municipality_code: str, period: str) -> str:
    return f"CONCEPT-{slug(provider)}-{municipality_code}-{period}"


def stem_of(provider: str, municipality_code: str, period: str, number: str | None = None,
            credit: bool = False) -> str:
    """The file name without extension of an invoice, from its key (and number once issued)."""
    if number is None:
        return safe_filename(f"concept-{slug(provider)}-{municipality_code}-{period}")
    kind = "creditnota" if credit else "factuur"
    return safe_filename(f"{kind}-{number}-{slug(provider)}")


def document_id(invoice: Invoice) -> str:
    """The invoice number, or the provisional id while there is none."""
    return invoice.number if invoice.number is not None else provisional_id(invoice)


def document_stem(invoice: Invoice) -> str:
    """The file name without extension for an invoice's documents."""
    return stem_of(invoice.provider, invoice.municipality_code, invoice.period, invoice.number,
                   invoice.credits is not None)


def unique_stems(invoices: list[Invoice]) -> list[str]:
    """One stem per invoice; a repeated stem gets ``-2``, ``-3`` ... in input order."""
    seen: dict[str, int] = {}
    stems = []
    for invoice in invoices:
        stem = document_stem(invoice)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems
