"""Billing against a large catalogue: 1,000 products x 10 price periods against the shipped one.

    python bench/bench_catalogue.py HOURS.csv [--repeat 5] [--work DIR]

The large catalogue is the shipped one with every product's prices cut into ten periods (the same
amounts, so the totals must be equal to the cent) plus 991 made-up products of ten periods each.
``mgr bill HOURS.csv`` runs alternately with each catalogue under ``/usr/bin/time -v``; the medians of
the wall time and the peak memory are printed with their ratio. Pricing is an as-of join against the
table of periods, so the ratio should stay near 1 (the bound in issue 11: at most 1.3, under 1 GiB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "tariffs.yaml"
PERIODS = 10


def _periods(prices: list[dict[str, str]]) -> list[tuple[dt.date, dt.date | None, str]]:
    """The product's prices cut into :data:`PERIODS` periods with the same amounts (cuts on 1 January)."""
    spans = [(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["until"]) if p.get("until") else None,
              p["amount"]) for p in prices]
    while len(spans) < PERIODS:
        index = max(range(len(spans)), key=lambda i: (spans[i][1] or dt.date(2040, 1, 1)) - spans[i][0])
        start, until, amount = spans[index]
        cut = dt.date(start.year + 1, 1, 1) if (until is None or until.year > start.year) else None
        if cut is None:
            break
        spans[index:index + 1] = [(start, cut - dt.timedelta(days=1), amount), (cut, until, amount)]
    return spans


def large_catalogue(target: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    doc = yaml.load(text, Loader=yaml.BaseLoader)
    head = text[:text.index("\nproducts:")] + "\nproducts:\n"
    products = []
    for product in doc["products"]:
        body = {k: v for k, v in product.items() if k != "prices"}
        prices = [{"from": s.isoformat(), **({"until": u.isoformat()} if u else {}), "amount": a}
                  for s, u, a in _periods(product["prices"])]
        products.append({**body, "prices": prices})
    template = doc["products"][0]
    taken = {p["code"] for p in doc["products"]}
    extra = [c for c in (f"LN{n:03d}" for n in range(1000)) if c not in taken][:1000 - len(products)]
    for code in extra:
        prices = [{"from": f"{2015 + y}-01-01", "until": f"{2015 + y}-12-31", "amount": f"{20 + y}.00"}
                  for y in range(PERIODS)]
        products.append({**{k: v for k, v in template.items() if k not in ("prices", "not_for")}, "code": code,
                         "name": f"Product {code}", "prices": prices})
    dumped = yaml.safe_dump(products, allow_unicode=True, sort_keys=False, width=200)
    dumped = re.sub(r"'(\d{4}-\d{2}-\d{2})'", r"\1", dumped)
    target.write_text(head + "\n".join("  " + line if line else line for line in dumped.splitlines()) + "\n",
                      encoding="utf-8")


def run(hours: Path, tariffs: Path) -> tuple[float, int, str]:
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "mgr_tariffs", "bill", str(hours), "--tariffs",
               str(tariffs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert wall and peak, done.stderr[-2000:]
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    total = re.search(r"total (€ [\d.,]+) excl", done.stdout)
    return seconds, int(peak.group(1)) // 1024, total.group(1) if total else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hours", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mgr-bench-catalogue"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    large = args.work / "tariffs-1000x10.yaml"
    large_catalogue(large)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    runs: dict[str, list[tuple[float, int, str]]] = {"shipped": [], "1000x10": []}
    for _ in range(args.repeat):
        runs["shipped"].append(run(args.hours, SHIPPED))
        runs["1000x10"].append(run(args.hours, large))
    for name, found in runs.items():
        print(f"{name:>8}: {statistics.median(r[0] for r in found):6.2f} s, "
              f"{statistics.median(r[1] for r in found):5d} MiB peak, totals {sorted({r[2] for r in found})}")
    ratio = statistics.median(r[0] for r in runs["1000x10"]) / statistics.median(r[0] for r in runs["shipped"])
    print(f"ratio 1000x10 / shipped: {ratio:.2f}")


if __name__ == "__main__":
    main()
