"""Read the tabular inputs (hour logs, invoice specifications): CSV or XLSX into a frame of strings.

:func:`read_table` turns a file into a :class:`Table`: a polars frame whose first column ``_line`` is the physical
line (CSV) or sheet row (XLSX) of each row, followed by one string column per header column. Values stay text;
the callers parse them. Bad content becomes :class:`~mgr_tariffs.problems.Problem` values with a line; a file that
cannot be read at all raises :class:`~mgr_tariffs.problems.InputError`.

:func:`resolve_columns` maps the header names onto canonical column names (case-insensitive, with aliases).

The common case (UTF-8, no quotes, no blank lines, every line with the same number of separators) is read by
polars in one go; anything else goes through Python's :mod:`csv` module, which knows the physical line of every row.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

import polars as pl

from mgr_tariffs.io.files import read_bounded
from mgr_tariffs.problems import InputError, Problem, error, warning
from mgr_tariffs.suggest import did_you_mean, nearest
from mgr_tariffs.text import FORBIDDEN_CHARACTERS, describe, forbidden_character

__all__ = [
    "BLOCK_BYTES",
    "MAX_COLUMNS",
    "MAX_FIELD_BYTES",
    "MAX_FILE_BYTES",
    "MAX_PROBLEMS",
    "MAX_XLSX_CELLS",
    "MAX_XLSX_PART_BYTES",
    "MAX_XLSX_UNPACKED_BYTES",
    "Column",
    "Table",
    "read_table",
    "read_table_blocks",
    "resolve_columns",
]

MAX_FILE_BYTES = 1024**3  # 1 GiB: room for a 10,000,000-row hour log (about 550-700 MB), read whole
BLOCK_BYTES = 64 * 1024**2
"""A CSV larger than this is read in blocks of about this size by :func:`read_table_blocks` (any size)."""
MAX_BLOCK_BYTES = MAX_FILE_BYTES  # a block grows to the end of a quoted field; a field of 1 GiB is no hour log
MAX_XLSX_UNPACKED_BYTES = 1024**3  # declared uncompressed size of all parts of a workbook together (zip bombs)
MAX_XLSX_PART_BYTES = 128 * 1024**2  # each part but the worksheets (shared strings, styles): read whole by openpyxl
MAX_XLSX_CONTENT_TYPES_BYTES = 1024**2
CONTENT_TYPES = "[Content_Types].xml"
MAX_XLSX_CELLS = 10_000_000  # rows and cells stored in the sheet read, empty ones included (Excel: 1,048,576 rows)
MAX_COLUMNS = 1_000
MAX_FIELD_BYTES = 1024**2  # 1 MiB of UTF-8 text in one field
MAX_PROBLEMS = 1_000  # per file; the rest are summed up in one last problem
LINE = "_line"
SEPARATORS = (";", ",", "\t")
ONE_COLUMN = "\x00"  # "separator" of a file whose header has none: NUL never occurs in accepted text

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_SUSPECT = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xEF])  # controls; 0xEF starts U+FFFE/FFFF
_NOT_STRUCTURE = {sep: bytes(b for b in range(256) if b not in (ord(sep), 0x0A, 0x0D, 0x22, *_SUSPECT))
                  for sep in SEPARATORS}
BINARY_SAMPLE = 64 * 1024
_LEADING_BLANK = re.compile(rb"(?:[ \t\x0b\x0c]*(?:\r\n|\n|\r))*")
_QUOTED = re.compile(r'"[^"]*"?')
_SLOW_CHUNK = 50_000
_PARALLEL_NORMALISE_BYTES = 256 * 1024**2
MAX_RESTARTS = 20  # re-reads after an unbalanced quote swallowed the rest of the file
MAX_REQUOTES = 10_000  # re-reads of the further lines of a record refused for bad quoting


@dataclass(frozen=True)
class Table:
    """A table read from a file: every value a stripped string or null, ``_line`` first."""

    file: str
    kind: Literal["csv", "xlsx"]
    frame: pl.DataFrame
    rows_read: int
    problems: list[Problem]
    header_line: int = 1


@dataclass(frozen=True)
class Column:
    """A column a reader expects: its canonical (Dutch) name, accepted alternatives, whether it must be there."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


class _Problems:
    """Problems of one file, at most :data:`MAX_PROBLEMS`; the rest are counted in one last problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.suppressed = 0
        self.first_suppressed: int | None = None

    def add(self, line: int | None, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(error(self.file, line, message))
            return
        self.suppressed += 1
        if self.first_suppressed is None:
            self.first_suppressed = line

    def result(self) -> list[Problem]:
        if not self.suppressed:
            return self.items
        message = (
            f"{self.suppressed:,} more problems from this line on are not listed (only the first {MAX_PROBLEMS:,})"
        )
        return [*self.items, error(self.file, self.first_suppressed, message)]


# --------------------------------------------------------------------------------------------------- entry point


def read_table(path: Path | str, *, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX file (recognised by content, not by name); raise InputError when it cannot be read."""
    file = str(path)
    data = _read_bytes(Path(path), file)
    if data.startswith(ZIP_MAGIC):
        return _read_xlsx(data, file, sheet)
    if data.startswith(OLE_MAGIC):
        raise InputError(file, _ole_message(data))
    table = _read_csv(data, file)
    if sheet is None:
        return table
    note = warning(file, None, f"--sheet {sheet!r} ignored: the file is CSV text, not a workbook")
    return Table(table.file, table.kind, table.frame, table.rows_read, [note, *table.problems], table.header_line)


