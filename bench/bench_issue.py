#!/usr/bin/env python3
"""Issuing against plain billing, in one run: how much does recording the invoices in the ledger add?

Usage: python bench/bench_issue.py [HOURS.csv] [--repeat N] [--keep]

Prepare the log once with ``python /work/shared/bench/gen_hours.py 1000000 /tmp/bench/h1m.csv``.
Each round bills the log (``billing.bill``: reading, checking, pricing, grouping) and then issues
the result into a fresh ledger (``ledger.issue``: fingerprints, numbering, one write transaction),
then issues the same result again (every row already billed: nothing new). The figure that
counts is the median of ``issue / bill`` over the rounds; the requirement is at most 50 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from mgr_tariffs.billing import bill
from mgr_tariffs.catalogue import Lookup, load_catalogue
from mgr_tariffs.ledger import issue

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("hours", nargs="?", type=Path, default=Path("/tmp/bench/h1m.csv"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tariffs", type=Path, default=ROOT / "data" / "tariffs.yaml")
    args = parser.parse_args()
    catalogue = load_catalogue(args.tariffs).catalogue
    assert catalogue is not None, "the tariff catalogue does not load"
    lookup = Lookup(catalogue)
    ratios = []
    for round_number in range(1, args.repeat + 1):
        start = time.perf_counter()
        result = bill([args.hours], lookup)
        billed = time.perf_counter() - start
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as folder:
            ledger = Path(folder) / "ledger.sqlite"
            start = time.perf_counter()
            issued = issue(result, ledger, issue_date=dt.date(2022, 1, 31), lookup=lookup)
            issuing = time.perf_counter() - start
            start = time.perf_counter()
            again = issue(result, ledger, issue_date=dt.date(2022, 1, 31), lookup=lookup)
            reissuing = time.perf_counter() - start
            size = ledger.stat().st_size
        ratios.append(issuing / billed)
        print(f"round {round_number}: bill {billed:.2f} s ({len(result.rows):,} rows, {len(result.invoice_frame):,} "
              f"invoices, {len(result.lines):,} lines); issue {issuing:.2f} s (+{issuing / billed:.0%}, "
              f"{issued.rows_issued:,} rows); issue again {reissuing:.2f} s ({again.rows_already_billed:,} rows "
              f"already billed, {again.rows_issued} issued); ledger {size / 1e6:.0f} MB")
    print(f"median: issuing adds {statistics.median(ratios):.0%} to plain billing")


if __name__ == "__main__":
    main()
