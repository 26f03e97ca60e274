#!/usr/bin/env python3
"""Issuing against plain billing, in one run: how much does recording the invoices in the ledger add?

Usage: python bench/bench_issue.py [HOURS.csv] [--repeat N] [--work DIR] [--no-command]

The log (default ``/tmp/bench/h1m.csv``) is made on first use by the generator of the shared
material, ``../shared/bench/gen_hours.py`` relative to the project root (``--rows``, default
1,000,000). Run by hand, never in CI. Two measurements, each the median over ``--repeat`` rounds:

* library: each round bills the log (``billing.bill``: reading, checking, pricing, grouping), issues
  the result into a fresh ledger (``ledger.issue``: fingerprints, numbering, one write transaction)
  and issues the same result again (every row already billed: nothing new). The figure is
  ``issue / bill``.
* command: each round runs the installed console script twice, ``mgr bill FILE --out DIR2`` and
  ``mgr bill FILE --out DIR1 --issue --ledger L`` (a fresh ledger), in alternating order. The figure
  is ``(issuing command - plain command) / plain command``.

The requirement (issue #5) is at most +50 % for both. Outputs and ledgers go to ``--work``
(default ``/dev/shm`` where it exists), so the disk is left out of the comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.ledger.store import issue

ROOT = Path(__file__).resolve().parent.parent
TARIFFS = ROOT / "data" / "tariffs.yaml"
GENERATOR = ROOT.parent / "shared" / "bench" / "gen_hours.py"
DEFAULT_LOG = Path(tempfile.gettempdir()) / "bench" / "h1m.csv"
ISSUE_DATE = dt.date(2022, 1, 31)


def ensure_log(path: Path, rows: int) -> Path:
    """The hour log to measure: made by the shared generator (under /tmp) when it is not there yet."""
    if path.is_file():
        return path
    if not GENERATOR.is_file():
        sys.exit(f"{path} is missing and so is the generator {GENERATOR} (the shared material beside the project)")
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"making {path} ({rows:,} rows) with {GENERATOR}", flush=True)
    subprocess.run([sys.executable, str(GENERATOR), str(rows), str(path)], check=True)
    return path


def mgr_script() -> str:
    """The console script itself, not a pyenv shim in front of it (a shim adds its own start-up time)."""
    beside = Path(sys.executable).with_name("mgr")
    if beside.exists():
        return str(beside)
    return shutil.which("mgr") or sys.exit("mgr is not installed (pip install -e .)")


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in MiB of one command (under ``/usr/bin/time -v`` when it exists)."""
    os.sync()
    wrapper = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    run = subprocess.run([*wrapper, *command], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"failed ({run.returncode}): {' '.join(command)}\n{run.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    return wall, int(rss.group(1)) // 1024 if rss else 0


def library_round(hours: Path, lookup: Lookup, work: str | None) -> tuple[float, float, str]:
    start = time.perf_counter()
    result = bill([hours], lookup)
    billed = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="bench-ledger-", dir=work) as folder:
        ledger = Path(folder) / "ledger.sqlite"
        start = time.perf_counter()
        issued = issue(result, ledger, issue_date=ISSUE_DATE, lookup=lookup)
        issuing = time.perf_counter() - start
        start = time.perf_counter()
        again = issue(result, ledger, issue_date=ISSUE_DATE, lookup=lookup)
        reissuing = time.perf_counter() - start
        size = ledger.stat().st_size
    return billed, issuing, (
        f"bill {billed:.2f} s ({len(result.rows):,} rows, {len(result.invoice_frame):,} invoices, "
        f"{len(result.lines):,} lines); issue {issuing:.2f} s (+{issuing / billed:.0%}, {issued.rows_issued:,} rows); "
        f"issue again {reissuing:.2f} s ({again.rows_already_billed:,} rows already billed, {again.rows_issued} "
        f"issued); ledger {size / 1e6:.1f} MB")


def command_round(hours: Path, mgr: str, work: str | None, round_number: int) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory(prefix="bench-issue-", dir=work) as folder:
        common = [str(hours), "--tariffs", str(TARIFFS), "--invoice-date", ISSUE_DATE.isoformat()]
        plain_command = [mgr, "bill", *common, "--out", f"{folder}/plain"]
        ledger = Path(folder) / "ledger.sqlite"
        issue_command = [mgr, "bill", *common, "--out", f"{folder}/issued", "--issue", "--ledger", str(ledger)]
        if round_number % 2:
            plain, issuing = timed(plain_command), timed(issue_command)
        else:
            issuing, plain = timed(issue_command), timed(plain_command)
        files = len(list(Path(folder, "issued").iterdir()))
    ratio = issuing[0] / plain[0] - 1
    return plain[0], issuing[0], (
        f"mgr bill --out {plain[0]:.2f} s ({plain[1]} MiB); mgr bill --out --issue {issuing[0]:.2f} s "
        f"({issuing[1]} MiB, {files:,} files) ({ratio:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("hours", nargs="?", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of a log that has to be made first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tariffs", type=Path, default=TARIFFS)
    parser.add_argument("--work", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where ledgers and outputs go (default /dev/shm)")
    parser.add_argument("--no-command", action="store_true", help="measure the library only")
    args = parser.parse_args()
    args.hours = ensure_log(args.hours, args.rows)
    catalogue = load_catalogue(args.tariffs).catalogue
    assert catalogue is not None, "the tariff catalogue does not load"
    lookup = Lookup(catalogue)
    library: list[tuple[float, float]] = []
    command: list[tuple[float, float]] = []
    mgr = mgr_script()
    for round_number in range(1, args.repeat + 1):
        billed, issuing, text = library_round(args.hours, lookup, args.work)
        library.append((billed, issuing))
        print(f"round {round_number} library: {text}", flush=True)
        if not args.no_command:
            plain, issuing, text = command_round(args.hours, mgr, args.work, round_number)
            command.append((plain, issuing))
            print(f"round {round_number} command: {text}", flush=True)
    summary("issuing adds {ratio} to plain billing (library: bill {base}, issue {extra})", library, extra_only=True)
    if command:
        summary("--issue adds {ratio} to mgr bill --out (command: plain {base}, with --issue {extra})", command)


def summary(text: str, rounds: list[tuple[float, float]], *, extra_only: bool = False) -> None:
    """The median of the per-round ratios, and the ratio of the median times (both: noise shows)."""
    ratios = [(extra if extra_only else extra - base) / base for base, extra in rounds]
    base = statistics.median(b for b, _ in rounds)
    extra = statistics.median(e for _, e in rounds)
    of_medians = (extra if extra_only else extra - base) / base
    print("median: " + text.format(ratio=f"{statistics.median(ratios):+.0%}", base=f"{base:.2f} s",
                                   extra=f"{extra:.2f} s") + f"; ratio of the medians {of_medians:+.0%}")


if __name__ == "__main__":
    main()
