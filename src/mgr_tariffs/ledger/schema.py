"""The ledger file: recognising it, creating it atomically, migrating it, opening it safely.

A ledger is an SQLite database whose header carries :data:`APPLICATION_ID` (``MGRL``) and whose
``PRAGMA user_version`` is the number of migrations applied. A file without that application id is
refused *before* SQLite is allowed to write anything to it, so a foreign or corrupt file stays
byte-for-byte untouched. Migrations are an ordered list: migration ``i`` brings version ``i`` to
``i + 1``, in the same write transaction that records the new version. Reading commands open the
ledger read-only (``opened(path, readonly=True)``): they never migrate, never create, and work on a
ledger on a read-only path.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

APPLICATION_ID = 0x4D47524C  # "MGRL"
SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
PAGE_SIZE = 65536  # the largest SQLite allows: a run's blobs (megabytes) take 16x fewer pages than at 4 KiB
DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for a busy ledger (sqlite3 takes a float); the only floats in the package, never money."""

_IMMUTABLE = ("run", "invoice", "invoice_lines", "billed_rows")
_IMMUTABLE_V2 = ("chain", "publication", "published")

_V1 = """
CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'credit')),
    issued_at TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    rows_issued INTEGER NOT NULL,
    files_json TEXT NOT NULL,
    tool_version TEXT NOT NULL
);
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id),
    provider TEXT NOT NULL,
    year INTEGER NOT NULL,
    seq INTEGER NOT NULL CHECK (seq > 0),
    number TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    municipality TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    period TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    vat_cents INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    vat_json TEXT NOT NULL,
    first_line INTEGER NOT NULL CHECK (first_line >= 0),
    credits_id INTEGER UNIQUE REFERENCES invoice(id),
    reason TEXT,
    UNIQUE (number, provider),
    UNIQUE (provider, year, seq)
);
CREATE INDEX invoice_by_period ON invoice (period, run_id);
CREATE TABLE invoice_lines (
    run_id INTEGER PRIMARY KEY REFERENCES run(id),
    line_count INTEGER NOT NULL,
    lines_parquet BLOB NOT NULL
);
CREATE TABLE billed_rows (
    run_id INTEGER PRIMARY KEY REFERENCES run(id),
    row_count INTEGER NOT NULL,
    rows_parquet BLOB NOT NULL
);
"""


def _guard_triggers(tables: tuple[str, ...] = _IMMUTABLE) -> str:
    """Issued rows are never changed nor removed: UPDATE and DELETE abort on every table."""
    return "\n".join(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'issued {table} rows are never changed or deleted'); END;"
        for table in tables for verb in ("UPDATE", "DELETE")
    )


_V2 = """
CREATE TABLE chain (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id INTEGER NOT NULL UNIQUE REFERENCES invoice(id),
    supplier TEXT NOT NULL,
    kvk TEXT,
    previous TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX chain_by_supplier ON chain (supplier, id);
CREATE INDEX chain_by_kvk ON chain (kvk);
CREATE TABLE publication (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id),
    token TEXT NOT NULL UNIQUE,
    plan_json TEXT NOT NULL
);
CREATE TABLE published (
    publication_id INTEGER PRIMARY KEY REFERENCES publication(id),
    published_at TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"""


def _to_v2(connection: sqlite3.Connection) -> None:
    """The chain and publication tables; then the chain records of the invoices issued before."""
    from mgr_tariffs.ledger.chain import seal_existing  # noqa: PLC0415 - the chain module imports this one

    _run_script(connection, _V2 + _guard_triggers(_IMMUTABLE_V2))
    seal_existing(connection)


