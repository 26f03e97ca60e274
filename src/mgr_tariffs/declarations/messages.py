"""Many invoices to their checked WMO323 files: what ``mgr declare write`` and ``--documents iwmo`` call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.declarations.allocations import Allocations
from mgr_tariffs.declarations.material import IwmoMaterial
from mgr_tariffs.declarations.wmo323 import (
    FIRST_PERIOD,
    Declaration,
    DeclarationError,
    declare,
    falls_under_wmo,
    file_name,
    write_checked,
)
from mgr_tariffs.parties import Parties


@dataclass(frozen=True)
class Messages:
    """The files written (name → bytes), their declarations, and every invoice refused with its reasons."""

    files: dict[str, bytes]
    declarations: tuple[Declaration, ...]
    invoices: tuple[Invoice, ...]  # the invoice of each declaration
    refused: tuple[DeclarationError, ...]
    skipped: tuple[str, ...] = ()  # invoices with no Wmo line (with ``skip_not_wmo``): invoiced as UBL only


def declaration_messages(invoices: Sequence[Invoice], *, parties: Parties, lookup: Lookup,
                         allocations: Allocations, material: IwmoMaterial, message_date: dt.date,
                         original: Callable[[str, str], Invoice | None], skip_not_wmo: bool = False) -> Messages:
    """One checked WMO323 per invoice; ``original(provider, number)`` gives the invoice a credit note mirrors.

    The AGB code is the provider's ``agb`` in the parties file. An invoice that cannot be declared, or whose
    message breaks a rule, is refused with its reasons; the others are still written.
    """
    files: dict[str, bytes] = {}
    declarations: list[Declaration] = []
    declared: list[Invoice] = []
    refused: list[DeclarationError] = []
    skipped: list[str] = []
    for invoice in invoices:
        if skip_not_wmo and (invoice.period_start < FIRST_PERIOD or not any(
                falls_under_wmo(invoice, line, lookup, allocations) for line in invoice.lines)):
            skipped.append(invoice.number or "invoice")
            continue
        provider = parties.provider(invoice.provider)
        if provider is None:
            refused.append(DeclarationError(invoice.number or "invoice", [
                f"provider {invoice.provider!r} is not in the parties file (its AGB code sends the WMO323)"]))
            continue
        agb = provider.agb
        try:
            debit = original(invoice.provider, invoice.credits) if invoice.credits else None
            declaration = declare(invoice, agb=agb, lookup=lookup, allocations=allocations,
                                  message_date=message_date, original=debit)
            files[file_name(declaration)] = write_checked(declaration, material)
            declarations.append(declaration)
            declared.append(invoice)
        except DeclarationError as exc:
            refused.append(exc)
    return Messages(files, tuple(declarations), tuple(declared), tuple(refused), tuple(skipped))
