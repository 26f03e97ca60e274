"""Every reader is bounded, and what no document or terminal can carry is refused or escaped (issue 12).

Each hostile input is generated here, in ``tmp_path``, in the format a user would give it: a workbook
whose shared strings unpack to 510 MB, a workbook with a styled empty cell in column XFD on every row,
a parties file with a legal name of 150,000 characters, JSON nested 100,000 levels deep, hour logs with
control characters, terminal escape sequences and a BSN in the wrong column, and a bad file among good
ones under ``--skip-invalid``.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from corpus.hostile import HEADER, ROW, TARIFFS, assert_refused, mgr
from hypothesis import given
from hypothesis import strategies as st
from support.sample import fake_bsn

from mgr_tariffs import entry
from mgr_tariffs.cli.common import terminal_text
from mgr_tariffs.documents import pdf
from mgr_tariffs.documents.pdf import fit, pdf_text, text_width
from mgr_tariffs.io import tables
from mgr_tariffs.io.jsonsafe import MAX_DEPTH, depth
from mgr_tariffs.io.tables import read_table
from mgr_tariffs.io.yamlsafe import MAX_TEXT
from mgr_tariffs.parties import load_parties, parse_parties
from mgr_tariffs.problems import InputError

pytestmark = pytest.mark.timeout(120)

ROOT = TARIFFS.parent.parent
PARTIES = ROOT / "data" / "examples" / "parties.yaml"
HOURS = ROOT / "data" / "examples" / "hours.csv"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CELL_NAMES = "ABCDEFG"


# ------------------------------------------------------------------------------------------- workbooks by hand


def workbook(rows: bytes, shared: list[bytes] | None = None, content_types: bytes | None = None) -> bytes:
    """An .xlsx as Excel stores it: ``rows`` is the XML inside ``<sheetData>``, ``shared`` the shared strings."""
    strings = shared is not None
    types = content_types or (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.worksheet+xml"/>'
        + (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
           b'officedocument.spreadsheetml.sharedStrings+xml"/>' if strings else b"")
        + b"</Types>")
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    book_rels = (f'<Relationships xmlns="{package}"><Relationship Id="rId1" Type="{rel}/worksheet" '
                 'Target="worksheets/sheet1.xml"/>'
                 + (f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                    if strings else "") + "</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
                         f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{rel}"><sheets><sheet name="Uren" '
                         'sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + rows + b"</sheetData></worksheet>")
        if shared is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(f'<sst xmlns="{MAIN}">'.encode())
                for text in shared:
                    part.write(b"<si><t>" + text + b"</t></si>")
                part.write(b"</sst>")
    return out.getvalue()


def text_row(number: int, values: list[str], extra: str = "") -> str:
    cells = "".join(f'<c r="{CELL_NAMES[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values) if v)
    return f'<row r="{number}">{cells}{extra}</row>'


HOUR_HEADER = HEADER.strip().split(";")[:6]
HOUR_ROW = ROW.strip().split(";")[:6]


def test_shared_strings_that_unpack_to_510_mb_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "uren.xlsx"
    path.write_bytes(workbook(text_row(1, HOUR_HEADER).encode(), [b"x" * 5_000] * 102_000))
    assert path.stat().st_size < 1_500_000  # 1.2 MB of file, 510 MB of text
    for command in ("bill", "check"):
        run = mgr(command, path)
        assert_refused(run, path, (2,))
        unpacked = len(f'<sst xmlns="{MAIN}">') + 102_000 * len("<si><t></t></si>" + "x" * 5_000) + len("</sst>")
        assert f"its part 'xl/sharedStrings.xml' (the shared strings, styles or another part read whole) unpacks to " \
               f"{unpacked:,} bytes; at most 134,217,728 (128 MiB) are allowed" in run.stderr


def test_a_styled_empty_cell_in_column_xfd_on_every_row_costs_one_cell(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The used range is what the data spans: 2,000 rows reaching column XFD are 2,000 rows of 6 columns, and
    only the cells stored are looked at (not 16,384 per row, which made such a workbook of 0.5 MB endless)."""
    styled = '<c r="XFD{n}" s="1"/>'
    rows = [text_row(1, HOUR_HEADER, styled.format(n=1))]
    rows += [text_row(n, [HOUR_ROW[0], fake_bsn(n), *HOUR_ROW[2:]], styled.format(n=n)) for n in range(2, 2_002)]
    path = tmp_path / "uren.xlsx"
    path.write_bytes(workbook("".join(rows).encode()))
    looked_at: list[object] = []
    cell_text = tables._cell_text

    def counting(value: object) -> str | None:
        looked_at.append(value)
        return cell_text(value)

    monkeypatch.setattr(tables, "_cell_text", counting)
    table = read_table(path)
    assert table.frame.columns == ["_line", *HOUR_HEADER]
    assert (table.frame.height, table.rows_read, table.problems) == (2_000, 2_000, [])
    assert len(looked_at) == 2_001 * 7  # six values and the empty styled cell per row
    run = mgr("bill", path, "--json", "--today", "2024-01-01")
    assert run.code == 0, run.output[:2000]
    assert json.loads(run.stdout)["summary"]["rows_billed"] == 2_000


