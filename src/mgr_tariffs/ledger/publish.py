"""The publication journal: the files of an issuing run are published after its commit, or by the next run.

A run that issues (``mgr bill --issue``, ``mgr credit``) stages its files first
(:func:`mgr_tariffs.io.atomic.stage`), records in the same transaction as its invoices *what* it
will publish (``publication``: the staged and the target paths), commits, moves the files into
place and then records that it did (``published``). A crash before the commit leaves the old
ledger and no files; a crash after it leaves a pending publication, which the next issuing run
into the same ledger completes before it does anything else (:func:`recover`), and which
``mgr ledger verify`` reports until then.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from mgr_tariffs.io.atomic import OutputError, Staged
from mgr_tariffs.ledger.schema import write_transaction

_PENDING = ("SELECT p.id, p.run_id, p.plan_json FROM publication p "
            "WHERE NOT EXISTS (SELECT 1 FROM published d WHERE d.publication_id = p.id) ORDER BY p.id")


def has_journal(connection: sqlite3.Connection) -> bool:
    row = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'publication'").fetchone()
    return row is not None


def record(connection: sqlite3.Connection, run_id: int, staged: Staged) -> int:
    """Record the publication of run ``run_id`` (inside the run's transaction); returns its id."""
    cursor = connection.execute("INSERT INTO publication (run_id, token, plan_json) VALUES (?, ?, ?)",
                                (run_id, staged.token, staged.to_json()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _insert_published(connection: sqlite3.Connection, publication_id: int, outcome: str) -> None:
    connection.execute("INSERT INTO published VALUES (?, ?, ?)",
                       (publication_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), outcome))


def mark_published(connection: sqlite3.Connection, publication_id: int, outcome: str = "published") -> None:
    """Record that a publication is complete (its own small transaction)."""
    with write_transaction(connection):
        _insert_published(connection, publication_id, outcome)


def pending(connection: sqlite3.Connection) -> list[tuple[int, int, Staged]]:
    """The publications whose files are not (known to be) in place: (id, run id, what was staged)."""
    if not has_journal(connection):
        return []
    return [(pid, run_id, Staged.from_json(plan)) for pid, run_id, plan in connection.execute(_PENDING).fetchall()]


def pending_tokens(connection: sqlite3.Connection) -> set[str]:
    return {staged.token for _, _, staged in pending(connection)}


def publish(connection: sqlite3.Connection, publication_id: int, staged: Staged) -> None:
    """Move the staged files into place and record it; raises :class:`OutputError` (then it stays pending)."""
    staged.publish()
    mark_published(connection, publication_id)


def recover(connection: sqlite3.Connection) -> list[str]:
    """Complete every pending publication (the files a crashed run committed but did not publish).

    Under the ledger's write lock, so two runs never publish the same files. Returns what was done,
    one message per publication; a publication that cannot be completed raises
    :class:`OutputError` naming where its files wait. Staged files that are gone while their targets
    exist were published already (the crash came just before ``published`` was written).
    """
    if not pending(connection):
        return []
    done = []
    with write_transaction(connection):
        for publication_id, run_id, staged in pending(connection):
            if staged.waiting():
                try:
                    staged.publish()
                except OutputError as exc:
                    raise OutputError(f"the files of an earlier, interrupted run (run {run_id}) could not be "
                                      f"published: {exc}") from None
                done.append(f"published the files of an interrupted earlier run (run {run_id}): "
                            + ", ".join(str(t) for t in staged.targets))
                _insert_published(connection, publication_id, "published")
            elif all(t.exists() for t in staged.targets):
                _insert_published(connection, publication_id, "published")
            else:
                lost = [str(t) for t in staged.targets if not t.exists()]
                _insert_published(connection, publication_id, "lost: " + ", ".join(lost))
                done.append(f"the files of run {run_id} were removed before they could be published "
                            f"({', '.join(lost)}); write them again with mgr ledger show NUMBER --out DIR")
    return done


def verify_publications(connection: sqlite3.Connection) -> list[str]:
    """The publications still pending, for ``mgr ledger verify``."""
    problems = []
    for _, run_id, staged in pending(connection):
        where = ", ".join(str(t) for t in staged.targets)
        problems.append(f"run {run_id}: issued, but its files are not published yet ({where}); the next mgr bill "
                        "--issue or mgr credit with this ledger publishes them")
    return problems
