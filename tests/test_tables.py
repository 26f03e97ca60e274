"""The table reader: CSV and XLSX in, a frame of stripped strings with physical line numbers out."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.styles import Font

from mgr_tariffs.io.tables import MAX_COLUMNS, MAX_PROBLEMS, Column, Table, _cell_text, read_table, resolve_columns
from mgr_tariffs.problems import InputError, Severity

DATA = Path(__file__).parent / "data" / "tables"
Write = Callable[..., Path]


@pytest.fixture()
def write(tmp_path: Path) -> Write:
    def _write(content: bytes | str, name: str = "input.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write


def rows(table: Table) -> list[tuple[object, ...]]:
    return table.frame.rows()


def messages(table: Table) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in table.problems]


def unreadable(path: Path, sheet: str | None = None) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path, sheet=sheet)
    assert caught.value.file == str(path)
    return caught.value.message


# ------------------------------------------------------------------------------------------------ shape and values


def test_frame_shape_line_first_int64_then_strings(write: Write) -> None:
    table = read_table(write("datum;uren\n2024-01-01;1,5\n"))
    assert table.kind == "csv"
    assert table.frame.schema == pl.Schema({"_line": pl.Int64, "datum": pl.String, "uren": pl.String})
    assert rows(table) == [(2, "2024-01-01", "1,5")]
    assert table.rows_read == 1
    assert table.problems == []
    assert table.header_line == 1


def test_file_is_the_path_as_given(write: Write) -> None:
    path = write("a;b\n1;2\n")
    assert read_table(str(path)).file == str(path)
    assert read_table(path).file == str(path)


def test_values_and_header_names_stripped_empty_is_null_case_kept(write: Write) -> None:
    table = read_table(write(" Datum ; Cliënt \n 2024-01-01 ;   \n;x\n"))
    assert table.frame.columns == ["_line", "Datum", "Cliënt"]
    assert rows(table) == [(2, "2024-01-01", None), (3, None, "x")]


def test_non_breaking_and_tab_spaces_are_stripped(write: Write) -> None:
    table = read_table(write("a;b\n\u00a01\u00a0;\t2\t\n"))
    assert rows(table) == [(2, "1", "2")]


def test_header_only_gives_an_empty_frame_with_columns(write: Write) -> None:
    table = read_table(write("datum;uren\r\n"))
    assert table.frame.columns == ["_line", "datum", "uren"]
    assert table.frame.height == 0
    assert table.rows_read == 0
    assert table.problems == []


# ------------------------------------------------------------------------------------------------------ encodings

TEXT = "datum;naam;bedrag\n2024-01-01;Café Ünïcode – ‘quoted’;€ 1,50\n"
EXPECTED = [(2, "2024-01-01", "Café Ünïcode – ‘quoted’", "€ 1,50")]


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("cp1252"),
        TEXT.replace("\n", "\r\n").encode("cp1252"),
        TEXT.replace("\n", "\r\n").encode("utf-16"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "cp1252", "cp1252-crlf", "utf16-crlf"],
)
def test_encodings(write: Write, encoded: bytes) -> None:
    table = read_table(write(encoded))
    assert table.frame.columns == ["_line", "datum", "naam", "bedrag"]
    assert rows(table) == EXPECTED
    assert table.problems == []


def test_utf8_bom_is_not_part_of_the_first_name(write: Write) -> None:
    table = read_table(write(codecs.BOM_UTF8 + b"datum\tuur\n2024-01-01\t1\n"))
    assert table.frame.columns == ["_line", "datum", "uur"]


def test_utf16_without_bom_is_binary(write: Write) -> None:
    assert "binary" in unreadable(write(TEXT.encode("utf-16-le")))


def test_broken_utf16_after_bom(write: Write) -> None:
    assert "UTF-16" in unreadable(write(codecs.BOM_UTF16_LE + b"a\x00;\x00\x00\xd8"))


def test_bytes_undefined_in_cp1252_are_unreadable(write: Write) -> None:
    assert "Windows-1252" in unreadable(write(b"a;b\n\x81\x8d;\x90\n"))


def test_excel_export_fixture_cp1252_crlf_quotes_blank_line() -> None:
    table = read_table(DATA / "uren_excel_nl.csv")
    assert table.frame.columns[:3] == ["_line", "Datum", "Cliënt"]
    assert table.frame.select("_line", "Aanbieder", "Opmerking").rows() == [
        (2, "Aanbieder 21", None),
        (3, "Aanbieder 10", "Ouder & kind; samen"),
        (4, "Aanbieder 10", "eerste regel\r\ntweede regel"),
        (7, "Café Ölmann", None),
    ]
    assert table.rows_read == 4
    assert table.problems == []


def test_utf8_bom_comma_fixture_strips_and_reports_the_short_row() -> None:
    table = read_table(DATA / "hours_bom_comma.csv")
    assert table.frame.columns == ["_line", "datum", "client", "provider", "municipality", "product", "hours"]
    assert table.frame.select("_line", "client", "hours").rows() == [(2, "487026792", "0.75"), (3, "366580954", None)]
    assert table.rows_read == 3
    assert messages(table) == [(4, "the row has 4 fields but the header has 6; the row is skipped")]


# ----------------------------------------------------------------------------------------------------- separators


@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_separators_and_line_ends(write: Write, sep: str, eol: str) -> None:
    text = eol.join(sep.join(cells) for cells in [["a", "b", "c"], ["1", "2", "3"], ["4", "", "6"]]) + eol
    table = read_table(write(text))
    assert rows(table) == [(2, "1", "2", "3"), (3, "4", None, "6")]


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("a;b;c,d", ["a", "b", "c,d"]),  # most frequent wins
        ("a,b,c;d", ["a", "b", "c;d"]),
        ("a\tb\tc;d,e", ["a", "b", "c;d,e"]),
        ("a;b,c", ["a", "b,c"]),  # a tie: ';' before ','
        ('"x;y;z",b,c', ["x;y;z", "b", "c"]),  # separators inside quotes do not count
    ],
)
def test_separator_detection(write: Write, header: str, names: list[str]) -> None:
    assert read_table(write(header + "\n")).frame.columns == ["_line", *names]


def test_header_without_separator_is_one_column_and_a_problem(write: Write) -> None:
    table = read_table(write("datum\n2024-01-01\nx;y,z\n"))
    assert rows(table) == [(2, "2024-01-01"), (3, "x;y,z")]
    assert messages(table) == [(1, "no separator in the header (expected ';', ',' or a tab): read as one column")]


# ---------------------------------------------------------------------------------------- quotes and line numbers


def test_quoted_separators_quotes_and_newlines_keep_physical_line_numbers(write: Write) -> None:
    text = 'a;b\n"1;x";"say ""hi"""\n"two\nlines";2\n"three\r\n\r\nlines";3\nlast;4\n'
    table = read_table(write(text))
    assert rows(table) == [
        (2, "1;x", 'say "hi"'),
        (3, "two\nlines", "2"),
        (5, "three\r\n\r\nlines", "3"),
        (8, "last", "4"),
    ]