def test_a_value_far_beyond_the_header_is_a_row_problem(tmp_path: Path) -> None:
    path = tmp_path / "uren.xlsx"
    far = '<c r="XFD3" t="inlineStr"><is><t>oops</t></is></c>'
    path.write_bytes(workbook((text_row(1, HOUR_HEADER) + text_row(2, HOUR_ROW) + text_row(3, HOUR_ROW, far)).encode()))
    run = mgr("bill", path, "--today", "2024-01-01")
    assert run.code == 1
    assert f"{path}:3: error: the row has a value beyond the last header column (6)" in run.stderr


def test_more_cells_than_the_bound_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_XLSX_CELLS", 1_000)
    path = tmp_path / "uren.xlsx"
    empty_rows = "".join(f'<row r="{n}"/>' for n in range(2, 1_200))  # empty rows count too
    path.write_bytes(workbook((text_row(1, HOUR_HEADER) + empty_rows).encode()))
    run = mgr("bill", path)
    assert_refused(run, path, (2,))
    assert "sheet 'Uren' has more than 1,000 cells" in run.stderr


def test_a_workbook_that_unpacks_to_more_than_the_bound_is_refused(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert tables.MAX_XLSX_UNPACKED_BYTES == 1024**3
    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED_BYTES", 100_000)
    path = tmp_path / "uren.xlsx"
    path.write_bytes(workbook(text_row(1, HOUR_HEADER).encode() + b"<!--" + b" " * 100_000 + b"-->"))
    run = mgr("bill", path)
    assert_refused(run, path, (2,))
    assert "; at most 100,000 (1 GiB) are allowed" in run.stderr


def test_a_huge_content_types_part_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "uren.xlsx"
    types = b'<?xml version="1.0"?><Types xmlns="x"><!--' + b" " * (2 * 1024**2) + b"--></Types>"
    path.write_bytes(workbook(text_row(1, HOUR_HEADER).encode(), content_types=types))
    with pytest.raises(InputError, match=r"\[Content_Types\].xml unpacks to 2,097,"):
        read_table(path)


# ------------------------------------------------------------------------------------------ text in YAML and PDF


def parties_with(name: str) -> str:
    text = PARTIES.read_text(encoding="utf-8")
    return text.replace("legal_name: Werkbedrijf De Peel B.V.", f"legal_name: {name}", 1)


def test_a_legal_name_of_150_000_characters_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "parties.yaml"
    path.write_text(parties_with("W" * 150_000), encoding="utf-8")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("    legal_name: WWW"))
    result = load_parties(path)
    assert result.parties is None
    assert [str(p) for p in result.problems] == [
        f"{path}:{line}: error: a key or value of 150,000 characters; at most {MAX_TEXT:,} are accepted"]
    run = mgr("bill", HOURS, "--out", tmp_path / "out", "--documents", "pdf", "--parties", path)
    assert_refused(run, path, (1,))
    assert not (tmp_path / "out").exists()


def test_a_parties_text_is_at_most_300_characters() -> None:
    assert parse_parties(parties_with("W" * 300), "p.yaml").ok
    result = parse_parties(parties_with("W" * 301), "p.yaml")
    assert any("providers.Werkbedrijf De Peel B.V..legal_name: String should have at most 300 characters"
               in p.message for p in result.problems), result.problems