def _read_bytes(path: Path, file: str) -> bytes:
    data = read_bounded(path, file, MAX_FILE_BYTES, "1 GiB")
    if not data:
        raise InputError(file, "is empty (0 bytes)")
    return data


def _ole_message(data: bytes) -> str:
    if ENCRYPTED_MARK in data:
        return "is a password-protected (encrypted) workbook; remove the password and save it as .xlsx or CSV"
    return "is an old Excel .xls workbook (or another OLE file); save it as .xlsx or CSV"


def read_table_blocks(path: Path | str, *, sheet: str | None = None,
                      block_bytes: int | None = None) -> Iterator[Table]:
    """The file as consecutive tables of whole rows, for a caller that keeps less than the whole text in memory.

    A CSV larger than ``block_bytes`` is read block by block: each block ends at a line end outside quotes and
    is read as if it were a file of its own under the file's header, with the physical line numbers of the file.
    Its table holds the rows of that block; the header's problems come with the first block only. Such a file
    may be of any size (:data:`MAX_FILE_BYTES` bounds the whole-file read). Anything else, a workbook, a CSV
    whose header is not on line 1 or whose encoding needs the whole text, is one table, as :func:`read_table`.
    """
    file = str(path)
    target = Path(path)
    block_bytes = block_bytes or BLOCK_BYTES
    try:
        small = target.is_dir() or target.stat().st_size <= block_bytes
    except OSError:
        small = True  # read_table says what is wrong with it
    if small:
        yield read_table(path, sheet=sheet)
        return
    with _opened(target, file) as handle:
        head = handle.read(BINARY_SAMPLE)
        if not _blockable(head):
            yield read_table(path, sheet=sheet)
            return
        yield from _csv_blocks(handle, head, file, block_bytes, sheet)


@contextlib.contextmanager
def _opened(path: Path, file: str) -> Iterator[io.BufferedReader]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(file, f"cannot be read: {exc.strerror or exc}") from None
    with handle:
        yield handle


