"""How the ledger stores a run (file layout, blobs), finds rows billed before, checks itself, migrates."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import test_ledger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ledger import TODAY, billed

from mgr_tariffs.billing.engine import BillingResult
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.ledger import schema as ledger_schema
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.ledger.store import LedgerError

HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
ROWS = [
    "2021-07-01;111222333;Zorg BV;Gennep;LN034;1;1,50",
    "2021-07-01;111222333;Zorg BV;Gennep;LN034;1;2,00",  # same client, day, quantity: another revenue
    "2021-07-01;111222333;Zorg BV;Gennep;LN035;1;",  # ... another product
    "2021-07-01;111222333;Hulp & Co;Gennep;LN034;1;1,50",  # ... another provider
    "2021-07-01;111222333;Zorg BV;Beesel;LN034;1;1,50",  # ... another municipality
    "2021-07-01;111222333;Zorg BV;Gennep;LN034;1,5;1,50",  # ... another quantity
    "2021-07-02;111222333;Zorg BV;Gennep;LN034;1;1,50",  # ... another day
    "2021-07-01;123456782;Zorg BV;Gennep;LN034;1;1,50",  # ... another client
]


def write_log(folder: Path, name: str, rows: list[str]) -> Path:
    return test_ledger.write_log(folder, name, rows, HEADER)  # with the opbrengst column


@contextmanager
def unguarded(book: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the ledger, with the guard triggers dropped: to damage it on purpose."""
    with closing(sqlite3.connect(book, isolation_level=None)) as connection:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            connection.execute(f"DROP TRIGGER {name}")
        yield connection


