#!/usr/bin/env python3
"""Benchmark ``mgr bill`` against the DuckDB peer, in one run, as ratios; outputs on the real disk.

For each size it generates a log with ../shared/bench/gen_hours.py (cached under bench/data/), then runs,
alternately and ``--repeat`` times, each under ``/usr/bin/time -v``:

* the peer (../shared/bench/peer_duckdb.py: one DuckDB query writing one CSV of lines);
* ``mgr bill FILE`` (nothing written);
* ``mgr bill FILE --out DIR`` (the default output: ``regels.csv`` and ``samenvatting.csv``);
* with ``--documents csv,ubl,pdf`` (default), ``mgr bill FILE --out DIR --documents KIND`` for each kind: one
  document per invoice, reported as milliseconds per invoice above ``--out`` alone.

It prints a Markdown table: median wall time, peak memory (max RSS), the ratio to the peer and whether the grand
totals agree to the cent. Every run writes into a fresh folder under ``--work`` (default: bench/results/, on the
project's disk), kept until the end of the benchmark: on this machine's disk, creating thousands of files right
after deleting thousands is slow, and no run may pay for an earlier one. Run by hand, never in CI:

    python bench/bench_bill.py 10000 1000000 10000000 [--repeat 5] [--work /dev/shm] [--documents none]
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
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
DATA = HERE / "data"
RESULTS = HERE / "results"
TARIFFS = HERE.parent / "data" / "tariffs.yaml"
KINDS = ("csv", "ubl", "pdf")


@dataclass
class Runs:
    """The measured runs of one command: wall seconds and peak MiB of each."""

    walls: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def add(self, wall: float, peak: int) -> None:
        self.walls.append(wall)
        self.peaks.append(peak)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> int:
        return max(self.peaks)


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


def summary_total(out: Path) -> tuple[Decimal, int]:
    """The grand total of ``samenvatting.csv`` (Dutch decimals) and its number of invoices, from the file."""
    lines = (out / "samenvatting.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    return sum((Decimal(line.split(";")[7].replace(",", ".")) for line in lines), Decimal(0)), len(lines)


def parties_for(log: Path, target: Path) -> Path:
    """A parties file naming every provider of ``log`` (bench/bench_documents.py makes it from the example)."""
    sys.path.insert(0, str(HERE))
    from bench_documents import bench_parties  # noqa: PLC0415 - a sibling script

    header = log.open(encoding="utf-8").readline().rstrip("\n").split(";")
    providers = subprocess.run(["cut", "-d;", f"-f{header.index('aanbieder') + 1}", str(log)], capture_output=True,
                               text=True, check=True).stdout.splitlines()[1:]
    return bench_parties(sorted(set(providers)), target)


def measure(rows: int, repeat: int, work: Path, kinds: list[str]) -> dict[str, object]:
    log = log_of(rows)
    mgr = str(Path(sys.executable).with_name("mgr"))  # the console script itself, not a pyenv shim in front of it
    if not Path(mgr).exists():
        mgr = shutil.which("mgr") or sys.exit("mgr is not installed (pip install -e .)")
    base = [mgr, "bill", str(log), "--tariffs", str(TARIFFS)]
    parties = parties_for(log, work / f"parties-{rows}.yaml") if kinds else None
    runs: dict[str, Runs] = {name: Runs() for name in ("peer", "bill", "out", *kinds)}
    totals: dict[str, Decimal] = {}
    invoices = 0
    for i in range(repeat):
        wall, peak, printed = timed([sys.executable, str(SHARED / "peer_duckdb.py"), str(log),
                                     str(work / f"peer-{rows}-{i}.csv")])
        runs["peer"].add(wall, peak)
        totals["peer"] = Decimal(printed.split()[2])
        runs["bill"].add(*timed(base)[:2])
        out = work / f"out-{rows}-{i}"
        runs["out"].add(*timed([*base, "--out", str(out)])[:2])
        totals["mgr"], invoices = summary_total(out)
        for kind in kinds:
            documents = work / f"{kind}-{rows}-{i}"
            runs[kind].add(*timed([*base, "--out", str(documents), "--documents", kind, "--parties", str(parties),
                                   "--invoice-date", "2022-01-31"])[:2])
            if summary_total(documents)[0] != totals["mgr"]:
                sys.exit(f"--documents {kind}: another total than --out alone")
    peer = runs["peer"].wall
    result: dict[str, object] = {
        "rows": rows, "invoices": invoices, "peer_total": str(totals["peer"]), "mgr_total": str(totals["mgr"]),
        "equal": totals["peer"] == totals["mgr"],
        **{f"{name}_s": r.wall for name, r in runs.items()}, **{f"{name}_mib": r.peak for name, r in runs.items()},
        "bill_ratio": runs["bill"].wall / peer, "out_ratio": runs["out"].wall / peer,
    }
    for kind in kinds:
        result[f"{kind}_ms_per_invoice"] = (runs[kind].wall - runs["out"].wall) * 1000 / max(invoices, 1)
    return result


def compile_package() -> None:
    """Write the package's bytecode, as installing it does (pip compiles at install time).

    An editable install under PYTHONDONTWRITEBYTECODE=1 (as on this machine) would otherwise compile
    every module on every run, ~0.15 s that no installed copy of the tool pays.
    """
    spec = importlib.util.find_spec("mgr_tariffs")
    assert spec is not None and spec.origin is not None, "mgr_tariffs is not installed"
    compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


def table(results: list[dict[str, object]], kinds: list[str]) -> str:
    head = ["rows", "peer (DuckDB)", "`mgr bill`", "`mgr bill --out`",
            *(f"`--documents {k}` per invoice" for k in kinds),
            "peak memory peer / bill / --out", "ratio bill / --out", "totals equal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * (len(head) - 1) + ":---|"]
    for r in results:
        documents = [f"{r[f'{k}_ms_per_invoice']:.2f} ms ({r[f'{k}_mib']} MiB)" for k in kinds]
        lines.append(
            f"| {r['rows']:,} | {r['peer_s']:.2f} s | {r['bill_s']:.2f} s | {r['out_s']:.2f} s | "
            + "".join(f"{d} | " for d in documents)
            + f"{r['peer_mib']} / {r['bill_mib']} / {r['out_mib']} MiB | "
            f"{r['bill_ratio']:.2f} / {r['out_ratio']:.2f} | {'yes' if r['equal'] else 'NO'} "
            f"(€ {r['mgr_total']}, {r['invoices']:,} invoices) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("rows", type=int, nargs="+")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per size (one above 5M rows)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=RESULTS, help="where every run writes (default: bench/results "
                        "on the project's disk; /dev/shm leaves the disk out)")
    parser.add_argument("--documents", default=",".join(KINDS), help="per-invoice kinds to time, or none")
    parser.add_argument("--keep", action="store_true", help="keep the outputs (default: removed at the end)")
    args = parser.parse_args()
    kinds = [] if args.documents == "none" else [k for k in args.documents.split(",") if k]
    compile_package()
    args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-bill-", dir=args.work))
    try:
        results = [measure(rows, args.repeat if rows < 5_000_000 else 1, work, kinds) for rows in args.rows]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)  # after every measurement: no run pays for this
    print(json.dumps(results, indent=2) if args.json else table(results, kinds))


if __name__ == "__main__":
    main()