_IMMUTABLE_V3 = ("declaration", "declaration_line", "answer", "answer_line")
_V3 = """
CREATE TABLE declaration (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL UNIQUE REFERENCES invoice(id),
    number TEXT NOT NULL,
    sender_agb TEXT NOT NULL,
    message_id TEXT NOT NULL,
    written_at TEXT NOT NULL,
    message BLOB NOT NULL
);
CREATE INDEX declaration_by_number ON declaration (number, sender_agb);
CREATE TABLE declaration_line (
    declaration_id INTEGER NOT NULL REFERENCES declaration(id),
    position INTEGER NOT NULL CHECK (position > 0),
    reference TEXT NOT NULL,
    bsn TEXT NOT NULL,
    product TEXT NOT NULL,
    PRIMARY KEY (declaration_id, position),
    UNIQUE (declaration_id, reference)
);
CREATE TABLE answer (
    id INTEGER PRIMARY KEY,
    declaration_id INTEGER NOT NULL UNIQUE REFERENCES declaration(id),
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    submitted_cents INTEGER NOT NULL,
    granted_cents INTEGER NOT NULL
);
CREATE TABLE answer_line (
    answer_id INTEGER NOT NULL REFERENCES answer(id),
    declaration_id INTEGER NOT NULL,
    reference TEXT NOT NULL,
    approved INTEGER NOT NULL CHECK (approved IN (0, 1)),
    codes_json TEXT NOT NULL,
    PRIMARY KEY (answer_id, reference),
    FOREIGN KEY (declaration_id, reference) REFERENCES declaration_line (declaration_id, reference)
);
"""
"""Version 3 (issue 15, iWmo): the WMO323 kept per invoice with its ProductReferenties, and the WMO325 answers."""

Migration = str | Callable[[sqlite3.Connection], None]
"""SQL statements, or a function that works inside the migration's transaction."""

MIGRATIONS: tuple[Migration, ...] = (_V1 + _guard_triggers(), _to_v2, _V3 + _guard_triggers(_IMMUTABLE_V3))
"""Migration ``i`` takes a ledger from ``user_version`` ``i`` to ``i + 1``; only ever append.

Version 2 adds the hash chain (``chain``: one record per invoice and credit note, chained per
supplier; the records of invoices issued before are computed from what they hold at the time of
the migration) and the publication journal (``publication``/``published``). Version 3 keeps the iWmo
declarations (``declaration``/``declaration_line``: the ProductReferentie of every declared line) and their
answers (``answer``/``answer_line``), see :mod:`mgr_tariffs.ledger.declarations`.
"""

LATEST_VERSION = len(MIGRATIONS)


class LedgerError(Exception):
    """The ledger cannot do what was asked: foreign or corrupt file, busy, unknown number, ..."""


def header_problem(path: Path) -> str | None:
    """Why the file at ``path`` is not a ledger, judged from its first 100 bytes only (no SQLite)."""
    try:
        with path.open("rb") as stream:
            header = stream.read(HEADER_SIZE)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if len(header) < HEADER_SIZE or not header.startswith(SQLITE_MAGIC):
        return "not an mgr ledger (not an SQLite database)"
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != APPLICATION_ID:
        return f"not an mgr ledger (an SQLite database of another application, id {application_id:#x})"
    return None


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        _configure(connection, timeout)
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _configure(connection: sqlite3.Connection, timeout: float) -> None:
    connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA cache_size = -65536")


