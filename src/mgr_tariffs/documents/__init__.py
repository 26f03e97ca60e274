"""Invoice documents: SI-UBL 2.0 e-invoices, printable PDF invoices and one Excel workbook per run.

``write_documents`` writes into an :class:`~mgr_tariffs.atomic.OutputSet` (the caller commits),
so a run that fails half-way leaves nothing behind. Before anything is written every invoice is
resolved against the parties file; whatever is missing is reported in one :class:`DocumentError`.
A large run is rendered on a pool of worker processes (:mod:`mgr_tariffs.documents.render`), with the
same bytes in the same order as one process makes them; a ``progress`` callback is told how far it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.documents.naming import document_id, document_stem, invoice_stems, safe_filename

if TYPE_CHECKING:  # prepare (and with it the parties file's models) is imported when documents are made
    from mgr_tariffs.billing.invoices import Invoice
    from mgr_tariffs.catalogue.loader import Lookup
    from mgr_tariffs.io.atomic import OutputSet
    from mgr_tariffs.parties import Parties

DocumentFormat = Literal["ubl", "pdf", "xlsx"]
FORMATS: tuple[str, ...] = get_args(DocumentFormat)
WORKBOOK_NAME = "facturen.xlsx"
_SUFFIX = {"ubl": ".xml", "pdf": ".pdf"}

__all__ = [
    "FORMATS", "WORKBOOK_NAME", "DocumentError", "DocumentFormat", "document_id", "document_stem",
    "document_targets", "invoice_stems", "safe_filename", "write_documents",
]


def check_formats(formats: Collection[str]) -> list[str]:
    """The requested formats in the canonical order; an unknown one is a :class:`DocumentError`."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise DocumentError(f"unknown document format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    return [f for f in FORMATS if f in formats]


def document_targets(invoices: Sequence[Invoice], out_dir: Path, formats: Collection[str]) -> list[Path]:
    """Every file :func:`write_documents` would write, to check for existing files before any work."""
    wanted = check_formats(formats)
    stems = invoice_stems(invoices)
    targets = [out_dir / f"{stem}{_SUFFIX[fmt]}" for fmt in wanted if fmt in _SUFFIX for stem in stems]
    if "xlsx" in wanted:
        targets.append(out_dir / WORKBOOK_NAME)
    return targets


def write_documents(invoices: Sequence[Invoice], parties: Parties, lookup: Lookup, out_dir: Path,
                    formats: Collection[str], *, issue_date: dt.date, outputs: OutputSet,
                    progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> list[Path]:
    """Write the documents of every invoice into ``outputs``; returns the target paths (not yet committed).

    Raises :class:`DocumentError` when a provider or municipality is missing from the parties file
    or an invoice contradicts itself, before anything is written, or when a document cannot be made
    (nothing is written then either). ``progress(done, total)`` is told the invoices rendered after each
    batch (UBL and PDF); its last call, also when rendering stops on an error, has ``done == total``.
    ``workers``: processes to render with (default: every core for a large run; 1: this process only).
    """
    from mgr_tariffs.documents.prepare import prepare  # noqa: PLC0415
    from mgr_tariffs.documents.render import render  # noqa: PLC0415

    wanted = check_formats(formats)
    documents = prepare(invoices, parties, lookup, issue_date)
    targets = document_targets(invoices, out_dir, wanted)
    outputs.check_targets(targets)
    stems = invoice_stems(invoices)
    rendered = [fmt for fmt in wanted if fmt in _SUFFIX]
    contents = render(documents, rendered, progress=progress, workers=workers) if rendered else {}
    for fmt, files in contents.items():
        for stem, data in zip(stems, files, strict=True):
            outputs.write_bytes(out_dir / f"{stem}{_SUFFIX[fmt]}", data)
    if "xlsx" in wanted:
        from mgr_tariffs.documents.xlsx import build_workbook  # noqa: PLC0415 - openpyxl is loaded only when a workbook is asked for

        outputs.write_bytes(out_dir / WORKBOOK_NAME, build_workbook(documents, stems))
    return targets

