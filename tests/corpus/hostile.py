"""Helpers for the hardening tests: the hostile corpus, generated binary inputs, and running ``mgr``.

The text fixtures live beside this file (``hours/``, ``catalogue/``, ``invoices/``, ``parties/``);
binary and large inputs are generated here so that nothing big is committed.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from mgr_tariffs.cli import app

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parent.parent
TARIFFS = ROOT / "data" / "tariffs.yaml"
HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren;opbrengst\n"
ROW = "2021-03-01;111222333;Werkbedrijf;Venlo;LN035;1;\n"
LONGEST_MESSAGE_LINE = 2_000
MIB = 1024 * 1024
BSN_RE = re.compile(r"(?<!\d)\d{9}(?!\d)")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def mgr(*args: str | Path) -> Run:
    """Run the real CLI in-process; the catalogue is the shipped one unless ``--tariffs`` is given."""
    argv = [str(a) for a in args]
    if argv[0] in ("bill", "check") and "--tariffs" not in argv:
        argv += ["--tariffs", str(TARIFFS)]
    with tempfile.TemporaryDirectory() as cwd, contextlib.chdir(cwd):  # what lands in "." stays out of the repo
        result = CliRunner().invoke(app, argv, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"mgr {' '.join(argv)} raised {result.exception!r}") from result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def assert_refused(run: Run, file: Path | str, codes: tuple[int, ...] = (1, 2)) -> None:
    """A clear refusal: the expected exit code, the file named, no traceback."""
    assert run.code in codes, (run.code, run.output[:2000])
    assert "Traceback" not in run.output
    assert Path(file).name in run.stderr, run.stderr[:2000]


def mgr_subprocess(args: list[str], timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``mgr`` in a fresh interpreter under a wrapper that reports the child's peak RSS in KiB."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "cmd = [sys.executable, '-c', 'from mgr_tariffs.entry import main; main()', *sys.argv[1:]]\n"
        "done = subprocess.run(cmd, capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr)\n"
        "sys.stderr.write('\\nPEAK_RSS_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *args], check=False, capture_output=True, text=True,
                          timeout=timeout)
    match = re.search(r"PEAK_RSS_KIB=(\d+)", done.stderr)
    assert match, done.stderr[-2000:]
    return done, int(match.group(1))


# ------------------------------------------------------------------------------------------ generated inputs


def garbage(size: int, seed: int, alphabet: bytes | None = None) -> bytes:
    rng = random.Random(seed)
    if alphabet is None:
        return rng.randbytes(size)
    return bytes(rng.choice(alphabet) for _ in range(size))


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_workbook() -> bytes:
    header: list[object] = list(HEADER.strip().split(";"))
    return workbook([header, [v or None for v in ROW.strip("\n").split(";")]])


def zip_of(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def binary_hour_logs() -> dict[str, bytes]:
    """Hostile hour logs that are binary or would be too awkward to keep as text fixtures."""
    xlsx = good_workbook()
    return {
        "empty.csv": b"",
        "random_bytes.csv": garbage(64 * 1024, 1),
        "random_bytes_without_nul.csv": garbage(64 * 1024, 2, bytes(range(1, 256))),
        "control_characters.csv": garbage(8 * 1024, 3, bytes([1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 27, 127])),
        "utf16_without_bom.csv": (HEADER + ROW).encode("utf-16-le"),
        "utf16_bom_broken.csv": b"\xff\xfe" + (HEADER + ROW).encode("utf-16-le")[:-1] + b"\x00\xd8",
        "utf8_bom_then_invalid.csv": b"\xef\xbb\xbf" + HEADER.encode() + b"2021-03-01;\xc3\x28;W;Venlo;LN035;1;\n",
        "not_cp1252_either.csv": HEADER.encode() + b"2021-03-01;111222333;W\x81\x8d\x8f;Venlo;LN035;1;\n",
        "password_protected.xlsx": OLE + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512,
        "old_excel.xls": OLE + b"\x00" * 1024,
        "truncated.xlsx": xlsx[: len(xlsx) // 2],
        "zip_header_only.xlsx": b"PK\x03\x04" + b"\x00" * 100,
        "zip_not_a_workbook.xlsx": zip_of({"hello.txt": "hello"}),
        "workbook_broken_xml.xlsx": zip_of({"[Content_Types].xml": "<Types", "xl/workbook.xml": "<workbook"}),
        "opendocument.xlsx": zip_of({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
        "gzip_instead.csv": b"\x1f\x8b\x08\x00" + garbage(2000, 4),
        "pdf_instead.csv": b"%PDF-1.7\n" + garbage(4000, 5),
    }


def disguised_hour_logs() -> dict[str, bytes]:
    """Valid hour logs under a misleading name or encoding: read by content, billed normally."""
    text = HEADER + ROW.replace("Werkbedrijf", "Cliëntondersteuning")
    return {
        "really_csv.xlsx": text.encode(),
        "really_xlsx.csv": good_workbook(),
        "utf16_with_bom.csv": text.encode("utf-16"),
        "windows_1252.csv": text.encode("cp1252"),
        "utf8_bom_crlf.csv": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
    }
