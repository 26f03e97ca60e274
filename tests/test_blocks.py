"""A large log is read and typed block by block (io.tables.read_table_blocks, billing.engine): the same result
as reading it whole, to the line number of every problem. The block size is made tiny here, so that logs of a
few lines are cut into many blocks, at line ends, never inside a quoted field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.billing.output import lines_csv, rejects_csv
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.io import tables
from mgr_tariffs.problems import InputError

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)
HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
A, B = "111222333", "123456782"  # synthetic BSNs that pass the elfproef


@pytest.fixture(scope="module")
def lookup() -> Lookup:
    loaded = load_catalogue(ROOT / "data" / "tariffs.yaml")
    assert loaded.catalogue is not None
    return Lookup(loaded.catalogue)


def both_ways(path: Path, lookup: Lookup, monkeypatch: pytest.MonkeyPatch, block: int) -> tuple[BillingResult,
                                                                                              BillingResult]:
    whole = bill([path], lookup, BillOptions(today=TODAY))
    monkeypatch.setattr(tables, "BLOCK_BYTES", block)
    blocks = bill([path], lookup, BillOptions(today=TODAY))
    return whole, blocks


def same(whole: BillingResult, blocks: BillingResult) -> None:
    assert [str(p) for p in blocks.errors] == [str(p) for p in whole.errors]
    assert [str(p) for p in blocks.warnings] == [str(p) for p in whole.warnings]
    assert blocks.rows_read == whole.rows_read
    assert lines_csv(blocks) == lines_csv(whole)
    assert rejects_csv(blocks) == rejects_csv(whole)
    assert blocks.summary == whole.summary


LOG = HEADER + "".join(  # 60 rows over three months, two clients, one provider and two municipalities
    f"2021-0{1 + i % 3}-{1 + i % 28:02d};{A if i % 2 else B};Zorg B.V.;{'Venlo' if i % 5 else 'Gennep'};LN035;"
    f"{1 + i % 4},5;\n" for i in range(60))


def test_a_log_in_many_blocks_bills_as_one(tmp_path: Path, lookup: Lookup, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "uren.csv"
    path.write_text(LOG, encoding="utf-8")
    whole, blocks = both_ways(path, lookup, monkeypatch, 300)  # about 6 rows a block
    assert whole.summary.rows_billed == 60 and not whole.errors
    same(whole, blocks)


def test_problems_in_later_blocks_keep_their_line(tmp_path: Path, lookup: Lookup,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rows = LOG.splitlines(keepends=True)
    rows[41] = "2021-02-03;123456789;Zorg B.V.;Venlo;LN035;1;\n"  # line 42: the elfproef fails
    rows[50] = "2021-02-30;111222333;Zorg B.V.;Venlo;LN035;1;\n"  # line 51: no such day
    rows[55] = "2021-03-04;111222333;Zorg B.V.;Venlo;LN035;1;2\n"  # line 56: revenue on a product without netting
    path = tmp_path / "uren.csv"
    path.write_text("".join(rows), encoding="utf-8")
    whole, blocks = both_ways(path, lookup, monkeypatch, 200)
    assert [p.line for p in blocks.errors] == [42, 51, 56]
    same(whole, blocks)
    assert "2021-02-30" in rejects_csv(blocks).decode("utf-8-sig")  # rejected rows as they were in the log


def test_a_client_day_over_two_blocks_is_still_over_24_hours(tmp_path: Path, lookup: Lookup,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    day = "".join(f"2021-03-01;{A};Zorg B.V.;Venlo;LN035;5;\n" for _ in range(5))  # 25 hours, lines 2-6
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + day, encoding="utf-8")
    whole, blocks = both_ways(path, lookup, monkeypatch, 100)  # two rows a block
    assert {p.line for p in whole.errors} == {2, 3, 4, 5, 6} and "more than 24" in whole.errors[0].message
    same(whole, blocks)


def test_a_quoted_field_with_a_line_break_is_never_cut(tmp_path: Path, lookup: Lookup,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    provider = '"Zorg ""Noord""\nB.V."'  # one field over two physical lines
    rows = "".join(f"2021-03-{1 + i:02d};{A};{provider};Venlo;LN035;1;\n" for i in range(20))
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + rows + f"2021-03-28;{B};W;Gennep;LN035;abc;\n", encoding="utf-8")
    whole, blocks = both_ways(path, lookup, monkeypatch, 120)
    assert [p.line for p in whole.errors] == [42]  # 20 rows of two lines after the header
    same(whole, blocks)


def test_crlf_and_a_byte_order_mark(tmp_path: Path, lookup: Lookup, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "uren.csv"
    path.write_bytes(b"\xef\xbb\xbf" + LOG.replace("\n", "\r\n").encode("utf-8"))
    whole, blocks = both_ways(path, lookup, monkeypatch, 250)
    assert whole.summary.rows_billed == 60
    same(whole, blocks)


def test_blocks_lift_the_bound_of_a_whole_read(tmp_path: Path, lookup: Lookup,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "uren.csv"
    path.write_text(LOG, encoding="utf-8")
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", 1000)  # the log is larger than a whole read may be
    with pytest.raises(InputError, match="at most 1,000 bytes"):
        tables.read_table(path)
    monkeypatch.setattr(tables, "BLOCK_BYTES", 500)
    assert bill([path], lookup, BillOptions(today=TODAY)).summary.rows_billed == 60


def test_a_later_block_that_is_not_utf8_is_refused_by_line(tmp_path: Path, lookup: Lookup,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "uren.csv"
    path.write_bytes(LOG.encode("utf-8") + "2021-03-05;111222333;Zorg Café;Venlo;LN035;1;\n".encode("cp1252"))
    monkeypatch.setattr(tables, "BLOCK_BYTES", 400)
    with pytest.raises(InputError, match="is not UTF-8 text after line"):
        bill([path], lookup, BillOptions(today=TODAY))


def test_a_small_or_unusual_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    path.write_text("\n\n" + LOG, encoding="utf-8")  # blank lines before the header: read as one table
    assert len(list(tables.read_table_blocks(path, block_bytes=100))) == 1
    assert len(list(tables.read_table_blocks(tmp_path / "uren.csv", block_bytes=10**9))) == 1
    path.write_text(LOG, encoding="utf-8")
    parts = list(tables.read_table_blocks(path, block_bytes=300))
    assert len(parts) > 5 and sum(p.rows_read for p in parts) == 60
    assert [p.frame["_line"][0] for p in parts][:2] == [2, parts[0].frame["_line"][-1] + 1]