def test_a_catalogue_text_of_150_000_characters_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.yaml"
    text = TARIFFS.read_text(encoding="utf-8")
    path.write_text(text + f"\nx_long: {'a' * 150_000}\n", encoding="utf-8")
    run = mgr("validate", path)
    assert run.code == 1
    line = len(text.splitlines()) + 2
    assert f"{path}:{line}: error: a key or value of 150,000 characters" in run.stdout + run.stderr


def old_fit(text: str, width: float) -> str:
    """The former fit, one character at a time: the reference for the result, not for the speed."""
    text = pdf_text(text)
    room = width - 2 * pdf.CELL_PADDING
    if text_width(text, 8) <= room:
        return text
    while text and text_width(text + "…", 8) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def test_fitting_a_long_name_in_the_pdf_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("Stichting Perspectief Noord-Limburg", "Zorg " * 60, "ÀéîõüWmij" * 40, "kort"):
        for width in (95.0, 20.0):
            assert fit(text, width, 8) == old_fit(text, width), (text, width)
    measured: list[int] = []
    original = pdf.text_width

    def counting(text: str, size: float, bold: bool = False) -> float:
        measured.append(len(text))
        return original(text, size, bold)

    monkeypatch.setattr(pdf, "text_width", counting)
    fitted = fit("Zorgverlener Noord-Limburg " * 5_556, 110, 8)  # 150,012 characters
    assert fitted.endswith("…") and len(fitted) < 120
    assert len(measured) < 40  # the whole text once, then the ellipsis
    assert sum(measured) < 151_000  # characters measured: one pass, not 150,000 passes


# --------------------------------------------------------------------------------------------------------- JSON


def test_json_depth_is_counted_outside_strings() -> None:
    assert depth(b'{"invoices": [{"lines": [{"bsn": "[[[{"}]}]}') == 5
    assert depth(b'["a\\"[[", "\\\\", [[1]]]') == 3  # an escaped quote, an escaped backslash
    assert depth(b'"[[[["') == 0
    assert depth(b"[" * 65 + b"]" * 65) == 65


def nesting(value: object) -> int:
    """The reference: the depth of a decoded JSON value, by its structure."""
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ax\n'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=4),
    max_leaves=30)


@given(JSON_VALUES, st.booleans())
def test_json_depth_equals_the_depth_of_the_decoded_value(value: object, ascii_only: bool) -> None:
    assert depth(json.dumps(value, ensure_ascii=ascii_only).encode()) == nesting(value)


def test_json_nested_100_000_levels_is_refused_by_check(tmp_path: Path) -> None:
    path = tmp_path / "factuur.json"
    path.write_text('{"invoices": ' + "[" * 100_000 + "]" * 100_000 + "}")
    run = mgr("check", path)
    assert_refused(run, path, (2,))
    assert f"is JSON nested 100,001 levels deep; at most {MAX_DEPTH} are accepted" in run.stderr


def test_bill_json_output_is_well_within_the_depth_bound(tmp_path: Path) -> None:
    run = mgr("bill", HOURS, "--json")
    assert run.code == 0, run.output[:2000]
    assert depth(run.stdout.encode()) <= 5 < MAX_DEPTH


# -------------------------------------------------------------------------------------- control characters


@pytest.mark.parametrize(("char", "what"), [("\x01", "control character U+0001"), ("\x1b", "control character U+001B"),
                                            ("\ufffe", "noncharacter U+FFFE")])
def test_an_hour_log_value_no_document_can_carry_is_a_row_error(char: str, what: str, tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + ROW + ROW.replace("Werkbedrijf", f"Werk{char}bedrijf"), encoding="utf-8")
    out = tmp_path / "out"
    run = mgr("bill", path, "--out", out, "--documents", "csv,ubl,xlsx,pdf", "--parties", PARTIES,
              "--today", "2024-01-01")
    assert run.code == 1, run.output
    assert f"{path}:3: error: a field holds the {what}, which no invoice can carry; the row is skipped" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize("reference", ["&#x1b;", "&#0;", "&#xFFFE;"])
