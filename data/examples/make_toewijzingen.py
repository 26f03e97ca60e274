#!/usr/bin/env python3
"""Make data/examples/toewijzingen.csv: the allocation register that goes with the example hour log (deterministic).

One allocation per client, provider, municipality and product of ``hours.csv``, from the first day of the month of
the client's first row to the last day of the month of the last one, with every kind of size: a total in hours
(1,5 x the hours logged), 1 hour a week (Stichting Perspectief, 2021), 600 minutes a month (2024), 12 dagdelen a
month (LN034) and a budget (LN034, client 625368514: € 420,00, 84 % used). Planted: three allocations nearly used
up (the hours logged / 0,88), one exceeded (666249301: 0,5 hour a week), one expired before the client's July rows
(346656400 ends on 2019-06-30), and one client without an allocation (820989022).

Run: python data/examples/make_toewijzingen.py  (rewrites the file next to this script; needs polars)
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent
OUT = HERE / "toewijzingen.csv"
COLUMNS = ["toewijzingnummer", "bsn", "aanbieder", "gemeente", "productcode", "ingangsdatum", "einddatum", "volume",
           "eenheid", "frequentie", "budget", "reden_wijziging", "commentaar"]
NEARLY_USED = ("664118380", "548398458", "239181943")


def month_end(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1) - dt.timedelta(days=1)


def size(key: dict[str, object], hours: float) -> tuple[str, str, str, str, str]:  # noqa: PLR0911
    """volume, eenheid, frequentie, budget, commentaar of one allocation."""
    bsn, provider, product, first = key["bsn"], str(key["aanbieder"]), key["productcode"], key["first"]
    if bsn == "346656400":
        return "6", "uur", "totaal", "", "verlopen: uren in juli vallen erbuiten"
    if bsn == "666249301":
        return "0,5", "uur", "week", "", "overschreden"
    if bsn in NEARLY_USED:
        return f"{math.ceil(hours / 0.88 * 4) / 4:g}".replace(".", ","), "uur", "totaal", "", "bijna op"
    if product == "LN034":
        return ("", "", "", "420", "budget, bijna op") if bsn == "625368514" else ("12", "dagdeel", "maand", "", "")
    if isinstance(first, dt.date) and first.year == 2024:
        return "600", "minuut", "maand", "", ""
    if provider.startswith("Stichting"):
        return "1", "uur", "week", "", ""
    return str(math.ceil(hours * 1.5)), "uur", "totaal", "", ""


def main() -> None:
    log = pl.read_csv(HERE / "hours.csv", separator=";", infer_schema=False).with_columns(
        day=pl.col("datum").str.to_date("%d-%m-%Y"), hours=pl.col("uren").str.replace(",", ".").cast(pl.Float64))
    keys = log.group_by("bsn", "aanbieder", "gemeente", "productcode").agg(
        first=pl.col("day").min(), last=pl.col("day").max(), hours=pl.col("hours").sum()).sort(
        "aanbieder", "first", "bsn")
    numbers: dict[int, int] = {}
    rows = []
    for key in keys.iter_rows(named=True):
        if key["bsn"] == "820989022":  # the client without an allocation
            continue
        year = key["first"].year
        numbers[year] = numbers.get(year, 0) + 1
        end = dt.date(2019, 6, 30) if key["bsn"] == "346656400" else month_end(key["last"])
        volume, unit, frequency, budget, comment = size(key, key["hours"])
        rows.append([f"{year % 100:02d}{numbers[year]:04d}", key["bsn"], key["aanbieder"], key["gemeente"],
                     key["productcode"], key["first"].replace(day=1).isoformat(), end.isoformat(), volume, unit,
                     frequency, budget, "", comment])
    OUT.write_text(";".join(COLUMNS) + "\n" + "".join(";".join(r) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