def test_a_run_is_one_parquet_blob_of_rows_and_one_of_lines(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    result = billed(lookup, write_log(tmp_path, "a.csv", ROWS))
    issued = ledger.issue(result, book, issue_date=TODAY, lookup=lookup)
    with closing(sqlite3.connect(book)) as connection:
        assert connection.execute("PRAGMA page_size").fetchone() == (ledger_schema.PAGE_SIZE,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (ledger_schema.LATEST_VERSION,)
        run_id, files = connection.execute("SELECT id, files_json FROM run").fetchone()
        assert files == f'["{tmp_path / "a.csv"}"]'
        row_count, blob = connection.execute("SELECT row_count, rows_parquet FROM billed_rows").fetchone()
        line_count, lines = connection.execute("SELECT line_count, lines_parquet FROM invoice_lines").fetchone()
        slices = connection.execute("SELECT first_line, line_count FROM invoice ORDER BY first_line").fetchall()
    rows = pl.read_parquet(io.BytesIO(blob))
    assert rows.schema == {"file": pl.Int32, "line": pl.Int64, **ledger.ROW_KEY}  # no invoice id per row
    assert row_count == rows.height == len(ROWS)
    assert rows.get_column("line").to_list() == list(range(2, 2 + len(ROWS)))
    assert rows.get_column("file").unique().to_list() == [0]
    assert pl.read_parquet(io.BytesIO(lines)).columns == ledger.LINE_FIELDS + ledger.PRODUCT_FIELDS
    assert line_count == issued.lines.height
    assert [first for first, _ in slices] == [sum(count for _, count in slices[:i]) for i in range(len(slices))]
    assert run_id == 1


def test_rows_differing_in_one_key_column_are_different_rows(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    """Rows of one client on one day are candidates for each other; the full key tells them apart."""
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS[:1])), book, issue_date=TODAY, lookup=lookup)
    result = ledger.issue(billed(lookup, write_log(tmp_path, "b.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    assert [(r.line, r.number) for r in result.already_billed_rows()] == [(2, "2024-000001")]
    assert result.rows_issued == len(ROWS) - 1
    assert ledger.verify(book) == []


def test_rows_of_several_logs_remember_their_log(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    first, second = write_log(tmp_path, "a.csv", ROWS[:3]), write_log(tmp_path, "b.csv", ROWS[3:])
    ledger.issue(billed(lookup, first, second), book, issue_date=TODAY, lookup=lookup)
    everything = write_log(tmp_path, "all.csv", [ROWS[4], ROWS[0]])
    found = ledger.find_billed(book, billed(lookup, everything).rows)
    assert found.select("_line", "billed_file", "billed_line").rows() == [(2, str(second), 3), (3, str(first), 2)]


def test_issued_invoices_are_built_only_when_used(tmp_path: Path, book: Path, lookup: Lookup,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    build = ledger.build_invoices  # type: ignore[attr-defined]

    def counted(*args: Any) -> Any:
        calls.append(1)
        return build(*args)

    monkeypatch.setattr(ledger, "build_invoices", counted)
    result = ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    invoices = result.invoices
    assert len(invoices) == len(result.numbers) == 3
    assert calls == []
    assert [i.number for i in invoices] == result.numbers
    assert invoices[-1].number == result.numbers[-1]
    assert calls == [1]


def test_lines_not_grouped_by_invoice_are_refused_and_nothing_is_recorded(tmp_path: Path, book: Path,
                                                                          lookup: Lookup) -> None:
    result = billed(lookup, write_log(tmp_path, "a.csv", ROWS))
    by_client = result.lines.sort("bsn", descending=True, maintain_order=True)  # an invoice split in two
    shuffled = BillingResult(result.lookup, by_client, result.rows, result.rejected, [], [], result.rows_read)
    with pytest.raises(LedgerError, match="not grouped by invoice"):
        ledger.issue(shuffled, book, issue_date=TODAY, lookup=lookup)
    assert ledger.list_invoices(book) == []
    assert ledger.issue(result, book, issue_date=TODAY, lookup=lookup).numbers[0] == "2024-000001"


def _issue_twice(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    ledger.issue(billed(lookup, write_log(tmp_path, "a.csv", ROWS[:4])), book, issue_date=TODAY, lookup=lookup)
    ledger.issue(billed(lookup, write_log(tmp_path, "b.csv", ROWS)), book, issue_date=TODAY, lookup=lookup)
    assert ledger.verify(book) == []


def test_verify_finds_lines_that_no_longer_fit(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    _issue_twice(tmp_path, book, lookup)
    with unguarded(book) as raw:
        raw.execute("UPDATE invoice SET first_line = first_line + 1 WHERE run_id = 2 AND first_line = 0")
        raw.execute("UPDATE invoice_lines SET line_count = 99 WHERE run_id = 1")
    problems = ledger.verify(book)
    assert "run 2: the invoices' lines do not cover its 3 lines exactly once" in problems
    assert "run 1: 3 invoice lines stored, 99 recorded" in problems
    assert any("lines adding up to" in p for p in problems)


def test_verify_finds_rows_billed_twice_or_by_no_invoice(tmp_path: Path, book: Path, lookup: Lookup) -> None:
    _issue_twice(tmp_path, book, lookup)
    with unguarded(book) as raw:
        raw.execute("UPDATE billed_rows SET row_count = 7 WHERE run_id = 1")
        # a third run that bills the rows of run 2 again (its invoices copied under new numbers) ...
        raw.execute("INSERT INTO run SELECT 3, kind, issued_at, issue_date, rows_issued, files_json, tool_version "
                    "FROM run WHERE id = 2")
        raw.execute("INSERT INTO invoice SELECT id + 10, 3, provider, year, seq + 10, number || 'x', issue_date, "
                    "municipality, municipality_code, period, total_cents, vat_cents, line_count, row_count, vat_json, "
                    "first_line, NULL, NULL FROM invoice WHERE run_id = 2")
        raw.execute("INSERT INTO invoice_lines SELECT 3, line_count, lines_parquet FROM invoice_lines WHERE run_id = 2")
        raw.execute("INSERT INTO billed_rows SELECT 3, row_count, rows_parquet FROM billed_rows WHERE run_id = 2")
        # ... and a fourth whose rows belong to no invoice
        raw.execute("INSERT INTO run SELECT 4, kind, issued_at, issue_date, 0, files_json, tool_version FROM run "
                    "WHERE id = 2")
        raw.execute("INSERT INTO billed_rows SELECT 4, row_count, rows_parquet FROM billed_rows WHERE run_id = 2")
    problems = ledger.verify(book)
    assert "billed rows of run 1: 4 rows stored, 7 recorded" in problems
    assert "4 hour-log rows are billed by more than one live invoice" in problems
    assert "run 4: 4 billed rows belong to no invoice of the run" in problems
    assert any("(not gapless" in p for p in problems)


def test_a_new_migration_upgrades_a_ledger_in_one_transaction(tmp_path: Path, book: Path, lookup: Lookup,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _issue_twice(tmp_path, book, lookup)
    before = [i.number for i in ledger.list_invoices(book)]
    broken = (*ledger_schema.MIGRATIONS, "CREATE TABLE note (text TEXT NOT NULL);\nSELECT * FROM no_such_table;")
    monkeypatch.setattr(ledger_schema, "MIGRATIONS", broken)
    monkeypatch.setattr(ledger_schema, "LATEST_VERSION", len(broken))
    with pytest.raises(LedgerError, match="no such table"), ledger_schema.opened(book):  # writing opens migrate
        pass
    with closing(sqlite3.connect(book)) as connection:  # the failed migration left nothing behind
        assert connection.execute("PRAGMA user_version").fetchone() == (len(broken) - 1,)
        assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'note'").fetchone() == (0,)
    working = (*broken[:-1], "CREATE TABLE note (text TEXT NOT NULL);")
    monkeypatch.setattr(ledger_schema, "MIGRATIONS", working)
    assert [i.number for i in ledger.list_invoices(book)] == before  # reading an older version as it is
    with ledger_schema.opened(book):
        pass
    with closing(sqlite3.connect(book)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (len(working),)
        assert connection.execute("SELECT count(*) FROM note").fetchone() == (0,)
    assert ledger.verify(book) == []


POOL = [f"2021-07-0{day};{bsn};{provider};{municipality};{product};{hours};{revenue}"
        for day in (1, 2) for bsn in ("111222333", "123456782") for provider in ("Zorg BV", "Hulp & Co")
        for municipality in ("Gennep", "Beesel") for product, revenue in (("LN034", "1,50"), ("LN034", ""),
                                                                           ("LN035", ""))
        for hours in ("1", "1,5")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.sampled_from(POOL), min_size=1, max_size=8),
       more=st.lists(st.sampled_from(POOL), max_size=8), credit=st.booleans())
def test_a_longer_log_bills_exactly_the_rows_not_billed_by_a_live_invoice(
        tmp_path_factory: pytest.TempPathFactory, lookup: Lookup, first: list[str], more: list[str],
        credit: bool) -> None:
    folder = tmp_path_factory.mktemp("prop")
    book = folder / "ledger.sqlite"
    done = ledger.issue(billed(lookup, write_log(folder, "a.csv", first)), book, issue_date=TODAY, lookup=lookup)
    released = 0
    if credit:
        head = done.invoice_frame.row(0, named=True)
        ledger.credit(book, head["number"], provider=head["provider"], reason=None, issue_date=TODAY)
        released = head["rows"]
    result = ledger.issue(billed(lookup, write_log(folder, "b.csv", first + more)), book, issue_date=TODAY,
                          lookup=lookup)
    assert (result.rows_already_billed, result.rows_issued) == (len(first) - released, len(more) + released)
    found = ledger.find_billed(book, billed(lookup, write_log(folder, "c.csv", first + more)).rows)
    assert found.height == len(first) + len(more)
    assert ledger.verify(book) == []


def test_a_version_1_ledger_is_sealed_by_the_migration_to_version_2(tmp_path: Path, book: Path,
                                                                    lookup: Lookup) -> None:
    _issue_twice(tmp_path, book, lookup)
    with unguarded(book) as raw:  # what the release before the hash chain wrote: the version 1 tables only
        for table in ("chain", "publication", "published", "answer_line", "answer", "declaration_line", "declaration"):
            raw.execute(f"DROP TABLE {table}")
        raw.execute("DELETE FROM sqlite_sequence")
        raw.execute("PRAGMA user_version = 1")
    assert ledger.verify(book) == [
        "no hash chain yet (a ledger of version 1): the next mgr bill --issue or mgr credit adds it"]
    numbers = [i.number for i in ledger.list_invoices(book)]  # read as it is, not migrated
    with closing(sqlite3.connect(book)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (1,)
    with ledger_schema.opened(book):  # a writing open migrates: every invoice gets its chain record
        pass
    assert ledger.verify(book) == []
    assert [i.number for i in ledger.list_invoices(book)] == numbers
    with closing(sqlite3.connect(book)) as connection:
        assert connection.execute("SELECT count(*) FROM chain").fetchone() == (len(numbers),)
    with unguarded(book) as raw:
        raw.execute("UPDATE invoice SET total_cents = total_cents + 1 WHERE id = 1")
    assert any("no longer matches what was issued" in p for p in ledger.verify(book))
