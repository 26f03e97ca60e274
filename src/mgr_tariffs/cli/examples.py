"""Two or three real examples per command, shown at the end of its ``--help`` (and tested to run)."""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "allocations": ("mgr allocations data/examples/toewijzingen.csv --hours data/examples/hours.csv",
                    "mgr allocations data/examples/toewijzingen.csv --on 2019-08-15 --format csv",
                    "mgr allocations data/examples/toewijzingen.csv --hours data/examples/hours.csv --format json"),
    "bill": ("mgr bill data/examples/hours.csv",
             "mgr bill data/examples/hours.csv --out facturen --documents csv,ubl,pdf "
             "--parties data/examples/parties.yaml",
             "mgr bill data/examples/hours.csv --format json"),
    "check": ("mgr check data/examples/invoice-with-errors.csv",
              "mgr check data/examples/invoice-with-errors.csv --hours data/examples/hours.csv --format json",
              "mgr check facturen/*.xml --ledger mgr-ledger.sqlite"),
    "credit": ("mgr credit 2026-000001 --provider 'Cliëntondersteuning Maasland B.V.' --reason 'uren gecorrigeerd' "
               "--documents none",
               "mgr credit 2026-000001 --out credit --documents ubl,pdf --parties data/examples/parties.yaml"),
    "declare answer": ("mgr declare answer data/examples/iwmo/WMO325-2021000010.xml --declarations "
                       "data/examples/iwmo/WMO323-2021000010.xml",
                       "mgr declare answer data/examples/iwmo/WMO325-2021000010.xml --declarations "
                       "data/examples/iwmo/WMO323-2021000010.xml --format json"),
    "declare validate": ("mgr declare validate data/examples/iwmo/WMO323-2021000010.xml",
                         "mgr declare validate data/examples/iwmo/WMO323-2021000008.xml "
                         "data/examples/iwmo/WMO325-2021000010.xml --iwmo-dir ../shared/iwmo --format json"),
    "declare write": ("mgr declare write 2026-000001 --provider 'Stichting Perspectief Noord-Limburg' --allocations "
                      "data/examples/allocations.yaml --parties data/examples/parties.yaml --out iwmo",
                      "mgr declare write 2026-000001 2026-000002 --allocations data/examples/allocations.yaml "
                      "--out iwmo --force"),
    "forecast": ("mgr forecast --requests 125 --hours-per-request 6-8 --extra-hours 325",
                 "mgr forecast --requests 125 --hours-per-request 7 --product LN018 --on 2018-06-01 --format json"),
    "ledger answer": ("mgr ledger answer data/examples/iwmo/WMO325-2021000010.xml --ledger mgr-ledger.sqlite",
                      "mgr ledger answer data/examples/iwmo/WMO325-2021000010.xml --format json"),
    "ledger list": ("mgr ledger list", "mgr ledger list --period 2019-07 --format json"),
    "ledger show": ("mgr ledger show 2026-000001 --provider 'Cliëntondersteuning Maasland B.V.'",
                    "mgr ledger show 2026-000001 --out opnieuw --documents pdf --parties data/examples/parties.yaml"),
    "ledger export": ("mgr ledger export > grootboek.csv", "mgr ledger export --out boekhouding"),
    "ledger verify": ("mgr ledger verify", "mgr ledger verify --ledger mgr-ledger.sqlite --head HASH"),
    "price": ("mgr price LN017 --on 2019-06-30", "mgr price LN018 --on 01-07-2019 --format json"),
    "report": ("mgr report data/examples/hours.csv --out rapport.html",
               "mgr report data/examples/hours.csv --subsidy data/examples/subsidie-weert-2018.yaml "
               "--out rapport.html"),
    "schema": ("mgr schema", "mgr schema > docs/tariffs.schema.json"),
    "signals": ("mgr signals data/examples/hours-signals.csv",
                "mgr signals data/examples/hours-signals.csv --window month --format csv"),
    "subsidy schema": ("mgr subsidy schema", "mgr subsidy schema > docs/subsidies.schema.json"),
    "subsidy status": ("mgr subsidy status data/examples/subsidie-weert-2018.yaml --on 2018-07-01",
                       "mgr subsidy status data/examples/subsidie-weert-2018.yaml --hours "
                       "data/examples/hours-weert-2018.csv --format json"),
    "tariffs": ("mgr tariffs", "mgr tariffs --on 2021-03-01 --format csv"),
    "tariffs diff": ("mgr tariffs diff tests/data/tariff_changes/without-2019-step.yaml data/tariffs.yaml",
                     "mgr tariffs diff git:HEAD:data/tariffs.yaml data/tariffs.yaml --format json"),
    "tariffs index": ("mgr tariffs index --from 2027-01-01 --percent 3,42 --dry-run",
                      "mgr tariffs index --from 2027-01-01 --ova 4,18 --ppc 1,82 --category LN2 --note 'VNG 2027'"),
    "template": ("mgr template uren.xlsx", "mgr template uren-2025.xlsx --force"),
    "validate": ("mgr validate", "mgr validate data/tariffs.yaml data/examples/parties.yaml --strict",
                 "mgr validate data/tariffs.yaml --against git:HEAD --format json"),
}


def with_examples(name: str, text: str | None) -> str | None:
    """A command's help followed by its examples (none known: the help as it is)."""
    found = EXAMPLES.get(name)
    if not found:
        return text
    base = (text or "").rstrip()
    if "Examples:" in base:
        base = base[:base.index("Examples:")].rstrip()
    return base + "\n\nExamples:\n\n" + "\n\n".join(f"  {line}" for line in found)
