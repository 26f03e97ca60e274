#!/usr/bin/env python3
"""Benchmark ``mgr report`` against ``mgr bill`` on the same log, as a ratio (the target: at most 2x).

Generates a log with ../shared/bench/gen_hours.py into a temporary folder (or takes ``--log``), then runs
``mgr bill LOG`` and ``mgr report LOG --out FILE`` alternately ``--repeat`` times under ``/usr/bin/time -v``
and prints a Markdown row with the median wall times, the peak memory and the ratio. Run by hand, never in CI:

    python bench/bench_report.py 1000000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_hours.py"
MGR = [sys.executable, "-c", "from mgr_tariffs.entry import main; main()"]


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in MiB of one command run under /usr/bin/time -v."""
    os.sync()
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False)
    if run.returncode not in (0, 1):  # 1: rows rejected (a report still shows them)
        sys.exit(f"failed: {' '.join(command)}\n{run.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    assert wall and rss, run.stderr
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, int(rss.group(1)) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--log", type=Path, help="An existing log instead of generating one.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        log = args.log
        if log is None:
            log = Path(folder) / f"hours-{args.rows}.csv"
            subprocess.run([sys.executable, str(GENERATOR), str(args.rows), str(log)], check=True,
                           capture_output=True)
        out = Path(folder) / "rapport.html"
        bills, reports = [], []
        for _ in range(args.repeat):
            bills.append(timed([*MGR, "bill", str(log), "--skip-invalid", "--rejects", str(Path(folder) / "a.csv"),
                                "--force"]))
            reports.append(timed([*MGR, "report", str(log), "--out", str(out), "--force"]))
        bill_s = statistics.median(t for t, _ in bills)
        report_s = statistics.median(t for t, _ in reports)
        print("| rows | mgr bill (s) | mgr report (s) | ratio | report peak RSS (MiB) | report size (KiB) |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(f"| {args.rows:,} | {bill_s:.1f} | {report_s:.1f} | {report_s / bill_s:.2f}x "
              f"| {max(m for _, m in reports):,} | {out.stat().st_size // 1024:,} |")


if __name__ == "__main__":
    main()
