"""File names and writing a run's documents atomically into an output set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.sample import example_invoice, negated

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.documents import DocumentError, document_targets, write_documents
from mgr_tariffs.documents.naming import document_stem, safe_filename, slug
from mgr_tariffs.io.atomic import OutputError, output_set
from mgr_tariffs.parties import Parties, load_parties

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "parties.yaml"
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


@pytest.fixture(scope="module")
def parties(lookup: Lookup) -> Parties:
    result = load_parties(EXAMPLE, lookup)
    assert result.parties is not None
    return result.parties


@given(st.text(max_size=300))
def test_safe_filenames_are_safe_everywhere(name: str) -> None:
    safe = safe_filename(name)
    assert safe and len(safe) <= 120
    assert not any(c in safe for c in '<>:"/\\|?*') and all(ord(c) >= 32 and ord(c) != 127 for c in safe)
    assert not safe.endswith((".", " "))
    assert safe.split(".")[0].strip().lower() not in RESERVED


def test_names_come_from_the_number_or_from_provider_municipality_and_period() -> None:
    assert safe_filename("CON") == "_CON" and safe_filename("nul.xml") == "_nul.xml"
    assert safe_filename("a/b:c. ") == "a_b_c"
    assert slug("Cliëntondersteuning Maasland B.V.") == "clientondersteuning-maasland-b-v"
    assert document_stem(example_invoice()) == "factuur-2019-000123-werkbedrijf-de-peel-b-v"
    assert document_stem(negated(example_invoice(), "2019/000200")) == "creditnota-2019_000200-werkbedrijf-de-peel-b-v"
    assert document_stem(example_invoice(None)) == "concept-werkbedrijf-de-peel-b-v-0983-2019-03"


def test_documents_are_written_only_on_commit(parties: Parties, lookup: Lookup, tmp_path: Path) -> None:
    invoices = [example_invoice(), example_invoice(None)]
    with output_set() as outputs:
        written = write_documents(invoices, parties, lookup, tmp_path, ["xlsx", "pdf", "ubl"],
                                  issue_date=dt.date(2019, 4, 5), outputs=outputs)
        assert not any(path.exists() for path in written)
    names = sorted(path.name for path in written)
    concept = "concept-werkbedrijf-de-peel-b-v-0983-2019-03"
    issued = "factuur-2019-000123-werkbedrijf-de-peel-b-v"
    assert names == [f"{concept}.pdf", f"{concept}.xml", "facturen.xlsx", f"{issued}.pdf", f"{issued}.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert written == document_targets(invoices, tmp_path, {"ubl", "pdf", "xlsx"})
    with pytest.raises(OutputError, match="already exist"), output_set() as outputs:
        write_documents(invoices, parties, lookup, tmp_path, ["ubl"], issue_date=dt.date(2019, 4, 5), outputs=outputs)


def test_unknown_formats_and_twice_the_same_invoice(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="unknown document format"):
        document_targets([example_invoice()], tmp_path, ["docx"])
    with pytest.raises(DocumentError, match="two invoices of this run would both be written to "
                                            "factuur-2019-000123-werkbedrijf-de-peel-b-v"):
        document_targets([example_invoice(), example_invoice()], tmp_path, ["ubl"])