def test_a_workbook_cell_with_a_control_character_is_unreadable(reference: str, tmp_path: Path) -> None:
    """XML 1.0 cannot hold them, not even as a character reference: the workbook is damaged."""
    path = tmp_path / "uren.xlsx"
    bad = [*HOUR_ROW[:2], f"Werk{reference}bedrijf", *HOUR_ROW[3:]]
    path.write_bytes(workbook((text_row(1, HOUR_HEADER) + text_row(2, HOUR_ROW) + text_row(3, bad)).encode()))
    run = mgr("bill", path, "--today", "2024-01-01")
    assert_refused(run, path, (2,))
    assert "is not a readable .xlsx workbook (" in run.stderr


@pytest.mark.parametrize(("escape", "what"), [("\\0", "control character U+0000"),
                                              ("\\uFFFE", "noncharacter U+FFFE"),
                                              ("\\uD800", "lone surrogate U+D800")])
def test_a_parties_name_no_document_can_carry_is_refused_with_its_line(escape: str, what: str,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "parties.yaml"
    path.write_text(parties_with(f'"Werkbedrijf{escape}De Peel"'), encoding="utf-8")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "Werkbedrijf\\" in text)
    result = load_parties(path)
    assert [str(p) for p in result.problems] == [
        f"{path}:{line}: error: a key or value holds the {what}, which no document can carry"]
    run = mgr("bill", HOURS, "--out", tmp_path / "out", "--documents", "ubl,xlsx", "--parties", path)
    assert_refused(run, path, (1,))


# --------------------------------------------------------------------------------------------------- terminal


def test_terminal_text_escapes_what_could_steer_a_terminal() -> None:
    assert terminal_text("Zorg B.V.\tVenlo\n") == "Zorg B.V.\tVenlo\n"
    assert terminal_text("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert terminal_text("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert terminal_text("x\r\x08\x7f\x9b") == "x\\r\\x08\\x7f\\x9b"
    assert terminal_text("evil\u202etxt.exe\u2066") == "evil\\u202etxt.exe\\u2066"
    assert terminal_text("Cliëntondersteuning € 1.234,56") == "Cliëntondersteuning € 1.234,56"


@given(st.text())
def test_terminal_text_leaves_nothing_that_steers_a_terminal(text: str) -> None:
    shown = terminal_text(text)
    assert not any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2066\u2028"
                   for c in shown)
    assert terminal_text(shown) == shown  # the escapes are plain text themselves


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs", "Cn"))))
def test_terminal_text_leaves_ordinary_text_alone(text: str) -> None:
    assert terminal_text(text) == text


ESCAPES = "\x1b]2:pwned\x07\x1b[2J\x9b31m\u202e"  # no ";": that is the separator


