#!/usr/bin/env python3
"""Make data/examples/hours.csv: the shipped example hour log (deterministic).

The log is in the Dutch spreadsheet dialect (``;``, decimal comma, dd-mm-yyyy dates, UTF-8 with
BOM, CRLF) and exercises what a clerk meets: the LN017/LN018 price change on 1 July 2019, LN034
revenue netting (including revenue larger than the line amount), the municipalities that joined on
1 July 2024, and an extra ``omschrijving`` column. Every row is valid; the BSNs are synthetic
numbers that pass the elfproef and belong to no one.

Run: python data/examples/make_hours.py  (rewrites the file next to this script)
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

OUT = Path(__file__).with_name("hours.csv")
COLUMNS = ["datum", "bsn", "aanbieder", "gemeente", "productcode", "uren", "opbrengst", "omschrijving"]
# provider, products, municipalities, first day, last day, clients
PLAN = [
    ("Cliëntondersteuning Maasland B.V.", ["LN017", "LN018"],
     ["Beesel", "Bergen (L.)", "Gennep", "Horst aan de Maas", "Peel en Maas"], dt.date(2019, 5, 1), dt.date(2019, 8, 31), 16),
    ("Stichting Perspectief Noord-Limburg", ["LN031", "LN032", "LN033", "LN035", "LN036", "LN037"],
     ["Venlo", "Venray", "Horst aan de Maas"], dt.date(2021, 2, 1), dt.date(2021, 4, 30), 12),
    ("Stichting Perspectief Noord-Limburg", ["LN035", "LN036"],
     ["Weert", "Roermond", "Leudal"], dt.date(2024, 7, 1), dt.date(2024, 8, 31), 6),
    ("Werkbedrijf De Peel B.V.", ["LN034"], ["Peel en Maas", "Venlo", "Venray"], dt.date(2021, 3, 1), dt.date(2021, 4, 30), 8),
]
ACTIVITY = {"LN017": "gesprek cliëntondersteuning", "LN018": "cliëntondersteuning keukentafelgesprek",
            "LN034": "werkzaamheden kringloopwinkel"}


def synthetic_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(7)]
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1)))
        if total % 11 < 10:
            return "".join(map(str, digits)) + str(total % 11)


def dutch(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def rows_for(rng: random.Random, provider: str, products: list[str], towns: list[str], first: dt.date,
             last: dt.date, clients: int) -> list[list[str]]:
    rows = []
    for _ in range(clients):
        bsn, town, product = synthetic_bsn(rng), rng.choice(towns), rng.choice(products)
        days = sorted(rng.sample(range((last - first).days + 1), k=rng.randint(5, 9)))
        for offset in days:
            day = first + dt.timedelta(days=offset)
            hours = rng.choice([3, 4, 5, 6]) if product == "LN034" else rng.choice([0.25, 0.5, 0.75, 1, 1.5, 2])
            revenue = dutch(rng.randrange(500, 4000) / 100) if product == "LN034" and rng.random() < 0.5 else ""
            note = ACTIVITY.get(product, "begeleiding " + ("re-integratie" if product < "LN034" else "participatie"))
            rows.append([day.strftime("%d-%m-%Y"), bsn, provider, town, product, dutch(hours), revenue, note])
    return rows


def main() -> None:
    rng = random.Random(2019)
    rows = [row for plan in PLAN for row in rows_for(rng, *plan)]
    rows.append(["15-03-2021", synthetic_bsn(rng), "Werkbedrijf De Peel B.V.", "Venray", "LN034", "1", "40,00",
                 "opbrengst hoger dan het tarief: wordt niet verrekend"])
    rng.shuffle(rows)
    text = ";".join(COLUMNS) + "\r\n" + "".join(";".join(r) + "\r\n" for r in rows)
    OUT.write_text("\ufeff" + text, encoding="utf-8", newline="")
    print(f"{OUT}: {len(rows)} rows")


if __name__ == "__main__":
    main()
