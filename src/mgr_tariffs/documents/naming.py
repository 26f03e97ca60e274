"""File names and document ids that are the same on every run and safe on every file system.

A name comes from the invoice number once the invoice is issued (``factuur-2019-000123-<provider>``)
and from provider, municipality and period before that (``concept-<provider>-0889-2019-03``).
The provider part is a readable ASCII slug of at most :data:`MAX_SLUG` characters; when the slug
does not say everything about the name (it was cut, or the name has letters ASCII cannot spell, or
none at all) 8 hex digits of the SHA-256 of the provider's identity are added, and when two
providers of one run still share a part, both get 8 hex digits of their exact spelling. So a
run's names are unique by construction (number or provisional key + provider); the municipality
and month are never cut off. :func:`invoice_stems` checks it and refuses a run where two invoices
would still share a name, rather than let one overwrite the other.

Names only hold ``a-z``, ``0-9`` and ``-``: never ``<>:"/\\|?*`` or control characters, never a
trailing dot or space, never a reserved Windows device name (``CON``, ``NUL``, ``COM1`` ...), and
at most :data:`MAX_STEM` characters before the extension.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.identity import provider_key

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_STEM = 120
MAX_SLUG = 60
"""Characters of the provider's slug in a name (a hash of the full name is added when it is cut)."""


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


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _spelled_in_ascii(text: str) -> bool:
    """Every letter and digit of ``text`` survives :func:`ascii_fold` (accents may go, letters may not)."""
    kept = [c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c) and c.isalnum()]
    return all(c.isascii() for c in kept) and bool(kept)


@lru_cache(maxsize=4096)
def provider_part(provider: str) -> str:
    """The provider in a file name: its slug (at most :data:`MAX_SLUG` characters), plus 8 hex digits of
    its identity's hash when the slug does not spell the whole name."""
    full = slug(provider)
    if len(full) <= MAX_SLUG and _spelled_in_ascii(provider):
        return full
    return f"{full[:MAX_SLUG].rstrip('-') or 'x'}-{_short_hash(provider_key(provider))}"


def provider_parts(providers: Iterable[str]) -> dict[str, str]:
    """Each provider's part in the names of one run: :func:`provider_part`, and where two providers still
    share it, each with 8 hex digits of its exact spelling."""
    parts = {p: provider_part(p) for p in dict.fromkeys(providers)}
    owners: dict[str, list[str]] = {}
    for provider, part in parts.items():
        owners.setdefault(part, []).append(provider)
    for part, names in owners.items():
        if len(names) > 1:
            for name in names:
                parts[name] = f"{part}-{_short_hash(name)}"
    return parts


def provisional_id(invoice: Invoice) -> str:
    """The id of an invoice that has no number yet: ``CONCEPT-<provider part>-<CBS code>-<YYYY-MM>``."""
    return provisional_number(invoice.provider, invoice.municipality_code, invoice.period)


def provisional_number(provider: str, municipality_code: str, period: str) -> str:
    return f"CONCEPT-{provider_part(provider)}-{municipality_code}-{period}"


def stem_of(provider: str, municipality_code: str, period: str, number: str | None = None,
            credit: bool = False, part: str | None = None) -> str:
    """The file name without extension of an invoice, from its key (and number once issued).

    ``part`` is the provider's part of the name (:func:`provider_parts` of the run; default
    :func:`provider_part`).
    """
    who = part if part is not None else provider_part(provider)
    if number is None:
        return safe_filename(f"concept-{who}-{municipality_code}-{period}")
    kind = "creditnota" if credit else "factuur"
    return safe_filename(f"{kind}-{number}-{who}")


def check_unique(names: Sequence[str]) -> None:
    """Refuse names that are not unique (two invoices would share a file): a :class:`DocumentError`."""
    seen: set[str] = set()
    for name in names:
        folded = name.casefold()  # Windows and macOS do not tell case apart
        if folded in seen:
            raise DocumentError(f"two invoices of this run would both be written to {name}; nothing was written")
        seen.add(folded)


def document_id(invoice: Invoice) -> str:
    """The invoice number, or the provisional id while there is none."""
    return invoice.number if invoice.number is not None else provisional_id(invoice)


def document_stem(invoice: Invoice) -> str:
    """The file name without extension for an invoice's documents, on its own (a run uses
    :func:`invoice_stems`, which keeps the providers of the run apart)."""
    return stem_of(invoice.provider, invoice.municipality_code, invoice.period, invoice.number,
                   invoice.credits is not None)


def invoice_stems(invoices: Sequence[Invoice]) -> list[str]:
    """One stem per invoice (the same as its CSV gets), unique in the run or a :class:`DocumentError`."""
    parts = provider_parts(i.provider for i in invoices)
    stems = [stem_of(i.provider, i.municipality_code, i.period, i.number, i.credits is not None,
                     parts[i.provider]) for i in invoices]
    check_unique(stems)
    return stems


unique_stems = invoice_stems