def test_escape_sequences_from_an_hour_log_never_reach_the_screen(tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    header = HEADER.replace("opbrengst", f"opbrengst;notitie{ESCAPES}")
    row = ROW.strip() + f";x\n{ROW.strip().replace('Venlo', 'Venlo' + chr(0x9B) + '2J' + chr(0x202E))};x\n"
    path.write_text(header + row + (ROW.strip() + ";\n") * 20, encoding="utf-8")  # 20 rows: text, not binary
    runs: list[list[str | Path]] = [["bill", path, "--today", "2024-01-01"], ["check", path],
                                    ["bill", path, "--skip-invalid", "--today", "2024-01-01"]]
    for args in runs:
        run = mgr(*args)
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in run.output, (args, run.output)
    run = mgr("bill", path, "--today", "2024-01-01")
    assert f"{path}:3: error: unknown municipality 'Venlo\\x9b2J\\u202e'" in run.stderr


def test_table_cells_on_the_screen_are_escaped_too(tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + ROW.replace("Werkbedrijf", "Werk\x9b2Jbedrijf\u202e"), encoding="utf-8")
    run = mgr("bill", path, "--today", "2024-01-01")
    assert run.code == 0, run.output
    assert "\nWerk\\x9b2Jbedrijf\\u202e " in run.stdout  # the invoice table, and the totals per provider
    assert "\x9b" not in run.output and "\u202e" not in run.output


BSN = "123456782"  # passes the elfproef


def test_a_bsn_in_the_wrong_column_is_masked_in_every_message(tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    path.write_text(HEADER + ROW.replace("Venlo", BSN).replace("LN035", BSN), encoding="utf-8")
    run = mgr("bill", path, "--today", "2024-01-01")
    assert run.code == 1
    assert BSN not in run.output
    assert f"{path}:2: error: unknown product code '*****6782'" in run.stderr
    assert f"{path}:2: error: unknown municipality '*****6782'" in run.stderr
    shown = mgr("bill", path, "--today", "2024-01-01", "--show-bsn")
    assert f"unknown municipality '{BSN}'" in shown.stderr


def test_check_masks_a_bsn_in_the_wrong_column(tmp_path: Path) -> None:
    path = tmp_path / "factuur.csv"
    path.write_text("factuurnummer;aanbieder;gemeente;bsn;productcode;periode;aantal;tarief;bedrag\n"
                    f"F-1;Werkbedrijf;Venlo;111222333;{BSN};2021-03;1;10,00;10,00\n", encoding="utf-8")
    run = mgr("check", path)
    assert run.code == 1, run.output
    assert BSN not in run.output and "*****6782" in run.output
    assert BSN in mgr("check", path, "--show-bsn").output


def test_digit_runs_that_cannot_be_a_bsn_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "uren.csv"
    row = ROW.replace("LN035", "LN034").replace(";1;", ";1;12345678,50")
    path.write_text(HEADER + ROW.replace("LN035", "123456").replace("Venlo", "1234567890") + row, encoding="utf-8")
    run = mgr("bill", path, "--today", "2024-01-01")
    assert "unknown product code '123456'" in run.stderr and "unknown municipality '1234567890'" in run.stderr
    assert f"{path}:3: error: opbrengst '12345678,50' is more than € 1.000.000,00 for one row" in run.stderr


# ------------------------------------------------------------------------------------------------ --skip-invalid


BROKEN = {"no_hour_log.csv": "naam;adres\nPiet;Venlo\n", "broken_header.csv": HEADER.replace("bsn", "") + ROW}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_skip_invalid_bills_the_good_files_and_still_fails_for_an_unusable_one(name: str, tmp_path: Path) -> None:
    good, bad = tmp_path / "goed.csv", tmp_path / name
    good.write_text(HEADER + ROW, encoding="utf-8")
    bad.write_text(BROKEN[name], encoding="utf-8")
    out = tmp_path / "out"
    strict = mgr("bill", good, bad, "--out", out, "--today", "2024-01-01")
    assert strict.code == 1 and not out.exists()
    assert f"nothing written: {bad} could not be used at all" in strict.stderr
    run = mgr("bill", good, bad, "--skip-invalid", "--out", out, "--today", "2024-01-01")
    assert run.code == 1, run.output
    assert f"{bad}:1: error:" in run.stderr
    assert f"mgr: {bad}: could not be used at all (see the errors); the other files were billed" in run.stderr
    summary = (out / "samenvatting.csv").read_text(encoding="utf-8").splitlines()
    assert len(summary) == 2 and "Werkbedrijf" in summary[1]


def test_skip_invalid_with_issue_issues_nothing_while_a_file_is_unusable(tmp_path: Path) -> None:
    good, bad = tmp_path / "goed.csv", tmp_path / "no_hour_log.csv"
    good.write_text(HEADER + ROW, encoding="utf-8")
    bad.write_text(BROKEN["no_hour_log.csv"], encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    run = mgr("bill", good, bad, "--skip-invalid", "--issue", "--ledger", ledger, "--out", tmp_path / "out",
              "--today", "2024-01-01")
    assert run.code == 1
    assert f"mgr: {bad}: could not be used at all; nothing was issued or written" in run.stderr
    assert not (tmp_path / "out").exists()
    if ledger.exists():
        with sqlite3.connect(ledger) as db:
            assert not [n for (n,) in db.execute("select name from sqlite_master where type='table'")
                        if db.execute(f'select count(*) from "{n}"').fetchone()[0]]


# ---------------------------------------------------------------------------------------------------- start-up


def test_a_ctrl_c_python_cannot_raise_is_raised_again_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    """The flaky "Exception ignored in ... KeyboardInterrupt" of a Ctrl-C during the imports of start-up."""
    unraisable = SimpleNamespace(exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(), exc_traceback=None,
                                 err_msg=None, object=None)
    with pytest.raises(KeyboardInterrupt):
        entry._quiet_interrupt(unraisable)
        for _ in range(1_000):  # the interrupt arrives at the next check of the main thread
            time.sleep(0.001)
    assert capsys.readouterr().err == ""
