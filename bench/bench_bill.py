#!/usr/bin/env python3
"""Benchmark ``mgr bill`` against the DuckDB peer, in one run, as a ratio.

For each size it generates a log with ../shared/bench/gen_hours.py (cached under bench/data/),
runs the peer (../shared/bench/peer_duckdb.py) and ``mgr bill FILE --out DIR`` alternately
``--repeat`` times under ``/usr/bin/time -v``, and prints a Markdown table with the median wall
time, the peak memory (max RSS), the ratio to the peer and whether the grand totals agree to the
cent. Run by hand, never in CI:

    python bench/bench_bill.py 10000 1000000 10000000
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
DATA = HERE / "data"


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB and stdout of one command run under /usr/bin/time -v.

    Dirty pages of the previous run are flushed first (``os.sync``), so no run pays for another's writes.
    """
    os.sync()
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{run.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    assert wall and rss, run.stderr
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, int(rss.group(1)) // 1024, run.stdout


def log_of(rows: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"hours-{rows}.csv"
    if not path.exists():
        subprocess.run([sys.executable, str(SHARED / "gen_hours.py"), str(rows), str(path)], check=True)
    return path


def mgr_total(out: Path) -> Decimal:
    """The grand total of ``samenvatting.csv`` (Dutch decimals), recomputed from the file."""
    lines = (out / "samenvatting.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    return sum((Decimal(line.split(";")[7].replace(",", ".")) for line in lines), Decimal(0))


def measure(rows: int, repeat: int, work_base: str | None) -> dict[str, object]:
    log = log_of(rows)
    mgr = str(Path(sys.executable).with_name("mgr"))  # the console script itself, not a pyenv shim in front of it
    if not Path(mgr).exists():
        mgr = shutil.which("mgr") or sys.exit("mgr is not installed (pip install -e .)")
    peer_runs, mgr_runs = [], []
    with tempfile.TemporaryDirectory(dir=work_base) as work:
        for i in range(repeat):
            peer = timed([sys.executable, str(SHARED / "peer_duckdb.py"), str(log), f"{work}/peer-{i}.csv"])
            peer_runs.append(peer)
            out = Path(work) / f"out-{i}"
            mgr_runs.append(timed([mgr, "bill", str(log), "--out", str(out), "--tariffs",
                                   str(HERE.parent / "data" / "tariffs.yaml")]))
        peer_total = Decimal(peer_runs[-1][2].split()[2])
        total = mgr_total(out)
    peer_wall = statistics.median(r[0] for r in peer_runs)
    mgr_wall = statistics.median(r[0] for r in mgr_runs)
    return {"rows": rows, "peer_s": peer_wall, "peer_mib": max(r[1] for r in peer_runs), "mgr_s": mgr_wall,
            "mgr_mib": max(r[1] for r in mgr_runs), "ratio": mgr_wall / peer_wall, "peer_total": str(peer_total),
            "mgr_total": str(total), "equal": total == peer_total}


def compile_package() -> None:
    """Write the package's bytecode, as installing it does (pip compiles at install time).

    An editable install under PYTHONDONTWRITEBYTECODE=1 (as on this machine) would otherwise compile
    every module on every run, ~0.15 s that no installed copy of the tool pays.
    """
    spec = importlib.util.find_spec("mgr_tariffs")
    assert spec is not None and spec.origin is not None, "mgr_tariffs is not installed"
    compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", help="where both write their output (e.g. /dev/shm to leave the disk out)")
    args = parser.parse_args()
    compile_package()
    results = [measure(rows, args.repeat if rows < 5_000_000 else 1, args.work) for rows in args.rows]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("| rows | peer (DuckDB) | mgr bill --out | ratio | peak memory peer / mgr | totals equal |")
    print("|---:|---:|---:|---:|---:|:---|")
    for r in results:
        print(f"| {r['rows']:,} | {r['peer_s']:.2f} s | {r['mgr_s']:.2f} s | {r['ratio']:.2f} | "
              f"{r['peer_mib']} / {r['mgr_mib']} MiB | {'yes' if r['equal'] else 'NO'} (€ {r['mgr_total']}) |")


if __name__ == "__main__":
    main()
