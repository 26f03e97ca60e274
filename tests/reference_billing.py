"""A deliberately simple reference biller: Decimal, row by row, no engine, no cleverness.

It assumes valid rows (the property tests generate only valid ones) and follows the written rules
literally, so that the vectorised engine can be checked against it to the cent.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from mgr_tariffs.catalogue.loader import Lookup

Key = tuple[str, str, str, str, str, Decimal, str]  # provider, municipality code, period, bsn, product, price, unit


def reference_bill(path: Path, lookup: Lookup) -> dict[Key, dict[str, Decimal]]:
    """Invoice lines keyed by (provider, municipality, month, bsn, product, unit price, unit)."""
    sums: dict[Key, dict[str, Decimal]] = defaultdict(lambda: {"quantity": Decimal(0), "revenue": Decimal(0)})
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.DictReader(stream, delimiter=";"):
            day = dt.date.fromisoformat(row["datum"])
            unit = "minuut" if "minuten" in row else "uur"
            quantity = Decimal(row["minuten" if unit == "minuut" else "uren"].replace(",", "."))
            quote = lookup.price(row["productcode"], day)
            municipality = lookup.municipality(row["gemeente"])
            assert quote is not None and municipality is not None
            key = (row["aanbieder"], municipality.code, day.strftime("%Y-%m"), row["bsn"].zfill(9),
                   row["productcode"], quote.amount, unit)
            sums[key]["quantity"] += quantity
            sums[key]["revenue"] += Decimal((row.get("opbrengst") or "0").replace(",", "."))
    return {key: _amounts(key, values) for key, values in sums.items()}


def _amounts(key: Key, values: dict[str, Decimal]) -> dict[str, Decimal]:
    price, unit = key[5], key[6]
    exact = values["quantity"] * price / (60 if unit == "minuut" else 1)
    gross = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    netted = min(gross, values["revenue"])
    return {"quantity": values["quantity"], "gross": gross, "netted": netted, "unnetted": values["revenue"] - netted,
            "amount": gross - netted}
