"""Benchmark ``mgr check`` against ``mgr bill`` on the same hour log, in one run.

Usage (from the project root):

    python ../shared/bench/gen_hours.py 1000000 /tmp/bench/h1m.csv
    python bench/bench_check.py /tmp/bench/h1m.csv [--lines 100000] [--runs 3]

It bills the log (timed), writes the first ``--lines`` invoice lines of that bill as one invoice CSV in the
layout of ``mgr bill --out``, then checks that invoice against the catalogue and the same hour log (timed):
the check bills the log itself and compares, so it can only be as fast as billing plus the comparison.
Prints a table with the best of ``--runs`` runs of each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.billing.output import invoice_files
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.checking.engine import check

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def timed(task: Callable[[], T], runs: int) -> tuple[T, float]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = task()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return result, best


def whole_invoices(files: dict[str, bytes], wanted: int) -> bytes:
    """One CSV of the first invoice files of a bill, whole, until they hold at least ``wanted`` lines."""
    header, lines = b"", 0
    bodies = []
    for content in files.values():
        first, body = content.split(b"\r\n", 1)
        assert header in (b"", first), "invoices with another header (minutes): not made by this benchmark's logs"
        header, lines = first, lines + body.count(b"\r\n")
        bodies.append(body)
        if lines >= wanted:
            break
    return header + b"\r\n" + b"".join(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hours", type=Path)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    catalogue = load_catalogue(ROOT / "data" / "tariffs.yaml").catalogue
    assert catalogue is not None
    lookup = Lookup(catalogue)
    billed, bill_seconds = timed(lambda: bill([args.hours], lookup), args.runs)
    invoice = whole_invoices(invoice_files(billed), args.lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "invoice.csv"
        path.write_bytes(invoice)
        checked, check_seconds = timed(lambda: check([path], lookup, hours=[args.hours]), args.runs)
        plain, plain_seconds = timed(lambda: check([path], lookup), args.runs)
    print(f"{'step':<44} {'rows':>10} {'lines':>8} {'seconds':>8}")
    print(f"{'mgr bill (hour log)':<44} {billed.rows_read:>10,} {len(billed.lines):>8,} {bill_seconds:>8.2f}")
    print(f"{'mgr check (invoice, catalogue only)':<44} {'':>10} {plain.summary.lines_checked:>8,} "
          f"{plain_seconds:>8.2f}")
    print(f"{'mgr check --hours (invoice + hour log)':<44} {billed.rows_read:>10,} "
          f"{checked.summary.lines_checked:>8,} {check_seconds:>8.2f}")
    print(f"check --hours / bill: {check_seconds / bill_seconds:.2f}; discrepancies: "
          f"{plain.summary.discrepancies} (catalogue), {checked.summary.discrepancies} (with hours)")


if __name__ == "__main__":
    main()
