"""A deliberately simple reference biller, written from the README's rules — not from the engine.

It reads the tariff file itself (as plain YAML strings, prices as exact fractions), parses each row
itself, and follows the written rules literally with :class:`fractions.Fraction`:

* one invoice per provider (the same supplier whatever the case, extra spaces or Unicode form of its
  name), municipality and calendar month of the service date;
* one line per client, product and unit price in it, whatever unit the rows are in; the line is in
  hours when every row of it is in hours, else in minutes;
* line amount = quantity x the unrounded hourly price, rounded once per line, half up, to cents;
* LN034 (a product with ``netting``): billed = max(0, amount - revenue), the rest of the revenue is
  reported as not netted.

It assumes valid rows (the property tests generate only valid ones). It shares no key, helper or
parser with the engine: if both agree, they agree because both follow the rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

# provider key, municipality code, YYYY-MM, BSN (9 digits), product, hourly price (a Fraction of euros)
Key = tuple[str, str, str, str, str, Fraction]


@dataclass
class _Line:
    hours: Fraction = Fraction(0)
    revenue: Fraction = Fraction(0)
    units: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Tariffs:
    """What the reference needs of ``tariffs.yaml``: prices per product, municipality codes, netting."""

    prices: dict[str, list[tuple[dt.date, dt.date | None, Fraction]]]
    municipalities: dict[str, str]  # lower-case name without "(L.)", or code -> code
    netting: set[str]

    @classmethod
    def read(cls, path: Path) -> Tariffs:
        doc: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        prices = {p["code"]: [(dt.date.fromisoformat(q["from"]),
                               dt.date.fromisoformat(q["until"]) if q.get("until") else None,
                               Fraction(q["amount"])) for q in p["prices"]] for p in doc["products"]}
        towns: dict[str, str] = {}
        for m in doc["municipalities"]:
            towns[m["code"]] = m["code"]
            towns[m["name"].lower().replace("(l.)", "").strip()] = m["code"]
        return cls(prices, towns, {p["code"] for p in doc["products"] if "netting" in p})

    def price(self, product: str, day: dt.date) -> Fraction:
        found = [amount for start, until, amount in self.prices[product]
                 if start <= day and (until is None or day <= until)]
        assert len(found) == 1, (product, day)
        return found[0]

    def municipality(self, text: str) -> str:
        cleaned = text.strip().lower().replace("(l.)", "").strip()
        if cleaned.startswith("gm"):
            cleaned = cleaned[2:]
        return self.municipalities[cleaned.zfill(4) if cleaned.isdigit() else cleaned]


def supplier(name: str) -> str:
    """Two spellings are one supplier when equal after NFC, collapsing white space and folding case."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def _number(text: str) -> Fraction:
    return Fraction(text.strip().replace(",", ".")) if text.strip() else Fraction(0)


def _half_up_cents(euros: Fraction) -> Fraction:
    cents = euros * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 100)


def reference_bill(paths: list[Path], tariffs: Tariffs) -> dict[Key, dict[str, Any]]:
    """Invoice lines of the logs, keyed by (supplier, municipality code, month, BSN, product, unit price)."""
    lines: dict[Key, _Line] = defaultdict(_Line)
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream, delimiter=";"):
                day = dt.date.fromisoformat(row["datum"])
                in_minutes = "minuten" in row
                quantity = _number(row["minuten"]) / 60 if in_minutes else _number(row["uren"])
                key = (supplier(row["aanbieder"]), tariffs.municipality(row["gemeente"]), day.strftime("%Y-%m"),
                       row["bsn"].strip().zfill(9), row["productcode"].strip().upper(),
                       tariffs.price(row["productcode"].strip().upper(), day))
                line = lines[key]
                line.hours += quantity
                line.revenue += _number(row.get("opbrengst") or "")
                line.units.add("minuut" if in_minutes else "uur")
    return {key: _amounts(key, line, tariffs) for key, line in lines.items()}


def _amounts(key: Key, line: _Line, tariffs: Tariffs) -> dict[str, Any]:
    gross = _half_up_cents(line.hours * key[5])
    netted = min(gross, line.revenue) if key[4] in tariffs.netting else Fraction(0)
    unit = "uur" if line.units == {"uur"} else "minuut"
    quantity = line.hours if unit == "uur" else line.hours * 60
    return {"unit": unit, "quantity": quantity, "gross": gross, "netted": netted,
            "unnetted": line.revenue - netted, "amount": gross - netted}
