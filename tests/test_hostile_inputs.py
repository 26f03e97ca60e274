"""Bad input never crashes: every broken or hostile file through the real CLI.

Each case asserts the promise of the issue: a clear message naming the file (and the line where
there is one), exit 1 (bad content) or 2 (unreadable), no traceback, nothing written (the ``--out``
folder is absent afterwards), bounded time; the 20 MB field and the 200,000 columns also bounded
memory (peak RSS of a subprocess).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from corpus.hostile import (
    CORPUS,
    HEADER,
    LONGEST_MESSAGE_LINE,
    MIB,
    ROW,
    assert_refused,
    binary_hour_logs,
    disguised_hour_logs,
    garbage,
    mgr,
    mgr_subprocess,
)

from mgr_tariffs.parties import load_parties
from mgr_tariffs.problems import InputError

pytestmark = pytest.mark.timeout(60)

HOURS = sorted((CORPUS / "hours").glob("*.csv"))
CATALOGUES = sorted((CORPUS / "catalogue").glob("*.yaml"))
INVOICES = sorted((CORPUS / "invoices").glob("*"))
PARTIES = sorted((CORPUS / "parties").glob("*.yaml"))

UNREADABLE_HOURS = {"blank_lines_only.csv", "control_characters.csv"}  # exit 2: nothing that can be read as a table
HOURS_WITH_LINE = {"unbalanced_quote.csv": 2, "truncated_in_quote.csv": 3, "truncated_mid_row.csv": 3,
                   "mixed_separators.csv": 3, "extreme_numbers.csv": 2, "extreme_dates.csv": 2, "extreme_bsn.csv": 2,
                   "extreme_revenue.csv": 2, "formula_cells.csv": 2, "comma_separated_decimal_comma.csv": 2}
BINARY_UNREADABLE = {"empty.csv", "random_bytes.csv", "random_bytes_without_nul.csv", "control_characters.csv",
                     "utf16_without_bom.csv",
                     "utf16_bom_broken.csv", "utf8_bom_then_invalid.csv", "not_cp1252_either.csv",
                     "password_protected.xlsx", "old_excel.xls", "truncated.xlsx", "zip_header_only.xlsx",
                     "zip_not_a_workbook.xlsx", "workbook_broken_xml.xlsx", "opendocument.xlsx", "gzip_instead.csv",
                     "pdf_instead.csv"}


def bill_refused(path: Path, out: Path, codes: tuple[int, ...] = (1, 2)) -> str:
    run = mgr("bill", path, "--out", out, "--today", "2024-01-01")
    assert_refused(run, path, codes)
    assert not out.exists(), f"{out} was written for a refused input"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], "temporary left behind"
    return run.stderr


def long_lines(text: str) -> list[int]:
    return [len(line) for line in text.splitlines() if len(line) > LONGEST_MESSAGE_LINE]


# ------------------------------------------------------------------------------------------------- hour logs


EMPTY_LOGS = {"header_only.csv", "only_separators.csv"}


@pytest.mark.parametrize("path", [p for p in HOURS if p.name not in EMPTY_LOGS], ids=lambda p: p.name)
def test_broken_hour_logs_are_refused_with_a_location(path: Path, tmp_path: Path) -> None:
    code = 2 if path.name in UNREADABLE_HOURS else 1
    stderr = bill_refused(path, tmp_path / "out", (code,))
    line = HOURS_WITH_LINE.get(path.name)
    if line is not None:
        assert f"{path}:{line}: error:" in stderr, stderr
    elif code == 1:
        assert f"{path}:1: error:" in stderr, stderr  # header problems are reported on the header line


@pytest.mark.parametrize("name", sorted(EMPTY_LOGS))
def test_an_hour_log_without_rows_is_refused(name: str, tmp_path: Path) -> None:
    bill_refused(CORPUS / "hours" / name, tmp_path / "out", (1,))


@pytest.mark.parametrize("revenue", ["99999999999999999", "999999999999999999999999999999"])
def test_a_huge_revenue_is_a_row_error(revenue: str, tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_text(HEADER + f"2021-03-01;111222333;W;Venlo;LN034;1;{revenue}\n")
    assert f"{path}:2: error: opbrengst" in bill_refused(path, tmp_path / "out", (1,))


@pytest.mark.parametrize("name", sorted(binary_hour_logs()), ids=str)
def test_binary_and_corrupt_hour_logs_are_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(binary_hour_logs()[name])
    code = 2 if name in BINARY_UNREADABLE else 1
    stderr = bill_refused(path, tmp_path / "out", (code,))
    assert stderr.strip(), "no message"


def test_messages_for_garbage_stay_short(tmp_path: Path) -> None:
    path = tmp_path / "letters.csv"
    path.write_bytes(garbage(64 * 1024, 7, b"abcdefghij "))
    stderr = bill_refused(path, tmp_path / "out", (1,))
    assert not long_lines(stderr)


def test_password_protected_and_corrupt_workbooks_say_what_they_are(tmp_path: Path) -> None:
    expected = {"password_protected.xlsx": "password", "old_excel.xls": ".xls", "truncated.xlsx": "damaged",
                "opendocument.xlsx": "OpenDocument", "zip_not_a_workbook.xlsx": "not an .xlsx"}
    for name, words in expected.items():
        path = tmp_path / name
        path.write_bytes(binary_hour_logs()[name])
        assert words in bill_refused(path, tmp_path / "out", (2,))


@pytest.mark.parametrize("name", sorted(disguised_hour_logs()), ids=str)
def test_excel_that_is_csv_and_the_reverse_are_read_by_content(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(disguised_hour_logs()[name])
    run = mgr("bill", path, "--json", "--today", "2024-01-01")
    assert run.code == 0, run.output
    assert '"rows_billed": 1' in run.stdout.replace('"rows_billed":1', '"rows_billed": 1')


def test_a_directory_and_a_missing_path_exit_2(tmp_path: Path) -> None:
    bill_refused(tmp_path, tmp_path / "out", (2,))
    assert "no such file" in bill_refused(tmp_path / "nope.csv", tmp_path / "out", (2,))


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + ROW)
    run = mgr("bill", good, tmp_path / "missing.csv", "--out", tmp_path / "out")
    assert_refused(run, "missing.csv", (2,))
    assert not (tmp_path / "out").exists()


def test_a_quoting_error_never_swallows_the_next_lines(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_text(HEADER + '"2021-03-01;111222333;W;Venlo;LN035;1;\n2021-03-02;"111222333;W;Venlo;LN035;1;\n'
                    + ROW.replace("03-01", "03-03") + ROW.replace("03-01", "03-04"))
    run = mgr("bill", path, "--json", "--skip-invalid", "--rejects", tmp_path / "rejects.csv", "--today", "2024-01-01")
    assert '"line": 3' in run.stdout.replace('"line":3', '"line": 3') or "rows_read\": 4" in run.stdout
    summary = json.loads(run.stdout)["summary"]
    assert (summary["rows_read"], summary["rows_billed"], summary["rows_rejected"]) == (4, 2, 2)
    assert sorted(e["line"] for e in json.loads(run.stdout)["errors"]) == [2, 3]


# ------------------------------------------------------------------------------------- big inputs, subprocess


@pytest.mark.timeout(180)
@pytest.mark.parametrize("quoted", [False, True], ids=["bare", "quoted"])
def test_a_20_mb_field_is_refused_in_bounded_memory(quoted: bool, tmp_path: Path) -> None:
    field = "W" * (20 * MIB)
    field = f'"{field}"' if quoted else field
    path = tmp_path / "huge_field.csv"
    path.write_text(HEADER + ROW + f"2021-03-01;111222333;{field};Venlo;LN035;1;\n" + ROW)
    out = tmp_path / "out"
    done, peak_kib = mgr_subprocess(["bill", str(path), "--out", str(out), "--tariffs", str(CORPUS.parent.parent /
                                                                                         "data" / "tariffs.yaml")])
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"{path}:3: error:" in done.stderr and "longer than" in done.stderr
    assert "Traceback" not in done.stderr and not long_lines(done.stderr)
    assert not out.exists()
    assert peak_kib < 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("command", ["bill", "check"])
def test_200000_columns_are_refused_in_bounded_memory(command: str, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(";".join(f"c{i}" for i in range(200_000)) + "\n" + ";".join("1" * 200_000) + "\n")
    args = [command, str(path), "--tariffs", str(CORPUS.parent.parent / "data" / "tariffs.yaml")]
    done, peak_kib = mgr_subprocess([*args, "--out", str(tmp_path / "out")] if command == "bill" else args)
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"{path}:1: error: the header has 200,000 columns" in done.stderr
    assert "Traceback" not in done.stderr and not long_lines(done.stderr)
    assert not (tmp_path / "out").exists()
    assert peak_kib < 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_200000_fields_in_a_row_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide_row.csv"
    path.write_text(HEADER + ROW.strip("\n") + ";" * 200_000 + "\n")
    stderr = bill_refused(path, tmp_path / "out", (1,))
    assert f"{path}:2: error: the row has 200,007 fields but the header has 7" in stderr


# ------------------------------------------------------------------------------------------------ catalogue


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.name)
def test_hostile_catalogues_are_refused_by_validate(path: Path) -> None:
    run = mgr("validate", path)
    assert run.code == 1 and "Traceback" not in run.output, run.output
    assert f"{path}:" in run.output and "error" in run.output
    assert "owned" not in run.output


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.name)
def test_hostile_catalogues_stop_bill_before_anything_is_written(path: Path, tmp_path: Path) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(HEADER + ROW)
    run = mgr("bill", hours, "--tariffs", path, "--out", tmp_path / "out")
    assert_refused(run, path, (1,))
    assert "the tariff catalogue is invalid" in run.stderr
    assert not (tmp_path / "out").exists()


def test_yaml_tags_never_build_objects(tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    path = tmp_path / "evil.yaml"
    path.write_text(f'version: !!python/object/apply:os.system ["touch {witness}"]\n'
                    f'sources: !!python/object/new:pathlib.Path ["{witness}"]\n')
    run = mgr("validate", path)
    assert run.code == 1 and "is not allowed" in run.output
    assert not witness.exists()


def test_oversized_and_binary_catalogues_are_unreadable(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * (2 * MIB + 1) + "\n")
    assert "at most 2,097,152" in mgr("validate", big).output
    assert mgr("validate", big).code == 2
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\x00\xff")
    assert mgr("validate", binary).code == 2
    assert mgr("validate", tmp_path).code == 2
    assert mgr("validate", tmp_path / "missing.yaml").code == 2


def test_extreme_numbers_and_dates_in_the_catalogue(tmp_path: Path) -> None:
    text = (CORPUS.parent.parent / "data" / "tariffs.yaml").read_text(encoding="utf-8")
    cases = {"amount: 48.60": ["amount: 1e400", "amount: .nan", "amount: .inf", "amount: -48.60",
                               "amount: 99999999999999999999999999999999", "amount: 0x30"],
             "from: 2019-07-01": ["from: 0001-01-01", "from: 9999-12-31", "from: 2019-02-30"]}
    for old, replacements in cases.items():
        assert old in text
        for new in replacements:
            path = tmp_path / "tariffs.yaml"
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
            run = mgr("validate", path)
            assert run.code in (0, 1) and "Traceback" not in run.output, (new, run.output)
            if new.startswith("amount"):
                assert run.code == 1 and f"{path}:" in run.output, (new, run.output)


# ------------------------------------------------------------------------------------------- invoices (check)


@pytest.mark.parametrize("path", INVOICES, ids=lambda p: p.name)
def test_hostile_invoices_are_refused_by_check(path: Path) -> None:
    if path.name == "header_only.csv":
        pytest.skip("see test_header_only_invoice_is_refused")
    run = mgr("check", path)
    assert_refused(run, path)


@pytest.mark.parametrize("column", ["aantal", "tarief", "bedrag"])
def test_a_huge_number_in_an_invoice_is_a_line_error(column: str, tmp_path: Path) -> None:
    values = {"aantal": "1", "tarief": "50,40", "bedrag": "50,40", column: "99999999999999999999"}
    path = tmp_path / "invoice.csv"
    path.write_text("factuurnummer;aanbieder;gemeente;periode;bsn;productcode;aantal;tarief;bedrag\n"
                    f"F1;W;Venlo;2021-03;111222333;LN035;{values['aantal']};{values['tarief']};{values['bedrag']}\n")
    run = mgr("check", path)
    assert run.code == 1 and f"{path}:2:" in run.output


def test_header_only_invoice_is_refused() -> None:
    assert_refused(mgr("check", CORPUS / "invoices" / "header_only.csv"), "header_only.csv", (1,))


def test_check_never_calls_a_broken_file_correct() -> None:
    run = mgr("check", CORPUS / "invoices" / "hour_log_instead.csv")
    assert run.code == 1 and "the invoices are correct" not in run.output


@pytest.mark.parametrize("name", sorted(binary_hour_logs()), ids=str)
def test_binary_invoices_are_refused_by_check(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(binary_hour_logs()[name])
    assert_refused(mgr("check", path), path, (2,) if name in BINARY_UNREADABLE else (1,))


def test_check_hours_option_with_hostile_logs(tmp_path: Path) -> None:
    invoice = CORPUS.parent.parent / "data" / "examples" / "invoice-with-errors.csv"
    for path in [*HOURS[:5], tmp_path / "missing.csv"]:
        run = mgr("check", invoice, "--hours", path)
        assert run.code in (1, 2) and "Traceback" not in run.output, (path, run.output[-1000:])


# --------------------------------------------------------------------------------------------------- parties


@pytest.mark.parametrize("path", PARTIES, ids=lambda p: p.name)
def test_hostile_parties_files_give_problems(path: Path) -> None:
    result = load_parties(path)
    assert not result.ok and result.parties is None
    assert all(p.file == str(path) for p in result.problems) and result.problems


def test_unreadable_parties_files_raise_input_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(binary_hour_logs()["random_bytes.csv"])
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (2 * MIB + 1))
    for path in (binary, big, tmp_path, tmp_path / "missing.yaml"):
        with pytest.raises(InputError):
            load_parties(path)


# ---------------------------------------------------------------------------------------------------- ledger


def _ledger_cases(tmp_path: Path) -> dict[str, Path]:
    cases = {}
    for name, data in {"empty.sqlite": b"", "text.sqlite": b"hello, not a database\n",
                       "random.sqlite": binary_hour_logs()["random_bytes.csv"],
                       "truncated_header.sqlite": b"SQLite format 3\x00" + b"\x10\x00"}.items():
        cases[name] = tmp_path / name
        cases[name].write_bytes(data)
    other = tmp_path / "other_app.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE invoice (x)")
    connection.close()
    cases["other_app.sqlite"] = other
    cases["directory"] = tmp_path
    return cases


@pytest.mark.parametrize("command", [["ledger", "list"], ["ledger", "verify"], ["ledger", "export"],
                                     ["credit", "2024-000001"]], ids=" ".join)
def test_hostile_ledgers_are_refused_and_left_untouched(command: list[str], tmp_path: Path) -> None:
    for name, path in _ledger_cases(tmp_path).items():
        before = path.read_bytes() if path.is_file() else None
        run = mgr(*command, "--ledger", path)
        assert run.code in (1, 2) and "Traceback" not in run.output, (name, run.output)
        assert str(path) in run.stderr, (name, run.stderr)
        if before is not None:
            assert path.read_bytes() == before, f"{name} was changed"


def test_a_missing_ledger_is_not_created_by_reading(tmp_path: Path) -> None:
    path = tmp_path / "nope.sqlite"
    run = mgr("ledger", "list", "--ledger", path)
    assert run.code in (1, 2) and "Traceback" not in run.output
    assert not path.exists()


def test_long_lines_helper_flags_long_lines() -> None:
    assert long_lines("short\n" + "x" * (LONGEST_MESSAGE_LINE + 1)) == [LONGEST_MESSAGE_LINE + 1]
    assert len(ROW.split(";")) == len(HEADER.split(";"))


def test_bill_issue_refuses_hostile_ledgers_before_writing(tmp_path: Path) -> None:
    hours = tmp_path / "hours.csv"
    hours.write_text(HEADER + ROW)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    for name, path in _ledger_cases(ledgers).items():
        before = path.read_bytes() if path.is_file() else None
        out = tmp_path / f"out-{name}"
        run = mgr("bill", hours, "--issue", "--ledger", path, "--out", out, "--today", "2024-01-01")
        assert run.code in (1, 2) and "Traceback" not in run.output, (name, run.output)
        assert str(path) in run.stderr, (name, run.stderr)
        assert not out.exists(), f"{name}: output written although the ledger was refused"
        if before is not None:
            assert path.read_bytes() == before, f"{name} was changed"