def test_blank_lines_are_skipped_but_counted_as_lines(write: Write) -> None:
    table = read_table(write("\n  \na;b\n\n1;2\r\n\r\n   \n3;4\n\n\n"))
    assert table.header_line == 3
    assert rows(table) == [(5, "1", "2"), (8, "3", "4")]
    assert table.rows_read == 2


@pytest.mark.parametrize("quote", ["", '\n"x";"y";"z"'])  # the fast path and the slow path
def test_lines_of_only_separators_and_spaces_are_blank(write: Write, quote: str) -> None:
    table = read_table(write(f"a;b;c\n1;2;3\n ; ;\n;;\n;\n4;5;6{quote}\n"))
    assert rows(table)[:2] == [(2, "1", "2", "3"), (6, "4", "5", "6")]
    assert table.rows_read == len(rows(table))
    assert table.problems == []


def test_tab_only_lines_are_blank_in_a_tab_separated_file(write: Write) -> None:
    table = read_table(write("a\tb\n\t\n1\t2\n \t \n"))
    assert rows(table) == [(3, "1", "2")]
    assert table.rows_read == 1


def test_lone_carriage_returns_end_lines(write: Write) -> None:
    assert rows(read_table(write("a;b\r1;2\r3;4"))) == [(2, "1", "2"), (3, "3", "4")]


def test_ragged_rows_dropped_reported_counted(write: Write) -> None:
    table = read_table(write("a;b;c\n1;2;3\n4;5\n6;7;8;9\n10;11;12\n"))
    assert rows(table) == [(2, "1", "2", "3"), (5, "10", "11", "12")]
    assert table.rows_read == 4
    assert messages(table) == [
        (3, "the row has 2 fields but the header has 3; the row is skipped"),
        (4, "the row has 4 fields but the header has 3; the row is skipped"),
    ]


