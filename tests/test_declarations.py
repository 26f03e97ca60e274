"""iWmo declarations: WMO323 written from a log snippet, validated by the shared validate_iwmo.py, planted
errors caught by ``mgr declare validate`` with their rule code, and the WMO325 answer matched."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mgr_tariffs.billing.engine import BillOptions, bill
from mgr_tariffs.billing.invoices import Invoice
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.cli import app
from mgr_tariffs.declarations.allocations import Allocations, parse_allocations
from mgr_tariffs.declarations.material import IwmoMaterial, find_material
from mgr_tariffs.declarations.wmo323 import (
    Declaration,
    DeclarationError,
    declaration_number,
    declare,
    to_xml,
    volume_and_amount,
    write_checked,
)
from mgr_tariffs.declarations.wmo325 import AnswerError, MatchError, match_answer, read_answer, read_declaration
from mgr_tariffs.ledger import store as ledger
from mgr_tariffs.money import gross_cents
from mgr_tariffs.quantity import QuantityUnit

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

IWMO = SHARED / "iwmo"
VALIDATOR = IWMO / "validate_iwmo.py"
AGB = "98100001"
PROVIDER = "Cliëntondersteuning Maasland B.V."
# Wmo rows of March 2021 in Venlo: whole hours, hours with a fraction (to minutes), and two clients.
LOG = f"""datum;bsn;aanbieder;gemeente;productcode;uren
2021-03-02;111222333;{PROVIDER};Gennep;LN017;1
2021-03-09;111222333;{PROVIDER};Gennep;LN017;1
2021-03-03;123456782;{PROVIDER};Gennep;LN018;1,25
2021-03-04;111222333;{PROVIDER};Gennep;LN018;0,1
"""
NUMBERS = {("111222333", "LN017", "2021-03"): 300001, ("123456782", "LN018", "2021-03"): 300002,
           ("111222333", "LN018", "2021-03"): 300003}

pytestmark = pytest.mark.skipif(not VALIDATOR.is_file(), reason="needs ../shared/iwmo")


@pytest.fixture(scope="module")
def material() -> IwmoMaterial:
    return find_material(IWMO)


def passes_validate_iwmo(path: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def issued(tmp_path: Path, lookup: Lookup, log: str = LOG) -> tuple[Path, list[Invoice]]:
    hours = tmp_path / "hours.csv"
    hours.write_text(log, encoding="utf-8")
    book = tmp_path / "ledger.sqlite"
    result = ledger.issue(bill([hours], lookup, BillOptions(today=dt.date(2021, 4, 6))), book,
                          issue_date=dt.date(2021, 4, 6), lookup=lookup)
    return book, list(result.invoices)


def written(tmp_path: Path, declaration: Declaration, material: IwmoMaterial) -> Path:
    path = tmp_path / f"WMO323-{declaration.number}.xml"
    path.write_bytes(write_checked(declaration, material))
    return path


def test_a_declaration_from_a_log_passes_validate_iwmo(tmp_path: Path, lookup: Lookup,
                                                       material: IwmoMaterial) -> None:
    _, invoices = issued(tmp_path, lookup)
    (invoice,) = invoices
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                          message_date=dt.date(2021, 4, 6))
    path = written(tmp_path, declaration, material)
    assert passes_validate_iwmo(path) == (0, f"{path}: valid\n1 file(s): 1 valid, 0 with findings\n")
    assert declaration.number == "2021000001"
    # Hand-computed: LN017 2 h x 4860 ct; LN018 1,25 h = 75 min x 120 ct; LN018 0,1 h = 6 min x 120 ct.
    rows = [(p.reference, p.allocation, p.category, p.code, p.volume, p.unit, p.tariff, p.amount)
            for p in declaration.prestaties]
    assert rows == [("20210000010001", 300001, "06", "LN017", 2, "04", 4860, 9720),
                    ("20210000010002", 300003, "06", "LN018", 6, "01", 120, 720),
                    ("20210000010003", 300002, "06", "LN018", 75, "01", 120, 9000)]
    assert declaration.total == 19440 == int(invoice.total * 100)
    assert all((p.first_day, p.last_day) == (dt.date(2021, 3, 1), dt.date(2021, 3, 31)) for p in declaration.prestaties)


def test_the_product_period_is_clamped_to_the_allocation(tmp_path: Path, lookup: Lookup,
                                                         material: IwmoMaterial) -> None:
    log = f"datum;bsn;aanbieder;gemeente;productcode;uren\n2021-03-20;111222333;{PROVIDER};Gennep;LN017;2\n"
    _, (invoice,) = issued(tmp_path, lookup, log)
    text = ("version: 1\nallocations:\n  - {number: 7, bsn: '111222333', product: LN017, from: 2021-03-15, "
            "until: 2021-03-25, law: Wmo}\n")
    allocations = parse_allocations(text, "allocations.yaml").allocations
    assert allocations is not None
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=allocations, message_date=dt.date(2021, 4, 6))
    (p,) = declaration.prestaties
    assert (p.first_day, p.last_day) == (dt.date(2021, 3, 15), dt.date(2021, 3, 25))  # IV089
    assert passes_validate_iwmo(written(tmp_path, declaration, material))[0] == 0


@pytest.mark.parametrize(("quantity", "unit", "hourly", "expected"), [
    ("2", QuantityUnit.HOUR, "75.60", (2, "04", 7560, 15120)),
    ("1.5", QuantityUnit.HOUR, "50.40", (90, "01", 84, 7560)),
    # 47,04 per hour does not divide by 60: 4704 x 6 / 60 = 470,4 -> 470 ct; the tariff 78,4 -> 78 (TR346).
    ("0.1", QuantityUnit.HOUR, "47.04", (6, "01", 78, 470)),
    ("45", QuantityUnit.MINUTE, "47.04", (45, "01", 78, 3528)),
])
def test_volume_and_amount(quantity: str, unit: QuantityUnit, hourly: str, expected: tuple[int, str, int, int]) -> None:
    assert volume_and_amount(Decimal(quantity), unit, Decimal(hourly)) == expected


@pytest.mark.parametrize(("quantity", "unit"), [("0.125", QuantityUnit.HOUR), ("7.5", QuantityUnit.MINUTE)])
def test_a_fraction_of_a_minute_cannot_be_declared(quantity: str, unit: QuantityUnit) -> None:
    with pytest.raises(ValueError, match=r"not a whole number.*IV042"):
        volume_and_amount(Decimal(quantity), unit, Decimal("48.60"))


@given(minutes=st.integers(0, 100_000), cents=st.integers(1, 99_999_99))
def test_the_declared_amount_is_the_invoice_line_amount(minutes: int, cents: int) -> None:
    hourly = Decimal(cents) / 100
    _, _, _, amount = volume_and_amount(Decimal(minutes), QuantityUnit.MINUTE, hourly)
    assert amount == gross_cents(minutes * 50, cents)


def test_the_declaration_number_keeps_letters_and_digits() -> None:
    assert declaration_number("2021-000001") == "2021000001"
    with pytest.raises(DeclarationError, match="1 to 12 letters or digits"):
        declaration_number("2021-0000000001")


def test_a_missing_allocation_is_named(tmp_path: Path, lookup: Lookup) -> None:
    _, (invoice,) = issued(tmp_path, lookup)
    numbers = dict(NUMBERS)
    del numbers[("123456782", "LN018", "2021-03")]
    with pytest.raises(DeclarationError) as caught:
        declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(numbers), message_date=dt.date(2021, 4, 6))
    assert caught.value.messages == ("line 3 (*****6782, LN018): no allocation (ToewijzingNummer) for client "
                                     "*****6782, product LN018 in 2021-03; add it to the allocations file",)


def test_a_participatiewet_row_is_refused_unless_allocated_under_the_wmo(tmp_path: Path, lookup: Lookup,
                                                                         material: IwmoMaterial) -> None:
    log = "datum;bsn;aanbieder;gemeente;productcode;uren\n2021-03-02;111222333;Zorg BV;Venlo;LN035;2\n"
    _, (invoice,) = issued(tmp_path, lookup, log)
    base = "version: 1\nallocations:\n  - {number: 9, bsn: '111222333', product: LN035, from: 2021-01-01"
    plain = parse_allocations(base + "}\n", "a.yaml").allocations
    assert plain is not None
    with pytest.raises(DeclarationError, match=r"falls under the Participatiewet .*invoice it \(UBL"):
        declare(invoice, agb=AGB, lookup=lookup, allocations=plain, message_date=dt.date(2021, 4, 6))
    wmo = parse_allocations(base + ", law: Wmo}\n", "a.yaml").allocations
    assert wmo is not None
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=wmo, message_date=dt.date(2021, 4, 6))
    assert passes_validate_iwmo(written(tmp_path, declaration, material))[0] == 0


def test_a_credit_note_mirrors_its_debit(tmp_path: Path, lookup: Lookup, material: IwmoMaterial) -> None:
    book, (invoice,) = issued(tmp_path, lookup)
    assert invoice.number is not None
    note = ledger.credit(book, invoice.number, reason="wrong client", issue_date=dt.date(2021, 4, 8))
    allocations = Allocations.of(NUMBERS)
    with pytest.raises(DeclarationError, match="IV091"):
        declare(note, agb=AGB, lookup=lookup, allocations=allocations, message_date=dt.date(2021, 4, 8))
    debit = declare(invoice, agb=AGB, lookup=lookup, allocations=allocations, message_date=dt.date(2021, 4, 6))
    credit = declare(note, agb=AGB, lookup=lookup, allocations=allocations, message_date=dt.date(2021, 4, 8),
                     original=invoice)
    assert credit.total == -debit.total
    assert [(c.previous_reference, c.debit) for c in credit.prestaties] == [(d.reference, False)
                                                                            for d in debit.prestaties]
    path = written(tmp_path, credit, material)
    assert passes_validate_iwmo(path)[0] == 0
    text = path.read_text(encoding="utf-8")
    assert "<iwmo:VorigReferentieNummer>20210000010001</iwmo:VorigReferentieNummer>" in text
    assert re.search(r"<iwmo:TotaalBedrag>19440</iwmo:TotaalBedrag>\s*<iwmo:DebetCredit>C<", text)


# --- planted errors: mgr declare validate names the rule -------------------------------------------------


def validate(*paths: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["declare", "validate", "--iwmo-dir", str(IWMO), *map(str, paths)])
    return result.exit_code, result.output


@pytest.fixture()
def good(tmp_path: Path, lookup: Lookup, material: IwmoMaterial) -> Path:
    _, (invoice,) = issued(tmp_path, lookup)
    return written(tmp_path, declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                                     message_date=dt.date(2021, 4, 6)), material)


@pytest.mark.parametrize(("old", "new", "code", "where"), [
    ("<iwmo:TotaalBedrag>19440<", "<iwmo:TotaalBedrag>19441<", "TR358", "/Bericht/Declaratie/TotaalIngediendBedrag"),
    ("<iwmo:Einddatum>2021-03-31</iwmo:Einddatum>\n    </wmo323:DeclaratiePeriode>",
     "<iwmo:Einddatum>2021-03-30</iwmo:Einddatum>\n    </wmo323:DeclaratiePeriode>", "CS340",
     "/Bericht/Declaratie/DeclaratiePeriode/Einddatum"),
    ("<wmo323:GeleverdVolume>2<", "<wmo323:GeleverdVolume>2.5<", "IV042",
     "/Bericht/Declaratie/Clienten/Client[1]/Prestaties/Prestatie[1]/GeleverdVolume"),
    ("<iwmo:Bedrag>9720</iwmo:Bedrag>\n              <iwmo:DebetCredit>D<",
     "<iwmo:Bedrag>9720</iwmo:Bedrag>\n              <iwmo:DebetCredit>C<", "CD060",
     "/Bericht/Declaratie/Clienten/Client[1]/Prestaties/Prestatie[1]/IngediendBedrag/DebetCredit"),
])
def test_a_planted_error_is_caught_with_its_rule(good: Path, old: str, new: str, code: str, where: str) -> None:
    assert validate(good)[0] == 0
    text = good.read_text(encoding="utf-8")
    assert old in text
    good.write_text(text.replace(old, new, 1), encoding="utf-8")
    exit_code, out = validate(good)
    assert exit_code == 1
    line = next(line for line in out.splitlines() if f"[{code}]" in line)
    assert where in line
    assert passes_validate_iwmo(good)[0] == 1  # the shared validator agrees


def test_the_rule_text_is_dutch(good: Path) -> None:
    good.write_text(good.read_text(encoding="utf-8").replace(">19440<", ">1<", 1), encoding="utf-8")
    assert "De waarde van TotaalBedrag in TotaalIngediendBedrag moet gelijk zijn aan de SOM" in validate(good)[1]


def test_unreadable_and_foreign_files_exit_2(tmp_path: Path, good: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<wmo323:Bericht", encoding="utf-8")
    other = tmp_path / "other.xml"
    other.write_text("<a/>", encoding="utf-8")
    code, out = validate(good, broken, tmp_path / "missing.xml", other)
    assert code == 2
    assert "not well-formed XML" in out and "missing.xml: cannot be read" in out and "is not an iWmo 3.2" in out


def test_the_iwmo_folder_is_found_or_named(tmp_path: Path, good: Path) -> None:
    result = CliRunner().invoke(app, ["declare", "validate", "--iwmo-dir", str(tmp_path), str(good)])
    assert result.exit_code == 2
    assert "not an iWmo 3.2 folder (--iwmo-dir): missing xsd/basisschema.xsd" in result.output
    env = CliRunner().invoke(app, ["declare", "validate", str(good)], env={"MGR_IWMO_DIR": str(IWMO)})
    assert env.exit_code == 0


# --- the answer ------------------------------------------------------------------------------------------


def answer_for(declaration: Declaration, rejected: dict[str, str], number: str | None = None) -> bytes:
    """A hand-made WMO325 that rejects the prestaties in ``rejected`` (reference → return code)."""
    body = re.search(r"<wmo323:Clienten>.*</wmo323:Clienten>", to_xml(declaration).decode(), re.S)
    assert body is not None
    clients = []
    for client in re.findall(r"<wmo323:Client>.*?</wmo323:Client>", body.group(0), re.S):
        kept = []
        for p in re.findall(r"<wmo323:Prestatie>.*?</wmo323:Prestatie>", client, re.S):
            ref = re.search(r"<iwmo:ReferentieNummer>(\w+)<", p)
            if ref and ref.group(1) in rejected:
                kept.append(p.replace("</wmo323:Prestatie>", f"<wmo323:RetourCodes><wmo323:RetourCode>"
                                      f"{rejected[ref.group(1)]}</wmo323:RetourCode></wmo323:RetourCodes>"
                                      "</wmo323:Prestatie>"))
        if kept:
            bsn = re.search(r"<wmo323:Bsn>\d+</wmo323:Bsn>", client)
            assert bsn is not None
            clients.append(f"<wmo323:Client>{bsn.group(0)}<wmo323:Prestaties>{''.join(kept)}</wmo323:Prestaties>"
                           "<wmo323:RetourCodes><wmo323:RetourCode>0200</wmo323:RetourCode></wmo323:RetourCodes>"
                           "</wmo323:Client>")
    granted = declaration.total - sum(p.amount for p in declaration.prestaties if p.reference in rejected)
    versions = ("<iwmo:BasisschemaXsdVersie>1.0.0</iwmo:BasisschemaXsdVersie>"
                "<iwmo:BerichtXsdVersie>1.0.0</iwmo:BerichtXsdVersie>")
    listed = f"<wmo323:Clienten>{''.join(clients)}</wmo323:Clienten>" if clients else ""
    text = (
        '<wmo323:Bericht xmlns:wmo323="http://www.istandaarden.nl/iwmo/3_2/wmo325/schema" '
        'xmlns:iwmo="http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"><wmo323:Header>'
        "<wmo323:BerichtCode>485</wmo323:BerichtCode><wmo323:BerichtVersie>3</wmo323:BerichtVersie>"
        f"<wmo323:BerichtSubversie>2</wmo323:BerichtSubversie><wmo323:Afzender>{declaration.municipality_code}"
        f"</wmo323:Afzender><wmo323:Ontvanger>{declaration.sender_agb}</wmo323:Ontvanger>"
        "<wmo323:BerichtIdentificatie><iwmo:Identificatie>A1</iwmo:Identificatie><iwmo:Dagtekening>2021-04-09"
        f"</iwmo:Dagtekening></wmo323:BerichtIdentificatie><wmo323:XsdVersie>{versions}</wmo323:XsdVersie>"
        f"<wmo323:DeclaratieIdentificatie><iwmo:Identificatie>{declaration.message_id}</iwmo:Identificatie>"
        f"<iwmo:Dagtekening>{declaration.message_date}</iwmo:Dagtekening></wmo323:DeclaratieIdentificatie>"
        f"<wmo323:XsdVersieDeclaratie>{versions}</wmo323:XsdVersieDeclaratie><wmo323:RetourCodes>"
        "<wmo323:RetourCode>0200</wmo323:RetourCode></wmo323:RetourCodes></wmo323:Header>"
        f"<wmo323:DeclaratieAntwoord><wmo323:DeclaratieNummer>{number or declaration.number}</wmo323:DeclaratieNummer>"
        f"<wmo323:TotaalIngediendBedrag><iwmo:TotaalBedrag>{declaration.total}</iwmo:TotaalBedrag>"
        "<iwmo:DebetCredit>D</iwmo:DebetCredit></wmo323:TotaalIngediendBedrag><wmo323:TotaalToegekendBedrag>"
        f"<iwmo:TotaalBedrag>{granted}</iwmo:TotaalBedrag><iwmo:DebetCredit>D</iwmo:DebetCredit>"
        f"</wmo323:TotaalToegekendBedrag>{listed}<wmo323:RetourCodes><wmo323:RetourCode>"
        f"{'0200' if rejected else '8001'}</wmo323:RetourCode></wmo323:RetourCodes></wmo323:DeclaratieAntwoord>"
        "</wmo323:Bericht>")
    return text.encode()


def test_round_trip_write_answer_match(tmp_path: Path, lookup: Lookup, material: IwmoMaterial) -> None:
    _, (invoice,) = issued(tmp_path, lookup)
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                          message_date=dt.date(2021, 4, 6))
    sent = written(tmp_path, declaration, material)
    data = answer_for(declaration, {"20210000010001": "9321", "20210000010003": "0611"})
    answer_file = tmp_path / "WMO325.xml"
    answer_file.write_bytes(data)
    assert passes_validate_iwmo(answer_file)[0] == 0
    matched = match_answer(read_answer(data, "WMO325.xml", material),
                           [read_declaration(sent.read_bytes(), str(sent))])
    assert [(line.reference, line.approved, [c.code for c in line.codes]) for line in matched.lines] == [
        ("20210000010001", False, ["9321"]), ("20210000010002", True, []), ("20210000010003", False, ["0611"])]
    assert matched.lines[0].codes[0].meaning == "Het ingediende volume overschrijdt het toegewezen volume."
    assert (matched.submitted, matched.granted) == (19440, 720)
    result = CliRunner().invoke(app, ["declare", "answer", str(answer_file), "-d", str(sent),
                                      "--iwmo-dir", str(IWMO)])
    assert result.exit_code == 0
    assert "declaration 2021000001: 1 approved, 2 rejected; ingediend € 194,40, toegekend € 7,20" in result.output


def test_an_answer_that_matches_nothing_or_twice_is_refused(tmp_path: Path, lookup: Lookup,
                                                           material: IwmoMaterial) -> None:
    _, (invoice,) = issued(tmp_path, lookup)
    declaration = declare(invoice, agb=AGB, lookup=lookup, allocations=Allocations.of(NUMBERS),
                          message_date=dt.date(2021, 4, 6))
    stranger = read_answer(answer_for(declaration, {}, number="X99"), "a.xml", material)
    with pytest.raises(MatchError, match="DeclaratieNummer X99 matches no declaration"):
        match_answer(stranger, [declaration])
    fine = read_answer(answer_for(declaration, {}), "a.xml", material)
    assert all(line.approved for line in match_answer(fine, [declaration]).lines)
    with pytest.raises(MatchError, match="matches 2 declarations"):
        match_answer(fine, [declaration, declaration])
    twice = answer_for(declaration, {"20210000010001": "9321"}).decode()
    client = re.search(r"<wmo323:Client>.*</wmo323:Client>", twice, re.S)
    assert client is not None
    with pytest.raises(AnswerError, match=r"\[TR101\] Binnen een bericht zijn dubbele regels niet toegestaan"):
        read_answer(twice.replace(client.group(0), client.group(0) * 2).encode(), "a.xml", material)
    unknown = twice.replace("20210000010001", "20210000019999")
    with pytest.raises(MatchError, match="ProductReferentie 20210000019999 is not in declaration 2021000001"):
        match_answer(read_answer(unknown.encode(), "a.xml", material), [declaration])


# --- the example and the allocations file ----------------------------------------------------------------


def test_the_shipped_example_passes_validate_iwmo() -> None:
    files = sorted((ROOT / "data" / "examples" / "iwmo").glob("*.xml"))
    assert len(files) == 4
    done = subprocess.run([sys.executable, str(VALIDATOR), "-q", *map(str, files)], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout) == (0, "")


def test_the_example_is_what_the_example_log_gives(tmp_path: Path, lookup: Lookup, material: IwmoMaterial) -> None:
    from mgr_tariffs.declarations.allocations import load_allocations  # noqa: PLC0415

    book = tmp_path / "ledger.sqlite"
    hours = ROOT / "data" / "examples" / "hours.csv"
    result = ledger.issue(bill([hours], lookup), book, issue_date=dt.date(2021, 5, 3), lookup=lookup)
    allocations = load_allocations(ROOT / "data" / "examples" / "allocations.yaml").allocations
    assert allocations is not None
    for invoice in result.invoices:
        if invoice.number in ("2021-000008", "2021-000009", "2021-000010") and invoice.provider.startswith("Sticht"):
            declaration = declare(invoice, agb="98100002", lookup=lookup, allocations=allocations,
                                  message_date=dt.date(2021, 5, 3))
            shipped = ROOT / "data" / "examples" / "iwmo" / f"WMO323-{declaration.number}.xml"
            assert write_checked(declaration, material) == shipped.read_bytes()


@pytest.mark.parametrize(("entry", "message"), [
    ("{number: 1, bsn: '1234567', product: LN017, from: 2021-01-01}", "allocations.yaml:3: error: allocation 1: bsn: "
     "*****4567 is not a valid BSN (elfproef)"),
    ("{number: 1, bsn: '111222333', product: LN017, from: 2021-01-01, law: Jeugdwet}",
     "allocations.yaml:3: error: allocation 1: law: law 'Jeugdwet' is not one of Wmo, Participatiewet"),
    ("{number: 1234567890, bsn: '111222333', product: LN017, from: 2021-01-01}",
     "allocations.yaml:3: error: allocation 1: number: Input should be less than or equal to 999999999"),
    ("{number: 1, bsn: '111222333', product: LN017, from: 2021-01-01}\n  - {number: 2, bsn: '111222333', "
     "product: LN017, from: 2021-06-01}", "allocations.yaml:4: error: allocation 2 overlaps allocation 1 of the "
     "same client and product LN017"),
])
def test_a_bad_allocations_file_is_reported_by_line(entry: str, message: str) -> None:
    result = parse_allocations(f"version: 1\nallocations:\n  - {entry}\n", "allocations.yaml")
    assert result.allocations is None
    assert [str(p) for p in result.problems] == [message]


# --- mgr declare write and answer on the command line ------------------------------------------------------

PARTIES = ROOT / "data" / "examples" / "parties.yaml"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args])
    return result.exit_code, result.output


def test_declare_write_from_the_ledger(tmp_path: Path, lookup: Lookup) -> None:
    book, _ = issued(tmp_path, lookup)
    allocations = tmp_path / "allocations.yaml"
    allocations.write_text("version: 1\nallocations:\n" + "".join(
        f"  - {{number: {n}, bsn: '{b}', product: {p}, from: 2021-01-01}}\n" for (b, p, _), n in NUMBERS.items()),
        encoding="utf-8")
    out = tmp_path / "iwmo"
    args = ("declare", "write", "2021-000001", "--ledger", str(book), "-a", str(allocations), "--parties",
            str(PARTIES), "--invoice-date", "2021-04-06", "-o", str(out), "--iwmo-dir", str(IWMO))
    code, text = cli(*args)
    assert code == 0, text
    assert "2021-000001: DeclaratieNummer 2021000001, 3 prestatie(s), € 194,40" in text
    assert passes_validate_iwmo(out / "WMO323-2021000001.xml")[0] == 0
    code, text = cli(*args)
    assert code == 2 and "use --force to overwrite" in text
    assert cli(*args, "--force")[0] == 0
    code, text = cli("declare", "write", "2021-000099", *args[3:])
    assert code == 1 and "2021-000099" in text
    allocations.write_text("version: 1\nallocations:\n  - {number: x}\n", encoding="utf-8")
    code, text = cli(*args)
    assert code == 1 and "allocations.yaml:3: error: allocation 1: number:" in text


def test_declare_write_refuses_a_participatiewet_invoice_and_says_why(tmp_path: Path, lookup: Lookup) -> None:
    log = "datum;bsn;aanbieder;gemeente;productcode;uren\n2021-03-02;111222333;Werkbedrijf De Peel B.V.;Venlo;LN035;2\n"
    book, _ = issued(tmp_path, lookup, log)
    allocations = tmp_path / "allocations.yaml"
    allocations.write_text("version: 1\nallocations: []\n", encoding="utf-8")
    code, text = cli("declare", "write", "2021-000001", "--ledger", str(book), "-a", str(allocations), "--parties",
                     str(PARTIES), "-o", str(tmp_path / "out"), "--iwmo-dir", str(IWMO))
    assert code == 1
    assert "LN035 falls under the Participatiewet" in text and "invoice it (UBL" in " ".join(text.split())
    assert not (tmp_path / "out").exists()


def test_validate_json_and_a_hostile_entity(tmp_path: Path, good: Path) -> None:
    code, text = cli("declare", "validate", "--format", "json", "--iwmo-dir", str(IWMO), str(good))
    assert code == 0 and '"findings"' not in text and str(good) in text
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                    '<!ENTITY x SYSTEM "file:///etc/passwd">]><b>&b;&x;</b>', encoding="utf-8")
    code, text = cli("declare", "validate", "--iwmo-dir", str(IWMO), str(bomb))
    assert code == 2 and "root:" not in text
