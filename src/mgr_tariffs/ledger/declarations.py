"""iWmo in the ledger: the WMO323 written per invoice (its ProductReferenties) and the WMO325 answers.

Tables (migration 2, :mod:`.schema`): ``declaration`` (one per invoice: DeclaratieNummer, sender AGB, the
message itself), ``declaration_line`` (per Prestatie its ProductReferentie, client and product),
``answer`` (one per declaration: never applied twice) and ``answer_line`` (per declared line approved or
rejected, with the return codes). Like every ledger table they are never changed or deleted.

A rejected line releases its rows for correction, like a credit note does for a whole invoice: the rows of
that client and product on that invoice no longer count as billed (:func:`released_lines`), so the next
``mgr bill --issue`` bills them again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from mgr_tariffs.ledger.schema import DEFAULT_TIMEOUT, LedgerError, opened, write_transaction

if TYPE_CHECKING:  # the XML side is imported by the commands that use it (the store needs only released_lines)
    from mgr_tariffs.declarations.wmo323 import Declaration
    from mgr_tariffs.declarations.wmo325 import Answer, MatchedAnswer

RELEASED_SCHEMA = {"invoice_id": pl.Int64, "bsn_id": pl.Int64, "product": pl.String}
_RELEASED = ("SELECT d.invoice_id, CAST(l.bsn AS INTEGER), l.product FROM answer_line a "
             "JOIN declaration_line l ON l.reference = a.reference AND l.declaration_id = a.declaration_id "
             "JOIN declaration d ON d.id = l.declaration_id WHERE a.approved = 0")


def released_lines(connection: sqlite3.Connection) -> pl.DataFrame:
    """(invoice_id, bsn_id, product) of every line an answer rejected: its rows are billable again.

    Empty for a ledger before version 3 (opened read-only it is not migrated).
    """
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'answer_line'"
    if connection.execute(exists).fetchone() is None:
        return pl.DataFrame(schema=RELEASED_SCHEMA)
    rows = connection.execute(_RELEASED).fetchall()
    return pl.DataFrame(rows, schema=RELEASED_SCHEMA, orient="row")


def _invoice_id(connection: sqlite3.Connection, path: Path, provider: str, number: str) -> int:
    found = connection.execute("SELECT id FROM invoice WHERE provider = ? AND number = ?",
                               (provider, number)).fetchone()
    if found is None:
        raise LedgerError(f"{path}: no invoice {number} of provider {provider!r} in the ledger")
    return int(found[0])


def record_declaration(path: Path, provider: str, declaration: Declaration, message: bytes, *,
                       timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Keep the declaration of invoice ``declaration.invoice_number`` with its ProductReferenties.

    Returns ``False`` when the same declaration was kept before (writing it again is harmless); a different
    one for the same invoice is refused (:class:`LedgerError`): its references were sent already.
    """
    with opened(path, timeout=timeout) as connection, write_transaction(connection):
        invoice_id = _invoice_id(connection, path, provider, declaration.invoice_number)
        before = connection.execute("SELECT id FROM declaration WHERE invoice_id = ?", (invoice_id,)).fetchone()
        lines = [(p.reference, p.bsn, p.product) for p in declaration.prestaties]
        if before is not None:
            kept = connection.execute("SELECT reference, bsn, product FROM declaration_line WHERE declaration_id = ? "
                                      "ORDER BY position", (before[0],)).fetchall()
            if [tuple(row) for row in kept] != lines:
                raise LedgerError(f"{path}: invoice {declaration.invoice_number} was declared before with other "
                                  "lines; a sent declaration is corrected by a credit note, never rewritten")
            return False
        cursor = connection.execute(
            "INSERT INTO declaration (invoice_id, number, sender_agb, message_id, written_at, message) "
            "VALUES (?, ?, ?, ?, ?, ?)", (invoice_id, declaration.number, declaration.sender_agb,
                                          declaration.message_id, dt.datetime.now(dt.UTC).isoformat(), message))
        connection.executemany(
            "INSERT INTO declaration_line (declaration_id, position, reference, bsn, product) VALUES (?, ?, ?, ?, ?)",
            [(cursor.lastrowid, i, *line) for i, line in enumerate(lines, start=1)])
        return True


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer as the ledger applied it."""

    provider: str
    invoice_number: str
    matched: MatchedAnswer


def record_answer(path: Path, answer: Answer, data: bytes, *, receiver_agb: str,
                  timeout: float = DEFAULT_TIMEOUT) -> RecordedAnswer:
    """Match ``answer`` to its declaration in the ledger and record it; rejected lines release their rows.

    The declaration is found by DeclaratieNummer and the provider's AGB code (the answer's Ontvanger).
    Raises :class:`LedgerError` (nothing recorded) when it matches no kept declaration, matches one that was
    answered before, or does not match its lines (:class:`MatchError`).
    """
    from mgr_tariffs.declarations.wmo325 import MatchError, match_answer, read_declaration  # noqa: PLC0415

    digest = hashlib.sha256(data).hexdigest()
    with opened(path, timeout=timeout) as connection, write_transaction(connection):
        found = connection.execute(
            "SELECT d.id, d.message, i.provider, i.number FROM declaration d JOIN invoice i ON i.id = d.invoice_id "
            "WHERE d.number = ? AND d.sender_agb = ?", (answer.declaration_number, receiver_agb)).fetchall()
        if not found:
            raise LedgerError(f"{answer.file}: DeclaratieNummer {answer.declaration_number} (AGB {receiver_agb}) "
                              "matches no declaration kept in the ledger; nothing was recorded")
        declaration_id, message, provider, number = found[0]
        earlier = connection.execute("SELECT file, received_at FROM answer WHERE declaration_id = ?",
                                     (declaration_id,)).fetchone()
        if earlier is not None:
            raise LedgerError(f"{answer.file}: declaration {answer.declaration_number} was answered before "
                              f"({earlier[0]}, recorded {earlier[1][:10]}); nothing was recorded")
        declared = read_declaration(bytes(message), f"declaration {answer.declaration_number}")
        products = dict(connection.execute("SELECT reference, product FROM declaration_line WHERE declaration_id = ?",
                                           (declaration_id,)).fetchall())
        declared = declared.model_copy(update={"invoice_number": number, "prestaties": tuple(
            p.model_copy(update={"product": products.get(p.reference, p.product)}) for p in declared.prestaties)})
        try:
            matched = match_answer(answer, [declared])
        except MatchError as exc:
            raise LedgerError(f"{exc}; nothing was recorded") from None
        cursor = connection.execute(
            "INSERT INTO answer (declaration_id, file, sha256, message_id, received_at, submitted_cents, "
            "granted_cents) VALUES (?, ?, ?, ?, ?, ?, ?)", (declaration_id, answer.file, digest, answer.message_id,
                                             dt.datetime.now(dt.UTC).isoformat(), answer.submitted, answer.granted))
        connection.executemany(
            "INSERT INTO answer_line (answer_id, declaration_id, reference, approved, codes_json) "
            "VALUES (?, ?, ?, ?, ?)",
            [(cursor.lastrowid, declaration_id, line.reference, int(line.approved),
              json.dumps([c.model_dump() for c in line.codes], ensure_ascii=False)) for line in matched.lines])
    return RecordedAnswer(provider=provider, invoice_number=number, matched=matched)


def statuses(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> dict[tuple[str, str], str]:
    """(provider, invoice number) → its iWmo status (Dutch, as the ledger list shows it): ``gedeclareerd`` (a
    WMO323 was written) or ``antwoord: 2 toegekend, 1 afgewezen`` (the WMO325 was recorded)."""
    with opened(path, readonly=True, timeout=timeout) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'declaration'").fetchone() is None:
            return {}
        rows = connection.execute(
            "SELECT i.provider, i.number, a.id, SUM(l.approved), COUNT(l.reference) FROM declaration d "
            "JOIN invoice i ON i.id = d.invoice_id LEFT JOIN answer a ON a.declaration_id = d.id "
            "LEFT JOIN answer_line l ON l.answer_id = a.id GROUP BY d.id").fetchall()
    return {(provider, number): "gedeclareerd" if answer is None else
            f"antwoord: {approved} toegekend, {total - approved} afgewezen"
            for provider, number, answer, approved, total in rows}