def test_ragged_row_after_a_quoted_newline_has_the_right_line(write: Write) -> None:
    table = read_table(write('a;b\n"x\ny";1\nonly\n'))
    assert rows(table) == [(2, "x\ny", "1")]
    assert messages(table) == [(4, "the row has 1 fields but the header has 2; the row is skipped")]


def test_unbalanced_quote_is_reported_and_reading_goes_on(write: Write) -> None:
    table = read_table(write('a;b\n1;2\n"open;3\n4;5\n'))
    assert rows(table) == [(2, "1", "2"), (4, "4", "5")]
    assert table.rows_read == 3
    assert messages(table) == [(3, "unbalanced quote: a quoted field starting on this line is never closed")]


def test_text_after_a_closing_quote_is_bad_quoting(write: Write) -> None:
    table = read_table(write('a;b\n"x"y;1\n2;3\n'))
    assert rows(table) == [(3, "2", "3")]
    assert [line for line, _ in messages(table)] == [2]
    assert "bad quoting" in messages(table)[0][1]


def test_quote_inside_an_unquoted_field_is_a_character(write: Write) -> None:
    assert rows(read_table(write('a;b\n5" disk;1\n'))) == [(2, '5" disk', "1")]


def test_a_long_and_a_short_row_far_apart_are_both_found(write: Write) -> None:
    # the total number of separators is right; polars must refuse the long row in a file it reads in chunks
    body = [f"2024-01-01;{i};1,5" for i in range(200_000)]
    body[1_000] += ";extra"
    body[150_000] = "2024-01-01;short"
    table = read_table(write("datum;client;uren\n" + "\n".join(body) + "\n"))
    assert [line for line, _ in messages(table)] == [1_002, 150_002]
    assert table.frame.height == 199_998
    assert table.rows_read == 200_000


def test_problems_are_capped(write: Write) -> None:
    table = read_table(write("a;b\n" + "x\n" * (MAX_PROBLEMS + 5)))
    assert len(table.problems) == MAX_PROBLEMS + 1
    last = table.problems[-1]
    assert (last.line, last.message) == (
        MAX_PROBLEMS + 2,
        "5 more problems from this line on are not listed (only the first 1,000)",
    )
    assert table.rows_read == MAX_PROBLEMS + 5


def test_fast_and_slow_path_agree(write: Write) -> None:
    lines = ["datum;client;uren", *[f"2024-01-{d:02d}; {d} ;{d},5" for d in range(1, 29)], "2024-02-01;;"]
    plain = read_table(write("\r\n".join(lines) + "\r\n", "plain.csv"))
    quoted = read_table(write("\r\n".join(lines) + '\r\n"2024-02-02";"x";"1"\r\n', "quoted.csv"))
    assert quoted.frame.head(plain.frame.height).equals(plain.frame)
    assert rows(quoted)[-1] == (31, "2024-02-02", "x", "1")


# -------------------------------------------------------------------------------------------------- header names


def test_duplicate_empty_and_reserved_header_names(write: Write) -> None:
    table = read_table(write("a;a; ;_line\n1;2;3;4\n"))
    assert table.frame.columns == ["_line", "a", "a_2", "column_3", "_line_4"]
    assert rows(table) == [(2, "1", "2", "3", "4")]
    assert messages(table) == [
        (1, "header column 2 'a' appears more than once in the header"),
        (1, "header column 3 has no name"),
        (1, "header column 4 is named '_line', a name reserved for line numbers"),
    ]


# ---------------------------------------------------------------------------------------------------------- limits


def test_too_many_columns_is_one_problem(write: Write) -> None:
    table = read_table(write(";".join(f"c{i}" for i in range(200_000)) + "\n" + "1;" * 199_999 + "1\n"))
    assert messages(table) == [(1, f"the header has 200,000 columns; at most {MAX_COLUMNS:,} are allowed")]
    assert table.frame.columns == ["_line"]
    assert table.frame.height == 0


