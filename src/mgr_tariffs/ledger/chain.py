"""The hash chain of the ledger: every issued invoice and credit note sealed, chained per supplier.

Each invoice and credit note gets one ``chain`` record when it is issued: its supplier (the
provider's identity, :func:`mgr_tariffs.identity.provider_key`), the KvK number when the parties
file gave one, the hash of the supplier's previous record (``""`` for the first) and its own hash:
SHA-256 over the previous hash and a canonical JSON text of what was issued — number, provider,
year and sequence, issue date, municipality, period, totals, VAT breakdown, line and row counts,
the slice of its run's lines, what it credits and why, the run (kind, date, rows, hour logs), and
the SHA-256 of the run's stored lines and billed rows (the Parquet blobs, byte for byte).

:func:`verify_chain` recomputes every record from what the ledger holds now and names the first
record per supplier that no longer matches (an edited amount, a renumbered invoice, changed lines),
records that are missing (a deleted run: the record ids are consecutive and SQLite remembers the
highest id ever given, ``sqlite_sequence``), and invoices without a record.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mgr_tariffs.identity import provider_key

_RECORDS = """
SELECT i.id, i.run_id, i.provider, i.year, i.seq, i.number, i.issue_date, i.municipality, i.municipality_code,
       i.period, i.total_cents, i.vat_cents, i.line_count, i.row_count, i.vat_json, i.first_line,
       o.number AS credits, i.reason, r.kind, r.issue_date AS run_date, r.rows_issued, r.files_json
FROM invoice i LEFT JOIN run r ON r.id = i.run_id LEFT JOIN invoice o ON o.id = i.credits_id
"""
_FIELDS = ("id", "run_id", "provider", "year", "seq", "number", "issue_date", "municipality", "municipality_code",
           "period", "total_cents", "vat_cents", "line_count", "row_count", "vat_json", "first_line", "credits",
           "reason", "kind", "run_date", "rows_issued", "files_json")


def _digest(blob: Any) -> str | None:
    if blob is None:
        return None
    data = blob if isinstance(blob, bytes) else str(blob).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


_CONTENT = _FIELDS[1:]  # the invoice id is where the record points, not what it says


def record_text(record: Mapping[str, Any] | Sequence[Any]) -> str:
    """The canonical text of what was issued: a JSON array of the fields in :data:`_CONTENT` order
    (``record`` as a mapping, or a sequence in :data:`_FIELDS` order)."""
    values = [record[k] for k in _CONTENT] if isinstance(record, Mapping) else list(record[1:])
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=repr)


def record_hash(previous: str, text: str, blobs: tuple[str | None, str | None], supplier: str,
                kvk: str | None) -> str:
    """The hash of one chain record: SHA-256 of the previous hash, the record's text, and a JSON array of
    the run's blob hashes, the supplier and its KvK number, one per line."""
    return _hash(previous, text, _tail(blobs, supplier, kvk))


def _tail(blobs: tuple[str | None, str | None], supplier: str, kvk: str | None) -> str:
    return json.dumps([blobs[0], blobs[1], supplier, kvk], separators=(",", ":"), ensure_ascii=False)


def _hash(previous: str, text: str, tail: str) -> str:
    return hashlib.sha256(f"{previous}\n{text}\n{tail}".encode("utf-8", "surrogatepass")).hexdigest()


Texts = list[tuple[int, str, int, str]]
"""Per record: invoice id, provider, run id, :func:`record_text`."""


def link(connection: sqlite3.Connection, texts: Texts, blobs: Mapping[int, tuple[str | None, str | None]],
         kvk: Mapping[str, str]) -> list[tuple[Any, ...]]:
    """The chain rows of these records, after the last record of each supplier in the ledger."""
    keys = {p: provider_key(str(p)) for p in {t[1] for t in texts}}
    heads = _heads(connection, keys.values())
    rows = []
    tails: dict[tuple[str, int], str] = {}
    for invoice_id, provider, run_id, text in texts:
        supplier = keys[provider]
        number = kvk.get(str(provider))
        tail = tails.get((provider, run_id))
        if tail is None:
            tail = tails[provider, run_id] = _tail(blobs[run_id], supplier, number)
        digest = _hash(heads[supplier], text, tail)
        rows.append((invoice_id, supplier, number, heads[supplier], digest))
        heads[supplier] = digest
    return rows


def digest(blob: Any) -> str | None:
    """SHA-256 of a stored blob as the chain records it."""
    return _digest(blob)


def _run_blob_bytes(connection: sqlite3.Connection, run_ids: Iterable[int]) -> dict[int, tuple[Any, Any]]:
    """Per run: its stored lines and billed rows (``None`` where it has none)."""
    found: dict[int, tuple[Any, Any]] = {}
    for run_id in set(run_ids):
        lines = connection.execute("SELECT lines_parquet FROM invoice_lines WHERE run_id = ?", (run_id,)).fetchone()
        rows = connection.execute("SELECT rows_parquet FROM billed_rows WHERE run_id = ?", (run_id,)).fetchone()
        found[run_id] = (lines[0] if lines else None, rows[0] if rows else None)
    return found


def _digests(blobs: dict[int, tuple[Any, Any]]) -> dict[int, tuple[str | None, str | None]]:
    return {run_id: (_digest(lines), _digest(rows)) for run_id, (lines, rows) in blobs.items()}