def create(path: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Create an empty ledger at ``path`` atomically: built beside it, then linked into place.

    When another process created it first, its ledger is kept and this one discarded.
    """
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a ledger gets the usual permissions
    try:
        connection = _connect(temporary, timeout)
        try:
            connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # first: fixed once anything is written
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute("PRAGMA journal_mode = WAL")
            migrate(connection, path)
        finally:
            connection.close()
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this ledger lacks, each with its version bump, in one write transaction."""
    if _version(connection) == LATEST_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _version(connection)
        if version > LATEST_VERSION:
            raise LedgerError(f"{path}: written by a newer mgr-tariffs (ledger version {version}, this one knows "
                              f"up to {LATEST_VERSION}); upgrade mgr-tariffs")
        for number in range(version, LATEST_VERSION):
            step = MIGRATIONS[number]
            if isinstance(step, str):
                _run_script(connection, step)
            else:
                step(connection)
            connection.execute(f"PRAGMA user_version = {number + 1}")
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise


def _run_script(connection: sqlite3.Connection, script: str) -> None:
    """Statements one by one (``executescript`` would commit the open transaction)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            connection.execute(statement)
            statement = ""


def _version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def version(connection: sqlite3.Connection) -> int:
    """The schema version of an open ledger (``PRAGMA user_version``)."""
    return _version(connection)


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """Read-only: ``mode=ro``; on a read-only folder (no ``-shm`` can be made) ``immutable=1``."""
    uri = "file:" + urllib.parse.quote(str(path.absolute()))
    try:
        connection = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        connection = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None)
        return connection


def _check_readable_version(connection: sqlite3.Connection, path: Path) -> None:
    found = _version(connection)
    if found > LATEST_VERSION:
        raise LedgerError(f"{path}: written by a newer mgr-tariffs (ledger version {found}, this one knows "
                          f"up to {LATEST_VERSION}); upgrade mgr-tariffs")


def _empty_ledger(timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", timeout=timeout, isolation_level=None)
    migrate(connection, Path(":memory:"))
    return connection


@contextlib.contextmanager
def opened(path: Path, *, create_missing: bool = False, readonly: bool = False,
           timeout: float = DEFAULT_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """A connection to the ledger at ``path``; every SQLite failure becomes a :class:`LedgerError`.

    ``readonly``: opened with ``mode=ro``, never migrated nor created (an older version is read as
    it is: its tables are a subset of the newest).
    """
    if not path.exists():
        if not create_missing or readonly:
            raise LedgerError(f"{path}: no ledger here (nothing has been issued with this ledger yet)")
        _create_guarded(path, timeout)
    problem = header_problem(path)
    if problem:
        raise LedgerError(f"{path}: {problem}; the file was left untouched")
    companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = [c.exists() for c in companions]
    try:
        connection = _connect_readonly(path, timeout) if readonly else _connect(path, timeout)
    except sqlite3.OperationalError as exc:
        raise LedgerError(_operational(path, exc, timeout)) from None
    except sqlite3.Error as exc:
        _remove_empty_companions(companions, existed)
        raise LedgerError(f"{path}: the ledger is damaged ({exc}); the file was left untouched; "
                          "restore it from a backup") from None
    try:
        if readonly:
            _check_readable_version(connection, path)
            if _version(connection) == 0:  # nothing recorded yet: read it as an empty ledger of today's schema
                connection.close()
                connection = _empty_ledger(timeout)
        else:
            migrate(connection, path)
        yield connection
    except sqlite3.OperationalError as exc:
        raise LedgerError(_operational(path, exc, timeout)) from None
    except sqlite3.DatabaseError as exc:
        connection.close()
        _remove_empty_companions(companions, existed)
        raise LedgerError(f"{path}: the ledger is damaged ({exc}); the file was left untouched; "
                          "restore it from a backup") from None
    finally:
        connection.close()


def _remove_empty_companions(companions: list[Path], existed: list[bool]) -> None:
    """After a damaged file was refused: remove the empty ``-wal``/``-shm`` files this open created."""
    wal, shm = companions
    if not any(existed) and wal.exists() and wal.stat().st_size == 0:
        wal.unlink(missing_ok=True)
        shm.unlink(missing_ok=True)


def _create_guarded(path: Path, timeout: float) -> None:
    try:
        create(path, timeout)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot create the ledger ({exc.strerror or exc})") from None


def _operational(path: Path, exc: sqlite3.OperationalError, timeout: float) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"{path}: the ledger is busy (another mgr is writing to it) and stayed busy for {timeout:g} s; "
                "try again when it has finished")
    return f"{path}: ledger error ({text})"


@contextlib.contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: everything inside is recorded together or not at all."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        _rollback(connection)
        raise
    connection.execute("COMMIT")


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")
