"""The parties file: YAML in, parties or located problems out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.parties import load_parties, municipality_key, parse_parties
from mgr_tariffs.problems import InputError

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "parties.yaml"
PROVIDER = """\
providers:
  "Werkbedrijf De Peel B.V.":
    legal_name: Werkbedrijf De Peel B.V.
    address: {street: Industrieweg 7, postcode: 5981nw, city: Panningen}
    kvk: "90434567"
    vat_id: NL809876541B01
    iban: NL16 TEST 0734 5678 90
    agb: "98100003"
    contact: {name: Sanne Verbeek, email: debiteuren@example.nl, phone: 077 765 43 21}
"""
MUNICIPALITY = """\
municipalities:
  Bergen:
    legal_name: Gemeente Bergen (L.)
    address: {street: Raadhuisplein 1, postcode: 5854 AX, city: Bergen (L.)}
    oin: "00000001900000893000"
    buyer_reference: MGR-SD-0893
"""


def parse(text: str, lookup: Lookup | None = None) -> tuple[object, list[str]]:
    result = parse_parties(textwrap.dedent(text), "parties.yaml", lookup)
    return result.parties, [str(p) for p in result.problems]


def test_the_shipped_example_covers_every_catalogue_municipality(lookup: Lookup) -> None:
    result = load_parties(EXAMPLE, lookup)
    assert result.ok, result.problems
    assert result.parties is not None
    assert set(result.parties.providers) == {"Cliëntondersteuning Maasland B.V.", "Stichting Perspectief Noord-Limburg",
                                             "Werkbedrijf De Peel B.V."}
    for municipality in lookup.catalogue.municipalities:
        party = result.parties.municipality(municipality)
        assert party is not None, municipality.name
        assert party.legal_name.startswith("Gemeente ")


def test_values_are_normalised_and_names_match_like_the_catalogue(lookup: Lookup) -> None:
    parties, problems = parse(PROVIDER + MUNICIPALITY, lookup)
    assert problems == []
    provider = parties.provider("werkbedrijf  de peel b.v.")  # type: ignore[attr-defined]
    assert provider.address.postcode == "5981 NW"
    assert provider.iban == "NL16TEST0734567890"
    assert provider.vat_id == "NL809876541B01"
    bergen = lookup.municipality("0893")
    assert bergen is not None and parties.municipality(bergen).legal_id == ("0190", "00000001900000893000")  # type: ignore[attr-defined]


def test_without_a_catalogue_keys_are_matched_by_code_or_name(lookup: Lookup) -> None:
    parties, problems = parse(PROVIDER + MUNICIPALITY.replace("  Bergen:", "  bergen (l.):"))
    assert problems == []
    bergen = lookup.municipality("Bergen (L.)")
    assert bergen is not None and parties.municipality(bergen) is not None  # type: ignore[attr-defined]
    assert municipality_key("GM0889") == municipality_key("889") == "0889"


def test_every_bad_number_is_reported_with_its_line() -> None:
    text = (PROVIDER.replace('kvk: "90434567"', 'kvk: "9043456"').replace("NL809876541B01", "NL809876542B01")
            .replace("NL16 TEST", "NL17 TEST").replace("5981nw", "598 NW").replace('"98100003"', "98-1")
            .replace("debiteuren@example.nl", "debiteuren"))
    _, problems = parse(text + MUNICIPALITY.replace('"00000001900000893000"', '"123"'))
    assert problems == [
        "parties.yaml:4: error: providers.Werkbedrijf De Peel B.V..address.postcode: '598 NW' is not a Dutch "
        "postcode like '5911 AB'",
        "parties.yaml:5: error: providers.Werkbedrijf De Peel B.V..kvk: a KvK number must be 8 digits, got '9043456'",
        "parties.yaml:6: error: providers.Werkbedrijf De Peel B.V..vat_id: 'NL809876542B01' is not a valid Dutch VAT "
        "id (btw-identificatienummer): The number's checksum or check digit is invalid.",
        "parties.yaml:7: error: providers.Werkbedrijf De Peel B.V..iban: 'NL17 TEST 0734 5678 90' is not a valid "
        "IBAN: The number's checksum or check digit is invalid.",
        "parties.yaml:8: error: providers.Werkbedrijf De Peel B.V..agb: an AGB code must be 8 digits, got '98-1'",
        "parties.yaml:9: error: providers.Werkbedrijf De Peel B.V..contact.email: 'debiteuren' is not an e-mail "
        "address",
        "parties.yaml:14: error: municipalities.Bergen.oin: an OIN must be 20 digits, got '123'",
    ]


def test_a_provider_needs_a_vat_id_or_a_reason_and_a_municipality_an_identifier() -> None:
    no_oin = MUNICIPALITY.replace('    oin: "00000001900000893000"\n', "")
    text = PROVIDER.replace("    vat_id: NL809876541B01\n", "") + no_oin
    parties, problems = parse(text)
    assert parties is None
    assert problems == [
        "parties.yaml:2: error: providers.Werkbedrijf De Peel B.V.: give either vat_id or no_vat_id_reason (why no "
        "VAT id applies), not both or neither",
        "parties.yaml:10: error: municipalities.Bergen: give an oin or an electronic_address (or both)",
    ]
    reason = PROVIDER.replace("vat_id: NL809876541B01", "no_vat_id_reason: alleen vrijgestelde prestaties")
    parties, problems = parse(reason + MUNICIPALITY)
    assert problems == [] and parties.provider("Werkbedrijf De Peel B.V.").vat_id is None  # type: ignore[attr-defined]


def test_unknown_and_twice_listed_municipalities(lookup: Lookup) -> None:
    twice = MUNICIPALITY + MUNICIPALITY.removeprefix("municipalities:\n").replace("  Bergen:", '  "0893":')
    unknown = twice + MUNICIPALITY.removeprefix("municipalities:\n").replace("  Bergen:", "  Maastricht:")
    _, problems = parse(PROVIDER + unknown, lookup)
    assert problems[0] == "parties.yaml:16: error: municipality '0893' is listed twice (first as 'Bergen' on line 11)"
    assert problems[1].startswith("parties.yaml:21: error: municipality 'Maastricht' is not in the tariff catalogue "
                                  "(known: Beesel, Bergen (L.), ")


def test_sections_country_and_unknown_fields() -> None:
    text = "version: 1\nextra: 1\n" + PROVIDER.replace("city: Panningen}", "city: Panningen, country: BE}").replace(
        "    agb:", "    website: x\n    agb:")
    _, problems = parse(text)
    assert problems[0] == "parties.yaml:1: error: missing section 'municipalities'"
    assert problems[1] == "parties.yaml:2: error: unknown section 'extra' (known: version, providers, municipalities)"
    assert any("address.country: String should match pattern '^NL$'" in p for p in problems)
    assert any(p.startswith("parties.yaml:10: error:") and "website: Extra inputs are not permitted" in p
               for p in problems)


def test_broken_yaml_and_unreadable_files(tmp_path: Path) -> None:
    _, problems = parse("providers: [\n")
    assert problems[0].startswith("parties.yaml:2: error: not valid YAML")
    _, problems = parse("- a list\n")
    assert problems == ["parties.yaml:1: error: the file must be a mapping with the sections providers and "
                        "municipalities"]
    with pytest.raises(InputError):
        load_parties(tmp_path / "missing.yaml")
