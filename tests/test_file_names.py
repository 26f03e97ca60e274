"""Invoice file names cannot collide: unique per invoice by construction, readable, Windows-safe, bounded.

Hour logs whose providers differ only in case or Unicode form, have no ASCII letters, or have names of 100+
characters: every invoice gets its own CSV (and documents), and samenvatting.csv lists exactly the files written.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TARIFFS
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.cli import app
from mgr_tariffs.documents.naming import MAX_STEM, invoice_stems, provider_part, stem_of

HEADER = "datum;bsn;aanbieder;gemeente;productcode;uren\n"
LONG = "Stichting " + "Zorg en Welzijn " * 8  # 138 characters: the old names were cut before gemeente and month
NFC = unicodedata.normalize("NFC", "Zorg Café")
NFD = unicodedata.normalize("NFD", "Zorg Café")

CASES = {
    "case only": ["Zorg BV", "ZORG BV"],
    "Unicode form only": [NFC, NFD],
    "no ASCII letters": ["株式会社ケア", "Ζωή Φροντίδα", "Забота"],
    "100+ characters": [LONG + "Venlo", LONG + "Venray"],
    "one slug for two names": ["Zorg-BV", "Zorg BV!"],
}


def one_invoice(provider: str) -> Invoice:
    return Invoice(provider=provider, municipality="Gennep", municipality_code="0907", period="2019-07", lines=(),
                   total=Decimal("0.00"), vat=())


def bill_out(tmp_path: Path, providers: list[str]) -> tuple[int, str, Path]:
    rows = "".join(f"2019-07-0{i + 1};111222333;{p};Gennep;LN017;1\n" for i, p in enumerate(providers))
    log = tmp_path / "hours.csv"
    log.write_text(HEADER + rows, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bill", str(log), "--out", str(out), "--tariffs", str(TARIFFS),
                                      "--today", "2024-01-01", "--documents", "csv"])
    return result.exit_code, result.output, out


def listed(out: Path) -> list[str]:
    text = (out / "samenvatting.csv").read_text(encoding="utf-8-sig")
    return [row["bestand"] for row in csv.DictReader(io.StringIO(text), delimiter=";")]


@pytest.mark.parametrize("case", list(CASES))
def test_every_invoice_gets_its_own_file_and_the_summary_lists_them(tmp_path: Path, case: str) -> None:
    providers = CASES[case]
    code, output, out = bill_out(tmp_path, providers)
    assert code == 0, output
    files = sorted(p.name for p in out.iterdir() if p.name != "samenvatting.csv")
    invoices = int(re.search(r"(\d+) invoice\(s\)", output).group(1))  # type: ignore[union-attr]
    # one invoice per provider (spellings of one supplier may also be billed as one, by its first spelling)
    assert invoices == len(providers) or case in ("case only", "Unicode form only")
    assert len(files) == invoices, files
    assert sorted(listed(out)) == files
    rows = 0
    for name in files:
        assert re.fullmatch(r"concept-[a-z0-9-]+-0907-2019-07\.csv", name), name
        assert len(name) <= MAX_STEM + 4
        lines = (out / name).read_text(encoding="utf-8-sig").splitlines()[1:]
        assert {line.split(";")[1] for line in lines} <= set(providers)
        rows += sum(int(line.split(";")[-1]) for line in lines)
    assert rows == len(providers)  # every row is on an invoice that has its own file


def test_long_names_keep_municipality_and_month_and_stay_readable() -> None:
    name = stem_of(LONG + "Venlo", "0907", "2019-07")
    assert name.startswith("concept-stichting-zorg-en-welzijn-zorg-en-welzijn")
    assert name.endswith("-0907-2019-07") and len(name) <= 100
    assert stem_of(LONG + "Venlo", "0907", "2019-07") != stem_of(LONG + "Venray", "0907", "2019-07")
    assert stem_of("Zorg BV", "0907", "2019-07") == "concept-zorg-bv-0907-2019-07"  # plain names stay as they were
    assert stem_of("Zorg BV", "0907", "2019-07", "2024-000001") == "factuur-2024-000001-zorg-bv"
    assert provider_part("Cliëntondersteuning Maasland B.V.") == "clientondersteuning-maasland-b-v"  # accents go
    assert re.fullmatch(r"x-[0-9a-f]{8}", provider_part("株式会社ケア"))


def test_documents_share_the_csv_names_and_refuse_a_true_duplicate() -> None:
    a, b = one_invoice("Zorg BV"), one_invoice("ZORG BV")
    stems = invoice_stems([a, b])
    assert len(set(stems)) == 2 and all(s.startswith("concept-zorg-bv-") for s in stems)
    with pytest.raises(Exception, match="two invoices of this run would both be written"):
        invoice_stems([a, a])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=200), min_size=2, max_size=6, unique=True))
def test_names_of_any_providers_never_collide_and_are_safe_on_windows(providers: list[str]) -> None:
    stems = invoice_stems([one_invoice(p) for p in providers])
    assert len({s.casefold() for s in stems}) == len(providers)
    for stem in stems:
        assert re.fullmatch(r"concept-[a-z0-9][a-z0-9-]*-0907-2019-07", stem) and len(stem) <= MAX_STEM