def test_exactly_the_maximum_number_of_columns_is_fine(write: Write) -> None:
    table = read_table(write(";".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\n" + "1;" * (MAX_COLUMNS - 1) + "1\n"))
    assert table.problems == []
    assert table.frame.width == MAX_COLUMNS + 1


@pytest.mark.parametrize("quote", ["", '"'])
def test_a_20_mb_field_is_a_problem_with_its_line(write: Write, quote: str) -> None:
    huge = quote + "x" * (20 * 1024 * 1024) + quote
    table = read_table(write(f"a;b\n1;2\n{huge};3\n4;5\n"))
    assert rows(table) == [(2, "1", "2"), (4, "4", "5")]
    assert messages(table) == [(3, "a field is longer than 1,048,576 bytes (1 MiB); the row is skipped")]
    assert table.rows_read == 3


def test_a_field_of_exactly_one_mib_is_fine(write: Write) -> None:
    table = read_table(write("a;b\n" + "é" * (512 * 1024) + ";1\n"))
    assert table.problems == []


# ------------------------------------------------------------------------------------------------- unreadable files


def test_missing_file(tmp_path: Path) -> None:
    assert unreadable(tmp_path / "nope.csv") == "no such file"


def test_directory(tmp_path: Path) -> None:
    assert "directory" in unreadable(tmp_path)


def test_empty_file(write: Write) -> None:
    assert unreadable(write(b"")) == "is empty (0 bytes)"


def test_only_blank_lines(write: Write) -> None:
    assert "no header" in unreadable(write(b"\r\n  \n\t\n"))


@pytest.mark.parametrize(
    "garbage",
    [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 20, b"\x1f\x8b\x08\x00" + b"\x01\x02" * 50],
    ids=["all-bytes", "png", "gzip"],
)
def test_binary_garbage(write: Write, garbage: bytes) -> None:
    assert "binary" in unreadable(write(garbage))


# -------------------------------------------------------------------------------------------------------------- XLSX


def workbook_bytes(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    book = openpyxl.Workbook()
    build(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def hours_sheet(book: openpyxl.Workbook) -> None:
    ws = book.active
    ws.title = "Uren"
    ws.append([])
    ws.append([" Datum ", "BSN", "Uren", "Tarief", "Klein", "Groot", "Actief", "Tijd", "Formule", "Notitie"])
    ws.append(
        [dt.date(2024, 1, 31), 123456782, 0.1, 2.0, 1e-05, 1e20, True, dt.datetime(2024, 1, 31, 13, 30), None, " a "]
    )
    ws.append([])
    ws.append([dt.datetime(2024, 2, 1), 123456782.0, 1.25, 48.6, -0.0, 3, False, dt.time(8, 15), "n.v.t.", None])
    ws["I3"] = "=SUM(C3:C5)"  # a formula without a cached value
    ws["A9"].font = Font(bold=True)  # a styled, empty cell makes empty rows at the end
    other = book.create_sheet("Tweede")
    other.append(["x", "y"])
    other.append(["1", "2"])


@pytest.fixture()
def hours_xlsx(write: Write) -> Path:
    return write(workbook_bytes(hours_sheet), "uren.xlsx")


def test_xlsx_cells_become_csv_like_text(hours_xlsx: Path) -> None:
    table = read_table(hours_xlsx)
    assert table.kind == "xlsx"
    assert table.header_line == 2
    assert table.frame.columns[:4] == ["_line", "Datum", "BSN", "Uren"]
    assert rows(table) == [
        (3, "2024-01-31", "123456782", "0.1", "2", "0.00001", "100000000000000000000", "true",
         "2024-01-31T13:30:00", None, "a"),
        (5, "2024-02-01", "123456782", "1.25", "48.6", "0", "3", "false", "08:15:00", "n.v.t.", None),
    ]  # fmt: skip
    assert table.rows_read == 2
    assert table.problems == []


def test_xlsx_other_sheet(hours_xlsx: Path) -> None:
    table = read_table(hours_xlsx, sheet="Tweede")
    assert rows(table) == [(2, "1", "2")]


def test_xlsx_unknown_sheet(hours_xlsx: Path) -> None:
    assert unreadable(hours_xlsx, sheet="Derde") == "has no sheet 'Derde'; its sheets are: 'Uren', 'Tweede'"


def test_xlsx_nan_and_inf_stay_recognisable() -> None:
    # openpyxl cannot write these cells, so the conversion is tested on its own
    assert [_cell_text(v) for v in (float("nan"), float("inf"), float("-inf"))] == ["nan", "inf", "-inf"]
    assert _cell_text(dt.datetime(2024, 1, 1, 23, 59, 59, 600_000)) == "2024-01-02"
    assert _cell_text(dt.timedelta(hours=26, minutes=5)) == "26:05:00"


def test_xlsx_named_csv_is_read_as_xlsx(write: Write) -> None:
    table = read_table(write(workbook_bytes(hours_sheet), "uren.csv"))
    assert table.kind == "xlsx"
    assert table.rows_read == 2


def test_csv_named_xlsx_is_read_as_csv(write: Write) -> None:
    table = read_table(write("a;b\n1;2\n", "uren.xlsx"))
    assert table.kind == "csv"
    assert rows(table) == [(2, "1", "2")]


def test_sheet_option_on_csv_is_a_warning(write: Write) -> None:
    table = read_table(write("a;b\n1;2\n"), sheet="Uren")
    assert [(p.severity, p.line) for p in table.problems] == [(Severity.WARNING, None)]


def test_xlsx_values_beyond_the_header_and_header_problems(write: Write) -> None:
    def build(book: openpyxl.Workbook) -> None:
        ws = book.active
        ws.append(["a", None, "a"])
        ws.append([1, 2, 3])
        ws.append([1, 2, 3, 4])

    table = read_table(write(workbook_bytes(build), "x.xlsx"))
    assert table.frame.columns == ["_line", "a", "column_2", "a_3"]
    assert rows(table) == [(2, "1", "2", "3")]
    assert messages(table) == [
        (1, "header column 2 has no name"),
        (1, "header column 3 'a' appears more than once in the header"),
        (3, "the row has a value beyond the last header column (3); the row is skipped"),
    ]


def test_xlsx_header_only_and_empty_sheet(write: Write) -> None:
    header_only = read_table(write(workbook_bytes(lambda b: b.active.append(["a", "b"])), "h.xlsx"))
    assert header_only.frame.columns == ["_line", "a", "b"]
    assert header_only.frame.height == 0
    assert "empty" in unreadable(write(workbook_bytes(lambda b: None), "e.xlsx"))


def test_xlsx_too_many_columns(write: Write) -> None:
    def build(book: openpyxl.Workbook) -> None:
        book.active.append([f"c{i}" for i in range(MAX_COLUMNS + 1)])

    table = read_table(write(workbook_bytes(build), "wide.xlsx"))
    assert messages(table) == [(1, f"the header has {MAX_COLUMNS + 1:,} columns; at most {MAX_COLUMNS:,} are allowed")]


def test_corrupt_xlsx(write: Write) -> None:
    good = workbook_bytes(hours_sheet)
    assert "damaged ZIP" in unreadable(write(good[: len(good) // 2], "cut.xlsx"))
    assert "xlsx" in unreadable(write(b"PK\x03\x04" + bytes(range(256)) * 3, "junk.xlsx"))


def test_corrupt_sheet_xml(write: Write) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook_bytes(hours_sheet))) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, content[:200] if item.filename.startswith("xl/worksheets/") else content)
    assert "not a readable .xlsx" in unreadable(write(buffer.getvalue(), "broken.xlsx"))


def test_zip_that_is_not_a_workbook(write: Write) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hours.csv", "a;b\n1;2\n")
    assert "not an .xlsx workbook" in unreadable(write(buffer.getvalue(), "hours.zip"))


def test_opendocument_spreadsheet(write: Write) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert ".ods" in unreadable(write(buffer.getvalue(), "uren.ods"))


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def test_old_xls(write: Write) -> None:
    message = unreadable(write(OLE + "Workbook".encode("utf-16-le") + b"\x00" * 512, "uren.xlsx"))
    assert ".xls" in message
    assert "save it as .xlsx or CSV" in message


def test_password_protected_xlsx(write: Write) -> None:
    message = unreadable(write(OLE + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512, "uren.xlsx"))
    assert "password-protected" in message


# -------------------------------------------------------------------------------------------------- resolve_columns

HOURS = [
    Column("datum", ("date",), required=True),
    Column("client", ("bsn", "cliënt"), required=True),
    Column("uren", ("hours",)),
    Column("minuten", ("minutes",)),
    Column("opmerking"),
]


def test_resolve_aliases_case_and_spaces_unknown_carried_missing_added(write: Write) -> None:
    table = read_table(write(" DATE ;BSN;Hours;Extra\n2024-01-01;123456782;1;x\n"))
    frame, problems = resolve_columns(table, HOURS, one_of=[("uren", "minuten")])
    assert problems == []
    assert frame.columns == ["_line", "datum", "client", "uren", "minuten", "opmerking", "Extra"]
    assert frame.rows() == [(2, "2024-01-01", "123456782", "1", None, None, "x")]
    assert frame.schema["opmerking"] == pl.String


def test_resolve_missing_required_lists_what_the_file_has(write: Write) -> None:
    table = read_table(write("datum;uren;naam\n"))
    _, problems = resolve_columns(table, HOURS)
    assert [(p.line, p.message) for p in problems] == [
        (1, "required column 'client' (or 'bsn', 'cliënt') is missing; the file has: 'datum', 'uren', 'naam'")
    ]


def test_resolve_two_columns_for_one_name(write: Write) -> None:
    table = read_table(write("datum;Date;client;uren\n2024-01-01;2024-01-02;1;2\n"))
    frame, problems = resolve_columns(table, HOURS)
    assert [p.message for p in problems] == ["columns 'datum' and 'Date' both mean 'datum'; only the first is used"]
    assert frame.columns == ["_line", "datum", "client", "uren", "minuten", "opmerking"]
    assert frame["datum"].to_list() == ["2024-01-01"]


@pytest.mark.parametrize(
    ("header", "detail"),
    [("datum;client", "none is present"), ("datum;client;hours;Minuten", "found 'uren' and 'minuten'")],
)
def test_resolve_one_of(write: Write, header: str, detail: str) -> None:
    _, problems = resolve_columns(read_table(write(header + "\n")), HOURS, one_of=[("uren", "minuten")])
    assert [p.message for p in problems] == [
        f"exactly one of the columns 'uren' or 'minuten' must be present; {detail}"
    ]


def test_resolve_problems_point_at_the_xlsx_header_row(hours_xlsx: Path) -> None:
    _, problems = resolve_columns(read_table(hours_xlsx), [Column("gemeente", required=True)])
    assert [(p.file, p.line) for p in problems] == [(str(hours_xlsx), 2)]


def test_resolve_one_of_with_unknown_name_is_a_programming_error(write: Write) -> None:
    with pytest.raises(ValueError, match="not among the columns"):
        resolve_columns(read_table(write("a;b\n")), HOURS, one_of=[("uren", "seconden")])


# ------------------------------------------------------------------------------------------------------- properties

CELL = st.text(alphabet=st.sampled_from(list('ab ;,"\n\r\té€\u00a0')), max_size=6)


def expected_value(cell: str) -> str | None:
    return pl.Series([cell]).str.strip_chars().item() or None


def csv_text(table: list[list[str]], sep: str, eol: str) -> str:
    """RFC 4180 text: a cell with a separator, quote, CR or LF is quoted, quotes doubled."""

    def cell(text: str) -> str:
        return f'"{text.replace(chr(34), 2 * chr(34))}"' if any(c in text for c in (sep, '"', "\r", "\n")) else text

    return "".join(sep.join(cell(c) for c in cells) + eol for cells in table)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=8),
    sep=st.sampled_from([";", ",", "\t"]),
    eol=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_written_csv_reads_back_with_physical_lines(
    write: Write, body: list[list[str]], sep: str, eol: str, encoding: str
) -> None:
    expected, line = [], 2
    for cells in body:
        values = tuple(expected_value(c) for c in cells)
        if any(v is not None for v in values):
            expected.append((line, *values))
        record = csv_text([cells], sep, eol)
        line += record.count("\n") + record.count("\r") - record.count("\r\n")
    table = read_table(write(csv_text([["a", "b", "c"], *body], sep, eol).encode(encoding)))
    assert table.problems == []
    assert rows(table) == expected
    assert table.rows_read == len(expected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from([b"", b"PK\x03\x04", OLE[:8], codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"a;b\n"]),
    content=st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-8")),
)
def test_any_bytes_give_a_table_or_input_error(write: Write, prefix: bytes, content: bytes) -> None:
    path = write(prefix + content)
    try:
        table = read_table(path)
    except InputError:
        return
    assert table.frame.columns[0] == "_line"
    assert table.frame.schema["_line"] == pl.Int64
    assert all(dtype == pl.String for name, dtype in table.frame.schema.items() if name != "_line")
    assert table.rows_read >= table.frame.height


# ------------------------------------------------------------------------------------------- quoting errors


def test_a_bad_quote_over_several_lines_costs_one_row(write: Write) -> None:
    # line 2 opens a quote that line 3 closes, followed by text: both lines are refused, lines 4 and 5 are read
    table = read_table(write('a;b;c\n"x;1;2\ny;"z;3\n4;5;6\n7;8;9\n'))
    assert rows(table) == [(4, "4", "5", "6"), (5, "7", "8", "9")]
    assert [line for line, _ in messages(table)] == [2, 3]
    assert "bad quoting" in messages(table)[0][1]
    assert table.rows_read == 4


def test_bad_quotes_beyond_the_budget_name_the_lines_they_skip(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mgr_tariffs.io.tables.MAX_REQUOTES", 0)
    table = read_table(write('a;b;c\n"x;1;2\ny"z;3\n"p\nq"r;1;2\n4;5;6\n'))
    assert rows(table) == [(6, "4", "5", "6")]
    assert [(line, message.rsplit(";", 1)[-1]) for line, message in messages(table)] == [
        (2, " lines 2-3 are skipped"), (4, " lines 4-5 are skipped")]


QUOTED_CELL = st.sampled_from(["x", "", '"', 'a"b', '"q"', '"q"z', '"p;q"', '"r\ns"', " ", "1,5"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.lists(QUOTED_CELL, min_size=1, max_size=4), max_size=10), sep=st.sampled_from([";", ","]))
def test_every_row_read_is_a_row_or_a_problem(write: Write, body: list[list[str]], sep: str) -> None:
    """Stray quotes never swallow rows silently: rows read = rows in the frame + rows refused with a problem."""
    text = "a;b;c\n".replace(";", sep) + "".join(sep.join(cells) + "\n" for cells in body)
    try:
        table = read_table(write(text))
    except InputError:
        return
    refused = {p.line for p in table.problems if p.line is not None and p.line > table.header_line}
    assert table.rows_read == table.frame.height + len(refused), (text, messages(table))
    assert not refused & set(table.frame.get_column("_line").to_list())


def test_a_missing_column_lists_at_most_20_names_of_at_most_40_characters(write: Write) -> None:
    names = [f"kolom{i}" for i in range(1, 25)] + ["x" * 100]
    table = read_table(write(";".join(names) + "\n"))
    _, problems = resolve_columns(table, HOURS)
    listing = problems[0].message.split("the file has: ", 1)[1]
    assert listing == ", ".join(repr(n) for n in names[:20]) + " and 5 more"
    long = read_table(write("y" * 100 + ";" + "z" * 40 + "\n"))
    _, problems = resolve_columns(long, HOURS)
    assert problems[0].message.endswith(f"the file has: '{'y' * 39}…', '{'z' * 40}'")


WHITE = [" ", "\t", "\u00a0", "\u2003", "\u3000", "\u0085", "\u1680"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from(["a", "1", ",", "é", "\u2019", *WHITE]), max_size=4),
                         min_size=3, max_size=3), min_size=1, max_size=6), st.sampled_from([";", "\t"]))
def test_values_are_stripped_of_unicode_white_space_on_both_paths(rows: list[list[str]], sep: str) -> None:
    """Space, tab, no-break and other Unicode white space around a value is stripped; blank rows are dropped."""
    rows = [[cell.replace(sep, "") for cell in row] for row in rows]
    text = sep.join(["a", "b", "c"]) + "\n" + "".join(sep.join(row) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "uren.csv"
        path.write_bytes(text.encode("utf-8"))
        table = read_table(path)
    expected = [[cell.strip(" \t\u00a0\u2003\u3000\u0085\u1680") or None for cell in row] for row in rows]
    expected = [row for row in expected if any(row)]
    assert table.frame.drop("_line").rows() == [tuple(row) for row in expected]


@pytest.mark.parametrize("header", ["*,", "*;datum\n1;2\n", "^x$;datum\n1;2\n", "a,*,^b.*$\n1,2,3\n"])
def test_header_names_polars_would_read_as_patterns_are_plain_names(tmp_path: Path, header: str) -> None:
    """``*`` and ``^...$`` are wildcards and regular expressions to Polars: as header names they stay names."""
    path = tmp_path / "log.csv"
    path.write_text(header, encoding="utf-8")
    table = read_table(path)
    assert all(not (name == "*" or (name.startswith("^") and name.endswith("$"))) for name in table.frame.columns)
    assert table.frame.width == len(header.splitlines()[0].replace(",", ";").split(";")) + 1