def _blockable(head: bytes) -> bool:
    """A plain UTF-8 (or ASCII) CSV whose header is the first line: every block can be read on its own."""
    text = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head
    if head.startswith((*ZIP_MAGIC, OLE_MAGIC, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        return False
    end = text.find(b"\n")
    if end <= 0 or b'"' in text[:end] or text[:1] in (b"\r", b"\n", b" ", b"\t"):
        return False
    return _detect_separator(text[:end].decode("utf-8", "replace")) is not None


def _csv_blocks(handle: io.BufferedReader, head: bytes, file: str, block_bytes: int,
                sheet: str | None) -> Iterator[Table]:
    """Each block of whole lines read by :func:`_read_csv` under the header, its lines and problems shifted."""
    offset = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    header_end = head.find(b"\n", offset) + 1
    header, pending = head[offset:header_end], head[header_end:]
    consumed = 1  # lines of the file before the block's first line: the header
    first, problems = True, 0
    for block in _line_blocks(handle, pending, block_bytes, file):
        if b"\x00" in block:
            raise InputError(file, "is a binary file (it contains NUL bytes), not CSV text or an .xlsx workbook")
        if not _is_utf8(block):
            raise InputError(file, f"is not UTF-8 text after line {consumed:,}; a file of over "
                                   f"{block_bytes // 1024**2} MiB is read in blocks and must be UTF-8")
        table = _read_csv(header + block, file)
        shift = consumed - 1  # the block's line 2 (under the header) is the file's line consumed + 1
        kept = [p.model_copy(update={"line": p.line + shift}) if p.line is not None and p.line > 1 else p
                for p in table.problems if first or (p.line is not None and p.line > 1)]
        kept = kept[: max(0, MAX_PROBLEMS - problems)]
        problems += len(kept)
        if sheet is not None and first:
            kept.insert(0, warning(file, None, f"--sheet {sheet!r} ignored: the file is CSV text, not a workbook"))
        frame = table.frame.with_columns(pl.col(LINE) + shift) if shift else table.frame
        yield Table(file, "csv", frame, table.rows_read, kept, 1)
        consumed += _count_line_ends(block) + (0 if block.endswith((b"\n", b"\r")) else 1)
        first = False


def _line_blocks(handle: io.BufferedReader, pending: bytes, block_bytes: int, file: str) -> Iterator[bytes]:
    """``pending`` and the rest of the file in blocks of at most about ``block_bytes`` that end with a line end
    outside quotes (a block grows past ``block_bytes`` only for a quoted field that is still open)."""
    data, eof = pending, False
    while True:
        while not eof and len(data) <= block_bytes:
            more = handle.read(block_bytes + 1 - len(data))
            eof, data = not more, data + more
        if eof and len(data) <= block_bytes:
            if data:
                yield data
            return
        cut = _even_cut(data, block_bytes)
        while cut == 0:  # no line end outside quotes within the block: read on
            if len(data) > MAX_BLOCK_BYTES:
                raise InputError(file, f"has a line or quoted field of over {MAX_BLOCK_BYTES:,} bytes")
            more = handle.read(block_bytes)
            if not more:
                yield data
                return
            data += more
            cut = _even_cut(data, len(data))
        yield data[:cut]
        data = data[cut:]


def _even_cut(data: bytes, end: int) -> int:
    """Just after the last LF of ``data[:end]`` that lies outside quotes (an even number of quotes before it); 0:
    none. A block starts outside quotes, and in CSV every quote character toggles between inside and outside."""
    cut = data.rfind(b"\n", 0, end) + 1
    quotes = data.count(b'"', 0, cut) if cut else 0
    while cut and quotes % 2:
        earlier = data.rfind(b"\n", 0, cut - 1) + 1
        quotes -= data.count(b'"', earlier, cut)
        cut = earlier
    return cut


# ------------------------------------------------------------------------------------------------------ decoding


def _to_utf8(data: bytes, file: str) -> tuple[bytes, int, str]:
    """The text as UTF-8 bytes, the offset of the text after a UTF-8 BOM, and the name of the encoding found."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(file, "starts with a UTF-16 byte order mark but is not valid UTF-16") from None
        if "\x00" in text:
            raise InputError(file, "is a binary file (it contains NUL characters), not CSV text")
        utf8, offset, encoding = text.encode("utf-8"), 0, "UTF-16"
    elif b"\x00" in data:
        raise InputError(file, "is a binary file (it contains NUL bytes), not CSV text or an .xlsx workbook")
    elif data.startswith(codecs.BOM_UTF8):
        if not _is_utf8(data):
            raise InputError(file, "starts with a UTF-8 byte order mark but is not valid UTF-8")
        utf8, offset, encoding = data, len(codecs.BOM_UTF8), "UTF-8"
    elif _is_utf8(data):
        utf8, offset, encoding = data, 0, "UTF-8"
    else:
        utf8, offset, encoding = _from_cp1252(data, file), 0, "Windows-1252"
    _check_text(utf8, offset, file)
    return utf8, offset, encoding


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8, checked in slices so that a large file is never copied into one big string."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    step = 1 << 20
    try:
        for start in range(0, len(data), step):
            decoder.decode(view[start : start + step], final=start + step >= len(data))
    except UnicodeDecodeError:
        return False
    return True


def _from_cp1252(data: bytes, file: str) -> bytes:
    try:
        return data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"is neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02X} at offset {exc.start})"
        raise InputError(file, message) from None


def _check_text(utf8: bytes, offset: int, file: str) -> None:
    """Binary data that happens to have no NUL byte: many control characters at the start."""
    sample = utf8[offset : offset + BINARY_SAMPLE]
    control = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if control * 100 > len(sample):
        raise InputError(file, "looks like a binary file (many control characters), not CSV text or .xlsx")


# ---------------------------------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class _Csv:
    """What the reader learned before parsing: the UTF-8 text, where the header is and the separator."""

    file: str
    data: bytes
    offset: int  # of the header line in data
    header_line: int
    separator: str  # ONE_COLUMN when the header has no separator


def _read_csv(data: bytes, file: str) -> Table:
    utf8, offset, _encoding = _to_utf8(data, file)
    blank = _LEADING_BLANK.match(utf8, offset)
    start = blank.end() if blank else offset
    if start >= len(utf8):
        raise InputError(file, "contains no header line (only blank lines)")
    header_text = _first_line(utf8, start).decode("utf-8")
    skipped = _count_line_ends(utf8[offset:start])
    sep = _detect_separator(header_text)
    info = _Csv(file, utf8, start, 1 + skipped, sep or ONE_COLUMN)
    problems = _Problems(file)
    if sep is None:
        problems.add(info.header_line, "no separator in the header (expected ';', ',' or a tab): read as one column")
    elif _outside_quotes(header_text).count(sep) >= MAX_COLUMNS:
        count = _outside_quotes(header_text).count(sep) + 1
        problems.add(info.header_line, f"the header has {count:,} columns; at most {MAX_COLUMNS:,} are allowed")
        return _empty_table(info, problems)
    fast = _read_fast(info, problems) if _fast_eligible(info) else None
    return fast if fast is not None else _read_slow(info, problems)


def _first_line(data: bytes, start: int) -> bytes:
    ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
    return data[start : min(ends)] if ends else data[start:]


def _count_line_ends(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _outside_quotes(line: str) -> str:
    return _QUOTED.sub("", line) if '"' in line else line


def _detect_separator(header: str) -> str | None:
    """The most frequent of ``;``, ``,`` and tab outside quotes (``;`` wins a tie, then ``,``); None if none."""
    bare = _outside_quotes(header)
    counts = [(bare.count(sep), -rank, sep) for rank, sep in enumerate(SEPARATORS)]
    best = max(counts)
    return best[2] if best[0] > 0 else None


def _empty_table(info: _Csv, problems: _Problems, names: Sequence[str] = ()) -> Table:
    frame = pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64), **{n: pl.Series([], dtype=pl.String) for n in names}})
    return Table(info.file, "csv", frame, 0, problems.result(), info.header_line)


# ------------------------------------------------------------------------------------------------ CSV: fast path


def _fast_eligible(info: _Csv) -> bool:
    """Polars can do it when there is a separator and the header is on line 1 (quotes are checked later)."""
    return info.separator != ONE_COLUMN and info.header_line == 1


def _read_fast(info: _Csv, problems: _Problems) -> Table | None:
    """Polars reads the file when every line has exactly the header's number of separators; None: use the slow path.

    The total number of separators must equal (columns - 1) * lines, and polars refuses a line with too many
    fields: together that proves no line has too few (a blank line has none, so it also ends up here).
    """
    data = _drop_trailing_blank_lines(info.data)
    header = _first_line(data, info.offset).decode("utf-8").split(info.separator)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mgr-read") as pool:
        reading = pool.submit(_polars_read, data, info.separator, len(header))  # Polars reads while we count
        lines, suspect = _plain_lines(data, info.separator, len(header))
        raw = reading.result()
    if lines is None or raw is None or raw.height != lines - 1 or _lone_cr_at_end(data, raw):
        return None
    names, header_ok = _header_names(header, info.header_line, problems)
    if not header_ok:
        return _empty_table(info, problems)
    raw = raw.rename(dict(zip(raw.columns, names, strict=True)))
    if raw.estimated_size() <= _PARALLEL_NORMALISE_BYTES:
        raw = _normalise(raw)  # all columns at once: fastest
    else:
        for name in raw.columns:  # one column at a time: only one column is doubled in memory
            raw = raw.with_columns(_clean(name))
    frame = _drop_empty_rows(raw.select(pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias(LINE), pl.all()))
    del raw
    rows_read = frame.height
    frame = _drop_huge_fields(frame, problems)
    if suspect:  # only then can a field hold a forbidden character
        frame = _drop_control_fields(frame, problems)
    return Table(info.file, "csv", frame, rows_read, problems.result(), info.header_line)


def _polars_read(data: bytes, separator: str, width: int) -> pl.DataFrame | None:
    """All fields as strings, columns named c0, c1, ...; None when polars finds a line with too many fields."""
    try:
        raw = pl.read_csv(
            data,
            separator=separator,
            has_header=True,
            new_columns=[f"c{i}" for i in range(width)],
            infer_schema=False,
            quote_char=None,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    return raw if raw.width == width else None


def _drop_trailing_blank_lines(data: bytes) -> bytes:
    """Blank lines at the very end are no rows; drop them (a copy, but only for such files)."""
    if data.endswith((b"\n\n", b"\n\r\n")):
        return data.rstrip(b"\r\n") + b"\n"
    return data


def _plain_lines(data: bytes, separator: str, width: int) -> tuple[int | None, bool]:
    """The number of lines when the text has no quotes, only LF or CRLF line ends and (width - 1) * lines
    separators, else None; and whether the text may hold a forbidden character (a control character, or the
    first byte of U+FFFE/U+FFFF). One pass over the data keeps only the bytes that matter, then counts those."""
    skeleton = data.translate(None, _NOT_STRUCTURE[separator])
    suspect = len(skeleton.translate(None, _SUSPECT)) != len(skeleton)
    if b'"' in skeleton or data.endswith(b"\r"):
        return None, suspect
    lines = skeleton.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if skeleton.count(separator.encode()) != (width - 1) * lines:
        return None, suspect
    if b"\r" in skeleton and skeleton.count(b"\r") != skeleton.count(b"\r\n"):
        return None, suspect  # a CR followed by a separator: a lone (old Mac) line end
    return lines, suspect


def _lone_cr_at_end(data: bytes, raw: pl.DataFrame) -> bool:
    """A lone CR in the last field of a line looks like CRLF in the skeleton; polars keeps it in the value."""
    if raw.width == 0 or b"\r" not in data:
        return False
    return bool(raw.select(pl.col(raw.columns[-1]).str.contains("\r", literal=True).any()).item())


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Strip every value of surrounding whitespace; empty becomes null."""
    return frame.with_columns(_clean(name) for name in frame.columns)


def _clean(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars().replace("", None)


def _drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of nothing but separators and whitespace are blank lines: no rows."""
    columns = [c for c in frame.columns if c != LINE]
    if not columns or min(frame[c].null_count() for c in columns) == 0:
        return frame
    return frame.filter(~pl.all_horizontal(pl.col(columns).is_null()))


def _drop_huge_fields(frame: pl.DataFrame, problems: _Problems) -> pl.DataFrame:
    """Rows with a field over :data:`MAX_FIELD_BYTES` are reported and dropped."""
    columns = [c for c in frame.columns if c != LINE]
    if not columns or frame.height == 0:
        return frame
    longest = frame.select(pl.max_horizontal(pl.col(columns).str.len_bytes().max())).item()
    if longest is None or longest <= MAX_FIELD_BYTES:
        return frame
    huge = pl.any_horizontal(pl.col(columns).str.len_bytes() > MAX_FIELD_BYTES).fill_null(False)
    for line in frame.filter(huge)[LINE].to_list():
        problems.add(line, _huge_message())
    return frame.filter(~huge)


def _drop_control_fields(frame: pl.DataFrame, problems: _Problems) -> pl.DataFrame:
    """Rows with a control character (other than tab, CR and LF) or U+FFFE/U+FFFF in a field are reported and
    dropped: such text cannot go into an XML e-invoice or a workbook, and never belongs in a name or a number."""
    columns = [c for c in frame.columns if c != LINE]
    if not columns or frame.height == 0:
        return frame
    bad = pl.any_horizontal(pl.col(columns).str.contains(FORBIDDEN_CHARACTERS)).fill_null(False)
    if not frame.select(bad.any()).item():
        return frame
    for line, *values in frame.filter(bad).iter_rows():
        problems.add(line, _control_message(values))
    return frame.filter(~bad)


def _control_message(values: Sequence[str | None]) -> str:
    found = next(char for v in values if v is not None and (char := forbidden_character(v)) is not None)
    return f"a field holds {describe(found)}, which no invoice can carry; the row is skipped"


def _huge_message() -> str:
    return f"a field is longer than {MAX_FIELD_BYTES:,} bytes (1 MiB); the row is skipped"


# ------------------------------------------------------------------------------------------------ CSV: slow path


class _Lines:
    """Physical lines for the csv module, numbered; lines of the current record can be fed again."""

    def __init__(self, text: str, first_line: int) -> None:
        self._source = iter(io.StringIO(text, newline=""))
        self._number = first_line - 1
        self._again: list[tuple[int, str]] = []
        self.record: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.pop()
        else:
            line = next(self._source)
            self._number += 1
            number = self._number
        self.record.append((number, line))
        return line

    def feed_again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extend(reversed(lines))

    def start(self) -> int:
        return self.record[0][0] if self.record else self._number


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _records(info: _Csv, problems: _Problems) -> Iterator[tuple[int, list[str] | None]]:
    """(first physical line, fields) per non-blank record; fields None for a record that could not be parsed.

    After a quoting error the lines of the failed record after its first are read again: a stray quote costs one
    row, never the rows after it (up to :data:`MAX_RESTARTS` / :data:`MAX_REQUOTES` times; after that the message
    names the lines skipped).
    """
    text = info.data[info.offset :].decode("utf-8")
    lines = _Lines(text, info.header_line)
    reader = csv.reader(lines, delimiter=info.separator, quotechar='"', doublequote=True, strict=True)
    budget = {"restarts": MAX_RESTARTS, "requotes": MAX_REQUOTES}
    while True:
        lines.record = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = lines.start()
            _quoting_error(str(exc), lines, problems, budget)
            yield start, None
            continue
        if "".join(fields).strip():  # else blank: only whitespace and separators
            yield lines.start(), fields


def _quoting_error(reason: str, lines: _Lines, problems: _Problems, budget: dict[str, int]) -> None:
    """Report a record the csv module refused and feed its further lines again while the budget lasts."""
    start, rest = lines.start(), lines.record[1:]
    kind = "restarts" if "unexpected end of data" in reason else "requotes"
    if rest and budget[kind] > 0:
        budget[kind] -= 1
        lines.feed_again(rest)
        skipped = ""
    else:
        skipped = f"; lines {start}-{rest[-1][0]} are skipped" if rest else ""
    if kind == "restarts" and not skipped:
        problems.add(start, "unbalanced quote: a quoted field starting on this line is never closed")
    else:
        problems.add(start, f"bad quoting: {reason}{skipped}")


def _read_slow(info: _Csv, problems: _Problems) -> Table:
    with _field_limit(2**31 - 1):
        records = _records(info, problems)
        header = next(records, None)
        if header is None or header[1] is None:
            return _empty_table(info, problems)
        if len(header[1]) > MAX_COLUMNS:
            problems.add(header[0], f"the header has {len(header[1]):,} columns; at most {MAX_COLUMNS:,} are allowed")
            return _empty_table(info, problems)
        names, header_ok = _header_names(header[1], info.header_line, problems)
        if not header_ok:
            return _empty_table(info, problems)
        frames, rows_read = _slow_rows(records, names, problems)
    frame = pl.concat(frames) if frames else _empty_table(info, problems, names).frame
    frame = _drop_control_fields(frame, problems)
    return Table(info.file, "csv", frame, rows_read, problems.result(), info.header_line)


def _slow_rows(
    records: Iterator[tuple[int, list[str] | None]], names: list[str], problems: _Problems
) -> tuple[list[pl.DataFrame], int]:
    frames: list[pl.DataFrame] = []
    rows: list[list[str]] = []
    numbers: list[int] = []
    rows_read = 0
    for line, fields in records:
        rows_read += 1
        if fields is None or not _row_ok(line, fields, len(names), problems):
            continue
        rows.append(fields)
        numbers.append(line)
        if len(rows) == _SLOW_CHUNK:
            frames.append(_frame(numbers, rows, names))
            rows, numbers = [], []
    if rows:
        frames.append(_frame(numbers, rows, names))
    return frames, rows_read


def _row_ok(line: int, fields: list[str], width: int, problems: _Problems) -> bool:
    if len(fields) != width:
        problems.add(line, f"the row has {len(fields):,} fields but the header has {width:,}; the row is skipped")
        return False
    if max(map(len, fields), default=0) > MAX_FIELD_BYTES // 4 and any(_too_long(f) for f in fields):
        problems.add(line, _huge_message())
        return False
    return True


def _too_long(text: str) -> bool:
    return len(text) > MAX_FIELD_BYTES // 4 and len(text.encode("utf-8")) > MAX_FIELD_BYTES


def _frame(numbers: list[int], rows: Sequence[Sequence[str | None]], names: list[str]) -> pl.DataFrame:
    schema = {name: pl.String for name in names}
    body = pl.DataFrame(rows, schema=schema, orient="row") if names else pl.DataFrame(schema=schema)
    lines = pl.Series(LINE, numbers, dtype=pl.Int64)
    return _normalise(body).with_columns(lines).select(LINE, *names) if names else pl.DataFrame([lines])


# ------------------------------------------------------------------------------------------------------- header


def _header_names(raw: Sequence[object], line: int, problems: _Problems) -> tuple[list[str], bool]:
    """Unique column names from the header cells (stripped, case kept); problems for empty and duplicate names.

    The second value is False when the header is unusable (a name over the field limit).
    """
    names: list[str] = []
    seen = {LINE}
    for number, cell in enumerate(raw, start=1):
        text = "" if cell is None else str(cell).strip()
        if _too_long(text):
            problems.add(line, f"header column {number} is longer than {MAX_FIELD_BYTES:,} bytes")
            return [], False
        names.append(_unique_name(text, number, seen, line, problems))
    return names, True


def _unique_name(text: str, number: int, seen: set[str], line: int, problems: _Problems) -> str:
    if not text:
        problems.add(line, f"header column {number} has no name")
        base = f"column_{number}"
    elif text == LINE:
        problems.add(line, f"header column {number} is named {LINE!r}, a name reserved for line numbers")
        base = f"{text}_{number}"
    elif text in seen:
        problems.add(line, f"header column {number} {text!r} appears more than once in the header")
        base = f"{text}_{number}"
    elif _is_pattern(text):  # Polars reads "*" and "^...$" as patterns of column names, not as a name
        base = f"{text}_{number}"
    else:
        base = text
    name = base
    while name in seen:
        name += "_"
    seen.add(name)
    return name


def _is_pattern(name: str) -> bool:
    """A column name Polars' ``pl.col`` would take as a wildcard or a regular expression."""
    return name == "*" or (name.startswith("^") and name.endswith("$"))


# --------------------------------------------------------------------------------------------------------- XLSX


def _read_xlsx(data: bytes, file: str, sheet: str | None) -> Table:
    _check_zip(data, file)
    try:
        import openpyxl  # noqa: PLC0415 - loaded only for workbooks: it costs a third of a second at start-up

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InputError(file, f"is not a readable .xlsx workbook ({_reason(exc)})") from None
    try:
        return _read_sheet(_pick_sheet(book, file, sheet), file)
    except InputError:
        raise
    except Exception as exc:  # a broken sheet part: bad XML, bad cell values
        raise InputError(file, f"is not a readable .xlsx workbook ({_reason(exc)})") from None
    finally:
        book.close()


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _check_zip(data: bytes, file: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
            small_mimetype = parts.get("mimetype", 1 << 20) < 1000
            mimetype = archive.read("mimetype") if small_mimetype else b""
    except Exception as exc:  # BadZipFile, zlib.error, RuntimeError (encrypted member), ...
        raise InputError(file, f"is a damaged ZIP file, not a readable .xlsx workbook ({_reason(exc)})") from None
    if b"opendocument" in mimetype:
        raise InputError(file, "is an OpenDocument spreadsheet (.ods); save it as .xlsx or CSV")
    if "xl/workbook.bin" in parts:
        raise InputError(file, "is a binary .xlsb workbook; save it as .xlsx or CSV")
    if "xl/workbook.xml" not in parts:
        raise InputError(file, "is a ZIP file but not an .xlsx workbook (no xl/workbook.xml)")
    unpacked = sum(parts.values())
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise InputError(file, f"unpacks to {unpacked:,} bytes; at most {MAX_XLSX_UNPACKED_BYTES:,} (1 GiB) are "
                         "allowed")
    streamed = _worksheet_parts(data, parts, file)
    whole = [(size, name) for name, size in parts.items() if name not in streamed]
    size, name = max(whole, default=(0, ""))
    if size > MAX_XLSX_PART_BYTES:
        raise InputError(file, f"its part {name!r} (the shared strings, styles or another part read whole) unpacks "
                         f"to {size:,} bytes; at most {MAX_XLSX_PART_BYTES:,} (128 MiB) are allowed")


def _worksheet_parts(data: bytes, parts: dict[str, int], file: str) -> set[str]:
    """The worksheet parts named in ``[Content_Types].xml``: read row by row, bounded by :data:`MAX_XLSX_CELLS`."""
    size = parts.get(CONTENT_TYPES, 0)
    if size > MAX_XLSX_CONTENT_TYPES_BYTES:
        raise InputError(file, f"its {CONTENT_TYPES} unpacks to {size:,} bytes; at most "
                         f"{MAX_XLSX_CONTENT_TYPES_BYTES:,} are allowed")
    if not size:
        return set()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = ElementTree.fromstring(archive.read(CONTENT_TYPES))
    except Exception as exc:  # bad XML, a damaged member
        raise InputError(file, f"is not a readable .xlsx workbook ({_reason(exc)})") from None
    return {str(item.get("PartName", "")).lstrip("/") for item in root.iter()
            if "worksheet" in str(item.get("ContentType", ""))}


def _pick_sheet(book: Any, file: str, sheet: str | None) -> Any:
    names = list(book.sheetnames)
    if sheet is None:
        sheets = [ws for ws in book.worksheets if hasattr(ws, "iter_rows")]
        if not sheets:
            raise InputError(file, "the workbook has no worksheet")
        return sheets[0]
    matching = [name for name in names if name.casefold() == sheet.strip().casefold()]
    if not matching:
        hint = did_you_mean(sheet, names)
        raise InputError(file, f"has no sheet {sheet!r}{hint}; its sheets are: {', '.join(map(repr, names))}")
    chosen = book[matching[0]]
    if not hasattr(chosen, "iter_rows"):
        raise InputError(file, f"sheet {sheet!r} is a chart, not a worksheet")
    return chosen


def _read_sheet(ws: Any, file: str) -> Table:
    problems = _Problems(file)
    rows = ((number, texts) for number, texts in _sheet_texts(ws, file) if texts)
    header = next(rows, None)
    if header is None:
        raise InputError(file, f"sheet {ws.title!r} is empty")
    header_line, cells = header
    width = max(cells)
    if width > MAX_COLUMNS:
        problems.add(header_line, f"the header has {width:,} columns; at most {MAX_COLUMNS:,} are allowed")
        return _xlsx_table(file, [], [], [], 0, problems, header_line)
    names, header_ok = _header_names([cells.get(column) for column in range(1, width + 1)], header_line, problems)
    if not header_ok:
        return _xlsx_table(file, [], [], [], 0, problems, header_line)
    numbers, body, rows_read = _sheet_rows(rows, width, problems)
    return _xlsx_table(file, names, numbers, body, rows_read, problems, header_line)


def _sheet_texts(ws: Any, file: str) -> Iterator[tuple[int, dict[int, str]]]:
    """Every row of the sheet as it is stored: its number and the text of each cell that has a value, by column.

    Only the cells present in the sheet are looked at, so the used range is what the data spans: a styled
    but empty cell in column XFD costs one cell, not 16,384 (openpyxl's ``iter_rows`` pads every row to its
    last cell). Rows and cells count against :data:`MAX_XLSX_CELLS`; more ends the reading with an InputError.
    """
    from openpyxl.worksheet._reader import WorkSheetParser  # noqa: PLC0415 - the row parser of iter_rows

    book = ws.parent
    seen = 0
    with ws._get_source() as source:
        parser = WorkSheetParser(source, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            seen += max(len(cells), 1)
            if seen > MAX_XLSX_CELLS:
                raise InputError(file, f"sheet {ws.title!r} has more than {MAX_XLSX_CELLS:,} cells (empty rows "
                                 "and empty formatted cells included); save the rows to bill as CSV or split it")
            texts = {cell["column"]: text for cell in cells if (text := _cell_text(cell["value"])) is not None}
            yield number, texts


def _xlsx_table(
    file: str,
    names: list[str],
    numbers: list[int],
    body: list[list[str | None]],
    rows_read: int,
    problems: _Problems,
    header_line: int,
) -> Table:
    frame = _drop_control_fields(_frame(numbers, body, names), problems)
    return Table(file, "xlsx", frame, rows_read, problems.result(), header_line)


def _sheet_rows(
    rows: Iterable[tuple[int, dict[int, str]]], width: int, problems: _Problems
) -> tuple[list[int], list[list[str | None]], int]:
    numbers: list[int] = []
    body: list[list[str | None]] = []
    rows_read = 0
    for number, texts in rows:
        rows_read += 1
        if max(texts) > width:
            problems.add(number, f"the row has a value beyond the last header column ({width}); the row is skipped")
        elif any(_too_long(t) for t in texts.values()):
            problems.add(number, _huge_message())
        else:
            numbers.append(number)
            body.append([texts.get(column) for column in range(1, width + 1)])
    return numbers, body, rows_read


def _cell_text(value: object) -> str | None:
    """A cell value as the text a CSV export would hold (ISO dates, exact decimals, true/false)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    return _temporal_text(value)


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = format(Decimal(repr(value)).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _temporal_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        moment = value + dt.timedelta(microseconds=500_000) if value.microsecond >= 500_000 else value
        moment = moment.replace(microsecond=0)
        if moment.time() == dt.time(0, 0):
            return moment.date().isoformat()
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value).strip()


def _duration_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


# ------------------------------------------------------------------------------------------------------ columns


def resolve_columns(
    table: Table, columns: Sequence[Column], one_of: Sequence[tuple[str, ...]] = ()
) -> tuple[pl.DataFrame, list[Problem]]:
    """The frame with header columns renamed to their canonical names; problems for missing and doubled columns.

    Order of the result: ``_line``, the expected columns in the order given (missing optional ones all null),
    then the unknown columns of the file untouched, in file order. A second header column meaning an already
    matched canonical column is reported and left out.
    """
    _check_one_of(columns, one_of)
    found, doubles, problems = _match(table, columns)
    present = [c.name for c in columns if c.name in found]
    problems += _missing(table, columns, found) + _one_of_problems(table, present, one_of)
    taken = {LINE, *found.values(), *doubles}
    exprs = [pl.col(LINE)]
    exprs += [
        pl.col(found[c.name]).alias(c.name) if c.name in found else pl.lit(None, pl.String).alias(c.name)
        for c in columns
    ]
    exprs += [pl.col(c) for c in table.frame.columns if c not in taken]
    return table.frame.select(exprs), problems


def _check_one_of(columns: Sequence[Column], one_of: Sequence[tuple[str, ...]]) -> None:
    wanted = {c.name for c in columns}
    unknown = [name for group in one_of for name in group if name not in wanted]
    if unknown:
        raise ValueError(f"one_of names {unknown} are not among the columns")


def _key(name: str) -> str:
    return name.strip().casefold()


def _lookup(columns: Sequence[Column]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for column in columns:
        for name in (column.name, *column.aliases):
            keys.setdefault(_key(name), column.name)
    return keys


def _match(table: Table, columns: Sequence[Column]) -> tuple[dict[str, str], set[str], list[Problem]]:
    """Canonical name -> the first header column meaning it; the further ones, each with a problem."""
    keys = _lookup(columns)
    found: dict[str, str] = {}
    doubles: set[str] = set()
    problems: list[Problem] = []
    for header in table.frame.columns:
        canonical = keys.get(_key(header)) if header != LINE else None
        if canonical is None:
            continue
        if canonical in found:
            doubles.add(header)
            message = f"columns {found[canonical]!r} and {header!r} both mean {canonical!r}; only the first is used"
            problems.append(error(table.file, table.header_line, message))
        else:
            found[canonical] = header
    return found, doubles, problems


LISTED_NAMES = 20  # header names shown in a "required column is missing" message
LISTED_NAME_CHARS = 40  # characters of each name shown there


def _missing(table: Table, columns: Sequence[Column], found: dict[str, str]) -> list[Problem]:
    listing = _header_listing([c for c in table.frame.columns if c != LINE])
    problems = []
    for column in columns:
        if column.required and column.name not in found:
            also = f" (or {', '.join(repr(a) for a in column.aliases)})" if column.aliases else ""
            unused = [c for c in table.frame.columns if c != LINE and c not in found.values()]
            near = next((n for n in (nearest(name, unused, 0.75) for name in (column.name, *column.aliases)) if n),
                        None)
            hint = f" (did you mean {near!r}?)" if near else ""
            message = f"required column {column.name!r}{also} is missing{hint}; the file has: {listing}"
            problems.append(error(table.file, table.header_line, message))
    return problems


def _header_listing(names: Sequence[str]) -> str:
    """The header names for a message: at most :data:`LISTED_NAMES`, each cut to :data:`LISTED_NAME_CHARS`."""
    if not names:
        return "no columns"
    shown = [repr(_shorten(name)) for name in names[:LISTED_NAMES]]
    rest = len(names) - LISTED_NAMES
    return ", ".join(shown) + (f" and {rest:,} more" if rest > 0 else "")


def _shorten(name: str) -> str:
    return name if len(name) <= LISTED_NAME_CHARS else name[: LISTED_NAME_CHARS - 1] + "…"


def _one_of_problems(table: Table, present: list[str], one_of: Sequence[tuple[str, ...]]) -> list[Problem]:
    problems = []
    for group in one_of:
        there = [name for name in group if name in present]
        if len(there) == 1:
            continue
        options = " or ".join(repr(name) for name in group)
        detail = "none is present" if not there else f"found {' and '.join(repr(n) for n in there)}"
        message = f"exactly one of the columns {options} must be present; {detail}"
        problems.append(error(table.file, table.header_line, message))
    return problems