def _run_blobs(connection: sqlite3.Connection, run_ids: Iterable[int]) -> dict[int, tuple[str | None, str | None]]:
    """Per run: SHA-256 of its stored lines and billed rows (``None`` where it has none)."""
    return _digests(_run_blob_bytes(connection, run_ids))


def _records(connection: sqlite3.Connection, where: str = "", values: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = connection.execute(_RECORDS + where + " ORDER BY i.id", values)
    return [dict(zip(_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def _heads(connection: sqlite3.Connection, suppliers: Iterable[str]) -> dict[str, str]:
    heads = {}
    for supplier in set(suppliers):
        row = connection.execute("SELECT hash FROM chain WHERE supplier = ? ORDER BY id DESC LIMIT 1",
                                 (supplier,)).fetchone()
        heads[supplier] = row[0] if row else ""
    return heads


def seal(connection: sqlite3.Connection, run_id: int, kvk: Mapping[str, str] | None = None) -> None:
    """Add the chain records of the invoices of run ``run_id`` (inside the run's transaction)."""
    _seal(connection, _records(connection, " WHERE i.run_id = ?", (run_id,)), kvk or {})


def insert(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    connection.executemany("INSERT INTO chain (invoice_id, supplier, kvk, previous, hash) VALUES (?, ?, ?, ?, ?)",
                           rows)


def _seal(connection: sqlite3.Connection, records: list[dict[str, Any]], kvk: Mapping[str, str]) -> None:
    blobs = _run_blobs(connection, (r["run_id"] for r in records))
    texts = [(r["id"], r["provider"], r["run_id"], record_text(r)) for r in records]
    insert(connection, link(connection, texts, blobs, kvk))


def seal_existing(connection: sqlite3.Connection) -> None:
    """The migration to version 2: records for every invoice issued before, oldest first."""
    _seal(connection, _records(connection), {})


def has_chain(connection: sqlite3.Connection) -> bool:
    row = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain'").fetchone()
    return row is not None


def verify_chain(connection: sqlite3.Connection) -> list[str]:
    """What no longer matches the chain: the first changed record per supplier, missing records and
    invoices without one. Empty when every record is as it was issued."""
    if not has_chain(connection):
        return ["no hash chain yet (a ledger of version 1): the next mgr bill --issue or mgr credit adds it"]
    chain = connection.execute("SELECT id, invoice_id, supplier, kvk, previous, hash FROM chain ORDER BY id").fetchall()
    records = {r["id"]: r for r in _records(connection)}
    problems = _missing(connection, [c[0] for c in chain])
    blobs = _run_blobs(connection, (r["run_id"] for r in records.values()))
    heads: dict[str, str] = {}
    broken: set[str] = set()
    for record_id, invoice_id, supplier, kvk, previous, stored in chain:
        record = records.pop(invoice_id, None)
        if supplier in broken:
            continue
        if record is None:
            problems.append(f"chain record {record_id} ({supplier}): its invoice is gone from the ledger")
            broken.add(supplier)
            continue
        where = f"{record['provider']} {record['number']} (chain record {record_id})"
        if previous != heads.get(supplier, ""):
            problems.append(f"{where}: the record before it in the chain of {supplier!r} is missing or changed")
            broken.add(supplier)
        elif record_hash(previous, record_text(record), blobs.get(record["run_id"], (None, None)), supplier,
                         kvk) != stored:
            problems.append(f"{where}: no longer matches what was issued (changed after it was issued)")
            broken.add(supplier)
        heads[supplier] = stored
    problems += [f"{r['provider']} {r['number']}: not in the hash chain (added behind mgr's back?)"
                 for r in records.values()]
    return problems


def _missing(connection: sqlite3.Connection, ids: list[int]) -> list[str]:
    """Chain records that were deleted: ids are consecutive from 1 up to the highest ever given."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chain'").fetchone()
    highest = max([int(row[0]) if row else 0, *ids], default=0)
    gone = sorted(set(range(1, highest + 1)) - set(ids))
    if not gone:
        return []
    shown = ", ".join(map(str, gone[:10])) + (" ..." if len(gone) > 10 else "")
    return [f"chain records {shown} are missing: {len(gone)} issued invoice(s) or credit note(s) were deleted"]


def head(connection: sqlite3.Connection) -> str:
    """One hash of the whole chain (its last record of every supplier): note it to prove later that
    nothing was removed since (``mgr ledger verify --head``)."""
    rows = connection.execute(
        "SELECT supplier, hash FROM chain WHERE id IN (SELECT max(id) FROM chain GROUP BY supplier) "
        "ORDER BY supplier").fetchall() if has_chain(connection) else []
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def known_hash(connection: sqlite3.Connection, noted: str) -> bool:
    """Whether a head noted earlier (:func:`head`) is consistent with the chain now: every supplier's
    record it covered is still there (checked by recomputing heads of prefixes)."""
    if not has_chain(connection):
        return False
    chain = connection.execute("SELECT id, supplier, hash FROM chain ORDER BY id").fetchall()
    last: dict[str, str] = {}
    if hashlib.sha256(json.dumps([]).encode()).hexdigest()[:16] == noted:
        return True
    for _, supplier, digest in chain:
        last[supplier] = digest
        if hashlib.sha256(json.dumps(sorted(last.items())).encode()).hexdigest()[:16] == noted:
            return True
    return False
